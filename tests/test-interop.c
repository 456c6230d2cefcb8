/* test-interop.c: libgrant against real OAuth 2.0 servers from npm,
 * oidc-provider and oauth2-mock-server, started on 127.0.0.1 by
 * tests/interop/run.sh's set-up (GRANT_INTEROP_DIR)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "test-utils.h"
#include "grant-assertion-private.h"
#include "grant-client-key-private.h"
#include "grant-jws-private.h"
#include "grant-request-private.h"

/* As in tests/interop/oidc-server.mjs. */
#define BASIC_SECRET "b:%+/ secret"
#define JWT_SECRET "a client secret long enough for HS256 0123456789"

/* The keys jwt-client registered (their public JWKs go to the server in
 * GRANT_INTEROP_JWKS), one per algorithm. */
static const char *jwt_algorithms[] = { "RS256", "PS256", "ES256", "EdDSA" };
static GrantClientKey *jwt_keys[G_N_ELEMENTS (jwt_algorithms)];
/* Keys from files openssl wrote: a PKCS#12 (RSA, with its certificate, so
 * x5t#S256 too) and an encrypted PKCS#8 (EC). */
static GrantClientKey *file_keys[2];
static char *jwks_path;

/* tests/interop/oidc-mtls-server.mjs: oidc-provider over HTTPS, asking for
 * client certificates; its certificates are made here, in tls_dir. */
static char *mtls_issuer;
static char *tls_dir;

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

/* private_key_jwt with each algorithm; AUTO picks it when a key is set. */
static void
test_private_key_jwt (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (jwt_keys); i++)
    for (guint automatic = 0; automatic < 2; automatic++)
      {
        GrantTokenProvider *provider = oidc_provider ("jwt-client", NULL,
                                                      automatic ? GRANT_AUTH_METHOD_AUTO
                                                                : GRANT_AUTH_METHOD_PRIVATE_KEY_JWT);
        g_autoptr(GrantToken) token = NULL;
        g_autoptr(GError) error = NULL;
        guint basic_before = 0, basic_after = 0;
        guint before = token_requests_full (oidc_issuer, &basic_before);

        g_test_message ("%s%s", jwt_algorithms[i], automatic ? ", AUTO" : "");
        grant_token_provider_set_client_key (provider, jwt_keys[i]);
        grant_token_provider_set_scope (provider, "read");
        token = test_provider_get_token (provider, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (grant_token_get_scope (token), ==, "read");
        g_assert_cmpuint (token_requests_full (oidc_issuer, &basic_after) - before, ==, 1);
        g_assert_cmpuint (basic_after, ==, basic_before);
        g_clear_object (&token);

        /* Again: a new assertion (the server keeps a replay cache of jti). */
        grant_token_provider_invalidate (provider, NULL);
        token = test_provider_get_token (provider, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (token_requests (oidc_issuer) - before, ==, 2);

        g_assert_finalize_object (provider);
      }
}

static void
test_private_key_jwt_from_files (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (file_keys); i++)
    {
      GrantTokenProvider *provider = oidc_provider ("jwt-client", NULL, GRANT_AUTH_METHOD_PRIVATE_KEY_JWT);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      grant_token_provider_set_client_key (provider, file_keys[i]);
      grant_token_provider_set_scope (provider, "read");
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_finalize_object (provider);
    }
}

/* AUTO with a key, the token endpoint found through discovery. */
static void
test_private_key_jwt_discovery (void)
{
  GrantTokenProvider *provider = grant_token_provider_new (NULL, "jwt-client", NULL);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_issuer (provider, oidc_issuer);
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  grant_token_provider_set_client_key (provider, jwt_keys[3]);
  grant_token_provider_set_scope (provider, "read");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (provider);
}

static void
test_client_secret_jwt (void)
{
  GrantTokenProvider *provider = oidc_provider ("secret-jwt-client", JWT_SECRET,
                                                GRANT_AUTH_METHOD_CLIENT_SECRET_JWT);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_scope (provider, "read");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (token), ==, "read");
  g_assert_finalize_object (provider);

  /* The wrong secret signs an assertion the server refuses. */
  provider = oidc_provider ("secret-jwt-client", "not the secret", GRANT_AUTH_METHOD_CLIENT_SECRET_JWT);
  g_clear_object (&token);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_null (strstr (error->message, "not the secret"));
  g_assert_finalize_object (provider);
}

/* A key the server does not know: invalid_client, and nothing of the key
 * or the assertion in the message. */
static void
test_unknown_key (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantClientKey) stranger = grant_client_key_generate ("ES256", &error);
  GrantTokenProvider *provider = oidc_provider ("jwt-client", NULL, GRANT_AUTH_METHOD_PRIVATE_KEY_JWT);
  g_autoptr(GrantToken) token = NULL;

  g_assert_no_error (error);
  grant_client_key_set_key_id (stranger, "ES256");
  grant_token_provider_set_client_key (provider, stranger);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_test_message ("%s", error->message);
  g_assert_null (strstr (error->message, "eyJ"));
  g_assert_null (strstr (error->message, grant_client_key_get_thumbprint (stranger)));
  g_assert_finalize_object (provider);
}

/* The thumbprint the server bound its last token to with DPoP (cnf.jkt). */
static char *
last_dpop_jkt (const char *issuer)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (issuer, "/test/token-requests", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *member;

  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  member = json_object_get_member (json_node_get_object (node), "dpop_jkt");

  return member && !JSON_NODE_HOLDS_NULL (member) ? g_strdup (json_node_get_string (member)) : NULL;
}

/* DPoP with a nonce required: the first token costs one extra round trip,
 * the next none; the token is bound to the key. */
static void
test_dpop_token (void)
{
  const char *algorithms[] = { "ES256", "EdDSA", "RS256" };

  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantClientKey) key = grant_client_key_generate (algorithms[i], &error);
      GrantTokenProvider *provider = oidc_provider ("dpop-client", "dpop-secret",
                                                    GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
      g_autoptr(GrantToken) token = NULL;
      g_autofree char *authorization = NULL;
      g_autofree char *jkt = NULL;
      guint before = token_requests (oidc_issuer);

      g_test_message ("%s", algorithms[i]);
      g_assert_no_error (error);
      grant_token_provider_set_dpop_key (provider, key);
      grant_token_provider_set_scope (provider, "read");
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_token_get_token_type (token), ==, "DPoP");
      authorization = grant_token_dup_authorization (token);
      g_assert_true (g_str_has_prefix (authorization, "DPoP "));
      g_assert_cmpuint (token_requests (oidc_issuer) - before, ==, 2);
      jkt = last_dpop_jkt (oidc_issuer);
      g_assert_cmpstr (jkt, ==, grant_client_key_get_thumbprint (key));
      g_clear_object (&token);

      /* The nonce is remembered: no extra round trip. */
      grant_token_provider_invalidate (provider, NULL);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (token_requests (oidc_issuer) - before, ==, 3);

      g_assert_finalize_object (provider);
    }
}

static guint
resource_requests (void)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (oidc_issuer, "/test/token-requests", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);

  return (guint) json_object_get_int_member (json_node_get_object (node), "resource");
}

static void
send_resource_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TestResult *done = user_data;
  g_autoptr(GInputStream) stream = grant_token_provider_send_finish (GRANT_TOKEN_PROVIDER (object), result,
                                                                     &done->error);

  done->done = TRUE;
}

/* send_async() against a resource server that verifies DPoP proofs and
 * wants its own nonce: one extra round trip the first time, none after;
 * and create_dpop_proof() for a request made by hand. */
static void
test_dpop_resource (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantClientKey) key = grant_client_key_generate ("ES256", &error);
  GrantTokenProvider *provider = oidc_provider ("dpop-client", "dpop-secret", GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  g_autofree char *url = g_strconcat (oidc_issuer, "/test/resource?page=2", NULL);
  g_autoptr(SoupSession) session = soup_session_new ();
  guint before;

  g_assert_no_error (error);
  grant_token_provider_set_dpop_key (provider, key);
  grant_token_provider_set_scope (provider, "read");

  before = resource_requests ();
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
      TestResult done = { 0 };

      grant_token_provider_send_async (provider, NULL, message, G_PRIORITY_DEFAULT, NULL, send_resource_cb, &done);
      test_wait_until (&done.done);
      g_assert_no_error (done.error);
      g_assert_cmpuint (soup_message_get_status (message), ==, 200);
      g_assert_true (g_str_has_prefix (soup_message_headers_get_one (soup_message_get_request_headers (message),
                                                                     "Authorization"), "DPoP "));
      /* Two requests for the first (the nonce), one for each after. */
      g_assert_cmpuint (resource_requests () - before, ==, round + 2);
    }

  /* By hand: a proof from the provider, the nonce handed back. */
  {
    g_autoptr(GrantToken) token = test_provider_get_token (provider, NULL, &error);
    g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
    g_autoptr(SoupMessage) replay = soup_message_new ("GET", url);
    g_autofree char *authorization = NULL;
    g_autofree char *proof = NULL;
    g_autoptr(GBytes) body = NULL;
    const char *nonce;

    g_assert_no_error (error);
    authorization = grant_token_dup_authorization (token);
    proof = grant_token_provider_create_dpop_proof (provider, "GET", url, token, NULL, &error);
    g_assert_no_error (error);
    soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", authorization);
    soup_message_headers_replace (soup_message_get_request_headers (message), "DPoP", proof);
    body = soup_session_send_and_read (session, message, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (message), ==, 200);
    nonce = soup_message_headers_get_one (soup_message_get_response_headers (message), "DPoP-Nonce");
    g_assert_nonnull (nonce);
    grant_token_provider_set_dpop_nonce (provider, url, nonce);

    /* The same proof again: refused (its jti was seen). */
    g_clear_pointer (&body, g_bytes_unref);
    soup_message_headers_replace (soup_message_get_request_headers (replay), "Authorization", authorization);
    soup_message_headers_replace (soup_message_get_request_headers (replay), "DPoP", proof);
    body = soup_session_send_and_read (session, replay, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (replay), ==, 401);
  }

  /* Without a key, no proof: a clear error. */
  {
    GrantTokenProvider *plain = oidc_provider ("dpop-client", "dpop-secret", GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
    g_autofree char *none = grant_token_provider_create_dpop_proof (plain, "GET", url, NULL, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
    g_assert_finalize_object (plain);
  }

  g_assert_finalize_object (provider);
}

/* grant-token --dpop-key against oidc-provider with nonces required. */
static void
test_dpop_command_line (void)
{
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "grant-token", NULL);
  g_autofree char *token_url = g_strconcat (oidc_issuer, "/token", NULL);
  g_autofree char *dir = g_dir_make_tmp ("grant-interop-dpop-XXXXXX", NULL);
  g_autofree char *key_path = g_build_filename (dir, "dpop.pem", NULL);
  g_autofree char *command = g_strdup_printf ("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s",
                                              key_path);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) node = NULL;
  int status;

  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, NULL) && status == 0);
  g_subprocess_launcher_setenv (launcher, "GRANT_CLIENT_SECRET", "dpop-secret", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, tool, "-u", token_url, "-c", "dpop-client",
                                         "-s", "read", "--dpop-key", key_path, "-o", "json",
                                         "--dpop-url", "https://api.example.com/v1", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "token_type"), ==, "DPoP");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (json_node_get_object (node), "dpop_proof"), "ey"));
  test_remove_tree (dir);
}

/* The server refuses an assertion it saw before: why every request, retries
 * included, carries a new one. */
static void
test_replayed_assertion (void)
{
  g_autofree char *token_url = g_strconcat (oidc_issuer, "/token", NULL);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *jti = grant_assertion_new_jti ();
  GrantAssertionClaims claims = { "jwt-client", token_url, jti, g_get_real_time () / G_USEC_PER_SEC };
  g_autoptr(GError) error = NULL;
  g_autofree char *assertion = grant_assertion_sign (jwt_keys[2], NULL, &claims, &error);
  guint statuses[2];

  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("POST", token_url);
      g_autofree char *body = soup_form_encode ("grant_type", "client_credentials",
                                                "client_id", "jwt-client",
                                                "client_assertion_type", GRANT_ASSERTION_TYPE,
                                                "client_assertion", assertion,
                                                NULL);
      g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&body), strlen (body));
      g_autoptr(GBytes) answer = NULL;

      soup_message_set_request_body_from_bytes (message, "application/x-www-form-urlencoded", bytes);
      answer = soup_session_send_and_read (session, message, NULL, &error);
      g_assert_no_error (error);
      statuses[i] = soup_message_get_status (message);
    }
  g_assert_cmpuint (statuses[0], ==, 200);
  g_assert_cmpuint (statuses[1], ==, 401);
}

static gboolean openssl (const char *format, ...) G_GNUC_PRINTF (1, 2);

static gboolean
openssl (const char *format,
         ...)
{
  va_list args;
  g_autofree char *arguments = NULL;
  g_autofree char *command = NULL;
  g_autofree char *err = NULL;
  int status;

  va_start (args, format);
  arguments = g_strdup_vprintf (format, args);
  va_end (args);
  command = g_strconcat ("openssl ", arguments, NULL);
  if (!g_spawn_command_line_sync (command, NULL, &err, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      g_printerr ("%s: %s\n", command, err ? err : "");
      return FALSE;
    }

  return TRUE;
}

static char *
tls_path (const char *name)
{
  return g_build_filename (tls_dir, name, NULL);
}

/* A CA; the server's certificate and a client's, signed by it; a
 * self-signed client certificate and its JWK with x5t#S256. */
static void
write_tls_files (void)
{
  g_autoptr(GError) error = NULL;
  const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  g_autofree char *ext = NULL;
  g_autofree char *both = NULL;
  g_autofree char *jwk = NULL;
  g_autofree char *x5t = NULL;
  g_autofree char *jwks = NULL;
  g_autoptr(GrantClientKey) key = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *ca = NULL, *ca_key = NULL, *server = NULL, *server_key = NULL, *server_csr = NULL;
  g_autofree char *client = NULL, *client_key = NULL, *client_csr = NULL;
  g_autofree char *self = NULL, *self_key = NULL;

  tls_dir = g_dir_make_tmp ("grant-interop-tls-XXXXXX", &error);
  g_assert_no_error (error);
  ca = tls_path ("ca.pem"), ca_key = tls_path ("ca-key.pem");
  server = tls_path ("server.pem"), server_key = tls_path ("server-key.pem"), server_csr = tls_path ("server.csr");
  client = tls_path ("client.pem"), client_key = tls_path ("client-key.pem"), client_csr = tls_path ("client.csr");
  self = tls_path ("self-signed.pem"), self_key = tls_path ("self-signed-key.pem");
  ext = tls_path ("ext.cnf");
  g_file_set_contents (ext, "subjectAltName=IP:127.0.0.1\n", -1, &error);
  g_assert_no_error (error);

  g_assert_true (openssl ("req -x509 %s -days 2 -subj /CN=interop-ca -keyout %s -out %s", ec, ca_key, ca));
  g_assert_true (openssl ("req -new %s -subj /CN=127.0.0.1 -keyout %s -out %s", ec, server_key, server_csr));
  g_assert_true (openssl ("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 2 -extfile %s -out %s",
                          server_csr, ca, ca_key, ext, server));
  g_assert_true (openssl ("req -new %s -subj /CN=mtls-client -keyout %s -out %s", ec, client_key, client_csr));
  g_assert_true (openssl ("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 2 -out %s",
                          client_csr, ca, ca_key, client));
  g_assert_true (openssl ("req -x509 %s -days 2 -subj /CN=self-signed-client -keyout %s -out %s",
                          ec, self_key, self));

  /* The self-signed certificate's public key, as the client registers it. */
  both = tls_path ("self-signed-both.pem");
  {
    g_autofree char *cert_pem = NULL;
    g_autofree char *key_pem = NULL;
    g_autofree char *joined = NULL;

    g_file_get_contents (self, &cert_pem, NULL, &error);
    g_assert_no_error (error);
    g_file_get_contents (self_key, &key_pem, NULL, &error);
    g_assert_no_error (error);
    joined = g_strconcat (cert_pem, key_pem, NULL);
    g_file_set_contents (both, joined, -1, &error);
    g_assert_no_error (error);
  }
  key = grant_client_key_new_from_file (both, NULL, &error);
  g_assert_no_error (error);
  jwk = grant_client_key_dup_public_jwk (key);
  x5t = grant_client_key_dup_x5t_s256 (key);
  node = json_from_string (jwk, &error);
  g_assert_no_error (error);
  json_object_set_string_member (json_node_get_object (node), "x5t#S256", x5t);
  {
    g_autofree char *with_x5t = json_to_string (node, FALSE);
    g_autofree char *path = tls_path ("self-signed-jwks.json");

    jwks = g_strdup_printf ("{\"keys\":[%s]}", with_x5t);
    g_file_set_contents (path, jwks, -1, &error);
    g_assert_no_error (error);
  }
  g_setenv ("GRANT_INTEROP_TLS_DIR", tls_dir, TRUE);
}

/* A provider for the mutual TLS server, trusting its CA. */
static GrantTokenProvider *
mtls_provider (const char      *client_id,
               const char      *secret,
               GrantAuthMethod  method,
               const char      *cert_name,
               const char      *key_name)
{
  g_autofree char *ca = tls_path ("ca.pem");
  g_autofree char *token_url = g_strconcat (mtls_issuer, "/token", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) database = g_tls_file_database_new (ca, &error);
  g_autoptr(SoupSession) session = NULL;
  GrantTokenProvider *provider;

  g_assert_no_error (error);
  session = soup_session_new_with_options ("tls-database", database, NULL);
  provider = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                           "token-url", token_url,
                           "client-id", client_id,
                           "client-secret", secret,
                           "auth-method", method,
                           "session", session,
                           "auto-refresh", FALSE,
                           "scope", "read",
                           NULL);
  if (cert_name != NULL)
    {
      g_autofree char *cert = tls_path (cert_name);
      g_autofree char *key = tls_path (key_name);
      g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_files (cert, key, &error);

      g_assert_no_error (error);
      grant_token_provider_set_tls_certificate (provider, certificate);
    }

  return provider;
}

/* The x5t#S256 the server bound its last token to, or NULL. */
static char *
last_bound_thumbprint (void)
{
  g_autofree char *ca = tls_path ("ca.pem");
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) database = g_tls_file_database_new (ca, &error);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("tls-database", database, NULL);
  g_autofree char *url = g_strconcat (mtls_issuer, "/test/last-token", NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, &error);
  g_autoptr(JsonNode) node = NULL;
  JsonNode *member;

  g_assert_no_error (error);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  member = json_object_get_member (json_node_get_object (node), "x5t#S256");

  return member && !JSON_NODE_HOLDS_NULL (member) ? g_strdup (json_node_get_string (member)) : NULL;
}

/* base64url of the SHA-256 of a PEM certificate's DER: RFC 8705's x5t#S256. */
static char *
certificate_thumbprint (const char *name)
{
  g_autofree char *path = tls_path (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (path, &error);
  g_autoptr(GByteArray) der = NULL;
  guint8 digest[32];
  gsize length = sizeof digest;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  g_assert_no_error (error);
  g_object_get (certificate, "certificate", &der, NULL);
  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, digest, &length);

  return grant_base64url_encode (digest, length);
}

static void
test_mtls_methods (void)
{
  const struct {
    const char *client_id;
    const char *secret;
    GrantAuthMethod method;
    const char *cert;
    const char *key;
  } cases[] = {
    { "mtls-client", NULL, GRANT_AUTH_METHOD_TLS_CLIENT_AUTH, "client.pem", "client-key.pem" },
    { "self-signed-client", NULL, GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH, "self-signed.pem", "self-signed-key.pem" },
    { "bound-client", "bound-secret", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "client.pem", "client-key.pem" },
    { "mtls-client", NULL, GRANT_AUTH_METHOD_AUTO, "client.pem", "client-key.pem" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GrantTokenProvider *provider = mtls_provider (cases[i].client_id, cases[i].secret, cases[i].method,
                                                    cases[i].cert, cases[i].key);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *bound = NULL;
      g_autofree char *expected = certificate_thumbprint (cases[i].cert);

      g_test_message ("%s", cases[i].client_id);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_token_get_scope (token), ==, "read");
      /* The token is bound to the certificate presented (RFC 8705 section 3). */
      bound = last_bound_thumbprint ();
      g_assert_cmpstr (bound, ==, expected);
      g_assert_finalize_object (provider);
    }
}

static void
test_mtls_refused (void)
{
  /* No certificate: a clear error, no request. */
  GrantTokenProvider *provider = mtls_provider ("mtls-client", NULL, GRANT_AUTH_METHOD_TLS_CLIENT_AUTH, NULL, NULL);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_finalize_object (provider);
  g_clear_error (&error);

  /* A certificate of another client: the server refuses it. */
  provider = mtls_provider ("mtls-client", NULL, GRANT_AUTH_METHOD_TLS_CLIENT_AUTH,
                            "self-signed.pem", "self-signed-key.pem");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_finalize_object (provider);
}

/* The public JWKs of jwt-client's keys, for the server. */
static void
write_jwks (void)
{
  g_autoptr(GString) jwks = g_string_new ("{\"keys\":[");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("grant-interop-XXXXXX", &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (jwt_keys); i++)
    {
      g_autofree char *jwk = NULL;

      jwt_keys[i] = grant_client_key_generate (jwt_algorithms[i], &error);
      g_assert_no_error (error);
      grant_client_key_set_key_id (jwt_keys[i], jwt_algorithms[i]);
      jwk = grant_client_key_dup_public_jwk (jwt_keys[i]);
      g_string_append_printf (jwks, "%s%s", i > 0 ? "," : "", jwk);
    }
  {
    g_autofree char *rsa = g_build_filename (dir, "rsa.pem", NULL);
    g_autofree char *cert = g_build_filename (dir, "rsa-cert.pem", NULL);
    g_autofree char *p12 = g_build_filename (dir, "rsa.p12", NULL);
    g_autofree char *ec = g_build_filename (dir, "ec.pem", NULL);
    g_autofree char *encrypted = g_build_filename (dir, "ec-encrypted.pem", NULL);

    g_assert_true (openssl ("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=jwt-client -keyout %s -out %s",
                            rsa, cert));
    g_assert_true (openssl ("pkcs12 -export -inkey %s -in %s -out %s -passout pass:p12-password", rsa, cert, p12));
    g_assert_true (openssl ("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s", ec));
    g_assert_true (openssl ("pkcs8 -topk8 -in %s -out %s -passout pass:pkcs8-password", ec, encrypted));
    file_keys[0] = grant_client_key_new_from_file (p12, "p12-password", &error);
    g_assert_no_error (error);
    file_keys[1] = grant_client_key_new_from_file (encrypted, "pkcs8-password", &error);
    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (file_keys); i++)
      {
        g_autofree char *jwk = NULL;

        grant_client_key_set_key_id (file_keys[i], i == 0 ? "p12" : "encrypted-pkcs8");
        jwk = grant_client_key_dup_public_jwk (file_keys[i]);
        g_string_append_printf (jwks, ",%s", jwk);
      }
  }
  g_string_append (jwks, "]}");
  jwks_path = g_build_filename (dir, "jwks.json", NULL);
  g_file_set_contents (jwks_path, jwks->str, -1, &error);
  g_assert_no_error (error);
  g_setenv ("GRANT_INTEROP_JWKS", jwks_path, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSubprocess) oidc = NULL;
  g_autoptr(GSubprocess) mock = NULL;
  g_autoptr(GSubprocess) mtls = NULL;
  g_autoptr(JsonObject) mtls_info = NULL;
  g_autoptr(JsonObject) oidc_info = NULL;
  g_autoptr(JsonObject) mock_info = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("GRANT_INTEROP_DIR") == NULL)
    {
      g_print ("1..0 # SKIP GRANT_INTEROP_DIR is not set: run through tests/interop/run.sh\n");
      return 0;
    }

  write_jwks ();
  write_tls_files ();
  oidc = start_server ("oidc-server.mjs", &oidc_info);
  mtls = start_server ("oidc-mtls-server.mjs", &mtls_info);
  mtls_issuer = g_strdup (json_object_get_string_member (mtls_info, "issuer"));
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
  g_test_add_func ("/interop/oidc-provider/private-key-jwt", test_private_key_jwt);
  g_test_add_func ("/interop/oidc-provider/private-key-jwt-from-files", test_private_key_jwt_from_files);
  g_test_add_func ("/interop/oidc-provider/private-key-jwt-discovery", test_private_key_jwt_discovery);
  g_test_add_func ("/interop/oidc-provider/client-secret-jwt", test_client_secret_jwt);
  g_test_add_func ("/interop/oidc-provider/unknown-key", test_unknown_key);
  g_test_add_func ("/interop/oidc-provider/replayed-assertion", test_replayed_assertion);
  g_test_add_func ("/interop/oidc-provider/dpop-token", test_dpop_token);
  g_test_add_func ("/interop/oidc-provider/dpop-resource", test_dpop_resource);
  g_test_add_func ("/interop/oidc-provider/dpop-command-line", test_dpop_command_line);
  g_test_add_func ("/interop/oidc-provider/mtls", test_mtls_methods);
  g_test_add_func ("/interop/oidc-provider/mtls-refused", test_mtls_refused);
  g_test_add_func ("/interop/oauth2-mock-server/jwt", test_mock_server_jwt);

  status = g_test_run ();

  /* Stopped by PID. */
  g_subprocess_force_exit (oidc);
  g_subprocess_force_exit (mock);
  g_subprocess_force_exit (mtls);
  g_subprocess_wait (oidc, NULL, NULL);
  g_subprocess_wait (mock, NULL, NULL);
  g_subprocess_wait (mtls, NULL, NULL);
  g_free (mtls_issuer);
  if (tls_dir != NULL)
    test_remove_tree (tls_dir);
  g_free (tls_dir);
  g_free (oidc_issuer);
  g_free (post_only_issuer);
  g_free (mock_issuer);
  for (guint i = 0; i < G_N_ELEMENTS (jwt_keys); i++)
    g_clear_object (&jwt_keys[i]);
  for (guint i = 0; i < G_N_ELEMENTS (file_keys); i++)
    g_clear_object (&file_keys[i]);
  if (jwks_path != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (jwks_path);

      test_remove_tree (dir);
      g_free (jwks_path);
    }

  return status;
}
