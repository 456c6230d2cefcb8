/* grant-token-store.c: keeping tokens across restarts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-sealer-private.h"
#include "grant-token-store-private.h"

/**
 * GrantTokenStore:
 *
 * Keeps tokens across restarts and shares them between processes.
 *
 * A [class@Grant.TokenProvider] with a store loads the stored token before
 * it fetches one, saves every token it gets, and clears the store when a
 * token it holds is invalidated. Tokens are stored under a
 * [struct@Grant.TokenKey], made of everything that changes the token and
 * never of the secret; the stored data never holds the client secret.
 *
 * libgrant has two stores: [class@Grant.FileStore] and
 * [class@Grant.SecretStore]. Applications can implement the interface in
 * any language, with asynchronous virtual methods or, for quick stores,
 * the synchronous `load`, `save` and `clear` ones; [method@Grant.Token.serialize] and
 * [ctor@Grant.Token.new_from_serialized] turn a token into a string and
 * back. A store that fails is not an error for the provider's callers: it
 * warns once and fetches from the network.
 *
 * A store shared between processes can also offer a lock
 * ([method@Grant.TokenStore.lock_async]): the provider then holds the lock
 * of a token's key while it loads, fetches and saves that token, and of
 * several processes that need the token at the same time, one fetches it
 * while the others wait and load it. [class@Grant.FileStore] locks.
 */

G_DEFINE_INTERFACE (GrantTokenStore, grant_token_store, G_TYPE_OBJECT)

/**
 * GrantTokenStoreInterface::load:
 * @self: a store
 * @key: what the token is for
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Loads the token stored under @key, without blocking for long: the default
 * `load_async` calls it on the caller's thread.
 *
 * Returns: (transfer full) (nullable): the stored token, or `NULL` when none
 *   is stored or with @error set
 */

/**
 * GrantTokenStoreInterface::save:
 * @self: a store
 * @key: what the token is for
 * @token: the token to store
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Stores @token under @key, without blocking for long: the default
 * `save_async` calls it on the caller's thread.
 *
 * Returns: `TRUE` if the token was stored
 */

/**
 * GrantTokenStoreInterface::clear:
 * @self: a store
 * @key: what the token is for
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Removes the token stored under @key, without blocking for long: the
 * default `clear_async` calls it on the caller's thread.
 *
 * Returns: `TRUE` unless the store failed
 */

/* The default asynchronous methods call the synchronous ones, on the
 * caller's thread, and complete in the next main loop iteration. */

static GError *
not_implemented (GrantTokenStore *self,
                 const char      *name)
{
  return g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "%s implements neither %s_async() nor %s()",
                      G_OBJECT_TYPE_NAME (self), name, name);
}

static void
grant_token_store_real_load_async (GrantTokenStore     *self,
                                   GrantTokenKey       *key,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GrantTokenStoreInterface *iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  GrantToken *token;

  g_task_set_source_tag (task, grant_token_store_real_load_async);
  if (iface->load == NULL)
    {
      g_task_return_error (task, not_implemented (self, "load"));
      return;
    }

  token = iface->load (self, key, cancellable, &error);
  if (error != NULL)
    {
      g_clear_object (&token);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, token, g_object_unref);
}

static GrantToken *
grant_token_store_real_load_finish (GrantTokenStore  *self,
                                    GAsyncResult     *result,
                                    GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
grant_token_store_real_save_async (GrantTokenStore     *self,
                                   GrantTokenKey       *key,
                                   GrantToken          *token,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GrantTokenStoreInterface *iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, grant_token_store_real_save_async);
  if (iface->save == NULL)
    g_task_return_error (task, not_implemented (self, "save"));
  else if (!iface->save (self, key, token, cancellable, &error))
    g_task_return_error (task, error ? error : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                                     "The store did not save the token"));
  else
    g_task_return_boolean (task, TRUE);
}

static void
grant_token_store_real_clear_async (GrantTokenStore     *self,
                                    GrantTokenKey       *key,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  GrantTokenStoreInterface *iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, grant_token_store_real_clear_async);
  if (iface->clear == NULL)
    g_task_return_error (task, not_implemented (self, "clear"));
  else if (!iface->clear (self, key, cancellable, &error))
    g_task_return_error (task, error ? error : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                                     "The store did not clear the token"));
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
grant_token_store_real_boolean_finish (GrantTokenStore  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
grant_token_store_default_init (GrantTokenStoreInterface *iface)
{
  iface->load_async = grant_token_store_real_load_async;
  iface->load_finish = grant_token_store_real_load_finish;
  iface->save_async = grant_token_store_real_save_async;
  iface->save_finish = grant_token_store_real_boolean_finish;
  iface->clear_async = grant_token_store_real_clear_async;
  iface->clear_finish = grant_token_store_real_boolean_finish;
}

struct _GrantTokenKey
{
  gatomicrefcount ref_count;
  char *id;
  char *token_url;
  char *client_id;
  char *scope;
  GrantAuthMethod auth_method;

  /* Set by the provider that made the key, before anyone else sees it. */
  GrantSealer *sealer;
  guint lock_timeout;
};

G_DEFINE_BOXED_TYPE (GrantTokenKey, grant_token_key, grant_token_key_ref, grant_token_key_unref)

static void
checksum_add_field (GChecksum  *checksum,
                    const char *value)
{
  g_autofree char *length = g_strdup_printf ("%zu:", value ? strlen (value) : (gsize) 0);

  /* Length-prefixed, so that no two different keys read the same. */
  if (value == NULL)
    {
      g_checksum_update (checksum, (const guchar *) "-", 1);
      return;
    }
  g_checksum_update (checksum, (const guchar *) length, -1);
  g_checksum_update (checksum, (const guchar *) value, -1);
}

/**
 * grant_token_key_new:
 * @token_url: the token endpoint
 * @client_id: the client identifier
 * @auth_method: the client authentication method
 * @scope: (nullable): the scope requested
 * @parameters: (nullable) (array zero-terminated=1): extra request
 *   parameters, as `NAME=VALUE`, in the order they are sent
 *
 * Creates the key a token is stored under.
 *
 * Returns: (transfer full): a new key
 */
GrantTokenKey *
grant_token_key_new (const char          *token_url,
                     const char          *client_id,
                     GrantAuthMethod      auth_method,
                     const char          *scope,
                     const char * const  *parameters)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *method = g_strdup_printf ("%d", auth_method);
  GrantTokenKey *self;

  g_return_val_if_fail (token_url != NULL, NULL);
  g_return_val_if_fail (client_id != NULL, NULL);

  checksum_add_field (checksum, "libgrant-token-key-1");
  checksum_add_field (checksum, token_url);
  checksum_add_field (checksum, client_id);
  checksum_add_field (checksum, method);
  checksum_add_field (checksum, scope);
  for (guint i = 0; parameters != NULL && parameters[i] != NULL; i++)
    checksum_add_field (checksum, parameters[i]);

  self = g_new0 (GrantTokenKey, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->id = g_strdup (g_checksum_get_string (checksum));
  self->token_url = g_strdup (token_url);
  self->client_id = g_strdup (client_id);
  self->scope = g_strdup (scope);
  self->auth_method = auth_method;

  return self;
}

/**
 * grant_token_key_ref:
 * @self: a key
 *
 * Takes a reference to @self.
 *
 * Returns: (transfer full): @self
 */
GrantTokenKey *
grant_token_key_ref (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

/**
 * grant_token_key_unref:
 * @self: (transfer full): a key
 *
 * Drops a reference to @self.
 */
void
grant_token_key_unref (GrantTokenKey *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->id);
  g_free (self->token_url);
  g_free (self->client_id);
  g_free (self->scope);
  g_clear_pointer (&self->sealer, grant_sealer_unref);
  g_free (self);
}

/**
 * grant_token_key_get_id:
 * @self: a key
 *
 * Gets a string that names the token in a store: 64 hexadecimal digits, a
 * SHA-256 digest of every part of the key.
 *
 * Returns: the identifier
 */
const char *
grant_token_key_get_id (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->id;
}

/**
 * grant_token_key_get_token_url:
 * @self: a key
 *
 * Gets the token endpoint.
 *
 * Returns: the token URL
 */
const char *
grant_token_key_get_token_url (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->token_url;
}

/**
 * grant_token_key_get_client_id:
 * @self: a key
 *
 * Gets the client identifier.
 *
 * Returns: the client id
 */
const char *
grant_token_key_get_client_id (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->client_id;
}

/**
 * grant_token_key_get_scope:
 * @self: a key
 *
 * Gets the scope requested.
 *
 * Returns: (nullable): the scope
 */
const char *
grant_token_key_get_scope (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->scope;
}

/**
 * grant_token_key_get_auth_method:
 * @self: a key
 *
 * Gets the client authentication method.
 *
 * Returns: the method
 */
GrantAuthMethod
grant_token_key_get_auth_method (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, GRANT_AUTH_METHOD_CLIENT_SECRET_POST);

  return self->auth_method;
}

/**
 * grant_token_key_dup_sealing_key:
 * @self: a key
 *
 * Gets a key for a store to encrypt what it keeps under @self, derived
 * from the credentials of the provider that made @self: 32 bytes that only
 * a process with the same client secret, client key or client certificate
 * can compute, and that are never stored. [class@Grant.RedisStore] seals
 * tokens with it.
 *
 * A client secret goes through PBKDF2-HMAC-SHA256 (600,000 iterations),
 * so that a weak secret does not make the stored data an offline guessing
 * oracle; the first call for a provider's credentials therefore takes
 * about 100 ms of CPU: call it from a worker thread. Private keys (the
 * [property@Grant.TokenProvider:client-key], the key of the
 * [property@Grant.TokenProvider:tls-certificate]) go into the key too.
 *
 * Returns: (transfer full) (nullable): 32 bytes, or `NULL` when the
 *   client has nothing secret to derive them from (no secret, and keys that
 *   never leave a PKCS#11 token), or when @self was not made by a provider
 */
GBytes *
grant_token_key_dup_sealing_key (GrantTokenKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->sealer == NULL)
    return NULL;

  return grant_sealer_dup_key (self->sealer);
}

void
grant_token_key_set_sealer (GrantTokenKey *self,
                            GrantSealer   *sealer)
{
  g_clear_pointer (&self->sealer, grant_sealer_unref);
  self->sealer = sealer != NULL ? grant_sealer_ref (sealer) : NULL;
}

void
grant_token_key_set_lock_timeout (GrantTokenKey *self,
                                  guint          seconds)
{
  self->lock_timeout = seconds;
}

guint
grant_token_key_get_lock_timeout (GrantTokenKey *self)
{
  return self->lock_timeout;
}

static void
store_call_free (GrantStoreCall *call)
{
  grant_token_key_unref (call->key);
  g_clear_object (&call->token);
  g_free (call);
}

GTask *
grant_store_call_new (GrantTokenStore     *store,
                      gpointer             source_tag,
                      GrantTokenKey       *key,
                      GrantToken          *token,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task = g_task_new (store, cancellable, callback, user_data);
  GrantStoreCall *call = g_new0 (GrantStoreCall, 1);

  call->key = grant_token_key_ref (key);
  call->token = token != NULL ? g_object_ref (token) : NULL;
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, call, (GDestroyNotify) store_call_free);

  return task;
}

void
grant_store_call_in_thread (GrantTokenStore     *store,
                            gpointer             source_tag,
                            GrantTokenKey       *key,
                            GrantToken          *token,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data,
                            GTaskThreadFunc      func)
{
  g_autoptr(GTask) task = grant_store_call_new (store, source_tag, key, token, cancellable, callback, user_data);

  g_task_run_in_thread (task, func);
}

GrantToken *
grant_store_call_token_finish (GrantTokenStore  *store,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
grant_store_call_boolean_finish (GrantTokenStore  *store,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

GObject *
grant_store_call_object_finish (GrantTokenStore  *store,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * grant_token_store_load_async:
 * @self: a store
 * @key: what the token is for
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Loads the token stored under @key.
 *
 * Call [method@Grant.TokenStore.load_finish] in @callback.
 */
void
grant_token_store_load_async (GrantTokenStore     *self,
                              GrantTokenKey       *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GrantTokenStoreInterface *iface;

  g_return_if_fail (GRANT_IS_TOKEN_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_if_fail (iface->load_async != NULL);
  iface->load_async (self, key, cancellable, callback, user_data);
}

/**
 * grant_token_store_load_finish:
 * @self: a store
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenStore.load_async].
 *
 * Returns: (transfer full) (nullable): the stored token, or `NULL` when
 *   none is stored or with @error set. The token may have expired.
 */
GrantToken *
grant_token_store_load_finish (GrantTokenStore  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  GrantTokenStoreInterface *iface;

  g_return_val_if_fail (GRANT_IS_TOKEN_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_val_if_fail (iface->load_finish != NULL, NULL);

  return iface->load_finish (self, result, error);
}

/**
 * grant_token_store_save_async:
 * @self: a store
 * @key: what the token is for
 * @token: the token to store
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Stores @token under @key, replacing any token stored there.
 *
 * Call [method@Grant.TokenStore.save_finish] in @callback.
 */
void
grant_token_store_save_async (GrantTokenStore     *self,
                              GrantTokenKey       *key,
                              GrantToken          *token,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GrantTokenStoreInterface *iface;

  g_return_if_fail (GRANT_IS_TOKEN_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (GRANT_IS_TOKEN (token));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_if_fail (iface->save_async != NULL);
  iface->save_async (self, key, token, cancellable, callback, user_data);
}

/**
 * grant_token_store_save_finish:
 * @self: a store
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenStore.save_async].
 *
 * Returns: `TRUE` if the token was stored
 */
gboolean
grant_token_store_save_finish (GrantTokenStore  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  GrantTokenStoreInterface *iface;

  g_return_val_if_fail (GRANT_IS_TOKEN_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_val_if_fail (iface->save_finish != NULL, FALSE);

  return iface->save_finish (self, result, error);
}

/**
 * grant_token_store_clear_async:
 * @self: a store
 * @key: what the token is for
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Removes the token stored under @key; nothing stored is no error.
 *
 * Call [method@Grant.TokenStore.clear_finish] in @callback.
 */
void
grant_token_store_clear_async (GrantTokenStore     *self,
                               GrantTokenKey       *key,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GrantTokenStoreInterface *iface;

  g_return_if_fail (GRANT_IS_TOKEN_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_if_fail (iface->clear_async != NULL);
  iface->clear_async (self, key, cancellable, callback, user_data);
}

/**
 * grant_token_store_clear_finish:
 * @self: a store
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenStore.clear_async].
 *
 * Returns: `TRUE` unless the store failed
 */
gboolean
grant_token_store_clear_finish (GrantTokenStore  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  GrantTokenStoreInterface *iface;

  g_return_val_if_fail (GRANT_IS_TOKEN_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_val_if_fail (iface->clear_finish != NULL, FALSE);

  return iface->clear_finish (self, result, error);
}

/**
 * grant_token_store_can_lock:
 * @self: a store
 *
 * Tells whether the store offers a lock shared between processes (see
 * [method@Grant.TokenStore.lock_async]).
 *
 * Returns: `TRUE` if the store implements both `lock_async` and
 *   `lock_finish`
 */
gboolean
grant_token_store_can_lock (GrantTokenStore *self)
{
  GrantTokenStoreInterface *iface;

  g_return_val_if_fail (GRANT_IS_TOKEN_STORE (self), FALSE);

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);

  return iface->lock_async != NULL && iface->lock_finish != NULL;
}

/**
 * grant_token_store_lock_async:
 * @self: a store
 * @key: what the token is for
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when the lock is
 *   held, or could not be taken
 * @user_data: data for @callback
 *
 * Takes the lock of @key, which every process that uses the same store
 * sees: while one holds it, the others wait.
 *
 * A [class@Grant.TokenProvider] holds it from before it loads the stored
 * token until it has saved a new one, so that of many processes that need
 * a token at the same time, one fetches it and the others load it. A lock
 * that another process holds for too long should fail with
 * `G_IO_ERROR_TIMED_OUT`, and one whose holder died should become free:
 * the provider then fetches anyway.
 *
 * A store without a lock (see [method@Grant.TokenStore.can_lock]) fails
 * with `G_IO_ERROR_NOT_SUPPORTED`.
 *
 * Call [method@Grant.TokenStore.lock_finish] in @callback.
 */
void
grant_token_store_lock_async (GrantTokenStore     *self,
                              GrantTokenKey       *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GrantTokenStoreInterface *iface;

  g_return_if_fail (GRANT_IS_TOKEN_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  if (!grant_token_store_can_lock (self))
    {
      g_task_report_new_error (self, callback, user_data, grant_token_store_lock_async,
                               G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "%s has no lock", G_OBJECT_TYPE_NAME (self));
      return;
    }

  iface->lock_async (self, key, cancellable, callback, user_data);
}

/**
 * grant_token_store_lock_finish:
 * @self: a store
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenStore.lock_async].
 *
 * A store's `lock_finish` that returns `NULL` must set @error.
 *
 * Returns: (transfer full): the lock, released when its last reference is
 *   dropped (or when the process ends), or `NULL` with @error set
 */
GObject *
grant_token_store_lock_finish (GrantTokenStore  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  GrantTokenStoreInterface *iface;

  g_return_val_if_fail (GRANT_IS_TOKEN_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  if (g_async_result_is_tagged (result, grant_token_store_lock_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  iface = GRANT_TOKEN_STORE_GET_IFACE (self);
  g_return_val_if_fail (iface->lock_finish != NULL, NULL);

  return iface->lock_finish (self, result, error);
}
