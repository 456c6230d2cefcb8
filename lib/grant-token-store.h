/* grant-token-store.h: keeping tokens across restarts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <gio/gio.h>

#include "grant-enums.h"
#include "grant-token.h"
#include "grant-version-macros.h"

G_BEGIN_DECLS

#define GRANT_TYPE_TOKEN_KEY (grant_token_key_get_type ())

/**
 * GrantTokenKey:
 *
 * What a stored token is for: a token endpoint, a client, an authentication
 * method, a scope and extra parameters. Never the client secret.
 *
 * [method@Grant.TokenKey.get_id] condenses it into a string that names the
 * token in a store.
 */
typedef struct _GrantTokenKey GrantTokenKey;

GRANT_AVAILABLE_IN_ALL
GType          grant_token_key_get_type        (void) G_GNUC_CONST;
GRANT_AVAILABLE_IN_ALL
GrantTokenKey *grant_token_key_new             (const char          *token_url,
                                                const char          *client_id,
                                                GrantAuthMethod      auth_method,
                                                const char          *scope,
                                                const char * const  *parameters);
GRANT_AVAILABLE_IN_ALL
GrantTokenKey *grant_token_key_ref             (GrantTokenKey       *self);
GRANT_AVAILABLE_IN_ALL
void           grant_token_key_unref           (GrantTokenKey       *self);
GRANT_AVAILABLE_IN_ALL
const char    *grant_token_key_get_id          (GrantTokenKey       *self);
GRANT_AVAILABLE_IN_ALL
const char    *grant_token_key_get_token_url   (GrantTokenKey       *self);
GRANT_AVAILABLE_IN_ALL
const char    *grant_token_key_get_client_id   (GrantTokenKey       *self);
GRANT_AVAILABLE_IN_ALL
const char    *grant_token_key_get_scope       (GrantTokenKey       *self);
GRANT_AVAILABLE_IN_ALL
GrantAuthMethod grant_token_key_get_auth_method (GrantTokenKey      *self);
GRANT_AVAILABLE_IN_ALL
GBytes        *grant_token_key_dup_sealing_key (GrantTokenKey       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantTokenKey, grant_token_key_unref)

#define GRANT_TYPE_TOKEN_STORE (grant_token_store_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GrantTokenStore, grant_token_store, GRANT, TOKEN_STORE, GObject)

/**
 * GrantTokenStoreInterface:
 * @load_async: starts loading the token stored under a key
 * @load_finish: finishes @load_async: the token, or `NULL` without an error
 *   when none is stored
 * @save_async: starts storing a token under a key, replacing any other
 * @save_finish: finishes @save_async
 * @clear_async: starts removing the token stored under a key
 * @clear_finish: finishes @clear_async
 * @load: loads the token stored under a key, without blocking for long
 * @save: stores a token under a key, without blocking for long
 * @clear: removes the token stored under a key, without blocking for long
 * @lock_async: starts taking the lock of a key, shared with every process
 *   that uses the same store; optional
 * @lock_finish: finishes @lock_async: an object whose last reference
 *   releases the lock
 *
 * The virtual methods of a [iface@Grant.TokenStore].
 *
 * A store implements either the six asynchronous methods, or the three
 * quick synchronous ones (@load, @save and @clear), which the default
 * asynchronous methods call on the caller's thread. The second way suits
 * stores kept in memory or in a language binding that cannot implement
 * asynchronous virtual methods, such as GJS.
 *
 * A store shared between processes may also implement the lock, with
 * @lock_async and @lock_finish. A provider then holds the lock of a
 * token's key while it loads, fetches and saves that token, so that of
 * several processes that need it at once, one fetches and the others find
 * it stored.
 */
struct _GrantTokenStoreInterface
{
  /*< private >*/
  GTypeInterface parent_iface;

  /*< public >*/
  void         (*load_async)   (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GCancellable         *cancellable,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data);
  GrantToken  *(*load_finish)  (GrantTokenStore      *self,
                                GAsyncResult         *result,
                                GError              **error);
  void         (*save_async)   (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GrantToken           *token,
                                GCancellable         *cancellable,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data);
  gboolean     (*save_finish)  (GrantTokenStore      *self,
                                GAsyncResult         *result,
                                GError              **error);
  void         (*clear_async)  (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GCancellable         *cancellable,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data);
  gboolean     (*clear_finish) (GrantTokenStore      *self,
                                GAsyncResult         *result,
                                GError              **error);

  GrantToken  *(*load)         (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GCancellable         *cancellable,
                                GError              **error);
  gboolean     (*save)         (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GrantToken           *token,
                                GCancellable         *cancellable,
                                GError              **error);
  gboolean     (*clear)        (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GCancellable         *cancellable,
                                GError              **error);

  void         (*lock_async)   (GrantTokenStore      *self,
                                GrantTokenKey        *key,
                                GCancellable         *cancellable,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data);
  GObject     *(*lock_finish)  (GrantTokenStore      *self,
                                GAsyncResult         *result,
                                GError              **error);

  /*< private >*/
  gpointer padding[3];
};

GRANT_AVAILABLE_IN_ALL
void         grant_token_store_load_async   (GrantTokenStore      *self,
                                             GrantTokenKey        *key,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
GRANT_AVAILABLE_IN_ALL
GrantToken  *grant_token_store_load_finish  (GrantTokenStore      *self,
                                             GAsyncResult         *result,
                                             GError              **error) G_GNUC_WARN_UNUSED_RESULT;
GRANT_AVAILABLE_IN_ALL
void         grant_token_store_save_async   (GrantTokenStore      *self,
                                             GrantTokenKey        *key,
                                             GrantToken           *token,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
GRANT_AVAILABLE_IN_ALL
gboolean     grant_token_store_save_finish  (GrantTokenStore      *self,
                                             GAsyncResult         *result,
                                             GError              **error);
GRANT_AVAILABLE_IN_ALL
void         grant_token_store_clear_async  (GrantTokenStore      *self,
                                             GrantTokenKey        *key,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
GRANT_AVAILABLE_IN_ALL
gboolean     grant_token_store_clear_finish (GrantTokenStore      *self,
                                             GAsyncResult         *result,
                                             GError              **error);
GRANT_AVAILABLE_IN_ALL
gboolean     grant_token_store_can_lock     (GrantTokenStore      *self);
GRANT_AVAILABLE_IN_ALL
void         grant_token_store_lock_async   (GrantTokenStore      *self,
                                             GrantTokenKey        *key,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
GRANT_AVAILABLE_IN_ALL
GObject     *grant_token_store_lock_finish  (GrantTokenStore      *self,
                                             GAsyncResult         *result,
                                             GError              **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
