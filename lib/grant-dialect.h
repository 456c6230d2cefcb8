/* grant-dialect.h: how one kind of token endpoint speaks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <glib-object.h>

#include "grant-enums.h"
#include "grant-version-macros.h"

G_BEGIN_DECLS

#define GRANT_TYPE_DIALECT (grant_dialect_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GrantDialect, grant_dialect, GRANT, DIALECT, GObject)

GRANT_AVAILABLE_IN_ALL
GrantDialect       *grant_dialect_new                       (void) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
GrantDialect       *grant_dialect_new_from_data             (const char    *name,
                                                             const char    *data,
                                                             gssize         length,
                                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
GrantDialect       *grant_dialect_new_from_file             (const char    *path,
                                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
GrantDialect       *grant_dialect_new_for_preset            (const char    *preset,
                                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
GrantDialect       *grant_dialect_new_for_preset_with_variables (const char         *preset,
                                                                 const char * const *variables,
                                                                 GError            **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
char              **grant_dialect_list_presets              (void) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_name                  (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_display_name          (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_description           (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_documentation_url     (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_token_url             (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_token_url_hint        (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
GrantRequestFormat  grant_dialect_get_request_format        (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
GrantAuthMethod     grant_dialect_get_auth_method           (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_scope                 (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
guint               grant_dialect_get_default_lifetime      (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char * const *grant_dialect_get_parameters            (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_issuer                (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_assertion_audience    (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_signing_algorithm     (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char * const *grant_dialect_get_variables             (GrantDialect  *self);

GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_access_token_pointer  (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_token_type_pointer    (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_expires_in_pointer    (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_expires_at_pointer    (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_scope_pointer         (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_success_pointer       (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_error_pointer         (GrantDialect  *self);
GRANT_AVAILABLE_IN_ALL
const char         *grant_dialect_get_error_description_pointer (GrantDialect *self);

G_END_DECLS
