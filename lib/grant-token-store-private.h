/* grant-token-store-private.h: what a provider tells its stores, and
 * what libgrant's own stores share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-sealer-private.h"
#include "grant-token-store.h"

G_BEGIN_DECLS

/* Both set by the provider that made @self, before any store sees it. */
void  grant_token_key_set_sealer       (GrantTokenKey *self,
                                        GrantSealer   *sealer);

/* The provider's timeout, in seconds (0: none): how long a lock that
 * spans machines is held at most, and waited for. */
void  grant_token_key_set_lock_timeout (GrantTokenKey *self,
                                        guint          seconds);
guint grant_token_key_get_lock_timeout (GrantTokenKey *self);

/* A store call whose work blocks, run in one of GTask's threads: @func
 * gets a GrantStoreCall as its task data. */
typedef struct {
  GrantTokenKey *key;
  GrantToken *token;   /* the token to save, else NULL */
} GrantStoreCall;

GTask      *grant_store_call_new            (GrantTokenStore      *store,
                                             gpointer              source_tag,
                                             GrantTokenKey        *key,
                                             GrantToken           *token,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void        grant_store_call_in_thread      (GrantTokenStore      *store,
                                             gpointer              source_tag,
                                             GrantTokenKey        *key,
                                             GrantToken           *token,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data,
                                             GTaskThreadFunc       func);

/* The interface's finish vfuncs for any store call that is a GTask. */
GrantToken *grant_store_call_token_finish   (GrantTokenStore      *store,
                                             GAsyncResult         *result,
                                             GError              **error);
gboolean    grant_store_call_boolean_finish (GrantTokenStore      *store,
                                             GAsyncResult         *result,
                                             GError              **error);
GObject    *grant_store_call_object_finish  (GrantTokenStore      *store,
                                             GAsyncResult         *result,
                                             GError              **error);

G_END_DECLS
