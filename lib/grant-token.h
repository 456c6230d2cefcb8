/* grant-token.h: one OAuth 2.0 access token
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "grant-version-macros.h"

G_BEGIN_DECLS

#define GRANT_TYPE_TOKEN (grant_token_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GrantToken, grant_token, GRANT, TOKEN, GObject)

GRANT_AVAILABLE_IN_ALL
GrantToken *grant_token_new                (const char *access_token,
                                            const char *token_type,
                                            const char *scope,
                                            GDateTime  *issued_at,
                                            GDateTime  *expires_at) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
const char *grant_token_get_access_token   (GrantToken *self);

GRANT_AVAILABLE_IN_ALL
const char *grant_token_get_token_type     (GrantToken *self);

GRANT_AVAILABLE_IN_ALL
const char *grant_token_get_scope          (GrantToken *self);

GRANT_AVAILABLE_IN_ALL
GDateTime  *grant_token_get_issued_at      (GrantToken *self);

GRANT_AVAILABLE_IN_ALL
GDateTime  *grant_token_get_expires_at     (GrantToken *self);

GRANT_AVAILABLE_IN_ALL
JsonNode   *grant_token_get_response       (GrantToken *self);

GRANT_AVAILABLE_IN_ALL
gboolean    grant_token_is_expired         (GrantToken *self,
                                            GTimeSpan   margin);

GRANT_AVAILABLE_IN_ALL
char       *grant_token_dup_authorization  (GrantToken *self) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
char       *grant_token_serialize           (GrantToken *self) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantToken *grant_token_new_from_serialized (const char  *data,
                                             gssize       length,
                                             GError     **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
