/* test-provider.c: GrantTokenProvider against a real loopback endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "grant-token-provider-private.h"
#include "test-utils.h"

/* Signals */

typedef struct {
  guint refreshed;
  guint failed;
  guint notify_token;
  GrantToken *last_token;
  GError *last_error;
} Signals;

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    Signals            *signals)
{
  g_assert_true (GRANT_IS_TOKEN (token));
  /* The cache already holds the new token when the signal comes. */
  g_assert_true (grant_token_provider_peek_token (provider) == token);
  signals->refreshed++;
  g_set_object (&signals->last_token, token);
}

static void
refresh_failed_cb (GrantTokenProvider *provider,
                   GError             *error,
                   Signals            *signals)
{
  g_assert_nonnull (error);
  signals->failed++;
  g_clear_error (&signals->last_error);
  signals->last_error = g_error_copy (error);
}

static void
notify_token_cb (GObject    *object,
                 GParamSpec *pspec,
                 Signals    *signals)
{
  signals->notify_token++;
}

static void
signals_connect (GrantTokenProvider *provider,
                 Signals            *signals)
{
  g_signal_connect (provider, "token-refreshed", G_CALLBACK (token_refreshed_cb), signals);
  g_signal_connect (provider, "refresh-failed", G_CALLBACK (refresh_failed_cb), signals);
  g_signal_connect (provider, "notify::token", G_CALLBACK (notify_token_cb), signals);
}

static void
signals_clear (Signals *signals)
{
  g_clear_object (&signals->last_token);
  g_clear_error (&signals->last_error);
}

static GrantTokenProvider *
provider_for (LocalEndpoint *endpoint)
{
  return grant_token_provider_new (endpoint->token_url, endpoint->client_id, endpoint->client_secret);
}


/* Basics */

static void
test_fetch_and_cache (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = local_endpoint_token (endpoint, 1);
  g_autofree char *auth = NULL;
  g_autofree char *grant_type = NULL;
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  g_assert_null (grant_token_provider_peek_token (provider));

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (token), ==, expected);
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_null (grant_token_get_scope (token));
  g_assert_nonnull (grant_token_get_expires_at (token));
  g_assert_false (grant_token_is_expired (token, 60 * G_TIME_SPAN_SECOND));

  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "post");
  g_assert_cmpstr (endpoint->last_content_type, ==, "application/x-www-form-urlencoded");
  grant_type = local_endpoint_dup_param (endpoint, "grant_type");
  g_assert_cmpstr (grant_type, ==, "client_credentials");

  g_assert_cmpuint (signals.refreshed, ==, 1);
  g_assert_true (signals.last_token == token);
  g_assert_cmpuint (signals.notify_token, ==, 1);
  g_assert_cmpuint (signals.failed, ==, 0);

  /* A fresh token comes from the cache: no request, no signal. */
  again = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again == token);
  g_assert_true (grant_token_provider_peek_token (provider) == token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_cmpuint (signals.refreshed, ==, 1);
  g_assert_cmpuint (signals.notify_token, ==, 1);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_concurrent_callers (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  const guint n_callers = 1000;
  g_autofree TestResult *results = g_new0 (TestResult, n_callers);
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  for (guint i = 0; i < n_callers; i++)
    grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &results[i]);

  for (guint i = 0; i < n_callers; i++)
    test_wait_until (&results[i].done);

  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  for (guint i = 0; i < n_callers; i++)
    {
      g_assert_no_error (results[i].error);
      g_assert_true (results[i].token == results[0].token);
    }
  for (guint i = 0; i < n_callers; i++)
    test_result_clear (&results[i]);
  g_assert_cmpuint (signals.refreshed, ==, 1);
  g_assert_cmpuint (signals.notify_token, ==, 1);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_blocking (void)
{
  /* The endpoint runs in a thread of its own: the blocking call does not
   * run the default main context. */
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = local_endpoint_token (endpoint, 1);
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (token), ==, expected);
  g_assert_cmpuint (signals.refreshed, ==, 1);

  again = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again == token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_blocking_error (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, "test-client", "wrong");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);

  g_assert_finalize_object (provider);
}

/* Cancellation */

static void
wait_for_held (LocalEndpoint *endpoint,
               guint         n)
{
  while (local_endpoint_get_held (endpoint) < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_cancel_one_waiter (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) c1 = g_cancellable_new ();
  g_autoptr(GCancellable) c2 = g_cancellable_new ();
  TestResult r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  endpoint->hold = TRUE;
  grant_token_provider_get_token_async (provider, c1, test_provider_get_token_cb, &r1);
  grant_token_provider_get_token_async (provider, c2, test_provider_get_token_cb, &r2);
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &r3);
  wait_for_held (endpoint, 1);

  /* The cancelled caller completes at once, while the answer is held. */
  g_cancellable_cancel (c2);
  test_wait_until (&r2.done);
  g_assert_error (r2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (r1.done);
  g_assert_false (r3.done);
  g_assert_cmpuint (local_endpoint_get_held (endpoint), ==, 1);

  local_endpoint_release (endpoint);
  test_wait_until (&r1.done);
  test_wait_until (&r3.done);
  g_assert_no_error (r1.error);
  g_assert_no_error (r3.error);
  g_assert_true (r1.token == r3.token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_cmpuint (signals.refreshed, ==, 1);
  g_assert_cmpuint (signals.failed, ==, 0);

  /* Cancelling after completion changes nothing. */
  g_cancellable_cancel (c1);
  g_assert_true (grant_token_provider_peek_token (provider) == r1.token);

  test_result_clear (&r1);
  test_result_clear (&r2);
  test_result_clear (&r3);
  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_cancel_every_waiter (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  TestResult r1 = { 0 }, r2 = { 0 };
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  endpoint->hold = TRUE;
  grant_token_provider_get_token_async (provider, cancellable, test_provider_get_token_cb, &r1);
  grant_token_provider_get_token_async (provider, cancellable, test_provider_get_token_cb, &r2);
  wait_for_held (endpoint, 1);

  g_cancellable_cancel (cancellable);
  test_wait_until (&r1.done);
  test_wait_until (&r2.done);
  g_assert_error (r1.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (r2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Nobody waits any more: the request is abandoned, which is no failure,
   * and the next caller starts a new one. */
  endpoint->hold = FALSE;
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);
  g_assert_cmpuint (signals.failed, ==, 0);
  g_assert_cmpuint (signals.refreshed, ==, 1);

  local_endpoint_release (endpoint);
  test_result_clear (&r1);
  test_result_clear (&r2);
  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_cancel_before (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  TestResult result = { 0 };

  g_cancellable_cancel (cancellable);
  grant_token_provider_get_token_async (provider, cancellable, test_provider_get_token_cb, &result);
  test_wait_until (&result.done);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  token = grant_token_provider_get_token (provider, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);

  test_result_clear (&result);
  g_assert_finalize_object (provider);
}

/* Client authentication */

static void
test_basic_special_secret (void)
{
  const char *secrets[] = {
    "a:b%c&d+e f",
    "p@ss/w:rd%20+%2B&=?#",
    "ünicode sécret",
  };

  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
      GrantTokenProvider *provider = NULL;
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *auth = NULL;

      g_free (endpoint->client_id);
      endpoint->client_id = g_strdup ("client id:with&odd+chars");
      g_free (endpoint->client_secret);
      endpoint->client_secret = g_strdup (secrets[i]);
      endpoint->accept_post = FALSE;

      provider = provider_for (endpoint);
      grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (token);
      auth = local_endpoint_dup_auth (endpoint);
      g_assert_cmpstr (auth, ==, "basic");

      g_assert_finalize_object (provider);
    }
}

static void
test_post_special_secret (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  g_free (endpoint->client_secret);
  endpoint->client_secret = g_strdup ("a:b%c&d+e f=g");
  endpoint->accept_basic = FALSE;
  provider = provider_for (endpoint);

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);

  g_assert_finalize_object (provider);
}

static void
test_auth_none (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *secret = NULL;

  g_clear_pointer (&endpoint->client_secret, g_free);
  provider = grant_token_provider_new (endpoint->token_url, endpoint->client_id, "not sent");
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_NONE);

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "none");
  secret = local_endpoint_dup_param (endpoint, "client_secret");
  g_assert_null (secret);

  g_assert_finalize_object (provider);
}

static void
test_auto_falls_back_and_remembers (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = NULL;
  GrantTokenProvider *second = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) token2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *auth2 = NULL;
  Signals signals = { 0 };

  endpoint->accept_basic = FALSE;
  provider = provider_for (endpoint);
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  signals_connect (provider, &signals);

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "post");
  /* The refused first attempt is no failure of the fetch. */
  g_assert_cmpuint (signals.failed, ==, 0);
  g_assert_cmpuint (signals.refreshed, ==, 1);

  /* Another provider for the same endpoint and client goes straight to
   * what worked. */
  second = provider_for (endpoint);
  grant_token_provider_set_auth_method (second, GRANT_AUTH_METHOD_AUTO);
  token2 = test_provider_get_token (second, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 3);
  auth2 = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth2, ==, "post");

  signals_clear (&signals);
  g_assert_finalize_object (provider);
  g_assert_finalize_object (second);
}

static void
test_auto_prefers_basic (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *auth = NULL;

  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "basic");

  g_assert_finalize_object (provider);
}

static void
test_auto_both_fail (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, "test-client", "wrong");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  Signals signals = { 0 };

  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  signals_connect (provider, &signals);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_nonnull (strstr (error->message, "HTTP Basic"));
  g_assert_nonnull (strstr (error->message, "request body"));
  g_assert_nonnull (strstr (error->message, "Client authentication failed"));
  /* One sentence: each answer reads as a clause of it. */
  g_assert_nonnull (strstr (error->message, "with HTTP Basic authentication, the token endpoint refused"));
  g_assert_nonnull (strstr (error->message, "in the request body, the token endpoint refused"));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);
  g_assert_cmpuint (signals.failed, ==, 1);
  g_assert_error (signals.last_error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_cmpstr (signals.last_error->message, ==, error->message);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

/* Request contents */

static void
test_json_request (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;

  endpoint->want_json = TRUE;
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_REQUEST);
  g_clear_error (&error);

  grant_token_provider_set_request_format (provider, GRANT_REQUEST_FORMAT_JSON);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (endpoint->last_content_type, ==, "application/json");
  secret = local_endpoint_dup_param (endpoint, "client_secret");
  g_assert_cmpstr (secret, ==, endpoint->client_secret);

  g_assert_finalize_object (provider);
}

static void
test_scope_and_parameters (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *scope = NULL;
  g_autofree char *audience = NULL;
  g_autofree char *resource = NULL;

  grant_token_provider_set_scope (provider, "officernd.api.read officernd.api.write");
  grant_token_provider_set_parameter (provider, "audience", "https://api.example.com/");
  grant_token_provider_set_parameter (provider, "resource", "urn:x");
  grant_token_provider_set_parameter (provider, "resource", NULL);
  g_assert_cmpstr (grant_token_provider_get_parameter (provider, "audience"), ==, "https://api.example.com/");
  g_assert_null (grant_token_provider_get_parameter (provider, "resource"));

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (token), ==, "officernd.api.read officernd.api.write");

  scope = local_endpoint_dup_param (endpoint, "scope");
  audience = local_endpoint_dup_param (endpoint, "audience");
  resource = local_endpoint_dup_param (endpoint, "resource");
  g_assert_cmpstr (scope, ==, "officernd.api.read officernd.api.write");
  g_assert_cmpstr (audience, ==, "https://api.example.com/");
  g_assert_null (resource);

  g_assert_finalize_object (provider);
}

static void
test_invalid_scope (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  endpoint->allowed_scope = g_strdup ("officernd.api.read");
  grant_token_provider_set_scope (provider, "officernd.api.read officernd.api.write");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_SCOPE);
  g_assert_nonnull (strstr (error->message, "HTTP 400"));
  g_assert_nonnull (strstr (error->message, "exceeds what this client may have"));

  g_assert_finalize_object (provider);
}

/* The cache */

static void
test_changes_drop_cache (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  Signals signals = { 0 };
  guint expected_requests = 0;
  guint notify_url = 0;

  signals_connect (provider, &signals);
  g_signal_connect_swapped (provider, "notify::token-url", G_CALLBACK (g_atomic_int_inc), &notify_url);

#define FETCH_AND_EXPECT(n_new)                                         \
  G_STMT_START {                                                        \
    g_autoptr(GrantToken) t = NULL;                                     \
    g_autoptr(GError) e = NULL;                                         \
    t = test_provider_get_token (provider, NULL, &e);                   \
    g_assert_no_error (e);                                              \
    expected_requests += (n_new);                                       \
    g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, expected_requests); \
  } G_STMT_END

#define EXPECT_DROPPED(dropped)                                         \
  G_STMT_START {                                                        \
    if (dropped)                                                        \
      g_assert_null (grant_token_provider_peek_token (provider));       \
    else                                                                \
      g_assert_nonnull (grant_token_provider_peek_token (provider));    \
  } G_STMT_END

  FETCH_AND_EXPECT (1);

  grant_token_provider_set_scope (provider, "a");
  EXPECT_DROPPED (TRUE);
  FETCH_AND_EXPECT (1);
  grant_token_provider_set_scope (provider, "a");
  EXPECT_DROPPED (FALSE);

  grant_token_provider_set_parameter (provider, "audience", "x");
  EXPECT_DROPPED (TRUE);
  FETCH_AND_EXPECT (1);
  grant_token_provider_set_parameter (provider, "audience", "x");
  EXPECT_DROPPED (FALSE);
  grant_token_provider_set_parameter (provider, "audience", NULL);
  EXPECT_DROPPED (TRUE);
  FETCH_AND_EXPECT (1);

  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
  EXPECT_DROPPED (TRUE);
  FETCH_AND_EXPECT (1);

  grant_token_provider_set_request_format (provider, GRANT_REQUEST_FORMAT_JSON);
  EXPECT_DROPPED (TRUE);
  FETCH_AND_EXPECT (1);

  /* The same URL again is no change; a new one is. */
  grant_token_provider_set_token_url (provider, endpoint->token_url);
  EXPECT_DROPPED (FALSE);
  g_assert_cmpuint (notify_url, ==, 0);
  {
    g_autofree char *with_query = g_strconcat (endpoint->token_url, "?tenant=1", NULL);

    grant_token_provider_set_token_url (provider, with_query);
    EXPECT_DROPPED (TRUE);
    g_assert_cmpuint (notify_url, ==, 1);
    FETCH_AND_EXPECT (1);
  }

  /* A rotated secret belongs to the same client: the token stays. */
  grant_token_provider_set_client_secret (provider, "rotated");
  EXPECT_DROPPED (FALSE);

  /* A different client id is another client. */
  grant_token_provider_set_client_id (provider, "someone-else");
  EXPECT_DROPPED (TRUE);

#undef FETCH_AND_EXPECT
#undef EXPECT_DROPPED

  /* Every fetch set the token; every drop cleared it. */
  g_assert_cmpuint (signals.refreshed, ==, 7);
  g_assert_cmpuint (signals.notify_token, ==, 7 + 7);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_change_during_fetch (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  TestResult r1 = { 0 };
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  endpoint->hold = TRUE;
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &r1);
  wait_for_held (endpoint, 1);

  /* The request in flight was made for another scope: its caller gets its
   * token, but it does not fill the cache. */
  grant_token_provider_set_scope (provider, "other");
  local_endpoint_release (endpoint);
  test_wait_until (&r1.done);
  g_assert_no_error (r1.error);
  g_assert_null (grant_token_provider_peek_token (provider));
  g_assert_cmpuint (signals.refreshed, ==, 0);

  test_result_clear (&r1);
  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_expiry_margin (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) cached = NULL;
  g_autoptr(GrantToken) second = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_real_time ();
  g_autoptr(TestClock) clock = test_clock_new (start);

  /* The cache alone: no background refresh. */
  grant_token_provider_set_clock (provider, GRANT_CLOCK (clock));
  grant_token_provider_set_auto_refresh (provider, FALSE);
  endpoint->expires_in = 100;

  first = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (grant_token_provider_get_expiry_margin (provider), ==, 60);

  /* A margin of 60 s is more than half of 100 s: stale at 50 s. */
  test_clock_set (clock, start + 49 * G_USEC_PER_SEC);
  g_assert_true (grant_token_provider_peek_token (provider) == first);
  cached = test_provider_get_token (provider, NULL, &error);
  g_assert_true (cached == first);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  test_clock_set (clock, start + 50 * G_USEC_PER_SEC);
  g_assert_null (grant_token_provider_peek_token (provider));
  second = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (second != first);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  /* A smaller margin: stale 10 s before expiry. */
  grant_token_provider_set_expiry_margin (provider, 10);
  test_clock_set (clock, start + (50 + 89) * G_USEC_PER_SEC);
  g_assert_true (grant_token_provider_peek_token (provider) == second);
  test_clock_set (clock, start + (50 + 90) * G_USEC_PER_SEC);
  g_assert_null (grant_token_provider_peek_token (provider));

  /* With no margin at all, a token is still never handed out once it has
   * expired. */
  grant_token_provider_set_expiry_margin (provider, 0);
  test_clock_set (clock, start + (50 + 99) * G_USEC_PER_SEC);
  g_assert_true (grant_token_provider_peek_token (provider) == second);
  test_clock_set (clock, start + (50 + 100) * G_USEC_PER_SEC);
  g_assert_null (grant_token_provider_peek_token (provider));

  g_assert_finalize_object (provider);
}

static void
test_default_lifetime (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_real_time ();
  g_autoptr(TestClock) clock = test_clock_new (start);

  /* The cache alone: no background refresh. */
  grant_token_provider_set_clock (provider, GRANT_CLOCK (clock));
  grant_token_provider_set_auto_refresh (provider, FALSE);
  endpoint->expires_in = -1;
  grant_token_provider_set_default_lifetime (provider, 20);

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (grant_token_get_expires_at (token));

  /* 20 s assumed; a 60 s margin is capped at half of it. */
  test_clock_set (clock, start + 9 * G_USEC_PER_SEC);
  g_assert_true (grant_token_provider_peek_token (provider) == token);
  test_clock_set (clock, start + 10 * G_USEC_PER_SEC);
  g_assert_null (grant_token_provider_peek_token (provider));

  /* Changing the assumption applies to the cached token too. */
  grant_token_provider_set_default_lifetime (provider, 600);
  g_assert_true (grant_token_provider_peek_token (provider) == token);

  g_assert_finalize_object (provider);
}

/* Token requests are POSTs, which libsoup sends on a new connection unless
 * told they may be repeated: each new token must not cost a handshake. */
static void
test_keep_alive (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GrantToken) token = test_provider_get_token (provider, NULL, &error);

      g_assert_no_error (error);
      grant_token_provider_invalidate (provider, token);
    }

  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 3);
  g_assert_cmpuint (local_endpoint_get_token_connections (endpoint), ==, 1);

  g_assert_finalize_object (provider);
}

/* An application may share its session with the provider after using it
 * for HTTP authentication on the same server: the session's auth manager
 * then holds other credentials for the token URL, and would put them in
 * place of the client's. */
static void
test_session_auth_manager_ignored (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(SoupSession) session = soup_session_new ();
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *auth = NULL;

  test_session_use_other_credentials (session, endpoint->token_url);

  provider = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                           "token-url", endpoint->token_url,
                           "client-id", endpoint->client_id,
                           "client-secret", endpoint->client_secret,
                           "auth-method", GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
                           "session", session,
                           NULL);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "basic");

  /* With the body method, the session must not add its Basic header
   * either (the endpoint refuses two methods at once). */
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  g_clear_object (&token);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&auth, g_free);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "post");

  g_assert_finalize_object (provider);
}

static void
test_invalidate (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) second = NULL;
  g_autoptr(GrantToken) stranger = grant_token_new ("not-ours", NULL, NULL, NULL, NULL);
  g_autoptr(GrantToken) same_string = NULL;
  g_autoptr(GError) error = NULL;
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  first = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (signals.notify_token, ==, 1);

  /* A 401 for a token we do not hold changes nothing. */
  grant_token_provider_invalidate (provider, stranger);
  g_assert_true (grant_token_provider_peek_token (provider) == first);
  g_assert_cmpuint (signals.notify_token, ==, 1);

  /* The same token, even as another object, is dropped. */
  same_string = grant_token_new (grant_token_get_access_token (first), NULL, NULL, NULL, NULL);
  grant_token_provider_invalidate (provider, same_string);
  g_assert_null (grant_token_provider_peek_token (provider));
  g_assert_cmpuint (signals.notify_token, ==, 2);

  second = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (second != first);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  /* A late 401 for the first token leaves the second alone. */
  grant_token_provider_invalidate (provider, first);
  g_assert_true (grant_token_provider_peek_token (provider) == second);

  grant_token_provider_invalidate (provider, NULL);
  g_assert_null (grant_token_provider_peek_token (provider));
  g_assert_cmpuint (signals.notify_token, ==, 4);

  /* Nothing cached: nothing to notify. */
  grant_token_provider_invalidate (provider, NULL);
  g_assert_cmpuint (signals.notify_token, ==, 4);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_refresh (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) refreshed = NULL;
  g_autoptr(GError) error = NULL;
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  first = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);

  refreshed = test_provider_refresh (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (refreshed != first);
  g_assert_true (grant_token_provider_peek_token (provider) == refreshed);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);
  g_assert_cmpuint (signals.refreshed, ==, 2);
  g_assert_true (signals.last_token == refreshed);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

/* Errors */

static GError *
expect_error (GrantTokenProvider *provider)
{
  TestResult result = { 0 };

  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  test_wait_until (&result.done);
  g_assert_null (result.token);
  g_assert_nonnull (result.error);

  return result.error;
}

static void
test_insecure_url (void)
{
  const char *urls[] = {
    /* An address that would hang if a connection were tried. */
    "http://192.0.2.1/token",
    "http://example.com/oauth/token",
    "http://127.0.0.1.example.com/token",
  };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      GrantTokenProvider *provider = grant_token_provider_new (urls[i], "id", "secret");
      g_autoptr(GError) error = NULL;
      Signals signals = { 0 };

      signals_connect (provider, &signals);
      error = expect_error (provider);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INSECURE_URL);
      g_assert_nonnull (strstr (error->message, "https://"));
      g_assert_cmpuint (signals.failed, ==, 1);

      signals_clear (&signals);
      g_assert_finalize_object (provider);
    }
}

static void
test_bad_configuration (void)
{
  const struct {
    const char *url;
    const char *client_id;
    const char *words;
  } cases[] = {
    { NULL, "id", "token-url" },
    { "", "id", "token-url" },
    { "not a url", "id", "space" },
    { "no-scheme", "id", "valid" },
    { "ftp://127.0.0.1/token", "id", "ftp" },
    { "https:///token", "id", "host" },
    { "https://127.0.0.1/token", NULL, "client-id" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GrantTokenProvider *provider = grant_token_provider_new (cases[i].url, cases[i].client_id, "s");
      g_autoptr(GError) error = expect_error (provider);

      g_test_message ("%s", error->message);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      g_assert_finalize_object (provider);
    }
}

static void
test_redirect_not_followed (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(LocalEndpoint) elsewhere = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url (endpoint, "/moved");
  GrantTokenProvider *provider = grant_token_provider_new (url, "test-client", "test-secret");
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
  local_endpoint_add_canned_with_header (endpoint, "/moved", 302, "Location", elsewhere->token_url,
                                        "text/html", "<a>moved</a>");
  error = expect_error (provider);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "302"));
  g_assert_nonnull (strstr (error->message, elsewhere->token_url));
  g_assert_cmpuint (local_endpoint_get_requests (elsewhere), ==, 0);

  g_assert_finalize_object (provider);
}

static void
big_chunked_handler (SoupServer        *server,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query,
                     gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  g_autofree char *chunk = g_malloc (64 * 1024);

  memset (chunk, ' ', 64 * 1024);
  soup_message_headers_set_encoding (soup_server_message_get_response_headers (msg),
                                     SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg),
                                         "application/json", NULL);
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_body_append (body, SOUP_MEMORY_COPY, "{\"access_token\":\"t\",\"pad\":\"", 27);
  for (guint i = 0; i < 32; i++)
    soup_message_body_append (body, SOUP_MEMORY_COPY, chunk, 64 * 1024);
  soup_message_body_append (body, SOUP_MEMORY_COPY, "\"}", 2);
  soup_message_body_complete (body);
}

static void
test_body_too_large (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  gsize size = 2 * 1024 * 1024;
  g_autofree char *big = g_malloc (size);
  g_autofree char *sized_url = local_endpoint_url (endpoint, "/big");
  g_autofree char *chunked_url = local_endpoint_url (endpoint, "/big-chunked");
  const char *urls[] = { sized_url, chunked_url };

  /* A valid token response padded to 2 MiB. */
  memset (big, ' ', size);
  memcpy (big, "{\"access_token\":\"t\"}", 20);
  local_endpoint_add_canned (endpoint, "/big", 200, "application/json", big, size);
  soup_server_add_handler (endpoint->server, "/big-chunked", big_chunked_handler, NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      GrantTokenProvider *provider = grant_token_provider_new (urls[i], "id", "s");
      g_autoptr(GError) error = expect_error (provider);

      g_test_message ("%s", error->message);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
      g_assert_nonnull (strstr (error->message, "1048576 bytes"));
      g_assert_finalize_object (provider);
    }
}

static void
test_canned_answers (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  const struct {
    const char *path;
    guint status;
    const char *content_type;
    const char *body;
    GrantError code;   /* -1: success */
  } cases[] = {
    { "/string-expiry", 200, "application/json", "{\"access_token\":\"a\",\"expires_in\":\"3600\"}", -1 },
    { "/form", 200, "application/x-www-form-urlencoded", "access_token=b&token_type=bearer&expires_in=60", -1 },
    { "/malformed", 200, "application/json", "{\"access_token\": \"a\"", GRANT_ERROR_INVALID_RESPONSE },
    { "/html-500", 500, "text/html", "<html><h1>Oops</h1></html>", GRANT_ERROR_SERVER_ERROR },
    { "/html-200", 200, "text/html", "<html>Sign in</html>", GRANT_ERROR_INVALID_RESPONSE },
    { "/error-200", 200, "application/json", "{\"error\":\"invalid_client\"}", GRANT_ERROR_INVALID_CLIENT },
    { "/rate-limited", 429, "application/json", "{\"error\":\"slow_down\"}", GRANT_ERROR_RATE_LIMITED },
    { "/empty", 200, "application/json", "", GRANT_ERROR_INVALID_RESPONSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    local_endpoint_add_canned (endpoint, cases[i].path, cases[i].status, cases[i].content_type,
                              cases[i].body, -1);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = local_endpoint_url (endpoint, cases[i].path);
      GrantTokenProvider *provider = grant_token_provider_new (url, "id", "s");
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].path);
      test_fast_retries (provider, 3);
      token = test_provider_get_token (provider, NULL, &error);
      if ((int) cases[i].code == -1)
        {
          g_assert_no_error (error);
          g_assert_nonnull (token);
          g_assert_nonnull (grant_token_get_expires_at (token));
        }
      else
        {
          g_assert_error (error, GRANT_ERROR, cases[i].code);
          g_assert_null (token);
        }

      /* A provider that failed once still works once the server does. */
      g_assert_finalize_object (provider);
    }
}

static void
test_timeout (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  grant_token_provider_set_timeout (provider, 1);
  /* One attempt: retries have tests of their own. */
  test_fast_retries (provider, 1);
  endpoint->hold = TRUE;

  error = expect_error (provider);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "timed out after 1 seconds"));
  g_assert_cmpuint (signals.failed, ==, 1);
  g_assert_error (signals.last_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  /* The provider works again once the server answers. */
  local_endpoint_release (endpoint);
  test_provider_wait_quiet (provider, NULL);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (signals.refreshed, ==, 1);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

static void
test_connection_refused (void)
{
  g_autofree char *url = NULL;
  GrantTokenProvider *provider = NULL;
  g_autoptr(GError) error = NULL;

  {
    /* A port that was free a moment ago. */
    g_autoptr(LocalEndpoint) gone = test_endpoint_new (FALSE);

    url = g_strdup (gone->token_url);
  }

  provider = grant_token_provider_new (url, "id", "s");
  test_fast_retries (provider, 3);
  error = expect_error (provider);
  g_assert_true (error->domain == G_IO_ERROR);
  g_assert_nonnull (strstr (error->message, "The token request to http://127.0.0.1:"));

  g_assert_finalize_object (provider);
}

static void
test_failure_signal_once (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, "test-client", "wrong");
  TestResult results[3] = { { 0 } };
  Signals signals = { 0 };

  signals_connect (provider, &signals);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &results[i]);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      test_wait_until (&results[i].done);
      g_assert_error (results[i].error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
      test_result_clear (&results[i]);
    }

  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_cmpuint (signals.failed, ==, 1);
  g_assert_true (g_error_matches (signals.last_error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT));
  g_assert_nonnull (strstr (signals.last_error->message, "HTTP 401"));
  g_assert_nonnull (strstr (signals.last_error->message, "Client authentication failed"));
  g_assert_cmpuint (signals.refreshed, ==, 0);
  g_assert_cmpuint (signals.notify_token, ==, 0);

  signals_clear (&signals);
  g_assert_finalize_object (provider);
}

/* Secrets */

static void
test_secret_write_only (void)
{
  GrantTokenProvider *provider = grant_token_provider_new ("https://example.com/token", "id", "hunter2");
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (provider), "client-secret");
  char *value = NULL;

  g_assert_nonnull (pspec);
  g_assert_true (pspec->flags & G_PARAM_WRITABLE);
  g_assert_false (pspec->flags & G_PARAM_READABLE);

  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING, "*client-secret*not readable*");
  g_object_get (provider, "client-secret", &value, NULL);
  g_test_assert_expected_messages ();
  g_assert_null (value);

  g_object_set (provider, "client-secret", "rotated", NULL);
  g_assert_finalize_object (provider);
}

static void
echo_secret_handler (SoupServer        *server,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query,
                     gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autofree char *text = g_strndup (body->data, body->length);
  g_autoptr(GHashTable) form = soup_form_decode (text);
  g_autofree char *answer = g_strdup_printf ("{\"error\":\"invalid_client\",\"error_description\":"
                                             "\"secret %s is wrong, encoded %s\"}",
                                             (char *) g_hash_table_lookup (form, "client_secret"),
                                             strstr (text, "client_secret=") + strlen ("client_secret="));

  soup_server_message_set_status (msg, 401, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, answer, strlen (answer));
}

static void
test_secret_redacted_from_errors (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url (endpoint, "/echo");
  const char *secret = "sup3r s3cret&value";
  GrantTokenProvider *provider = grant_token_provider_new (url, "id", secret);
  g_autoptr(GError) error = NULL;

  soup_server_add_handler (endpoint->server, "/echo", echo_secret_handler, NULL, NULL);
  error = expect_error (provider);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_null (strstr (error->message, secret));
  g_assert_null (strstr (error->message, "sup3r+s3cret%26value"));
  g_assert_nonnull (strstr (error->message, "[REDACTED]"));

  g_assert_finalize_object (provider);
}

static void
test_nothing_secret_logged (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) refreshed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *logs = NULL;
  g_autofree char *first = local_endpoint_token (endpoint, 1);

  g_free (endpoint->client_secret);
  endpoint->client_secret = g_strdup ("log-canary-secret");
  endpoint->accept_basic = FALSE;
  provider = provider_for (endpoint);
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);

  /* A fetch with a refused first attempt, a refresh and a failure. */
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  refreshed = test_provider_refresh (provider, NULL, &error);
  g_assert_no_error (error);
  grant_token_provider_set_client_secret (provider, "log-canary-wrong");
  grant_token_provider_invalidate (provider, NULL);
  error = expect_error (provider);

  logs = test_dup_captured_logs ();
  g_assert_nonnull (strstr (logs, "Requesting a token"));
  g_assert_null (strstr (logs, "log-canary"));
  g_assert_null (strstr (logs, first));
  g_assert_null (strstr (logs, grant_token_get_access_token (refreshed)));
  g_assert_null (strstr (error->message, "log-canary"));

  g_assert_finalize_object (provider);
}

/* Construction */

static void
test_properties (void)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  GrantTokenProvider *provider = NULL;
  g_autofree char *url = NULL;
  g_autofree char *id = NULL;
  g_autofree char *scope = NULL;
  g_autoptr(SoupSession) got_session = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantClientKey) key = NULL;
  g_autoptr(GrantClientKey) got_key = NULL;
  g_autoptr(GTlsCertificate) got_certificate = NULL;
  g_autofree char *audience = NULL;
  g_autoptr(GError) error = NULL;
  GrantAuthMethod method;
  GrantRequestFormat format;
  guint margin, lifetime, timeout;
  gboolean insecure;

  key = grant_client_key_generate ("ES256", &error);
  g_assert_no_error (error);
  provider = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                           "token-url", "https://auth.example.com/token",
                           "client-id", "id",
                           "client-secret", "secret",
                           "scope", "a b",
                           "session", session,
                           "client-key", key,
                           "assertion-audience", "https://auth.example.com/",
                           NULL);
  g_object_get (provider,
                "token-url", &url,
                "client-id", &id,
                "scope", &scope,
                "auth-method", &method,
                "request-format", &format,
                "expiry-margin", &margin,
                "default-lifetime", &lifetime,
                "timeout", &timeout,
                "allow-insecure-http", &insecure,
                "session", &got_session,
                "token", &token,
                "client-key", &got_key,
                "assertion-audience", &audience,
                "tls-certificate", &got_certificate,
                NULL);

  g_assert_cmpstr (url, ==, "https://auth.example.com/token");
  g_assert_cmpstr (id, ==, "id");
  g_assert_cmpstr (scope, ==, "a b");
  g_assert_cmpint (method, ==, GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  g_assert_cmpint (format, ==, GRANT_REQUEST_FORMAT_FORM);
  g_assert_cmpuint (margin, ==, 60);
  g_assert_cmpuint (lifetime, ==, 600);
  g_assert_cmpuint (timeout, ==, 30);
  g_assert_false (insecure);
  g_assert_true (got_session == session);
  g_assert_null (token);
  g_assert_true (got_key == key);
  g_assert_cmpstr (audience, ==, "https://auth.example.com/");
  g_assert_null (got_certificate);

  /* An empty scope means none. */
  grant_token_provider_set_scope (provider, "");
  g_assert_null (grant_token_provider_get_scope (provider));

  g_clear_object (&got_session);
  g_assert_finalize_object (provider);

  /* Without a session, the provider makes its own. */
  provider = grant_token_provider_new (NULL, NULL, NULL);
  g_assert_true (SOUP_IS_SESSION (grant_token_provider_get_session (provider)));
  g_assert_finalize_object (provider);
}

static void
test_notify_only_on_change (void)
{
  GrantTokenProvider *provider = grant_token_provider_new ("https://a.example/token", "id", "s");
  guint notified = 0;

  g_signal_connect_swapped (provider, "notify", G_CALLBACK (g_atomic_int_inc), &notified);

  grant_token_provider_set_timeout (provider, 30);
  grant_token_provider_set_expiry_margin (provider, 60);
  grant_token_provider_set_default_lifetime (provider, 600);
  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  grant_token_provider_set_allow_insecure_http (provider, FALSE);
  grant_token_provider_set_client_id (provider, "id");
  g_assert_cmpuint (notified, ==, 0);

  grant_token_provider_set_timeout (provider, 5);
  grant_token_provider_set_expiry_margin (provider, 10);
  grant_token_provider_set_default_lifetime (provider, 60);
  grant_token_provider_set_allow_insecure_http (provider, TRUE);
  grant_token_provider_set_client_id (provider, "other");
  g_assert_cmpuint (notified, ==, 5);

  g_assert_finalize_object (provider);
}

int
main (int   argc,
      char *argv[])
{
  test_capture_logs ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/provider/fetch-and-cache", test_fetch_and_cache);
  g_test_add_func ("/provider/concurrent-callers", test_concurrent_callers);
  g_test_add_func ("/provider/blocking", test_blocking);
  g_test_add_func ("/provider/blocking-error", test_blocking_error);
  g_test_add_func ("/provider/cancel/one-waiter", test_cancel_one_waiter);
  g_test_add_func ("/provider/cancel/every-waiter", test_cancel_every_waiter);
  g_test_add_func ("/provider/cancel/before", test_cancel_before);
  g_test_add_func ("/provider/auth/basic-special-secret", test_basic_special_secret);
  g_test_add_func ("/provider/auth/post-special-secret", test_post_special_secret);
  g_test_add_func ("/provider/auth/none", test_auth_none);
  g_test_add_func ("/provider/auth/auto-falls-back-and-remembers", test_auto_falls_back_and_remembers);
  g_test_add_func ("/provider/auth/auto-prefers-basic", test_auto_prefers_basic);
  g_test_add_func ("/provider/auth/auto-both-fail", test_auto_both_fail);
  g_test_add_func ("/provider/request/json", test_json_request);
  g_test_add_func ("/provider/request/scope-and-parameters", test_scope_and_parameters);
  g_test_add_func ("/provider/request/invalid-scope", test_invalid_scope);
  g_test_add_func ("/provider/request/keep-alive", test_keep_alive);
  g_test_add_func ("/provider/request/session-auth-manager-ignored", test_session_auth_manager_ignored);
  g_test_add_func ("/provider/cache/changes-drop", test_changes_drop_cache);
  g_test_add_func ("/provider/cache/change-during-fetch", test_change_during_fetch);
  g_test_add_func ("/provider/cache/expiry-margin", test_expiry_margin);
  g_test_add_func ("/provider/cache/default-lifetime", test_default_lifetime);
  g_test_add_func ("/provider/cache/invalidate", test_invalidate);
  g_test_add_func ("/provider/cache/refresh", test_refresh);
  g_test_add_func ("/provider/errors/insecure-url", test_insecure_url);
  g_test_add_func ("/provider/errors/bad-configuration", test_bad_configuration);
  g_test_add_func ("/provider/errors/redirect", test_redirect_not_followed);
  g_test_add_func ("/provider/errors/body-too-large", test_body_too_large);
  g_test_add_func ("/provider/errors/canned-answers", test_canned_answers);
  g_test_add_func ("/provider/errors/timeout", test_timeout);
  g_test_add_func ("/provider/errors/connection-refused", test_connection_refused);
  g_test_add_func ("/provider/errors/failure-signal-once", test_failure_signal_once);
  g_test_add_func ("/provider/secret/write-only", test_secret_write_only);
  g_test_add_func ("/provider/secret/redacted-from-errors", test_secret_redacted_from_errors);
  g_test_add_func ("/provider/secret/nothing-logged", test_nothing_secret_logged);
  g_test_add_func ("/provider/properties", test_properties);
  g_test_add_func ("/provider/notify-only-on-change", test_notify_only_on_change);

  return g_test_run ();
}
