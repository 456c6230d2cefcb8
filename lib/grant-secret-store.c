/* grant-secret-store.c: tokens in the desktop keyring
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "grant-secret-store.h"
#include "grant-token-store-private.h"
#include "grant-utils-private.h"

/**
 * GrantSecretStore:
 *
 * A [iface@Grant.TokenStore] in the desktop keyring, through the Secret
 * Service (GNOME Keyring, KWallet...).
 *
 * Each token is an item of the schema `org.libgrant.Token`, with the
 * attributes `key` (the [method@Grant.TokenKey.get_id]), `token-url`,
 * `client-id` and `scope`, so that a keyring browser such as Seahorse shows
 * what it is for. The token itself is the item's secret.
 *
 * When libgrant was built without libsecret, every operation fails with
 * `G_IO_ERROR_NOT_SUPPORTED`, and a provider then fetches from the network.
 */

struct _GrantSecretStore
{
  GObject parent_instance;
};

static void grant_secret_store_iface_init (GrantTokenStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GrantSecretStore, grant_secret_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GRANT_TYPE_TOKEN_STORE, grant_secret_store_iface_init))

#ifdef HAVE_LIBSECRET

static const SecretSchema token_schema = {
  "org.libgrant.Token", SECRET_SCHEMA_NONE,
  {
    { "key", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "token-url", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "client-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "scope", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
  0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

static void
lookup_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  char *secret;
  GrantToken *token;

  secret = secret_password_lookup_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "Cannot read the keyring: %s", error->message);
      return;
    }

  if (secret == NULL)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  token = grant_token_new_from_serialized (secret, -1, NULL);
  secret_password_free (secret);
  if (token == NULL)
    g_debug ("Ignoring a keyring item that is not a token libgrant saved");

  g_task_return_pointer (task, token, g_object_unref);
}

static void
grant_secret_store_load_async (GrantTokenStore     *store,
                               GrantTokenKey       *key,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_secret_store_load_async);
  secret_password_lookup (&token_schema, cancellable, lookup_cb, task,
                          "key", grant_token_key_get_id (key),
                          NULL);
}

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "Cannot save the token in the keyring: %s", error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
grant_secret_store_save_async (GrantTokenStore     *store,
                               GrantTokenKey       *key,
                               GrantToken          *token,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task = g_task_new (store, cancellable, callback, user_data);
  g_autoptr(GrantSecret) serialized = grant_token_serialize (token);
  g_autoptr(GUri) uri = g_uri_parse (grant_token_key_get_token_url (key), G_URI_FLAGS_NONE, NULL);
  g_autofree char *label = g_strdup_printf ("OAuth token for %s at %s",
                                            grant_token_key_get_client_id (key),
                                            uri ? g_uri_get_host (uri) : grant_token_key_get_token_url (key));
  const char *scope = grant_token_key_get_scope (key);

  g_task_set_source_tag (task, grant_secret_store_save_async);
  secret_password_store (&token_schema, SECRET_COLLECTION_DEFAULT, label, serialized,
                         cancellable, store_cb, task,
                         "key", grant_token_key_get_id (key),
                         "token-url", grant_token_key_get_token_url (key),
                         "client-id", grant_token_key_get_client_id (key),
                         "scope", scope ? scope : "",
                         NULL);
}

static void
clear_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!secret_password_clear_finish (result, &error) && error != NULL)
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "Cannot remove the token from the keyring: %s", error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
grant_secret_store_clear_async (GrantTokenStore     *store,
                                GrantTokenKey       *key,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_secret_store_clear_async);
  secret_password_clear (&token_schema, cancellable, clear_cb, task,
                         "key", grant_token_key_get_id (key),
                         NULL);
}

#else /* !HAVE_LIBSECRET */

static void
not_supported (GrantTokenStore     *store,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data,
               gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "libgrant was built without the keyring (libsecret)");
}

static void
grant_secret_store_load_async (GrantTokenStore     *store,
                               GrantTokenKey       *key,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  not_supported (store, cancellable, callback, user_data, grant_secret_store_load_async);
}

static void
grant_secret_store_save_async (GrantTokenStore     *store,
                               GrantTokenKey       *key,
                               GrantToken          *token,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  not_supported (store, cancellable, callback, user_data, grant_secret_store_save_async);
}

static void
grant_secret_store_clear_async (GrantTokenStore     *store,
                                GrantTokenKey       *key,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  not_supported (store, cancellable, callback, user_data, grant_secret_store_clear_async);
}

#endif /* HAVE_LIBSECRET */

static void
grant_secret_store_iface_init (GrantTokenStoreInterface *iface)
{
  iface->load_async = grant_secret_store_load_async;
  iface->load_finish = grant_store_call_token_finish;
  iface->save_async = grant_secret_store_save_async;
  iface->save_finish = grant_store_call_boolean_finish;
  iface->clear_async = grant_secret_store_clear_async;
  iface->clear_finish = grant_store_call_boolean_finish;
}

static void
grant_secret_store_class_init (GrantSecretStoreClass *klass)
{
}

static void
grant_secret_store_init (GrantSecretStore *self)
{
}

/**
 * grant_secret_store_new:
 *
 * Creates a store that keeps tokens in the desktop keyring.
 *
 * Returns: (transfer full): a new keyring store
 */
GrantSecretStore *
grant_secret_store_new (void)
{
  return g_object_new (GRANT_TYPE_SECRET_STORE, NULL);
}
