/* store-helper.c: another process sharing a token store, for test-store
 * and test-keyring
 *
 * store-helper TOKEN_URL CLIENT_ID (--dir DIR | --keyring | --redis URL) [--load-only]
 *
 * Gets a token with the client secret from GRANT_CLIENT_SECRET and prints
 * it, or with --load-only prints what the store holds ("none" if nothing).
 * With --redis, the key prefix comes from GRANT_TEST_KEY_PREFIX and the
 * provider's timeout (seconds) from GRANT_TEST_TIMEOUT, when set; the
 * tokens are sealed with the key derived from the secret.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include <grant.h>

typedef struct {
  gboolean done;
  GrantToken *token;
  GError *error;
} Loaded;

static void
loaded_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Loaded *loaded = user_data;

  loaded->token = grant_token_store_load_finish (GRANT_TOKEN_STORE (object), result, &loaded->error);
  loaded->done = TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GrantTokenStore) store = NULL;
  g_autoptr(GrantTokenProvider) provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  gboolean load_only = FALSE;

  if (argc < 4)
    {
      g_printerr ("usage: store-helper TOKEN_URL CLIENT_ID (--dir DIR | --keyring | --redis URL) [--load-only]\n");
      return 2;
    }

  if (g_str_equal (argv[3], "--keyring"))
    store = GRANT_TOKEN_STORE (grant_secret_store_new ());
  else if (g_str_equal (argv[3], "--dir") && argc >= 5)
    store = GRANT_TOKEN_STORE (grant_file_store_new (argv[4]));
  else if (g_str_equal (argv[3], "--redis") && argc >= 5)
    {
      GrantRedisStore *redis = grant_redis_store_new (argv[4], &error);

      if (redis == NULL)
        {
          g_printerr ("store-helper: %s\n", error->message);
          return 2;
        }
      if (g_getenv ("GRANT_TEST_KEY_PREFIX") != NULL)
        grant_redis_store_set_key_prefix (redis, g_getenv ("GRANT_TEST_KEY_PREFIX"));
      store = GRANT_TOKEN_STORE (redis);
    }
  else
    return 2;
  load_only = g_str_equal (argv[argc - 1], "--load-only");

  if (load_only)
    {
      g_autoptr(GrantTokenKey) key = grant_token_key_new (argv[1], argv[2],
                                                          GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
                                                          NULL, NULL);
      Loaded loaded = { 0 };

      grant_token_store_load_async (store, key, NULL, loaded_cb, &loaded);
      while (!loaded.done)
        g_main_context_iteration (NULL, TRUE);
      if (loaded.error != NULL)
        {
          g_printerr ("store-helper: %s\n", loaded.error->message);
          g_error_free (loaded.error);
          return 1;
        }
      g_print ("%s\n", loaded.token ? grant_token_get_access_token (loaded.token) : "none");
      g_clear_object (&loaded.token);
      return 0;
    }

  provider = grant_token_provider_new (argv[1], argv[2], g_getenv ("GRANT_CLIENT_SECRET"));
  grant_token_provider_set_auto_refresh (provider, FALSE);
  if (g_getenv ("GRANT_TEST_TIMEOUT") != NULL)
    grant_token_provider_set_timeout (provider, atoi (g_getenv ("GRANT_TEST_TIMEOUT")));
  grant_token_provider_set_store (provider, store);
  token = grant_token_provider_get_token (provider, NULL, &error);
  if (token == NULL)
    {
      g_printerr ("store-helper: %s\n", error->message);
      return 1;
    }

  /* A test's helper prints the token: it is a fake one. */
  g_print ("%s\n", grant_token_get_access_token (token));

  return 0;
}
