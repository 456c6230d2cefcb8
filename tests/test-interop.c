/* test-interop.c: libgrant against real OAuth 2.0 servers from npm,
 * oidc-provider and oauth2-mock-server, started on 127.0.0.1 by
 * tests/interop/run.sh's set-up (GRANT_INTEROP_DIR)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-utils.h"

/* As in tests/interop/oidc-server.mjs. */
#define BASIC_SECRET "b:%+/ secret"

static char *oidc_issuer;
static char *post_only_issuer;
static char *mock_issuer;

/* Starts a node script from the interop folder and reads the JSON line it
 * prints when it listens. */
static GSubprocess *
start_server (const char  *script,
              JsonObject **info)
{
  const char *dir = g_getenv ("GRANT_INTEROP_DIR");
  g_autofree char *path = g_build_filename (dir, script, NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  GSubprocess *process;
  JsonNode *node;

  g_subprocess_launcher_set_cwd (launcher, dir);
  process = g_subprocess_launcher_spawn (launcher, &error, "node", path, NULL);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);

  node = json_from_string (line, &error);
  g_assert_no_error (error);
  *info = json_object_ref (json_node_get_object (node));
  json_node_unref (node);

  return process;
}

/* How many token requests the server received; *@basic, how many of them
 * with HTTP Basic credentials. */
static guint
token_requests_full (const char *issuer,
                     guint      *basic)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (issuer, "/test/token-requests", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);

  if (basic != NULL)
    *basic = (guint) json_object_get_int_member (json_node_get_object (node), "basic");

  return (guint) json_object_get_int_member (json_node_get_object (node), "count");
}

static guint
token_requests (const char *issuer)
{
  return token_requests_full (issuer, NULL);
}

static GrantTokenProvider *
oidc_provider (const char      *client_id,
               const char      *secret,
               GrantAuthMethod  method)
{
  g_autofree char *token_url = g_strconcat (oidc_issuer, "/token", NULL);
  GrantTokenProvider *provider = grant_token_provider_new (token_url, client_id, secret);

  grant_token_provider_set_auth_method (provider, method);
  grant_token_provider_set_auto_refresh (provider, FALSE);

  return provider;
}

static void
test_basic_special_secret (void)
{
  GrantTokenProvider *provider = oidc_provider ("basic-client", BASIC_SECRET,
                                                GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_scope (provider, "read write");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpstr (grant_token_get_scope (token), ==, "read write");
  g_assert_nonnull (grant_token_get_expires_at (token));

  g_assert_finalize_object (provider);
}

static void
test_post (void)
{
  GrantTokenProvider *provider = oidc_provider ("post-client", "post-secret",
                                                GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (grant_token_get_access_token (token)), >, 20);

  g_assert_finalize_object (provider);
}

static void
test_scopes (void)
{
  GrantTokenProvider *granted = oidc_provider ("post-client", "post-secret",
                                               GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  GrantTokenProvider *refused = oidc_provider ("post-client", "post-secret",
                                               GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) none = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_scope (granted, "read");
  token = test_provider_get_token (granted, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (token), ==, "read");

  /* post-client may read, not write. */
  grant_token_provider_set_scope (refused, "read write");
  none = test_provider_get_token (refused, NULL, &error);
  g_assert_null (none);
  g_test_message ("%s", error->message);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_SCOPE);
  g_assert_nonnull (strstr (error->message, "HTTP 400"));

  g_assert_finalize_object (granted);
  g_assert_finalize_object (refused);
}

static void
test_invalid_client (void)
{
  const GrantAuthMethod methods[] = {
    GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
    GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
  };

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      GrantTokenProvider *provider = oidc_provider ("basic-client", "wrong secret", methods[i]);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      token = test_provider_get_token (provider, NULL, &error);
      g_assert_null (token);
      g_test_message ("%s", error->message);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
      g_assert_null (strstr (error->message, "wrong secret"));

      g_assert_finalize_object (provider);
    }
}

static void
test_discovery (void)
{
  GrantTokenProvider *provider = grant_token_provider_new (NULL, "post-client", "post-secret");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_issuer (provider, oidc_issuer);
  grant_token_provider_set_auto_refresh (provider, FALSE);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);

  g_assert_finalize_object (provider);
}

static void
test_auto_from_discovery (void)
{
  GrantTokenProvider *provider = grant_token_provider_new (NULL, "discovery-client", "discovery-secret");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  guint basic_before, basic_after;
  guint before = token_requests_full (post_only_issuer, &basic_before);

  /* This server's document lists only client_secret_post: AUTO sends the
   * credentials in the body at once, where it would try Basic first. */
  grant_token_provider_set_issuer (provider, post_only_issuer);
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  grant_token_provider_set_auto_refresh (provider, FALSE);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (token_requests_full (post_only_issuer, &basic_after) - before, ==, 1);
  g_assert_cmpuint (basic_after, ==, basic_before);

  g_assert_finalize_object (provider);
}

static void
test_auto_without_discovery (void)
{
  g_autofree char *token_url = g_strconcat (oidc_issuer, "/token", NULL);
  GrantTokenProvider *provider = grant_token_provider_new (token_url, "post-client", "post-secret");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  guint basic_before, basic_after;
  guint before = token_requests_full (oidc_issuer, &basic_before);

  /* Without a document, AUTO tries Basic first (and remembers it). */
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  grant_token_provider_set_auto_refresh (provider, FALSE);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (token_requests_full (oidc_issuer, &basic_after) - before, ==, 1);
  g_assert_cmpuint (basic_after - basic_before, ==, 1);

  g_assert_finalize_object (provider);
}

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    guint              *count)
{
  (*count)++;
}

static void
test_reuse_and_refresh (void)
{
  g_autofree char *token_url = g_strconcat (oidc_issuer, "/token", NULL);
  GrantTokenProvider *provider = grant_token_provider_new (token_url, "short-client", "short-secret");
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) reused = NULL;
  g_autoptr(GError) error = NULL;
  guint refreshed = 0;
  guint before = token_requests (oidc_issuer);

  g_signal_connect (provider, "token-refreshed", G_CALLBACK (token_refreshed_cb), &refreshed);

  /* Three-second tokens: reused at once, refreshed in the background about
   * a second and a half later. */
  first = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_date_time_difference (grant_token_get_expires_at (first),
                                           grant_token_get_issued_at (first)) / G_USEC_PER_SEC, ==, 3);
  reused = test_provider_get_token (provider, NULL, &error);
  g_assert_true (reused == first);
  g_assert_cmpuint (token_requests (oidc_issuer) - before, ==, 1);

  while (refreshed < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (grant_token_provider_peek_token (provider) != first);
  g_assert_cmpstr (grant_token_get_access_token (grant_token_provider_peek_token (provider)), !=,
                   grant_token_get_access_token (first));
  g_assert_cmpuint (token_requests (oidc_issuer) - before, ==, 2);

  g_assert_finalize_object (provider);
}

static void
test_mock_server_jwt (void)
{
  g_autofree char *token_url = g_strconcat (mock_issuer, "/token", NULL);
  GrantTokenProvider *provider = grant_token_provider_new (token_url, "any-client", "any-secret");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree char *header = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize length;

  grant_token_provider_set_auto_refresh (provider, FALSE);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);

  /* A JWT: three base64url parts, the first a JSON header naming RS256. */
  parts = g_strsplit (grant_token_get_access_token (token), ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  for (char *p = parts[0]; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  header = g_strdup_printf ("%s%s", parts[0], strlen (parts[0]) % 4 == 2 ? "==" : strlen (parts[0]) % 4 == 3 ? "=" : "");
  {
    g_autofree guchar *decoded = g_base64_decode (header, &length);
    g_autofree char *text = g_strndup ((const char *) decoded, length);

    node = json_from_string (text, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "alg"), ==, "RS256");
  g_assert_nonnull (grant_token_get_expires_at (token));

  g_assert_finalize_object (provider);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSubprocess) oidc = NULL;
  g_autoptr(GSubprocess) mock = NULL;
  g_autoptr(JsonObject) oidc_info = NULL;
  g_autoptr(JsonObject) mock_info = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("GRANT_INTEROP_DIR") == NULL)
    {
      g_print ("1..0 # SKIP GRANT_INTEROP_DIR is not set: run through tests/interop/run.sh\n");
      return 0;
    }

  oidc = start_server ("oidc-server.mjs", &oidc_info);
  mock = start_server ("mock-server.mjs", &mock_info);
  oidc_issuer = g_strdup (json_object_get_string_member (oidc_info, "issuer"));
  post_only_issuer = g_strdup (json_object_get_string_member (oidc_info, "post_only_issuer"));
  mock_issuer = g_strdup (json_object_get_string_member (mock_info, "issuer"));

  g_test_add_func ("/interop/oidc-provider/basic-special-secret", test_basic_special_secret);
  g_test_add_func ("/interop/oidc-provider/post", test_post);
  g_test_add_func ("/interop/oidc-provider/scopes", test_scopes);
  g_test_add_func ("/interop/oidc-provider/invalid-client", test_invalid_client);
  g_test_add_func ("/interop/oidc-provider/discovery", test_discovery);
  g_test_add_func ("/interop/oidc-provider/auto-without-discovery", test_auto_without_discovery);
  g_test_add_func ("/interop/oidc-provider/auto-from-discovery", test_auto_from_discovery);
  g_test_add_func ("/interop/oidc-provider/reuse-and-refresh", test_reuse_and_refresh);
  g_test_add_func ("/interop/oauth2-mock-server/jwt", test_mock_server_jwt);

  status = g_test_run ();

  /* Stopped by PID. */
  g_subprocess_force_exit (oidc);
  g_subprocess_force_exit (mock);
  g_subprocess_wait (oidc, NULL, NULL);
  g_subprocess_wait (mock, NULL, NULL);
  g_free (oidc_issuer);
  g_free (post_only_issuer);
  g_free (mock_issuer);

  return status;
}
