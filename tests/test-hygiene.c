/* test-hygiene.c: with every debug message on, the fetch, failure,
 * refresh, discovery and store paths never log or put into an error the
 * client secret or any token
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-utils.h"

#define SECRET "hygiene-canary-secret/+%:"

static GPtrArray *messages;

/* Gets a token and keeps the error message, if any. */
static GrantToken *
get_token (GrantTokenProvider *provider)
{
  g_autoptr(GError) error = NULL;
  GrantToken *token = test_provider_get_token (provider, NULL, &error);

  if (error != NULL)
    g_ptr_array_add (messages, g_strdup (error->message));

  return token;
}

static void
refresh_failed_cb (GrantTokenProvider *provider,
                   GError             *error,
                   gpointer            user_data)
{
  g_ptr_array_add (messages, g_strdup (error->message));
}

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    guint              *count)
{
  (*count)++;
}

/* Base64 of "id:secret", as a Basic Authorization header has it, both
 * as they are and both form-encoded (for SECRET and the endpoint's id,
 * the same as percent-encoded). */
static char *
basic_credentials (const char *client_id,
                   gboolean    encoded)
{
  g_autofree char *id = encoded ? g_uri_escape_string (client_id, NULL, FALSE) : g_strdup (client_id);
  g_autofree char *secret = encoded ? g_uri_escape_string (SECRET, NULL, FALSE) : g_strdup (SECRET);
  g_autofree char *joined = g_strconcat (id, ":", secret, NULL);

  return g_base64_encode ((const guchar *) joined, strlen (joined));
}

static void
assert_nothing_secret (LocalEndpoint *endpoint,
                       const char    *text)
{
  g_autofree char *encoded = g_uri_escape_string (SECRET, NULL, FALSE);
  g_autofree char *basic = basic_credentials (endpoint->client_id, FALSE);
  g_autofree char *basic_encoded = basic_credentials (endpoint->client_id, TRUE);

  g_assert_null (strstr (text, SECRET));
  g_assert_null (strstr (text, encoded));
  g_assert_null (strstr (text, "hygiene-canary"));
  g_assert_null (strstr (text, basic));
  g_assert_null (strstr (text, basic_encoded));
  for (guint i = 1; i <= endpoint->n_tokens; i++)
    {
      g_autofree char *token = local_endpoint_token (endpoint, i);

      g_assert_null (strstr (text, token));
    }
}

static void
test_every_path (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("grant-hygiene-XXXXXX", &error);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  gint64 start = g_get_real_time ();
  g_autoptr(TestClock) clock = test_clock_new (start);
  GrantTokenProvider *provider = NULL;
  GrantTokenProvider *wrong = NULL;
  GrantTokenProvider *discovering = NULL;
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) stored = NULL;
  g_autoptr(GrantToken) refused = NULL;
  g_autoptr(GrantToken) discovered = NULL;
  g_autofree char *logs = NULL;
  g_autofree char *discovery_document = NULL;
  guint refreshed = 0;

  g_free (endpoint->client_secret);
  endpoint->client_secret = g_strdup (SECRET);
  endpoint->accept_basic = FALSE;
  endpoint->expires_in = 100;

  /* A fetch through AUTO (Basic refused, then the body), saved to a store,
   * with retried 503s on the way. */
  provider = grant_token_provider_new (endpoint->token_url, endpoint->client_id, SECRET);
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  grant_token_provider_set_clock (provider, GRANT_CLOCK (clock));
  grant_token_provider_set_store (provider, GRANT_TOKEN_STORE (store));
  test_fast_retries (provider, 3);
  g_signal_connect (provider, "refresh-failed", G_CALLBACK (refresh_failed_cb), NULL);
  g_signal_connect (provider, "token-refreshed", G_CALLBACK (token_refreshed_cb), &refreshed);
  local_endpoint_push_failure (endpoint, 503, "Retry-After", "0", "");
  first = get_token (provider);
  g_assert_nonnull (first);

  /* A background refresh that fails, then one that works. */
  for (guint i = 0; i < 3; i++)
    local_endpoint_push_failure (endpoint, 500, NULL, NULL, "{\"error\":\"server_error\"}");
  test_clock_set (clock, start + 50 * G_USEC_PER_SEC);
  while (messages->len < 1)
    g_main_context_iteration (NULL, TRUE);
  test_clock_set (clock, start + 52 * G_USEC_PER_SEC);
  while (refreshed < 2)
    g_main_context_iteration (NULL, TRUE);

  /* Invalidate (the store is cleared), then load from the store in a new
   * provider. */
  grant_token_provider_invalidate (provider, NULL);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  stored = get_token (provider);
  g_assert_nonnull (stored);

  /* Failures: a wrong secret (with the server echoing what it got) and a
   * store that cannot be written. */
  wrong = grant_token_provider_new (endpoint->token_url, endpoint->client_id, SECRET "-wrong");
  grant_token_provider_set_auth_method (wrong, GRANT_AUTH_METHOD_AUTO);
  g_signal_connect (wrong, "refresh-failed", G_CALLBACK (refresh_failed_cb), NULL);
  refused = get_token (wrong);
  g_assert_null (refused);

  /* Discovery. */
  discovery_document = g_strdup_printf ("{\"issuer\":\"%s\",\"token_endpoint\":\"%s\"}",
                                        endpoint->base_url, endpoint->token_url);
  local_endpoint_add_canned (endpoint, "/.well-known/oauth-authorization-server", 200,
                             "application/json", discovery_document, -1);
  discovering = grant_token_provider_new (NULL, endpoint->client_id, SECRET);
  grant_token_provider_set_issuer (discovering, endpoint->base_url);
  discovered = get_token (discovering);
  g_assert_nonnull (discovered);

  logs = test_dup_captured_logs ();
  g_assert_nonnull (strstr (logs, "Requesting a token"));
  g_assert_nonnull (strstr (logs, "trying again"));
  g_assert_nonnull (strstr (logs, "Refreshing the token in the background"));
  g_assert_nonnull (strstr (logs, "discovery document"));
  assert_nothing_secret (endpoint, logs);

  g_assert_cmpuint (messages->len, >=, 2);
  for (guint i = 0; i < messages->len; i++)
    {
      g_test_message ("%s", (char *) g_ptr_array_index (messages, i));
      assert_nothing_secret (endpoint, g_ptr_array_index (messages, i));
    }

  g_assert_finalize_object (provider);
  g_assert_finalize_object (wrong);
  g_assert_finalize_object (discovering);
  {
    g_autofree char *command = g_strdup_printf ("rm -rf '%s'", dir);

    g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
  }
}

static void
test_secret_unreadable (void)
{
  GrantTokenProvider *provider = grant_token_provider_new (NULL, NULL, SECRET);
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (provider), "client-secret");

  g_assert_false (pspec->flags & G_PARAM_READABLE);
  g_assert_finalize_object (provider);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  test_capture_logs ();
  g_test_init (&argc, &argv, NULL);
  messages = g_ptr_array_new_with_free_func (g_free);

  g_test_add_func ("/hygiene/every-path", test_every_path);
  g_test_add_func ("/hygiene/secret-unreadable", test_secret_unreadable);

  status = g_test_run ();
  g_ptr_array_unref (messages);

  return status;
}
