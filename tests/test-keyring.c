/* test-keyring.c: GrantSecretStore against a real Secret Service (run by
 * keyring-session.sh: gnome-keyring-daemon on a private session bus)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-utils.h"

static char *
helper_load (const char *token_url,
             const char *client_id)
{
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "store-helper", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { helper, token_url, client_id, "--keyring", "--load-only", NULL };
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  return g_strstrip (g_steal_pointer (&out));
}

static void
test_round_trip_across_processes (void)
{
  g_autoptr(GrantSecretStore) store = grant_secret_store_new ();
  g_autoptr(GrantTokenKey) key = grant_token_key_new ("https://keyring.example/token", "keyring-client",
                                                      GRANT_AUTH_METHOD_CLIENT_SECRET_POST, NULL, NULL);
  g_autoptr(GDateTime) expires = g_date_time_new_now_utc ();
  g_autoptr(GrantToken) token = grant_token_new ("keyring-token", NULL, NULL, NULL, expires);
  TestStoreResult saved = { 0 }, loaded = { 0 }, cleared = { 0 };
  g_autofree char *elsewhere = NULL;
  g_autofree char *after_clear = NULL;

  grant_token_store_save_async (GRANT_TOKEN_STORE (store), key, token, NULL, test_store_save_cb, &saved);
  test_wait_until (&saved.done);
  g_assert_no_error (saved.error);
  g_assert_true (saved.ok);

  grant_token_store_load_async (GRANT_TOKEN_STORE (store), key, NULL, test_store_load_cb, &loaded);
  test_wait_until (&loaded.done);
  g_assert_no_error (loaded.error);
  g_assert_cmpstr (grant_token_get_access_token (loaded.token), ==, "keyring-token");
  g_assert_true (g_date_time_equal (grant_token_get_expires_at (loaded.token), expires));

  /* Another process reads it from the keyring. */
  elsewhere = helper_load ("https://keyring.example/token", "keyring-client");
  g_assert_cmpstr (elsewhere, ==, "keyring-token");

  grant_token_store_clear_async (GRANT_TOKEN_STORE (store), key, NULL, test_store_clear_cb, &cleared);
  test_wait_until (&cleared.done);
  g_assert_no_error (cleared.error);
  after_clear = helper_load ("https://keyring.example/token", "keyring-client");
  g_assert_cmpstr (after_clear, ==, "none");

  g_clear_object (&loaded.token);
}

static void
test_provider_with_keyring (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GrantSecretStore) store = grant_secret_store_new ();
  GrantTokenProvider *first = grant_token_provider_new (endpoint->token_url, endpoint->client_id,
                                                        endpoint->client_secret);
  GrantTokenProvider *second = grant_token_provider_new (endpoint->token_url, endpoint->client_id,
                                                         endpoint->client_secret);
  g_autoptr(GrantToken) one = NULL;
  g_autoptr(GrantToken) two = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *elsewhere = NULL;

  grant_token_provider_set_store (first, GRANT_TOKEN_STORE (store));
  grant_token_provider_set_store (second, GRANT_TOKEN_STORE (store));

  one = test_provider_get_token (first, NULL, &error);
  g_assert_no_error (error);

  two = test_provider_get_token (second, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (two), ==, grant_token_get_access_token (one));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  elsewhere = helper_load (endpoint->token_url, endpoint->client_id);
  g_assert_cmpstr (elsewhere, ==, grant_token_get_access_token (one));

  g_assert_finalize_object (first);
  g_assert_finalize_object (second);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/keyring/round-trip-across-processes", test_round_trip_across_processes);
  g_test_add_func ("/keyring/provider", test_provider_with_keyring);

  return g_test_run ();
}
