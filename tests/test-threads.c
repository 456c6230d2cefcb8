/* test-threads.c: one provider from many threads and main contexts, and a
 * blocking call that never hangs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "grant-deadline-private.h"
#include "grant-fetch-private.h"
#include "test-utils.h"

static guint
count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

static GrantTokenProvider *
provider_for (LocalEndpoint *endpoint)
{
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, endpoint->client_id,
                                                           endpoint->client_secret);

  grant_token_provider_set_auto_refresh (provider, FALSE);
  test_fast_retries (provider, 1);

  return provider;
}

static void
test_blocking_in_a_row (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  guint after_one = 0;

  if (!g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("No /proc/self/fd");
      g_object_unref (provider);
      return;
    }

  /* get, invalidate, get, invalidate, get... : each a new fetch, none
   * leaving a connection or a descriptor behind. */
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      token = grant_token_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (token);
      grant_token_provider_invalidate (provider, token);
      if (i == 0)
        after_one = count_open_fds ();
    }

  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 100);
  g_assert_cmpuint (count_open_fds (), ==, after_one);
  /* One keep-alive connection for all of them. */
  g_assert_cmpuint (local_endpoint_get_token_connections (endpoint), ==, 1);

  g_assert_finalize_object (provider);
}

/* Threads sharing one provider */

#define N_THREADS 8
#define N_ROUNDS  100

typedef struct {
  GrantTokenProvider *provider;
  GMutex lock;
  GCond cond;
  guint started;
  guint cold_done;
  gboolean go;
  guint tokens;
  guint errors;
} Shared;

static gpointer
shared_thread (gpointer data)
{
  Shared *shared = data;
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GError) error = NULL;
  guint tokens = 0, errors = 0;

  g_mutex_lock (&shared->lock);
  shared->started++;
  g_cond_broadcast (&shared->cond);
  g_mutex_unlock (&shared->lock);

  /* A cold cache, every thread at once. */
  first = grant_token_provider_get_token (shared->provider, NULL, &error);
  if (first != NULL)
    tokens++;
  else
    errors++;
  g_clear_error (&error);

  g_mutex_lock (&shared->lock);
  shared->cold_done++;
  g_cond_broadcast (&shared->cond);
  while (!shared->go)
    g_cond_wait (&shared->cond, &shared->lock);
  g_mutex_unlock (&shared->lock);

  /* Then each thread throws the token away and asks again. */
  for (guint i = 0; i < N_ROUNDS; i++)
    {
      g_autoptr(GrantToken) token = NULL;

      grant_token_provider_invalidate (shared->provider, NULL);
      token = grant_token_provider_get_token (shared->provider, NULL, &error);
      if (token != NULL && !grant_token_is_expired (token, 0))
        tokens++;
      else
        errors++;
      g_clear_error (&error);
    }

  g_mutex_lock (&shared->lock);
  shared->tokens += tokens;
  shared->errors += errors;
  g_mutex_unlock (&shared->lock);

  return NULL;
}

static void
test_threads_share_provider (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  Shared shared = { 0 };
  GThread *threads[N_THREADS];
  guint requests;

  shared.provider = provider_for (endpoint);
  g_mutex_init (&shared.lock);
  g_cond_init (&shared.cond);

  local_endpoint_hold (endpoint, TRUE);
  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("test-caller", shared_thread, &shared);

  g_mutex_lock (&shared.lock);
  while (shared.started < N_THREADS)
    g_cond_wait (&shared.cond, &shared.lock);
  g_mutex_unlock (&shared.lock);
  while (local_endpoint_get_held (endpoint) < 1)
    g_usleep (1000);
  local_endpoint_release (endpoint);

  g_mutex_lock (&shared.lock);
  while (shared.cold_done < N_THREADS)
    g_cond_wait (&shared.cond, &shared.lock);
  /* However the threads came, one request: a thread either joined the one
   * in flight or found its token cached. */
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  shared.go = TRUE;
  g_cond_broadcast (&shared.cond);
  g_mutex_unlock (&shared.lock);

  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  g_assert_cmpuint (shared.errors, ==, 0);
  g_assert_cmpuint (shared.tokens, ==, N_THREADS * (N_ROUNDS + 1));
  requests = local_endpoint_get_requests (endpoint);
  g_assert_cmpuint (requests, >, 1);
  g_assert_cmpuint (requests, <=, 1 + N_THREADS * N_ROUNDS);
  g_test_message ("%u requests for %u calls", requests, N_THREADS * (N_ROUNDS + 1));

  g_assert_finalize_object (shared.provider);
  g_mutex_clear (&shared.lock);
  g_cond_clear (&shared.cond);
}

/* A main loop with asynchronous callers, and workers calling the blocking
 * method, as a GTK application with g_task_run_in_thread() does. */

#define N_ASYNC   200
#define N_WORKERS 4
#define N_BLOCKING 50

typedef struct {
  guint async_done;
  guint async_errors;
  gint workers_done;
  gint blocking_errors;
  gint tasks_finalized;
} Mixed;

/* The thread pool drops its reference to a task (and so to the provider)
 * after the task has returned. */
static void
task_finalized_cb (gpointer  data,
                   GObject  *where_the_object_was)
{
  Mixed *mixed = data;

  g_atomic_int_inc (&mixed->tasks_finalized);
}

static void
mixed_async_cb (GObject      *object,
                GAsyncResult *res,
                gpointer      user_data)
{
  Mixed *mixed = user_data;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (object), res, &error);
  if (token == NULL)
    mixed->async_errors++;
  mixed->async_done++;
}

static void
blocking_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  Mixed *mixed = task_data;

  for (guint i = 0; i < N_BLOCKING; i++)
    {
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      if (i % 10 == 0)
        grant_token_provider_invalidate (source_object, NULL);
      token = grant_token_provider_get_token (source_object, NULL, &error);
      if (token == NULL)
        g_atomic_int_inc (&mixed->blocking_errors);
    }
  g_atomic_int_inc (&mixed->workers_done);
  g_task_return_boolean (task, TRUE);
}

static gboolean
start_async_batch (gpointer user_data)
{
  gpointer *data = user_data;
  GrantTokenProvider *provider = data[0];
  Mixed *mixed = data[1];
  static guint started;

  grant_token_provider_invalidate (provider, NULL);
  for (guint i = 0; i < 20 && started < N_ASYNC; i++, started++)
    grant_token_provider_get_token_async (provider, NULL, mixed_async_cb, mixed);

  return started < N_ASYNC ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
test_main_loop_and_workers (void)
{
  /* The endpoint runs in the main context: if a blocking call depended on
   * it being iterated by anyone else, or stalled it, nothing would end. */
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = provider_for (endpoint);
  Mixed mixed = { 0 };
  gpointer data[] = { provider, &mixed };

  for (guint i = 0; i < N_WORKERS; i++)
    {
      g_autoptr(GTask) task = g_task_new (provider, NULL, NULL, NULL);

      g_task_set_task_data (task, &mixed, NULL);
      g_object_weak_ref (G_OBJECT (task), task_finalized_cb, &mixed);
      g_task_run_in_thread (task, blocking_worker);
    }
  g_idle_add (start_async_batch, data);

  while (mixed.async_done < N_ASYNC || g_atomic_int_get (&mixed.workers_done) < N_WORKERS)
    g_main_context_iteration (NULL, TRUE);
  /* The workers' tasks complete in the main context too. */
  while (g_atomic_int_get (&mixed.tasks_finalized) < N_WORKERS)
    g_main_context_iteration (NULL, FALSE);

  g_assert_cmpuint (mixed.async_errors, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&mixed.blocking_errors), ==, 0);

  g_assert_finalize_object (provider);
}

/* Cancelling from another thread */

static gpointer
cancel_thread (gpointer data)
{
  g_cancellable_cancel (data);

  return NULL;
}

typedef struct {
  GrantTokenProvider *provider;
  GCancellable *cancellable;
  GrantToken *token;
  GError *error;
  gint64 took;
} Blocking;

static gpointer
blocking_thread (gpointer data)
{
  Blocking *blocking = data;
  gint64 started = g_get_monotonic_time ();

  blocking->token = grant_token_provider_get_token (blocking->provider, blocking->cancellable,
                                                    &blocking->error);
  blocking->took = g_get_monotonic_time () - started;

  return NULL;
}

static void
test_cancel_from_another_thread (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) blocking_cancellable = g_cancellable_new ();
  Blocking blocking = { provider, blocking_cancellable, NULL, NULL, 0 };
  TestResult result = { 0 };
  GThread *thread;

  /* An asynchronous caller here, cancelled from a thread: it completes
   * here, at once. */
  local_endpoint_hold (endpoint, TRUE);
  grant_token_provider_get_token_async (provider, cancellable, test_provider_get_token_cb, &result);
  while (local_endpoint_get_held (endpoint) < 1)
    g_main_context_iteration (NULL, FALSE);
  g_thread_join (g_thread_new ("test-cancel", cancel_thread, cancellable));
  test_wait_until (&result.done);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* A blocking caller in a thread, cancelled from here: it returns at once
   * too. */
  thread = g_thread_new ("test-blocking", blocking_thread, &blocking);
  while (local_endpoint_get_held (endpoint) < 2)
    g_usleep (1000);
  g_cancellable_cancel (blocking_cancellable);
  g_thread_join (thread);
  g_assert_null (blocking.token);
  g_assert_error (blocking.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (blocking.took, <, 5 * G_USEC_PER_SEC);

  local_endpoint_release (endpoint);
  test_result_clear (&result);
  g_clear_error (&blocking.error);
  g_assert_finalize_object (provider);
}

/* A blocking caller runs its fetch on its own thread (the provider's own
 * session, no store): others join it as they join any fetch, and its
 * leaving hands the fetch to the worker for them. */

/* Starts @blocking's call in a thread and waits until the endpoint holds
 * its request: one the caller runs itself when @runs_itself, or the
 * worker's. */
static GThread *
start_held_call (LocalEndpoint *endpoint,
                 Blocking      *blocking,
                 gboolean       runs_itself)
{
  guint runs = grant_fetch_count_runs ();
  GThread *thread;

  local_endpoint_hold (endpoint, TRUE);
  thread = g_thread_new ("test-blocking", blocking_thread, blocking);
  while (local_endpoint_get_held (endpoint) < 1)
    g_usleep (1000);
  g_assert_cmpuint (grant_fetch_count_runs (), ==, runs + (runs_itself ? 1 : 0));

  return thread;
}

static void
test_runner_is_joined (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  Blocking runner = { provider, NULL, NULL, NULL, 0 };
  Blocking joiner = { provider, NULL, NULL, NULL, 0 };
  TestResult result = { 0 };
  GThread *runner_thread, *joiner_thread;
  guint runs = grant_fetch_count_runs ();

  runner_thread = start_held_call (endpoint, &runner, TRUE);
  /* An asynchronous caller here while the runner's request is held: it
   * joins it (a fetch of its own would be a second request). A blocking
   * one in a thread joins it too, or finds its token cached. */
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  joiner_thread = g_thread_new ("test-joiner", blocking_thread, &joiner);
  g_usleep (50 * 1000);
  local_endpoint_release (endpoint);

  g_thread_join (runner_thread);
  g_thread_join (joiner_thread);
  test_wait_until (&result.done);
  g_assert_no_error (runner.error);
  g_assert_no_error (joiner.error);
  g_assert_no_error (result.error);
  g_assert_true (runner.token == joiner.token);
  g_assert_true (runner.token == result.token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_cmpuint (grant_fetch_count_runs (), ==, runs + 1);

  g_clear_object (&runner.token);
  g_clear_object (&joiner.token);
  test_result_clear (&result);
  g_assert_finalize_object (provider);
}

static void
test_runner_leaves_others (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Blocking runner = { provider, cancellable, NULL, NULL, 0 };
  TestResult result = { 0 };
  GThread *thread;

  thread = start_held_call (endpoint, &runner, TRUE);
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);

  /* The runner's caller gives up in the middle of the exchange: it
   * returns at once, and the worker sends the request again for the
   * caller left. */
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_null (runner.token);
  g_assert_error (runner.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (runner.took, <, 5 * G_USEC_PER_SEC);
  while (local_endpoint_get_requests (endpoint) < 2)
    g_main_context_iteration (NULL, FALSE);
  g_assert_false (result.done);

  local_endpoint_release (endpoint);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_nonnull (result.token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_clear_error (&runner.error);
  test_result_clear (&result);
  g_assert_finalize_object (provider);
}

static void
test_runner_alone_stops (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Blocking runner = { provider, cancellable, NULL, NULL, 0 };
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;

  thread = start_held_call (endpoint, &runner, TRUE);
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_error (runner.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Nobody else waited: nothing is sent again (the worker would have sent
   * it by now, and the endpoint would hold it), and the next call starts a
   * fetch of its own. */
  g_usleep (100 * 1000);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  local_endpoint_release (endpoint);
  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_clear_error (&runner.error);
  g_assert_finalize_object (provider);
}

static void
test_runner_not_beside_other_fetches (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Blocking blocking = { provider, cancellable, NULL, NULL, 0 };
  TestResult first = { 0 }, second = { 0 };
  GThread *thread;
  guint runs = grant_fetch_count_runs ();

  /* Two requests held, each made obsolete by a change: they hold the
   * session's two connections to the host, which libsoup's blocking API
   * would wait for whatever the timeout or a cancellation says. */
  local_endpoint_hold (endpoint, TRUE);
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &first);
  while (local_endpoint_get_held (endpoint) < 1)
    g_main_context_iteration (NULL, FALSE);
  grant_token_provider_set_scope (provider, "b");
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &second);
  while (local_endpoint_get_held (endpoint) < 2)
    g_main_context_iteration (NULL, FALSE);
  grant_token_provider_set_scope (provider, "c");

  /* So a blocking call leaves its request to the worker, and its
   * cancellation works at once. */
  thread = g_thread_new ("test-blocking", blocking_thread, &blocking);
  g_usleep (100 * 1000);
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_error (blocking.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (blocking.took, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (grant_fetch_count_runs (), ==, runs);

  local_endpoint_release (endpoint);
  test_wait_until (&first.done);
  test_wait_until (&second.done);
  g_clear_error (&blocking.error);
  test_result_clear (&first);
  test_result_clear (&second);
  g_assert_finalize_object (provider);
}

static void
test_runner_provider_goes_away (void)
{
  /* The provider disposed while a blocking call waits for its answer: the
   * call ends at once, with the same error whether it runs its request
   * itself (the provider's own session) or the worker does (the
   * application's). */
  for (guint own = 0; own < 2; own++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
      g_autoptr(SoupSession) session = soup_session_new ();
      GrantTokenProvider *provider = own ? provider_for (endpoint)
                                         : g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                                                         "token-url", endpoint->token_url,
                                                         "client-id", endpoint->client_id,
                                                         "client-secret", endpoint->client_secret,
                                                         "auto-refresh", FALSE,
                                                         "session", session,
                                                         NULL);
      Blocking blocking = { provider, NULL, NULL, NULL, 0 };
      GThread *thread = start_held_call (endpoint, &blocking, own);

      g_object_run_dispose (G_OBJECT (provider));
      g_thread_join (thread);
      g_assert_null (blocking.token);
      g_assert_error (blocking.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpstr (blocking.error->message, ==, "The provider went away");
      g_assert_cmpint (blocking.took, <, 5 * G_USEC_PER_SEC);

      local_endpoint_release (endpoint);
      g_clear_error (&blocking.error);
      g_assert_finalize_object (provider);
    }
}

/* The deadlines that end blocking exchanges fire in their order, however
 * they were armed, and a disarmed one never does. */

typedef struct {
  GMutex lock;
  GString *order;
} Fired;

static void
deadline_cancelled_cb (GCancellable *cancellable,
                       Fired        *fired)
{
  g_mutex_lock (&fired->lock);
  g_string_append (fired->order, g_object_get_data (G_OBJECT (cancellable), "name"));
  g_mutex_unlock (&fired->lock);
}

static void
test_deadlines (void)
{
  const char *names[] = { "a", "b", "c", "d" };
  /* Milliseconds from now; "c" is disarmed before its time. */
  const gint64 after_ms[] = { 300, 100, 200, 150 };
  GrantDeadline deadlines[G_N_ELEMENTS (names)];
  GCancellable *cancellables[G_N_ELEMENTS (names)];
  Fired fired = { .order = g_string_new (NULL) };
  gint64 start = g_get_monotonic_time ();

  g_mutex_init (&fired.lock);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      cancellables[i] = g_cancellable_new ();
      g_object_set_data (G_OBJECT (cancellables[i]), "name", (gpointer) names[i]);
      g_signal_connect (cancellables[i], "cancelled", G_CALLBACK (deadline_cancelled_cb), &fired);
      grant_deadline_arm (&deadlines[i], start + after_ms[i] * 1000, cancellables[i]);
    }
  grant_deadline_disarm (&deadlines[2]);
  /* A machine that stalled this thread past "c" (valgrind on a busy one)
   * proves nothing. */
  if (g_get_monotonic_time () - start > after_ms[1] * 1000)
    {
      g_test_skip ("This thread stalled past the first deadline");
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (i != 2)
          grant_deadline_disarm (&deadlines[i]);
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        g_object_unref (cancellables[i]);
      g_string_free (fired.order, TRUE);
      g_mutex_clear (&fired.lock);
      return;
    }

  /* Cancelled first, then its handlers run: wait for the last one's. */
  for (;;)
    {
      gsize len;

      g_mutex_lock (&fired.lock);
      len = fired.order->len;
      g_mutex_unlock (&fired.lock);
      if (len >= 3)
        break;
      g_usleep (10 * 1000);
    }
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (i != 2)
      grant_deadline_disarm (&deadlines[i]);

  g_mutex_lock (&fired.lock);
  g_assert_cmpstr (fired.order->str, ==, "bda");
  g_mutex_unlock (&fired.lock);
  g_assert_true (deadlines[0].fired && deadlines[1].fired && deadlines[3].fired);
  g_assert_false (deadlines[2].fired);
  g_assert_false (g_cancellable_is_cancelled (cancellables[2]));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_object_unref (cancellables[i]);
  g_string_free (fired.order, TRUE);
  g_mutex_clear (&fired.lock);
}

/* Signals come in the home context */

typedef struct {
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  GrantTokenProvider *provider;
  LocalEndpoint *endpoint;
  GMutex lock;
  GCond cond;
  gboolean ready;
  gint refreshed;
  gint notified;
  gint wrong_context;
} Home;

static void
home_refreshed_cb (GrantTokenProvider *provider,
                   GrantToken         *token,
                   Home               *home)
{
  if (!g_main_context_is_owner (home->context) || g_thread_self () != home->thread)
    g_atomic_int_inc (&home->wrong_context);
  g_atomic_int_inc (&home->refreshed);
}

static void
home_notify_cb (GObject    *object,
                GParamSpec *pspec,
                Home       *home)
{
  if (!g_main_context_is_owner (home->context) || g_thread_self () != home->thread)
    g_atomic_int_inc (&home->wrong_context);
  g_atomic_int_inc (&home->notified);
}

static gpointer
home_thread (gpointer data)
{
  Home *home = data;

  g_main_context_push_thread_default (home->context);
  home->provider = provider_for (home->endpoint);
  g_signal_connect (home->provider, "token-refreshed", G_CALLBACK (home_refreshed_cb), home);
  g_signal_connect (home->provider, "notify::token", G_CALLBACK (home_notify_cb), home);

  g_mutex_lock (&home->lock);
  home->ready = TRUE;
  g_cond_signal (&home->cond);
  g_mutex_unlock (&home->lock);

  g_main_loop_run (home->loop);
  g_main_context_pop_thread_default (home->context);

  return NULL;
}

static gboolean
quit_home_cb (gpointer data)
{
  Home *home = data;

  g_assert_finalize_object (home->provider);
  g_main_loop_quit (home->loop);

  return G_SOURCE_REMOVE;
}

static void
test_signals_in_home_context (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  Home home = { 0 };

  home.context = g_main_context_new ();
  home.loop = g_main_loop_new (home.context, FALSE);
  home.endpoint = endpoint;
  g_mutex_init (&home.lock);
  g_cond_init (&home.cond);

  g_mutex_lock (&home.lock);
  home.thread = g_thread_new ("test-home", home_thread, &home);
  while (!home.ready)
    g_cond_wait (&home.cond, &home.lock);
  g_mutex_unlock (&home.lock);

  /* Asked here, on another thread and context: the token comes back here,
   * the signals there. */
  token = grant_token_provider_get_token (home.provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  while (g_atomic_int_get (&home.refreshed) < 1 || g_atomic_int_get (&home.notified) < 1)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&home.wrong_context), ==, 0);

  /* An invalidation from here notifies there too. */
  grant_token_provider_invalidate (home.provider, NULL);
  while (g_atomic_int_get (&home.notified) < 2)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&home.wrong_context), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&home.refreshed), ==, 1);

  g_main_context_invoke (home.context, quit_home_cb, &home);
  g_thread_join (home.thread);

  g_main_loop_unref (home.loop);
  g_main_context_unref (home.context);
  g_mutex_clear (&home.lock);
  g_cond_clear (&home.cond);
}

/* Never past the timeout */

static void
test_blocking_times_out (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  gint64 started;

  /* The server never answers. */
  local_endpoint_hold (endpoint, TRUE);
  grant_token_provider_set_timeout (provider, 1);
  started = g_get_monotonic_time ();
  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 900 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);

  local_endpoint_release (endpoint);
  g_assert_finalize_object (provider);
}

static void
test_queued_request_times_out (void)
{
  /* libsoup 3.2 ignores the cancellable of a message still waiting for a
   * connection: with the session's only connection busy, the timeout must
   * still end the call. */
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("max-conns", 1, "max-conns-per-host", 1, NULL);
  GrantTokenProvider *busy = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                                           "token-url", endpoint->token_url,
                                           "client-id", endpoint->client_id,
                                           "client-secret", endpoint->client_secret,
                                           "auto-refresh", FALSE,
                                           "session", session,
                                           NULL);
  GrantTokenProvider *provider = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                                               "token-url", endpoint->token_url,
                                               "client-id", endpoint->client_id,
                                               "client-secret", endpoint->client_secret,
                                               "scope", "another",
                                               "auto-refresh", FALSE,
                                               "session", session,
                                               "timeout", 1,
                                               "max-attempts", 1,
                                               NULL);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  TestResult held = { 0 };
  gint64 started;

  local_endpoint_hold (endpoint, TRUE);
  grant_token_provider_get_token_async (busy, NULL, test_provider_get_token_cb, &held);
  while (local_endpoint_get_held (endpoint) < 1)
    g_main_context_iteration (NULL, FALSE);

  started = g_get_monotonic_time ();
  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  /* The connection comes free: everything goes on. */
  local_endpoint_release (endpoint);
  test_wait_until (&held.done);
  g_assert_no_error (held.error);
  g_clear_object (&token);
  g_clear_error (&error);
  test_provider_wait_quiet (provider, NULL);
  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);

  test_result_clear (&held);
  g_assert_finalize_object (busy);
  g_assert_finalize_object (provider);
}

/* What a script that only makes blocking calls may rely on */

static void
test_peeked_token_outlives_other_calls (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) second = NULL;
  g_autoptr(GrantToken) third = NULL;
  g_autoptr(GError) error = NULL;
  GrantToken *peeked;

  first = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  peeked = grant_token_provider_peek_token (provider);
  g_assert_true (peeked == first);
  g_clear_object (&first);

  /* The cache moves on, and this thread makes other calls: the token it
   * peeked stays valid until it peeks again. */
  g_object_add_weak_pointer (G_OBJECT (peeked), (gpointer *) &peeked);
  grant_token_provider_invalidate (provider, NULL);
  second = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  grant_token_provider_invalidate (provider, NULL);
  third = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peeked);
  g_assert_nonnull (grant_token_get_access_token (peeked));

  g_assert_true (grant_token_provider_peek_token (provider) == third);
  g_assert_null (peeked);

  g_assert_finalize_object (provider);
}

static gboolean
file_is_locked (const char *path)
{
  int fd = g_open (path, O_RDWR | O_CLOEXEC, 0);
  gboolean locked;

  g_assert_cmpint (fd, >=, 0);
  locked = flock (fd, LOCK_EX | LOCK_NB) < 0;
  close (fd);

  return locked;
}

static void
test_script_lets_the_store_lock_go (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  g_autofree char *dir = g_dir_make_tmp ("grant-threads-XXXXXX", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  GrantTokenProvider *provider = provider_for (endpoint);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint locks = 0;

  /* Nobody runs the default context, where the store was set: the
   * blocking call runs it, and has let the lock go when it returns. */
  grant_token_provider_set_store (provider, GRANT_TOKEN_STORE (store));
  token = grant_token_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);

  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_suffix (name, ".lock"))
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);

        g_assert_false (file_is_locked (path));
        locks++;
      }
  g_assert_cmpuint (locks, ==, 1);

  g_assert_finalize_object (provider);
  g_clear_object (&store);
  test_remove_tree (dir);
}

/* Tokens may be finalized on libgrant's worker thread (a fetch's request
 * snapshot holds the token it must not take from the store), even after
 * the test returned: a static counter, changed atomically. */
static gint tokens_finalized;

static void
count_finalized_cb (gpointer  data,
                    GObject  *where_the_object_was)
{
  g_atomic_int_inc ((gint *) data);
}

static void
test_script_keeps_no_tokens (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);
  GrantTokenProvider *provider = provider_for (endpoint);

  /* Fifty fetches in the home thread, which runs no main loop: nothing
   * waits there holding the tokens (the thread's own record keeps one,
   * the cache another). */
  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      token = grant_token_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_object_weak_ref (G_OBJECT (token), count_finalized_cb, &tokens_finalized);
      grant_token_provider_invalidate (provider, token);
    }
  g_assert_cmpint (g_atomic_int_get (&tokens_finalized), >=, 47);

  g_assert_finalize_object (provider);
}

typedef struct {
  GrantTokenProvider *provider;
  GrantToken *token;
  GError *error;
  gint64 took;
} StoreCaller;

static gpointer
store_caller_thread (gpointer data)
{
  StoreCaller *caller = data;
  gint64 started = g_get_monotonic_time ();

  caller->token = grant_token_provider_get_token (caller->provider, NULL, &caller->error);
  caller->took = g_get_monotonic_time () - started;

  return NULL;
}

static void
test_threads_share_a_store_context (void)
{
  /* Two providers whose stores were both set here, where nothing runs:
   * their blocking callers, in two threads, take turns running this
   * context for their stores, and neither waits out a timeout. */
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (TRUE);

  for (guint round = 0; round < 5; round++)
    {
      g_autofree char *dir = g_dir_make_tmp ("grant-threads-XXXXXX", NULL);
      g_autofree char *dir_a = g_build_filename (dir, "a", NULL);
      g_autofree char *dir_b = g_build_filename (dir, "b", NULL);
      g_autoptr(GrantFileStore) store_a = grant_file_store_new (dir_a);
      g_autoptr(GrantFileStore) store_b = grant_file_store_new (dir_b);
      StoreCaller a = { provider_for (endpoint) }, b = { provider_for (endpoint) };
      GThread *ta, *tb;

      grant_token_provider_set_store (a.provider, GRANT_TOKEN_STORE (store_a));
      grant_token_provider_set_store (b.provider, GRANT_TOKEN_STORE (store_b));
      grant_token_provider_set_scope (b.provider, "other");
      grant_token_provider_set_timeout (a.provider, 5);
      grant_token_provider_set_timeout (b.provider, 5);

      ta = g_thread_new ("test-store-a", store_caller_thread, &a);
      tb = g_thread_new ("test-store-b", store_caller_thread, &b);
      g_thread_join (ta);
      g_thread_join (tb);

      g_assert_no_error (a.error);
      g_assert_no_error (b.error);
      g_assert_nonnull (a.token);
      g_assert_nonnull (b.token);
      g_assert_cmpint (a.took, <, 4 * G_USEC_PER_SEC);
      g_assert_cmpint (b.took, <, 4 * G_USEC_PER_SEC);

      g_clear_object (&a.token);
      g_clear_object (&b.token);
      g_assert_finalize_object (a.provider);
      g_assert_finalize_object (b.provider);
      g_clear_object (&store_a);
      g_clear_object (&store_b);
      test_remove_tree (dir);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threads/blocking-in-a-row", test_blocking_in_a_row);
  g_test_add_func ("/threads/share-provider", test_threads_share_provider);
  g_test_add_func ("/threads/main-loop-and-workers", test_main_loop_and_workers);
  g_test_add_func ("/threads/cancel-from-another-thread", test_cancel_from_another_thread);
  g_test_add_func ("/threads/deadlines", test_deadlines);
  g_test_add_func ("/threads/runner/joined", test_runner_is_joined);
  g_test_add_func ("/threads/runner/leaves-others", test_runner_leaves_others);
  g_test_add_func ("/threads/runner/alone-stops", test_runner_alone_stops);
  g_test_add_func ("/threads/runner/not-beside-other-fetches", test_runner_not_beside_other_fetches);
  g_test_add_func ("/threads/runner/provider-goes-away", test_runner_provider_goes_away);
  g_test_add_func ("/threads/signals-in-home-context", test_signals_in_home_context);
  g_test_add_func ("/threads/blocking-times-out", test_blocking_times_out);
  g_test_add_func ("/threads/queued-request-times-out", test_queued_request_times_out);
  g_test_add_func ("/threads/peeked-token-outlives-other-calls", test_peeked_token_outlives_other_calls);
  g_test_add_func ("/threads/script-lets-the-store-lock-go", test_script_lets_the_store_lock_go);
  g_test_add_func ("/threads/script-keeps-no-tokens", test_script_keeps_no_tokens);
  g_test_add_func ("/threads/threads-share-a-store-context", test_threads_share_a_store_context);

  return g_test_run ();
}
