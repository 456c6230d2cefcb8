/* grant-client-key.h: a private key that authenticates a client
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <gio/gio.h>

#include "grant-version-macros.h"

G_BEGIN_DECLS

#define GRANT_TYPE_CLIENT_KEY (grant_client_key_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GrantClientKey, grant_client_key, GRANT, CLIENT_KEY, GObject)

GRANT_AVAILABLE_IN_ALL
GrantClientKey  *grant_client_key_new_from_file     (const char      *path,
                                                     const char      *password,
                                                     GError         **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantClientKey  *grant_client_key_new_from_pem      (const char      *pem,
                                                     gssize           length,
                                                     const char      *password,
                                                     GError         **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantClientKey  *grant_client_key_new_from_pkcs11   (const char      *uri,
                                                     GError         **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantClientKey  *grant_client_key_generate          (const char      *algorithm,
                                                     GError         **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
const char      *grant_client_key_get_algorithm     (GrantClientKey  *self);

GRANT_AVAILABLE_IN_ALL
gboolean         grant_client_key_set_algorithm     (GrantClientKey  *self,
                                                     const char      *algorithm,
                                                     GError         **error);

GRANT_AVAILABLE_IN_ALL
gboolean         grant_client_key_supports_algorithm (GrantClientKey *self,
                                                      const char     *algorithm);

GRANT_AVAILABLE_IN_ALL
char            *grant_client_key_dup_key_id        (GrantClientKey  *self) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
void             grant_client_key_set_key_id        (GrantClientKey  *self,
                                                     const char      *key_id);

GRANT_AVAILABLE_IN_ALL
GTlsCertificate *grant_client_key_get_certificate   (GrantClientKey  *self);

GRANT_AVAILABLE_IN_ALL
const char      *grant_client_key_get_thumbprint    (GrantClientKey  *self);

GRANT_AVAILABLE_IN_ALL
char            *grant_client_key_dup_public_jwk    (GrantClientKey  *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
