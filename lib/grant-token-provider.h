/* grant-token-provider.h: gets, caches and shares client credentials tokens
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "grant-client-key.h"
#include "grant-dialect.h"
#include "grant-enums.h"
#include "grant-token.h"
#include "grant-token-store.h"
#include "grant-version-macros.h"

G_BEGIN_DECLS

#define GRANT_TYPE_TOKEN_PROVIDER (grant_token_provider_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GrantTokenProvider, grant_token_provider, GRANT, TOKEN_PROVIDER, GObject)

GRANT_AVAILABLE_IN_ALL
GrantTokenProvider *grant_token_provider_new                 (const char          *token_url,
                                                              const char          *client_id,
                                                              const char          *client_secret) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantTokenProvider *grant_token_provider_new_from_preset     (const char          *preset,
                                                              const char          *client_id,
                                                              const char          *client_secret,
                                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantTokenProvider *grant_token_provider_new_from_preset_with_variables (const char          *preset,
                                                                         const char * const  *variables,
                                                                         const char          *client_id,
                                                                         const char          *client_secret,
                                                                         GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantDialect       *grant_token_provider_get_dialect         (GrantTokenProvider  *self);

GRANT_AVAILABLE_IN_ALL
const char         *grant_token_provider_get_issuer          (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_issuer          (GrantTokenProvider  *self,
                                                              const char          *issuer);

GRANT_AVAILABLE_IN_ALL
GTlsCertificate    *grant_token_provider_get_tls_certificate (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_tls_certificate (GrantTokenProvider  *self,
                                                              GTlsCertificate     *certificate);

GRANT_AVAILABLE_IN_ALL
GrantClientKey     *grant_token_provider_get_client_key      (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_client_key      (GrantTokenProvider  *self,
                                                              GrantClientKey      *key);
GRANT_AVAILABLE_IN_ALL
GrantClientKey     *grant_token_provider_get_dpop_key        (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_dpop_key        (GrantTokenProvider  *self,
                                                              GrantClientKey      *key);
GRANT_AVAILABLE_IN_ALL
char               *grant_token_provider_create_dpop_proof   (GrantTokenProvider  *self,
                                                              const char          *method,
                                                              const char          *url,
                                                              GrantToken          *token,
                                                              const char          *nonce,
                                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_dpop_nonce      (GrantTokenProvider  *self,
                                                              const char          *url,
                                                              const char          *nonce);
GRANT_AVAILABLE_IN_ALL
const char         *grant_token_provider_get_assertion_audience (GrantTokenProvider *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_assertion_audience (GrantTokenProvider *self,
                                                                 const char         *audience);

GRANT_AVAILABLE_IN_ALL
gboolean            grant_token_provider_get_auto_refresh    (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_auto_refresh    (GrantTokenProvider  *self,
                                                              gboolean             auto_refresh);

GRANT_AVAILABLE_IN_ALL
GrantTokenStore    *grant_token_provider_get_store           (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_store           (GrantTokenProvider  *self,
                                                              GrantTokenStore     *store);

GRANT_AVAILABLE_IN_ALL
const char         *grant_token_provider_get_token_url       (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_token_url       (GrantTokenProvider  *self,
                                                              const char          *token_url);

GRANT_AVAILABLE_IN_ALL
const char         *grant_token_provider_get_client_id       (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_client_id       (GrantTokenProvider  *self,
                                                              const char          *client_id);

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_client_secret   (GrantTokenProvider  *self,
                                                              const char          *client_secret);

GRANT_AVAILABLE_IN_ALL
const char         *grant_token_provider_get_scope           (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_scope           (GrantTokenProvider  *self,
                                                              const char          *scope);

GRANT_AVAILABLE_IN_ALL
GrantAuthMethod     grant_token_provider_get_auth_method     (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_auth_method     (GrantTokenProvider  *self,
                                                              GrantAuthMethod      auth_method);

GRANT_AVAILABLE_IN_ALL
GrantRequestFormat  grant_token_provider_get_request_format  (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_request_format  (GrantTokenProvider  *self,
                                                              GrantRequestFormat   request_format);

GRANT_AVAILABLE_IN_ALL
guint               grant_token_provider_get_expiry_margin   (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_expiry_margin   (GrantTokenProvider  *self,
                                                              guint                seconds);

GRANT_AVAILABLE_IN_ALL
guint               grant_token_provider_get_default_lifetime (GrantTokenProvider *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_default_lifetime (GrantTokenProvider *self,
                                                               guint               seconds);

GRANT_AVAILABLE_IN_ALL
guint               grant_token_provider_get_timeout         (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_timeout         (GrantTokenProvider  *self,
                                                              guint                seconds);

GRANT_AVAILABLE_IN_ALL
guint               grant_token_provider_get_max_attempts    (GrantTokenProvider  *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_max_attempts    (GrantTokenProvider  *self,
                                                              guint                attempts);

GRANT_AVAILABLE_IN_ALL
gboolean            grant_token_provider_get_allow_insecure_http (GrantTokenProvider *self);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_allow_insecure_http (GrantTokenProvider *self,
                                                                  gboolean            allow);

GRANT_AVAILABLE_IN_ALL
SoupSession        *grant_token_provider_get_session         (GrantTokenProvider  *self);

GRANT_AVAILABLE_IN_ALL
const char         *grant_token_provider_get_parameter       (GrantTokenProvider  *self,
                                                              const char          *name);
GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_set_parameter       (GrantTokenProvider  *self,
                                                              const char          *name,
                                                              const char          *value);

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_get_token_async     (GrantTokenProvider  *self,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
GRANT_AVAILABLE_IN_ALL
GrantToken         *grant_token_provider_get_token_finish    (GrantTokenProvider  *self,
                                                              GAsyncResult        *result,
                                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
GrantToken         *grant_token_provider_get_token           (GrantTokenProvider  *self,
                                                              GCancellable        *cancellable,
                                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
GrantToken         *grant_token_provider_peek_token          (GrantTokenProvider  *self);

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_invalidate          (GrantTokenProvider  *self,
                                                              GrantToken          *rejected);

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_refresh_async       (GrantTokenProvider  *self,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
GRANT_AVAILABLE_IN_ALL
GrantToken         *grant_token_provider_refresh_finish      (GrantTokenProvider  *self,
                                                              GAsyncResult        *result,
                                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_authorize_message_async  (GrantTokenProvider  *self,
                                                                   SoupMessage         *message,
                                                                   GCancellable        *cancellable,
                                                                   GAsyncReadyCallback  callback,
                                                                   gpointer             user_data);
GRANT_AVAILABLE_IN_ALL
GrantToken         *grant_token_provider_authorize_message_finish (GrantTokenProvider  *self,
                                                                   GAsyncResult        *result,
                                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_send_async          (GrantTokenProvider  *self,
                                                              SoupSession         *session,
                                                              SoupMessage         *message,
                                                              int                  io_priority,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
GRANT_AVAILABLE_IN_ALL
GInputStream       *grant_token_provider_send_finish         (GrantTokenProvider  *self,
                                                              GAsyncResult        *result,
                                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
void                grant_token_provider_send_and_read_async (GrantTokenProvider  *self,
                                                              SoupSession         *session,
                                                              SoupMessage         *message,
                                                              int                  io_priority,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
GRANT_AVAILABLE_IN_ALL
GBytes             *grant_token_provider_send_and_read_finish (GrantTokenProvider  *self,
                                                               GAsyncResult        *result,
                                                               GError             **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
