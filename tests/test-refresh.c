/* test-refresh.c: background refresh, retries, network awareness, and
 * requests authorized by the provider
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"

#define S G_GINT64_CONSTANT (1000000)

typedef struct {
  guint refreshed;
  guint failed;
  guint notify_token;
  GError *last_error;
} Signals;

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    Signals            *signals)
{
  signals->refreshed++;
}

static void
refresh_failed_cb (GrantTokenProvider *provider,
                   GError             *error,
                   Signals            *signals)
{
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

/* A provider on the endpoint, on the test's clock, without jitter. */
static GrantTokenProvider *
provider_on_clock (LocalEndpoint *endpoint,
                   TestClock     *clock)
{
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, endpoint->client_id,
                                                           endpoint->client_secret);

  if (clock != NULL)
    grant_token_provider_set_clock (provider, GRANT_CLOCK (clock));
  test_fast_retries (provider, 3);

  return provider;
}

static void
wait_for_requests (LocalEndpoint *endpoint,
                   guint          n)
{
  while (local_endpoint_get_requests (endpoint) < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_for_signal (guint *counter,
                 guint  n)
{
  while (*counter < n)
    g_main_context_iteration (NULL, TRUE);
}

/* The common set-up: a provider on an endpoint, on the test's clock, with
 * its signals counted. */
typedef struct {
  LocalEndpoint *endpoint;
  gint64 start;
  TestClock *clock;             /* NULL on the real clock */
  GrantTokenProvider *provider;
  Signals signals;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->endpoint = test_endpoint_new (FALSE);
  fixture->start = g_get_real_time ();
  fixture->clock = test_clock_new (fixture->start);
  fixture->provider = provider_on_clock (fixture->endpoint, fixture->clock);
  signals_connect (fixture->provider, &fixture->signals);
}

static void
fixture_set_up_real_clock (Fixture       *fixture,
                           gconstpointer  data)
{
  fixture->endpoint = test_endpoint_new (FALSE);
  fixture->provider = provider_on_clock (fixture->endpoint, NULL);
  signals_connect (fixture->provider, &fixture->signals);
}

/* For a test that checks something once the provider is gone; the
 * tear-down does it otherwise. */
static void
fixture_finalize_provider (Fixture *fixture)
{
  g_assert_finalize_object (g_steal_pointer (&fixture->provider));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->provider != NULL)
    fixture_finalize_provider (fixture);
  g_clear_error (&fixture->signals.last_error);
  g_clear_object (&fixture->clock);
  g_clear_pointer (&fixture->endpoint, local_endpoint_free);
}

/* Background refresh */

static void
test_schedule (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GError) error = NULL;

  fixture->endpoint->expires_in = 100;
  g_assert_true (grant_token_provider_get_auto_refresh (fixture->provider));
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);

  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  /* 80% of 100 s is 80 s, but a 60 s margin (at most half the lifetime,
   * 50 s) comes first. One alarm, no polling. */
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, fixture->start + 50 * S);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 1);

  test_clock_advance (fixture->clock, 49);
  g_assert_cmpuint (test_clock_get_fired (fixture->clock), ==, 0);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);

  test_clock_advance (fixture->clock, 1);
  g_assert_cmpuint (test_clock_get_fired (fixture->clock), ==, 1);
  wait_for_signal (&fixture->signals.refreshed, 2);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
  g_assert_cmpuint (fixture->signals.notify_token, ==, 2);
  g_assert_true (grant_token_provider_peek_token (fixture->provider) != first);

  /* The next one, 50 s after the new token. */
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 1);
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, fixture->start + 100 * S);

  /* With a smaller margin, 80% of the lifetime comes first. */
  grant_token_provider_set_expiry_margin (fixture->provider, 10);
  grant_token_provider_invalidate (fixture->provider, NULL);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);
  g_clear_object (&first);
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, fixture->start + (50 + 80) * S);
  g_assert_cmpuint (fixture->signals.failed, ==, 0);

  fixture_finalize_provider (fixture);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);
}

static void
test_no_timer_without_token_or_auto_refresh (Fixture       *fixture,
                                             gconstpointer  data)
{
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_auto_refresh (fixture->provider, FALSE);
  token = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, -1);

  grant_token_provider_set_auto_refresh (fixture->provider, TRUE);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 1);

  grant_token_provider_invalidate (fixture->provider, NULL);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);
}

static void
test_jitter (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  gint64 start = g_get_real_time ();
  g_autoptr(TestClock) clock = test_clock_new (start);
  g_autoptr(GHashTable) times = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  endpoint->expires_in = 1000;
  for (guint i = 0; i < 8; i++)
    {
      GrantTokenProvider *provider = provider_on_clock (endpoint, clock);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      gint64 at;

      grant_token_provider_set_retry_policy (provider, 1000, 60000, 3, TRUE);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);

      /* Due at 80% of the lifetime, up to 5% of it (30 s at most)
       * earlier. */
      at = grant_token_provider_get_refresh_time (provider);
      g_assert_cmpint (at, <=, start + 800 * S);
      g_assert_cmpint (at, >=, start + 770 * S);
      g_hash_table_add (times, g_memdup2 (&at, sizeof at));

      g_assert_finalize_object (provider);
    }

  /* Not every client at the same instant. */
  g_assert_cmpuint (g_hash_table_size (times), >, 1);
}

static void
test_failure_keeps_valid_token (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) kept = NULL;
  g_autoptr(GError) error = NULL;
  gint64 expected;
  guint delays[] = { 1, 2, 4, 8, 16 };

  /* One attempt per refresh, and the real backoff: 1 s doubling. */
  grant_token_provider_set_retry_policy (fixture->provider, 1000, 60000, 1, FALSE);
  fixture->endpoint->expires_in = 100;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (delays); i++)
    local_endpoint_push_failure (fixture->endpoint, 503, NULL, NULL, "{\"error\":\"temporarily_unavailable\"}");

  /* The refresh at 50 s fails: signalled, the token stays, and the next
   * try comes 1 s later, then 2, 4, 8, 16. */
  expected = fixture->start + 50 * S;
  test_clock_set (fixture->clock, expected);
  for (guint i = 0; i < G_N_ELEMENTS (delays); i++)
    {
      wait_for_signal (&fixture->signals.failed, i + 1);
      g_assert_error (fixture->signals.last_error, GRANT_ERROR, GRANT_ERROR_TEMPORARILY_UNAVAILABLE);
      g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2 + i);

      /* Callers keep getting the still-valid token, at once. */
      g_clear_object (&kept);
      kept = test_provider_get_token (fixture->provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (kept == first);
      g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2 + i);
      g_assert_null (grant_token_provider_peek_token (fixture->provider));

      expected += delays[i] * S;
      g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, expected);
      g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 1);
      test_clock_set (fixture->clock, expected);
    }

  /* The server is back: the next refresh succeeds. */
  wait_for_signal (&fixture->signals.refreshed, 2);
  g_assert_cmpuint (fixture->signals.failed, ==, G_N_ELEMENTS (delays));
  g_assert_true (grant_token_provider_peek_token (fixture->provider) != first);
  /* And the schedule is the normal one again. */
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, expected + 50 * S);
}

static void
test_failure_without_auto_refresh (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) kept = NULL;
  g_autoptr(GrantToken) renewed = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_auto_refresh (fixture->provider, FALSE);
  grant_token_provider_set_retry_policy (fixture->provider, 5, 20, 1, FALSE);
  fixture->endpoint->expires_in = 100;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  /* Stale, and the server fails: the caller still gets the valid token... */
  test_clock_set (fixture->clock, fixture->start + 60 * S);
  local_endpoint_push_failure (fixture->endpoint, 503, NULL, NULL, "");
  kept = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kept == first);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);

  /* ...and, with no background retry to wait for, the next caller after
   * the backoff tries again. */
  test_provider_wait_quiet (fixture->provider, fixture->clock);
  renewed = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (renewed != first);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 3);
}

static void
test_retries_stop_at_expiry (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) none = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_retry_policy (fixture->provider, 4000, 60000, 1, FALSE);
  fixture->endpoint->expires_in = 10;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  /* Refresh at 5 s; retries at 9 s, then 17 s would be past expiry. */
  for (guint i = 0; i < 10; i++)
    local_endpoint_push_failure (fixture->endpoint, 500, NULL, NULL, "");
  test_clock_set (fixture->clock, fixture->start + 5 * S);
  wait_for_signal (&fixture->signals.failed, 1);
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, fixture->start + 9 * S);
  test_clock_set (fixture->clock, fixture->start + 9 * S);
  wait_for_signal (&fixture->signals.failed, 2);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, -1);

  /* Once expired, the token is never handed out: callers get the last
   * failure while the backoff runs (no request), then a fetch and its
   * error. */
  test_clock_set (fixture->clock, fixture->start + 10 * S);
  none = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
  g_assert_nonnull (strstr (error->message, "not tried again for"));
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 3);
  g_clear_error (&error);

  test_provider_wait_quiet (fixture->provider, fixture->clock);
  none = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
  g_assert_null (strstr (error->message, "not tried again for"));
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 4);
}

static void
test_suspend_past_expiry (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GError) error = NULL;
  GrantToken *renewed;

  fixture->endpoint->expires_in = 100;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  /* The machine sleeps for an hour: the wall clock jumps past the refresh
   * point and the expiry. On wake, the refresh happens at once, with no
   * caller asking. */
  test_clock_set (fixture->clock, fixture->start + 3600 * S);
  wait_for_signal (&fixture->signals.refreshed, 2);
  renewed = grant_token_provider_peek_token (fixture->provider);
  g_assert_nonnull (renewed);
  g_assert_true (renewed != first);
  g_assert_cmpint (grant_token_provider_get_refresh_time (fixture->provider), ==, fixture->start + (3600 + 50) * S);
}

static void
test_real_clock (Fixture       *fixture,
                 gconstpointer  data)
{
  /* The real wall-clock alarm, with a two-second token. */
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GError) error = NULL;
  gint64 started, at;

  fixture->endpoint->expires_in = 2;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  started = g_get_monotonic_time ();
  at = grant_token_provider_get_refresh_time (fixture->provider);
  g_assert_cmpint (at - g_get_real_time (), <=, 1600 * 1000);

  wait_for_signal (&fixture->signals.refreshed, 2);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 500 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 2000 * 1000);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
}

/* The wall-clock timers open: libgrant's worker thread opens and closes
 * other descriptors (connections) whenever it likes. */
static guint
count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL && strstr (target, "timerfd") != NULL)
        n++;
    }

  return n;
}

static gboolean
count_alarm_cb (gpointer user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_REMOVE;
}

static void
test_real_alarms_share_one_timer (void)
{
  /* However many alarms wait in a main context, the wall clock costs one
   * file descriptor there, and it goes when the last alarm does. */
  g_autoptr(GMainContext) context = g_main_context_new ();
  GrantClock *clock = grant_clock_get_default ();
  GSource *alarms[200];
  guint before, during, fired = 0;
  gint64 started;

  if (!g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("No /proc/self/fd");
      return;
    }

  before = count_open_fds ();
  for (guint i = 0; i < G_N_ELEMENTS (alarms); i++)
    {
      alarms[i] = grant_clock_alarm_source (clock, g_get_real_time () + (3600 + i) * G_USEC_PER_SEC);
      g_source_attach (alarms[i], context);
    }
  g_main_context_iteration (context, FALSE);
  during = count_open_fds ();
#ifdef HAVE_TIMERFD
  g_assert_cmpuint (during, ==, before + 1);
#else
  g_assert_cmpuint (during, ==, before);
#endif

  /* A near alarm still fires on time beside the far ones. */
  {
    GSource *near = grant_clock_alarm_source (clock, g_get_real_time () + 50 * 1000);

    g_source_set_callback (near, count_alarm_cb, &fired, NULL);
    g_source_attach (near, context);
    started = g_get_monotonic_time ();
    while (fired == 0)
      g_main_context_iteration (context, TRUE);
    g_assert_cmpint (g_get_monotonic_time () - started, >=, 45 * 1000);
    g_assert_cmpint (g_get_monotonic_time () - started, <, 1000 * 1000);
    g_source_unref (near);
  }

  for (guint i = 0; i < G_N_ELEMENTS (alarms); i++)
    {
      g_source_destroy (alarms[i]);
      g_source_unref (alarms[i]);
    }
  g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (count_open_fds (), ==, before);
}

static void
test_background_joined_by_callers (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) still_fresh = NULL;
  g_autoptr(GError) error = NULL;
  TestResult results[20] = { { 0 } };

  grant_token_provider_set_expiry_margin (fixture->provider, 10);
  fixture->endpoint->expires_in = 100;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  /* The background refresh at 80 s is in flight... */
  fixture->endpoint->hold = TRUE;
  test_clock_set (fixture->clock, fixture->start + 80 * S);
  wait_for_requests (fixture->endpoint, 2);

  /* ...callers still get the fresh token meanwhile... */
  still_fresh = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_true (still_fresh == first);

  /* ...and once it is stale, they join the refresh rather than start
   * requests of their own. */
  test_clock_set (fixture->clock, fixture->start + 91 * S);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    grant_token_provider_get_token_async (fixture->provider, NULL, test_provider_get_token_cb, &results[i]);
  local_endpoint_release (fixture->endpoint);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      test_wait_until (&results[i].done);
      g_assert_no_error (results[i].error);
      g_assert_true (results[i].token != first);
      g_assert_true (results[i].token == results[0].token);
    }
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
  g_assert_cmpuint (fixture->signals.refreshed, ==, 2);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    test_result_clear (&results[i]);
}

static void
test_dropped_during_background_refresh (Fixture       *fixture,
                                        gconstpointer  data)
{
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GError) error = NULL;

  fixture->endpoint->expires_in = 100;
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  fixture->endpoint->hold = TRUE;
  test_clock_set (fixture->clock, fixture->start + 50 * S);
  wait_for_requests (fixture->endpoint, 2);

  /* Nobody waits for that refresh: the provider goes at once, and the
   * answer that comes later finds nothing to touch. */
  fixture_finalize_provider (fixture);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);
  local_endpoint_release (fixture->endpoint);
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* Retries inside one fetch */

static void
test_retry_server_errors (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  local_endpoint_push_failure (fixture->endpoint, 503, NULL, NULL, "<html>busy</html>");
  local_endpoint_push_failure (fixture->endpoint, 502, NULL, NULL, "");
  token = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 3);
  /* Attempts that were retried are no failures of the caller's request. */
  g_assert_cmpuint (fixture->signals.failed, ==, 0);
  g_assert_cmpuint (fixture->signals.refreshed, ==, 1);
}

static void
test_retry_gives_up (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 5; i++)
    local_endpoint_push_failure (fixture->endpoint, 503, NULL, NULL, "");
  token = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 3);
  g_assert_cmpuint (fixture->signals.failed, ==, 1);
}

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
test_max_attempts (Fixture       *fixture,
                   gconstpointer  data)
{
  GrantTokenProvider *provider = fixture->provider;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  guint notified = 0, attempts = 0;

  g_signal_connect (provider, "notify::max-attempts", G_CALLBACK (notify_count_cb), &notified);

  /* One attempt: the first 503 is the answer. */
  grant_token_provider_set_max_attempts (provider, 1);
  g_assert_cmpuint (grant_token_provider_get_max_attempts (provider), ==, 1);
  grant_token_provider_set_max_attempts (provider, 1);
  g_assert_cmpuint (notified, ==, 1);
  local_endpoint_push_failure (fixture->endpoint, 503, NULL, NULL, "");
  local_endpoint_push_failure (fixture->endpoint, 503, NULL, NULL, "");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
  g_assert_null (token);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);
  g_clear_error (&error);

  /* Two: the second 503 is retried once, then the token comes. */
  g_object_set (provider, "max-attempts", 2, NULL);
  g_object_get (provider, "max-attempts", &attempts, NULL);
  g_assert_cmpuint (attempts, ==, 2);
  g_assert_cmpuint (notified, ==, 2);
  test_provider_wait_quiet (provider, fixture->clock);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 3);
  g_assert_cmpuint (fixture->signals.failed, ==, 1);
}

static void
test_clock_advance_ms (TestClock *clock,
                       gint64     ms)
{
  test_clock_set (clock, grant_clock_now (GRANT_CLOCK (clock)) + ms * 1000);
}

/* A caller that polls while the server keeps failing: the backoff goes on
 * across calls, and so does the server's Retry-After. */
static void
test_backoff_across_calls (Fixture       *fixture,
                           gconstpointer  data)
{
  GrantTokenProvider *provider = fixture->provider;
  guint polls = 0;

  grant_token_provider_set_retry_policy (provider, 1000, 60000, 1, FALSE);
  for (guint i = 0; i < 200; i++)
    local_endpoint_push_failure (fixture->endpoint, 500, NULL, NULL, "");

  /* Every half second for a minute: requests at 0, 1, 3, 7, 15 and 31 s. */
  for (; polls < 120; polls++)
    {
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      token = test_provider_get_token (provider, NULL, &error);
      g_assert_null (token);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
      test_clock_advance_ms (fixture->clock, 500);
    }
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 6);
  g_assert_cmpuint (fixture->signals.failed, ==, 6);
}

/* A 503: the server is down for now. */
static void
assert_unavailable (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == GRANT_ERROR);
  g_assert_true (error->code == GRANT_ERROR_SERVER_ERROR ||
                 error->code == GRANT_ERROR_TEMPORARILY_UNAVAILABLE);
}

static void
test_retry_after_across_calls (Fixture       *fixture,
                               gconstpointer  data)
{
  GrantTokenProvider *provider = fixture->provider;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_retry_policy (provider, 1000, 60000, 1, FALSE);
  local_endpoint_push_failure (fixture->endpoint, 503, "Retry-After", "20", "");
  token = test_provider_get_token (provider, NULL, &error);
  assert_unavailable (error);
  g_clear_error (&error);

  /* Nothing goes out for the 20 seconds the server asked for... */
  for (guint i = 0; i < 39; i++)
    {
      test_clock_advance_ms (fixture->clock, 500);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_null (token);
      assert_unavailable (error);
      g_assert_nonnull (strstr (error->message, "not tried again for"));
      g_clear_error (&error);
    }
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);

  /* ...then the next caller gets its token. */
  test_clock_advance_ms (fixture->clock, 500);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
}

/* A change of the request starts afresh. */
static void
test_backoff_ends_with_new_request (Fixture       *fixture,
                                    gconstpointer  data)
{
  GrantTokenProvider *provider = fixture->provider;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_retry_policy (provider, 1000, 60000, 1, FALSE);
  local_endpoint_push_failure (fixture->endpoint, 500, NULL, NULL, "");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
  g_clear_error (&error);

  grant_token_provider_set_scope (provider, "other");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
}

static void
test_no_retry_for_protocol_errors (void)
{
  const struct {
    guint status;
    const char *body;
    GrantError code;
  } cases[] = {
    { 400, "{\"error\":\"invalid_client\"}", GRANT_ERROR_INVALID_CLIENT },
    { 401, "{\"error\":\"invalid_client\"}", GRANT_ERROR_INVALID_CLIENT },
    { 400, "{\"error\":\"invalid_scope\"}", GRANT_ERROR_INVALID_SCOPE },
    { 404, "<html>no</html>", GRANT_ERROR_INVALID_RESPONSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
      GrantTokenProvider *provider = provider_on_clock (endpoint, NULL);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      Signals signals = { 0 };

      signals_connect (provider, &signals);
      local_endpoint_push_failure (endpoint, cases[i].status, NULL, NULL, cases[i].body);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_error (error, GRANT_ERROR, cases[i].code);
      g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
      g_assert_cmpuint (signals.failed, ==, 1);

      g_clear_error (&signals.last_error);
      g_assert_finalize_object (provider);
    }
}

static void
test_retry_after (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GDateTime) later = NULL;
  g_autofree char *date = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) again = NULL;
  g_autoptr(GError) error = NULL;
  gint64 started;

  /* In seconds: the backoff of a few milliseconds waits for a second. */
  local_endpoint_push_failure (fixture->endpoint, 429, "Retry-After", "1", "{\"error\":\"slow_down\"}");
  started = g_get_monotonic_time ();
  token = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 950 * 1000);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);

  /* As an HTTP date, three seconds ahead (at least two, at whole seconds). */
  now = g_date_time_new_now_utc ();
  later = g_date_time_add_seconds (now, 3);
  date = soup_date_time_to_string (later, SOUP_DATE_HTTP);
  grant_token_provider_invalidate (fixture->provider, NULL);
  local_endpoint_push_failure (fixture->endpoint, 503, "Retry-After", date, "");
  started = g_get_monotonic_time ();
  again = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 1900 * 1000);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 4);
}

static void
test_cancel_during_retry_wait (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TestResult result = { 0 };
  gint64 started;

  local_endpoint_push_failure (fixture->endpoint, 503, "Retry-After", "30", "");
  grant_token_provider_get_token_async (fixture->provider, cancellable, test_provider_get_token_cb, &result);
  wait_for_requests (fixture->endpoint, 1);
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);

  started = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  test_wait_until (&result.done);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 1000 * 1000);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);
  g_assert_cmpuint (fixture->signals.failed, ==, 0);

  test_result_clear (&result);
}

/* The network */

static void
test_network_down_and_up (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(TestNetworkMonitor) monitor = test_network_monitor_new (FALSE);
  g_autoptr(GrantToken) none = NULL;
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) kept = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_network_monitor (fixture->provider, G_NETWORK_MONITOR (monitor));
  fixture->endpoint->expires_in = 100;

  /* No network and no token: a clear error at once, no request. */
  none = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 0);
  g_clear_error (&error);

  test_network_monitor_set_available (monitor, TRUE);
  first = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);

  /* Offline when the refresh is due: no attempt... */
  test_network_monitor_set_available (monitor, FALSE);
  test_clock_set (fixture->clock, fixture->start + 60 * S);
  g_assert_cmpuint (test_clock_get_fired (fixture->clock), ==, 1);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);
  g_assert_cmpint (test_clock_get_armed (fixture->clock), ==, 0);

  /* ...callers keep the stale but valid token... */
  kept = test_provider_get_token (fixture->provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kept == first);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);

  /* ...and the network's return brings the refresh. */
  test_network_monitor_set_available (monitor, TRUE);
  wait_for_signal (&fixture->signals.refreshed, 2);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
  g_assert_true (grant_token_provider_peek_token (fixture->provider) != first);
}

/* Authorized requests */

typedef struct {
  gboolean done;
  GInputStream *stream;
  GrantToken *token;
  GError *error;
} SendResult;

static void
send_cb (GObject      *object,
         GAsyncResult *res,
         gpointer      user_data)
{
  SendResult *result = user_data;

  result->stream = grant_token_provider_send_finish (GRANT_TOKEN_PROVIDER (object), res, &result->error);
  result->done = TRUE;
}

static void
authorize_cb (GObject      *object,
              GAsyncResult *res,
              gpointer      user_data)
{
  SendResult *result = user_data;

  result->token = grant_token_provider_authorize_message_finish (GRANT_TOKEN_PROVIDER (object), res,
                                                                 &result->error);
  result->done = TRUE;
}

static guint
send_api (GrantTokenProvider  *provider,
          LocalEndpoint       *endpoint,
          GError             **error)
{
  g_autofree char *url = local_endpoint_url (endpoint, "/api");
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  SendResult result = { 0 };

  grant_token_provider_send_async (provider, NULL, message, G_PRIORITY_DEFAULT, NULL, send_cb, &result);
  test_wait_until (&result.done);
  if (result.error != NULL)
    {
      g_propagate_error (error, result.error);
      return 0;
    }

  g_object_unref (result.stream);

  return soup_message_get_status (message);
}

static void
test_authorize_message (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", "https://api.example.com/");
  g_autofree char *expected = NULL;
  SendResult result = { 0 };

  grant_token_provider_authorize_message_async (fixture->provider, message, NULL, authorize_cb, &result);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  expected = g_strconcat ("Bearer ", grant_token_get_access_token (result.token), NULL);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_request_headers (message), "Authorization"),
                   ==, expected);

  g_clear_object (&result.token);
}

static void
test_send_retries_once_after_401 (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GrantToken *before;

  g_assert_cmpuint (send_api (fixture->provider, fixture->endpoint, &error), ==, 200);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);
  g_assert_cmpuint (local_endpoint_get_api_requests (fixture->endpoint), ==, 1);
  before = grant_token_provider_peek_token (fixture->provider);

  /* The API revokes the token: the 401 is followed by a new token and one
   * more try, which works. */
  local_endpoint_revoke_tokens (fixture->endpoint);
  g_assert_cmpuint (send_api (fixture->provider, fixture->endpoint, &error), ==, 200);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
  g_assert_cmpuint (local_endpoint_get_api_requests (fixture->endpoint), ==, 3);
  g_assert_true (grant_token_provider_peek_token (fixture->provider) != before);
}

/* The provider's Bearer header stands, even where the session's auth
 * manager holds other credentials for the API (say, from an earlier
 * request of the application's on the same session). The API's path is
 * one level down, so that those credentials do not cover the token URL. */
static void
test_send_ignores_session_auth (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autofree char *url = local_endpoint_url (fixture->endpoint, "/api/v1/members");
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  SendResult result = { 0 };

  test_session_use_other_credentials (grant_token_provider_get_session (fixture->provider), url);

  grant_token_provider_send_async (fixture->provider, NULL, message, G_PRIORITY_DEFAULT, NULL, send_cb, &result);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  g_assert_cmpuint (local_endpoint_get_api_requests (fixture->endpoint), ==, 1);

  g_clear_object (&result.stream);
}

static void
send_and_read_cb (GObject      *object,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  GBytes **body = user_data;
  g_autoptr(GError) error = NULL;

  *body = grant_token_provider_send_and_read_finish (GRANT_TOKEN_PROVIDER (object), res, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*body);
}

/* The whole body, read; the same 401 rule as send_async(). */
static void
test_send_and_read (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url = local_endpoint_url (fixture->endpoint, "/api");
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(SoupMessage) again = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) second = NULL;

  grant_token_provider_send_and_read_async (fixture->provider, NULL, message, G_PRIORITY_DEFAULT, NULL,
                                            send_and_read_cb, &body);
  while (body == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "{\"ok\":true}", 11);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 1);

  /* A revoked token: a new one, one more try, and that answer's body. */
  local_endpoint_revoke_tokens (fixture->endpoint);
  grant_token_provider_send_and_read_async (fixture->provider, NULL, again, G_PRIORITY_DEFAULT, NULL,
                                            send_and_read_cb, &second);
  while (second == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (soup_message_get_status (again), ==, 200);
  g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second), "{\"ok\":true}", 11);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
  g_assert_cmpuint (local_endpoint_get_api_requests (fixture->endpoint), ==, 3);
}

static void
send_and_read_fails_cb (GObject      *object,
                        GAsyncResult *res,
                        gpointer      user_data)
{
  GError **error = user_data;
  g_autoptr(GBytes) body = grant_token_provider_send_and_read_finish (GRANT_TOKEN_PROVIDER (object), res,
                                                                      error);

  g_assert_null (body);
  g_assert_nonnull (*error);
}

/* Cancelled, and without a token: errors, and nothing sent. */
static void
test_send_and_read_errors (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *url = local_endpoint_url (fixture->endpoint, "/api");
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  grant_token_provider_send_and_read_async (fixture->provider, NULL, message, G_PRIORITY_DEFAULT, cancellable,
                                            send_and_read_fails_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  grant_token_provider_set_client_secret (fixture->provider, "not-the-secret");
  grant_token_provider_send_and_read_async (fixture->provider, NULL, message, G_PRIORITY_DEFAULT, NULL,
                                            send_and_read_fails_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_cmpuint (local_endpoint_get_api_requests (fixture->endpoint), ==, 0);
}

static void
test_send_without_token (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (send_api (fixture->provider, fixture->endpoint, &error), ==, 200);

  /* Revoked, and the credentials no longer work either: the 401 stands,
   * and the retry is never sent without a token. */
  local_endpoint_revoke_tokens (fixture->endpoint);
  g_free (fixture->endpoint->client_secret);
  fixture->endpoint->client_secret = g_strdup ("rotated elsewhere");
  g_assert_cmpuint (send_api (fixture->provider, fixture->endpoint, &error), ==, 0);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_cmpuint (local_endpoint_get_api_requests (fixture->endpoint), ==, 2);
}

static void
test_send_gives_up_after_second_401 (Fixture       *fixture,
                                     gconstpointer  data)
{
  g_autofree char *url = local_endpoint_url (fixture->endpoint, "/always-401");
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  SendResult result = { 0 };

  local_endpoint_add_canned_with_header (fixture->endpoint, "/always-401", 401, "WWW-Authenticate",
                                         "Bearer error=\"invalid_token\"", "application/json", "{}");
  grant_token_provider_send_async (fixture->provider, NULL, message, G_PRIORITY_DEFAULT, NULL, send_cb, &result);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 401);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
  g_clear_object (&result.stream);
  result.done = FALSE;

  /* The API refused the new token too: soon after, its 401 goes to the
   * caller without a third token, however often the caller asks. */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(SoupMessage) again = soup_message_new ("GET", url);

      test_clock_advance (fixture->clock, 5);
      grant_token_provider_send_async (fixture->provider, NULL, again, G_PRIORITY_DEFAULT, NULL,
                                       send_cb, &result);
      test_wait_until (&result.done);
      g_assert_no_error (result.error);
      g_assert_cmpuint (soup_message_get_status (again), ==, 401);
      g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 2);
      g_clear_object (&result.stream);
      result.done = FALSE;
    }

  /* Half a minute on, a 401 is worth a new token again. */
  test_clock_advance (fixture->clock, 10);
  g_clear_object (&message);
  message = soup_message_new ("GET", url);
  grant_token_provider_send_async (fixture->provider, NULL, message, G_PRIORITY_DEFAULT, NULL, send_cb, &result);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 401);
  g_assert_cmpuint (local_endpoint_get_requests (fixture->endpoint), ==, 3);
  g_clear_object (&result.stream);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/refresh/schedule", Fixture, NULL,
              fixture_set_up, test_schedule, fixture_tear_down);
  g_test_add ("/refresh/no-timer-without-token-or-auto-refresh", Fixture, NULL,
              fixture_set_up, test_no_timer_without_token_or_auto_refresh, fixture_tear_down);
  g_test_add_func ("/refresh/jitter", test_jitter);
  g_test_add ("/refresh/failure-keeps-valid-token", Fixture, NULL,
              fixture_set_up, test_failure_keeps_valid_token, fixture_tear_down);
  g_test_add ("/refresh/failure-without-auto-refresh", Fixture, NULL,
              fixture_set_up, test_failure_without_auto_refresh, fixture_tear_down);
  g_test_add ("/refresh/retries-stop-at-expiry", Fixture, NULL,
              fixture_set_up, test_retries_stop_at_expiry, fixture_tear_down);
  g_test_add ("/refresh/suspend-past-expiry", Fixture, NULL,
              fixture_set_up, test_suspend_past_expiry, fixture_tear_down);
  g_test_add ("/refresh/real-clock", Fixture, NULL,
              fixture_set_up_real_clock, test_real_clock, fixture_tear_down);
  g_test_add_func ("/refresh/real-alarms-share-one-timer", test_real_alarms_share_one_timer);
  g_test_add ("/refresh/background-joined-by-callers", Fixture, NULL,
              fixture_set_up, test_background_joined_by_callers, fixture_tear_down);
  g_test_add ("/refresh/dropped-during-background-refresh", Fixture, NULL,
              fixture_set_up, test_dropped_during_background_refresh, fixture_tear_down);
  g_test_add ("/retry/server-errors", Fixture, NULL,
              fixture_set_up_real_clock, test_retry_server_errors, fixture_tear_down);
  g_test_add ("/retry/gives-up", Fixture, NULL,
              fixture_set_up_real_clock, test_retry_gives_up, fixture_tear_down);
  g_test_add ("/retry/max-attempts", Fixture, NULL,
              fixture_set_up_real_clock, test_max_attempts, fixture_tear_down);
  g_test_add_func ("/retry/not-for-protocol-errors", test_no_retry_for_protocol_errors);
  g_test_add ("/retry/retry-after", Fixture, NULL,
              fixture_set_up_real_clock, test_retry_after, fixture_tear_down);
  g_test_add ("/retry/cancel-during-wait", Fixture, NULL,
              fixture_set_up_real_clock, test_cancel_during_retry_wait, fixture_tear_down);
  g_test_add ("/network/down-and-up", Fixture, NULL,
              fixture_set_up, test_network_down_and_up, fixture_tear_down);
  g_test_add ("/retry/backoff-across-calls", Fixture, NULL,
              fixture_set_up, test_backoff_across_calls, fixture_tear_down);
  g_test_add ("/retry/retry-after-across-calls", Fixture, NULL,
              fixture_set_up, test_retry_after_across_calls, fixture_tear_down);
  g_test_add ("/retry/backoff-ends-with-new-request", Fixture, NULL,
              fixture_set_up, test_backoff_ends_with_new_request, fixture_tear_down);
  g_test_add ("/send/authorize-message", Fixture, NULL,
              fixture_set_up_real_clock, test_authorize_message, fixture_tear_down);
  g_test_add ("/send/retries-once-after-401", Fixture, NULL,
              fixture_set_up_real_clock, test_send_retries_once_after_401, fixture_tear_down);
  g_test_add ("/send/and-read", Fixture, NULL,
              fixture_set_up_real_clock, test_send_and_read, fixture_tear_down);
  g_test_add ("/send/and-read-errors", Fixture, NULL,
              fixture_set_up_real_clock, test_send_and_read_errors, fixture_tear_down);
  g_test_add ("/send/without-token", Fixture, NULL,
              fixture_set_up_real_clock, test_send_without_token, fixture_tear_down);
  g_test_add ("/send/ignores-session-auth", Fixture, NULL,
              fixture_set_up_real_clock, test_send_ignores_session_auth, fixture_tear_down);
  g_test_add ("/send/gives-up-after-second-401", Fixture, NULL,
              fixture_set_up, test_send_gives_up_after_second_401, fixture_tear_down);

  return g_test_run ();
}
