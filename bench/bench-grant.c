/* bench-grant.c: where libgrant spends time and memory
 *
 * Usage: bench-grant [--url BASE | --endpoint PATH] [--quick] [MODE...]
 *
 * Modes (all of them by default), each printing rows of a Markdown table:
 *
 *   peek        grant_token_provider_peek_token() on a fresh cached token
 *   cached      get_token_async() on a fresh cached token, call to callback
 *   concurrent  10,000 get_token_async() on a cold cache: token requests
 *               made, and wall time against one fetch
 *   fetch       a fresh fetch (the cache invalidated each time) against a
 *               raw libsoup POST of the same request parsed with json-glib
 *   memory      resident size with 1 and with 1,000 providers sharing a
 *               session, each holding a token and a refresh alarm
 *   restarts    processes x restarts sharing a GrantFileStore: token
 *               requests per token lifetime
 *   fleet       4 hosts x 8 processes x 10 restarts sharing a
 *               GrantRedisStore (a redis-server of its own): token requests
 *               per lifetime; the time to a token from a warm Redis store
 *               against a fresh fetch
 *
 * "bench-grant peer fetch|floor|cached|concurrent BASE_URL N" measures one
 * figure the way bench/go/fetch.go and bench/python/fetch.py measure the
 * peers, and prints it on one line as they do ("floor": the same fresh
 * fetch written by hand with libsoup's blocking API and json-glib).
 *
 * The token endpoint is grant-local-endpoint: either one already running
 * (--url, as bench/run-benchmarks.sh does so that other clients use the
 * same server) or one this program starts (--endpoint). It runs in its own
 * process, so its work does not count against the client's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <glib/gstdio.h>
#include <grant.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#define CONCURRENT_CALLERS 10000
#define MEMORY_PROVIDERS 1000
#define RESTART_PROCESSES 8
#define RESTARTS 10
#define FLEET_HOSTS 4
#define FLEET_PROCESSES 8
#define FLEET_TIMINGS 50

typedef struct {
  char *base_url;
  char *token_url;
  SoupSession *session;       /* shared by every provider, kept alive */
  SoupSession *stats_session; /* for /stats, off the measured connection */
  gboolean quick;
  int failures;               /* goals missed */
} Bench;

/* Figures */

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);

  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The median of @n figures; sorts them. */
static double
median (double *values,
        guint   n)
{
  qsort (values, n, sizeof (double), compare_doubles);

  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void
row (const char *metric,
     const char *figure,
     const char *goal,
     const char *verdict)
{
  printf ("| %s | %s | %s | %s |\n", metric, figure, goal, verdict);
  fflush (stdout);
}

static const char *
verdict (Bench    *bench,
         gboolean  met)
{
  if (!met)
    bench->failures++;

  return met ? "met" : "**missed**";
}

/* The endpoint */

static guint
token_requests (Bench *bench)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *url = g_strconcat (bench->base_url, "/stats", NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  msg = soup_message_new ("GET", url);
  body = soup_session_send_and_read (bench->stats_session, msg, NULL, &error);
  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK ||
      !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    g_error ("Could not read %s: %s", url, error ? error->message : "not a JSON object");

  object = json_node_get_object (json_parser_get_root (parser));

  return (guint) json_object_get_int_member (object, "token_requests");
}

static GSubprocess *
start_endpoint (const char  *path,
                char       **base_url)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { path, "--until-stdin-closes", NULL };

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (process == NULL)
    g_error ("Could not start %s: %s", path, error->message);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  *base_url = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  if (*base_url == NULL)
    g_error ("%s did not print its URL", path);

  return g_steal_pointer (&process);
}

/* Providers */

static GrantTokenProvider *
new_provider (Bench *bench)
{
  return g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                       "token-url", bench->token_url,
                       "client-id", "test-client",
                       "client-secret", "test-secret",
                       "auth-method", GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
                       "session", bench->session,
                       NULL);
}

/* The same, on a session the provider makes for itself, as an application
 * that gives none gets. */
static GrantTokenProvider *
new_provider_own_session (Bench *bench)
{
  return g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                       "token-url", bench->token_url,
                       "client-id", "test-client",
                       "client-secret", "test-secret",
                       "auth-method", GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
                       NULL);
}

typedef struct {
  guint done;
  guint failed;
  GrantToken *first;     /* the token the first callback got */
  gboolean all_same;     /* every callback got that same token */
} Calls;

static void
got_token_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Calls *calls = user_data;
  g_autoptr(GError) error = NULL;
  GrantToken *token;

  token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (object), result, &error);
  calls->done++;
  if (token == NULL)
    {
      if (calls->failed++ == 0)
        g_printerr ("bench-grant: no token: %s\n", error->message);
      return;
    }

  if (calls->first == NULL)
    calls->first = g_object_ref (token);
  else if (token != calls->first)
    calls->all_same = FALSE;
  g_object_unref (token);
}

static void
wait_for_calls (Calls *calls,
                guint  n)
{
  while (calls->done < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
calls_clear (Calls *calls)
{
  g_clear_object (&calls->first);
  calls->done = calls->failed = 0;
  calls->all_same = TRUE;
}

/* Gets a token, or gives up on the whole run. */
static GrantToken *
get_token (GrantTokenProvider *provider)
{
  Calls calls = { 0, 0, NULL, TRUE };

  grant_token_provider_get_token_async (provider, NULL, got_token_cb, &calls);
  wait_for_calls (&calls, 1);
  if (calls.first == NULL)
    exit (EXIT_FAILURE);

  return calls.first;
}

/* 1. peek_token */

static void
bench_peek (Bench *bench)
{
  g_autoptr(GrantTokenProvider) provider = new_provider (bench);
  g_autoptr(GrantToken) token = get_token (provider);
  guint n = bench->quick ? 1000000 : 10000000;
  double ns[7];
  guint misses = 0;
  char figure[64];

  for (guint r = 0; r < G_N_ELEMENTS (ns); r++)
    {
      gint64 start = now_ns ();

      for (guint i = 0; i < n; i++)
        misses += grant_token_provider_peek_token (provider) != token;
      ns[r] = (double) (now_ns () - start) / n;
    }

  if (misses > 0)
    g_error ("peek_token missed the cached token %u times", misses);

  g_snprintf (figure, sizeof figure, "%.1f ns/call", median (ns, G_N_ELEMENTS (ns)));
  row ("`peek_token`, fresh cached token", figure, "<= 50 ns",
       verdict (bench, ns[G_N_ELEMENTS (ns) / 2] <= 50));
}

/* 2. get_token_async with a fresh cached token */

static void
bare_task_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  guint *done = user_data;
  GrantToken *token = g_task_propagate_pointer (G_TASK (result), NULL);

  g_object_unref (token);
  (*done)++;
}

static void
bench_cached (Bench *bench)
{
  g_autoptr(GrantTokenProvider) provider = new_provider (bench);
  g_autoptr(GrantToken) token = get_token (provider);
  guint n = bench->quick ? 20000 : 200000;
  double us[7], floor_us[7];
  char figure[64];

  for (guint r = 0; r < G_N_ELEMENTS (us); r++)
    {
      Calls calls = { 0, 0, NULL, TRUE };
      gint64 start = now_ns ();

      for (guint i = 0; i < n; i++)
        {
          grant_token_provider_get_token_async (provider, NULL, got_token_cb, &calls);
          wait_for_calls (&calls, i + 1);
        }
      us[r] = (double) (now_ns () - start) / n / 1000;

      if (calls.failed > 0 || calls.first != token || !calls.all_same)
        g_error ("get_token_async did not return the cached token");
      calls_clear (&calls);
    }

  /* What any GIO asynchronous call costs here, in the same main context:
   * a bare GTask returning a pointer, completed in one iteration. */
  for (guint r = 0; r < G_N_ELEMENTS (floor_us); r++)
    {
      guint done = 0;
      gint64 start = now_ns ();

      for (guint i = 0; i < n; i++)
        {
          GTask *task = g_task_new (provider, NULL, bare_task_cb, &done);

          g_task_set_source_tag (task, bench_cached);
          g_task_return_pointer (task, g_object_ref (token), g_object_unref);
          g_object_unref (task);
          while (done < i + 1)
            g_main_context_iteration (NULL, TRUE);
        }
      floor_us[r] = (double) (now_ns () - start) / n / 1000;
    }

  g_snprintf (figure, sizeof figure, "%.2f µs", median (us, G_N_ELEMENTS (us)));
  row ("`get_token_async`, fresh cached token, call to callback", figure, "<= 2 µs",
       verdict (bench, us[G_N_ELEMENTS (us) / 2] <= 2));
  g_snprintf (figure, sizeof figure, "%.2f µs", median (floor_us, G_N_ELEMENTS (floor_us)));
  row ("for reference: a bare `GTask` through one main-loop iteration, same context", figure, "", "");
}

/* 3. Concurrent callers on a cold cache */

typedef struct {
  guint most_requests;
  double single_us;   /* one caller, cold cache */
  double many_us;     /* CONCURRENT_CALLERS callers, cold cache */
} Concurrent;

/* Medians over a few rounds, each with new providers on the warm session. */
static Concurrent
measure_concurrent (Bench *bench,
                    guint  rounds,
                    guint  callers)
{
  g_autoptr(GrantTokenProvider) warm = new_provider (bench);
  double single_us[9], many_us[9];
  Concurrent result = { 0, 0, 0 };

  g_assert (rounds <= G_N_ELEMENTS (single_us));

  /* A warm connection for the first round too. */
  g_object_unref (get_token (warm));

  for (guint r = 0; r < rounds; r++)
    {
      g_autoptr(GrantTokenProvider) one = new_provider (bench);
      g_autoptr(GrantTokenProvider) many = new_provider (bench);
      Calls calls = { 0, 0, NULL, TRUE };
      guint before;
      gint64 start;

      start = now_ns ();
      g_object_unref (get_token (one));
      single_us[r] = (double) (now_ns () - start) / 1000;

      before = token_requests (bench);
      start = now_ns ();
      for (guint i = 0; i < callers; i++)
        grant_token_provider_get_token_async (many, NULL, got_token_cb, &calls);
      wait_for_calls (&calls, callers);
      many_us[r] = (double) (now_ns () - start) / 1000;
      result.most_requests = MAX (result.most_requests, token_requests (bench) - before);

      if (calls.failed > 0 || !calls.all_same)
        g_error ("Concurrent callers did not all get the same token");
      calls_clear (&calls);
    }

  result.single_us = median (single_us, rounds);
  result.many_us = median (many_us, rounds);

  return result;
}

static void
report_concurrent (Bench            *bench,
                   const Concurrent *result,
                   const char       *where)
{
  double ratio = result->many_us / result->single_us;
  char metric[160], figure[160];

  g_snprintf (metric, sizeof metric,
              "10,000 concurrent `get_token_async`, cold cache, %s: token requests", where);
  g_snprintf (figure, sizeof figure, "%u", result->most_requests);
  row (metric, figure, "1", verdict (bench, result->most_requests == 1));

  g_snprintf (metric, sizeof metric,
              "10,000 concurrent `get_token_async`, cold cache, %s: wall time against one fetch", where);
  g_snprintf (figure, sizeof figure, "%.2fx (%.0f µs against %.0f µs: %.2f µs per caller)",
              ratio, result->many_us, result->single_us,
              (result->many_us - result->single_us) / CONCURRENT_CALLERS);
  row (metric, figure, "< 2x", verdict (bench, ratio < 2));
}

typedef struct {
  GPtrArray *tasks;
  GrantToken *token;
} BareTasks;

static gboolean
return_bare_tasks_cb (gpointer user_data)
{
  BareTasks *bare = user_data;

  for (guint i = 0; i < bare->tasks->len; i++)
    g_task_return_pointer (bare->tasks->pdata[i], g_object_ref (bare->token), g_object_unref);
  g_ptr_array_set_size (bare->tasks, 0);

  return G_SOURCE_REMOVE;
}

/* What CONCURRENT_CALLERS GIO asynchronous calls cost with nothing else:
 * bare GTasks, all completed from one source as a fetch completes its
 * callers. */
static double
measure_bare_tasks_us (Bench *bench)
{
  g_autoptr(GrantTokenProvider) provider = new_provider (bench);
  g_autoptr(GrantToken) token = get_token (provider);
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  BareTasks bare = { tasks, token };
  double us[5];

  for (guint r = 0; r < G_N_ELEMENTS (us); r++)
    {
      guint done = 0;
      gint64 start = now_ns ();

      for (guint i = 0; i < CONCURRENT_CALLERS; i++)
        {
          GTask *task = g_task_new (provider, NULL, bare_task_cb, &done);

          g_task_set_source_tag (task, measure_bare_tasks_us);
          g_ptr_array_add (tasks, task);
        }
      g_idle_add (return_bare_tasks_cb, &bare);
      while (done < CONCURRENT_CALLERS)
        g_main_context_iteration (NULL, TRUE);
      us[r] = (double) (now_ns () - start) / 1000;
    }

  return median (us, G_N_ELEMENTS (us));
}

static void
bench_concurrent (Bench *bench)
{
  g_autofree char *loopback_url = g_strdup (bench->token_url);
  Concurrent result;
  char figure[96];

  result = measure_concurrent (bench, 5, CONCURRENT_CALLERS);
  report_concurrent (bench, &result, "loopback");
  g_snprintf (figure, sizeof figure, "%.0f µs", measure_bare_tasks_us (bench));
  row ("for reference: 10,000 bare `GTask`s created, then completed from one source", figure, "", "");

  /* The same, with an endpoint 20 ms away as a real one is. */
  g_free (bench->token_url);
  bench->token_url = g_strconcat (loopback_url, "?delay_ms=20", NULL);
  result = measure_concurrent (bench, 5, CONCURRENT_CALLERS);
  report_concurrent (bench, &result, "endpoint 20 ms away");
  g_free (bench->token_url);
  bench->token_url = g_steal_pointer (&loopback_url);
}

/* 4. Fresh fetches, against a raw libsoup POST */

typedef struct {
  gboolean done;
  gboolean ok;
} Raw;

/* Whether @msg's answer, @size bytes of @data, is a token, parsed with
 * json-glib as libgrant parses it. */
static gboolean
raw_is_token (SoupMessage *msg,
              const char  *data,
              gsize        size)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonObject *object;

  if (soup_message_get_status (msg) != SOUP_STATUS_OK ||
      !json_parser_load_from_data (parser, data, size, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;

  object = json_node_get_object (json_parser_get_root (parser));

  return json_object_get_string_member_with_default (object, "access_token", NULL) != NULL &&
         json_object_get_int_member_with_default (object, "expires_in", 0) > 0;
}

static void
raw_read_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Raw *raw = user_data;
  g_autoptr(GBytes) body = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (object), result);

  raw->done = TRUE;
  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, NULL);
  raw->ok = body != NULL && raw_is_token (msg, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

/* The provider's request, by hand: Basic credentials, a form body. */
static SoupMessage *
raw_message_new (Bench *bench)
{
  static const char form[] = "grant_type=client_credentials";
  SoupMessage *msg = soup_message_new ("POST", bench->token_url);
  g_autoptr(GBytes) body = g_bytes_new_static (form, sizeof form - 1);
  g_autofree char *credentials = g_base64_encode ((const guchar *) "test-client:test-secret", 23);
  g_autofree char *authorization = g_strconcat ("Basic ", credentials, NULL);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", body);

  return msg;
}

/* What an application would write by hand: the same request as the
 * provider's (Basic credentials, a form body), parsed with json-glib.
 * With @keep_alive, SOUP_MESSAGE_IDEMPOTENT lets libsoup send the POST on
 * an idle connection, as the provider does; without it, libsoup opens a
 * new connection for each POST. */
static void
raw_fetch (Bench    *bench,
           gboolean  keep_alive)
{
  g_autoptr(SoupMessage) msg = raw_message_new (bench);
  Raw raw = { FALSE, FALSE };

  if (keep_alive)
    soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  soup_session_send_and_read_async (bench->session, msg, G_PRIORITY_DEFAULT, NULL, raw_read_cb, &raw);
  while (!raw.done)
    g_main_context_iteration (NULL, TRUE);
  if (!raw.ok)
    g_error ("The raw POST got no token");
}

/* The floor with libsoup: the same request by hand with libsoup's
 * blocking API, with what libgrant leaves out of a token request left out
 * (the auth manager, the content decoder), the body read into a buffer
 * and parsed with json-glib. */
static void
raw_fetch_blocking (Bench *bench)
{
  g_autoptr(SoupMessage) msg = raw_message_new (bench);
  g_autoptr(GInputStream) stream = NULL;
  char buffer[16 * 1024];
  gsize got = 0;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept-Encoding", "identity");
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT | SOUP_MESSAGE_NO_REDIRECT);
  soup_message_disable_feature (msg, SOUP_TYPE_AUTH_MANAGER);
  soup_message_disable_feature (msg, SOUP_TYPE_CONTENT_DECODER);

  stream = soup_session_send (bench->session, msg, NULL, NULL);
  if (stream == NULL ||
      !g_input_stream_read_all (stream, buffer, sizeof buffer, &got, NULL, NULL) ||
      !raw_is_token (msg, buffer, got))
    g_error ("The blocking raw POST got no token");
  g_input_stream_close (stream, NULL, NULL);
}

static void
grant_fetch (GrantTokenProvider *provider)
{
  g_autoptr(GrantToken) token = get_token (provider);

  grant_token_provider_invalidate (provider, token);
}

/* The blocking call, as a script or a command-line tool makes it. */
static void
grant_fetch_blocking (GrantTokenProvider *provider)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = grant_token_provider_get_token (provider, NULL, &error);

  if (token == NULL)
    g_error ("The blocking call got no token: %s", error->message);
  grant_token_provider_invalidate (provider, token);
}

typedef enum {
  LOOP_LIBGRANT,
  LOOP_LIBGRANT_BLOCKING,
  LOOP_RAW,
  LOOP_RAW_BLOCKING,
  LOOP_RAW_NEW_CONNECTIONS,
} Loop;

static double
fetch_loop_us (Bench              *bench,
               GrantTokenProvider *provider,
               Loop                loop,
               guint               n)
{
  gint64 start = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      if (loop == LOOP_LIBGRANT)
        grant_fetch (provider);
      else if (loop == LOOP_LIBGRANT_BLOCKING)
        grant_fetch_blocking (provider);
      else if (loop == LOOP_RAW_BLOCKING)
        raw_fetch_blocking (bench);
      else
        raw_fetch (bench, loop == LOOP_RAW);
    }

  return (double) (now_ns () - start) / n / 1000;
}

static void
bench_fetch (Bench *bench)
{
  g_autoptr(GrantTokenProvider) provider = new_provider (bench);
  g_autoptr(GrantTokenProvider) own = new_provider_own_session (bench);
  guint n = bench->quick ? 200 : 1000;
  double grant_us[9], raw_us[9], blocking_us[9], raw_blocking_us[9], new_us[3], ratio;
  char figure[64];

  /* Warm up all: the connection, the code paths. */
  fetch_loop_us (bench, provider, LOOP_LIBGRANT, n / 10);
  fetch_loop_us (bench, NULL, LOOP_RAW, n / 10);
  fetch_loop_us (bench, own, LOOP_LIBGRANT_BLOCKING, n / 10);
  fetch_loop_us (bench, NULL, LOOP_RAW_BLOCKING, n / 10);

  /* Interleaved rounds, so that drift in the machine hits all alike. */
  for (guint r = 0; r < G_N_ELEMENTS (grant_us); r++)
    {
      grant_us[r] = fetch_loop_us (bench, provider, LOOP_LIBGRANT, n);
      raw_us[r] = fetch_loop_us (bench, NULL, LOOP_RAW, n);
      blocking_us[r] = fetch_loop_us (bench, own, LOOP_LIBGRANT_BLOCKING, n);
      raw_blocking_us[r] = fetch_loop_us (bench, NULL, LOOP_RAW_BLOCKING, n);
    }
  for (guint r = 0; r < G_N_ELEMENTS (new_us); r++)
    new_us[r] = fetch_loop_us (bench, NULL, LOOP_RAW_NEW_CONNECTIONS, n / 4);

  ratio = median (grant_us, G_N_ELEMENTS (grant_us)) / median (raw_us, G_N_ELEMENTS (raw_us));
  /* Read by bench/run-benchmarks.sh: keep the wording. */
  g_snprintf (figure, sizeof figure, "%.1f µs", grant_us[G_N_ELEMENTS (grant_us) / 2]);
  row ("fresh fetch (cache invalidated, keep-alive), libgrant", figure, "", "");
  g_snprintf (figure, sizeof figure, "%.1f µs", raw_us[G_N_ELEMENTS (raw_us) / 2]);
  row ("fresh fetch, raw libsoup POST + json-glib", figure, "", "");
  g_snprintf (figure, sizeof figure, "%.3fx", ratio);
  row ("fresh fetch, libgrant against raw libsoup", figure, "<= 1.1x", verdict (bench, ratio <= 1.1));
  g_snprintf (figure, sizeof figure, "%.1f µs", median (blocking_us, G_N_ELEMENTS (blocking_us)));
  row ("fresh fetch, the blocking `get_token()` (run on the calling thread)", figure, "", "");
  g_snprintf (figure, sizeof figure, "%.1f µs", median (raw_blocking_us, G_N_ELEMENTS (raw_blocking_us)));
  row ("fresh fetch, raw libsoup blocking POST + json-glib", figure, "", "");
  g_snprintf (figure, sizeof figure, "%.1f µs", median (new_us, G_N_ELEMENTS (new_us)));
  row ("for reference: raw libsoup POST without `SOUP_MESSAGE_IDEMPOTENT` (a new connection each time)",
       figure, "", "");
}

/* 5. Memory */

static gint64
resident_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, "\nVmRSS:")) == NULL)
    return -1;

  return g_ascii_strtoll (line + strlen ("\nVmRSS:"), NULL, 10);
}

/* In a process of its own: @n providers sharing one session, each with a
 * token and a refresh alarm. Prints "RSS_KIB HEAP_BYTES". */
static int
memory_child (const char *token_url,
              guint       n)
{
  g_autoptr(GPtrArray) providers = g_ptr_array_new_with_free_func (g_object_unref);
  Bench bench = { NULL, (char *) token_url, NULL, NULL, FALSE, 0 };
  Calls calls = { 0, 0, NULL, TRUE };
  struct mallinfo2 heap;

  bench.session = soup_session_new ();
  for (guint i = 0; i < n; i++)
    {
      GrantTokenProvider *provider = new_provider (&bench);

      g_ptr_array_add (providers, provider);
      grant_token_provider_get_token_async (provider, NULL, got_token_cb, &calls);
      /* A few at a time, as an application starting would. */
      if (i % 16 == 15)
        wait_for_calls (&calls, i + 1);
    }
  wait_for_calls (&calls, n);
  if (calls.failed > 0)
    return EXIT_FAILURE;
  calls_clear (&calls);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  heap = mallinfo2 ();
  printf ("%" G_GINT64_FORMAT " %zu\n", resident_kib (), heap.uordblks + heap.hblkhd);

  g_object_unref (bench.session);

  return EXIT_SUCCESS;
}

static void
run_memory_child (const char *self_path,
                  Bench      *bench,
                  guint       n,
                  gint64     *rss_kib,
                  gint64     *heap_bytes)
{
  g_autofree char *count = g_strdup_printf ("%u", n);
  const char *argv[] = { self_path, "memory-child", bench->token_url, count, NULL };
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *output = NULL;
  g_autoptr(GError) error = NULL;

  child = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (child == NULL ||
      !g_subprocess_communicate_utf8 (child, NULL, NULL, &output, NULL, &error) ||
      !g_subprocess_get_successful (child) ||
      sscanf (output, "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT, rss_kib, heap_bytes) != 2)
    g_error ("The memory benchmark with %u providers failed%s%s", n,
             error ? ": " : "", error ? error->message : "");
}

static void
bench_memory (Bench      *bench,
              const char *self_path)
{
  gint64 rss_one, heap_one, rss_many, heap_many;
  double per_provider_kib;
  char figure[96];

  run_memory_child (self_path, bench, 1, &rss_one, &heap_one);
  run_memory_child (self_path, bench, MEMORY_PROVIDERS, &rss_many, &heap_many);

  g_snprintf (figure, sizeof figure, "%" G_GINT64_FORMAT " KiB", rss_one);
  row ("resident size, 1 provider with a token", figure, "", "");
  g_snprintf (figure, sizeof figure, "%" G_GINT64_FORMAT " KiB", rss_many);
  row ("resident size, 1,000 providers with a token, one session", figure, "", "");

  per_provider_kib = (double) (rss_many - rss_one) / (MEMORY_PROVIDERS - 1);
  g_snprintf (figure, sizeof figure, "%.2f KiB resident (%.2f KiB of heap)",
              per_provider_kib, (double) (heap_many - heap_one) / (MEMORY_PROVIDERS - 1) / 1024);
  row ("memory per provider", figure, "<= 8 KiB", verdict (bench, per_provider_kib <= 8));
}

/* 7. Processes and restarts sharing a file store */

/* In a process of its own: gets a token through @store and prints a
 * digest of it (never the token itself). */
static int
store_child (const char      *token_url,
             GrantTokenStore *store)
{
  Bench bench = { NULL, (char *) token_url, NULL, NULL, FALSE, 0 };
  g_autoptr(GrantTokenProvider) provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autofree char *digest = NULL;

  bench.session = soup_session_new ();
  provider = new_provider (&bench);
  grant_token_provider_set_store (provider, store);
  token = get_token (provider);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, grant_token_get_access_token (token), -1);
  printf ("%s\n", digest);
  g_object_unref (bench.session);

  return EXIT_SUCCESS;
}

static int
restart_child (const char *token_url,
               const char *directory)
{
  g_autoptr(GrantFileStore) store = grant_file_store_new (directory);

  return store_child (token_url, GRANT_TOKEN_STORE (store));
}

typedef struct {
  const char *const *argv;
  guint restarts_left;
  guint *running;
  GHashTable *digests;
} Chain;

static void chain_next (Chain *chain);

static void
chain_child_done_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Chain *chain = user_data;
  g_autofree char *output = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &output, NULL, &error) ||
      !g_subprocess_get_successful (G_SUBPROCESS (object)))
    g_error ("A restarted process failed%s%s", error ? ": " : "", error ? error->message : "");

  g_strchomp (output);
  g_hash_table_add (chain->digests, g_steal_pointer (&output));
  g_object_unref (object);
  chain_next (chain);
}

static void
chain_next (Chain *chain)
{
  GSubprocess *child;
  g_autoptr(GError) error = NULL;

  if (chain->restarts_left == 0)
    {
      (*chain->running)--;
      return;
    }
  chain->restarts_left--;

  child = g_subprocess_newv (chain->argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (child == NULL)
    g_error ("Could not start a process: %s", error->message);
  g_subprocess_communicate_utf8_async (child, NULL, NULL, chain_child_done_cb, chain);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
bench_restarts (Bench      *bench,
                const char *self_path)
{
  g_autofree char *directory = NULL;
  g_autoptr(GHashTable) digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  guint restarts = bench->quick ? 3 : RESTARTS;
  Chain chains[RESTART_PROCESSES];
  guint running = RESTART_PROCESSES;
  guint before, requests;
  const char *argv[5];
  char metric[128], figure[96];
  gint64 start;

  directory = g_dir_make_tmp ("bench-grant-XXXXXX", &error);
  if (directory == NULL)
    g_error ("%s", error->message);
  argv[0] = self_path;
  argv[1] = "restart-child";
  argv[2] = bench->token_url;
  argv[3] = directory;
  argv[4] = NULL;

  before = token_requests (bench);
  start = now_ns ();
  for (guint i = 0; i < RESTART_PROCESSES; i++)
    {
      chains[i] = (Chain) { argv, restarts, &running, digests };
      chain_next (&chains[i]);
    }
  while (running > 0)
    g_main_context_iteration (NULL, TRUE);
  requests = token_requests (bench) - before;
  remove_tree (directory);

  /* Every process started within one token lifetime (an hour). */
  g_snprintf (metric, sizeof metric,
              "%u processes x %u restarts, one `GrantFileStore`: token requests per token lifetime",
              RESTART_PROCESSES, restarts);
  g_snprintf (figure, sizeof figure, "%u (%u distinct tokens seen, %.0f ms in all)",
              requests, g_hash_table_size (digests), (double) (now_ns () - start) / 1e6);
  row (metric, figure, "1", verdict (bench, requests == 1 && g_hash_table_size (digests) == 1));
}

/* 8. A fleet sharing a GrantRedisStore */

/* The application key the fleet's processes share (a benchmark's). */
static GBytes *
fleet_key (void)
{
  static const guint8 key[32] = "libgrant-benchmark-fleet-key-32b";

  return g_bytes_new_static (key, sizeof key);
}

static GrantRedisStore *
fleet_store (const char *redis_url,
             gboolean    application_key)
{
  g_autoptr(GError) error = NULL;
  GrantRedisStore *store = grant_redis_store_new (redis_url, &error);

  if (store == NULL)
    g_error ("%s", error->message);
  /* Tokens sealed with the derived key live apart from the others. */
  grant_redis_store_set_key_prefix (store, application_key ? "bench:" : "bench-derived:");
  if (application_key)
    {
      g_autoptr(GBytes) key = fleet_key ();

      grant_redis_store_set_encryption_key (store, key);
    }

  return store;
}

/* In a process of its own: a token through the Redis store. */
static int
fleet_child (const char *token_url,
             const char *redis_url)
{
  g_autoptr(GrantRedisStore) store = fleet_store (redis_url, TRUE);

  return store_child (token_url, GRANT_TOKEN_STORE (store));
}

/* A redis-server of the benchmark's own, on 127.0.0.1, without
 * persistence; NULL when there is none to run. */
static GSubprocess *
start_redis (char **url)
{
  g_autofree char *path = g_find_program_in_path ("redis-server");
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;
  GSubprocess *process;

  if (path == NULL)
    return NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  if (socket == NULL || !g_socket_bind (socket, any, FALSE, &error) ||
      (bound = g_socket_get_local_address (socket, &error)) == NULL)
    g_error ("No free port: %s", error->message);
  port = g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (socket, NULL);

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                              path, "--port", port, "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", NULL);
  if (process == NULL)
    g_error ("Could not start redis-server: %s", error->message);

  for (guint i = 0; ; i++)
    {
      g_autoptr(GSocketConnection) connection = NULL;

      connection = g_socket_client_connect_to_host (client, "127.0.0.1", atoi (port), NULL, NULL);
      if (connection != NULL)
        break;
      if (i == 500)
        g_error ("redis-server did not start");
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }

  *url = g_strdup_printf ("redis://127.0.0.1:%s", port);

  return process;
}

/* The median time to a first token of a new provider, in µs: with a new
 * store each time (a new connection) when @redis_url is set, else a fresh
 * fetch. */
static double
time_to_token (Bench      *bench,
               const char *redis_url,
               gboolean    application_key)
{
  double times[FLEET_TIMINGS];
  guint n = bench->quick ? 10 : FLEET_TIMINGS;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GrantTokenProvider) provider = new_provider (bench);
      g_autoptr(GrantRedisStore) store = NULL;
      g_autoptr(GrantToken) token = NULL;
      gint64 start;

      if (redis_url != NULL)
        {
          store = fleet_store (redis_url, application_key);
          grant_token_provider_set_store (provider, GRANT_TOKEN_STORE (store));
        }
      start = now_ns ();
      token = get_token (provider);
      times[i] = (double) (now_ns () - start) / 1e3;
    }

  return median (times, n);
}

static void
bench_fleet (Bench      *bench,
             const char *self_path)
{
  g_autoptr(GSubprocess) redis = NULL;
  g_autoptr(GHashTable) digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *redis_url = NULL;
  guint restarts = bench->quick ? 3 : RESTARTS;
  Chain chains[FLEET_HOSTS * FLEET_PROCESSES];
  guint running = G_N_ELEMENTS (chains);
  guint before, requests;
  const char *argv[5];
  char metric[160], figure[128];
  double warm, derived, fresh;
  gint64 start;

  redis = start_redis (&redis_url);
  if (redis == NULL)
    {
      row ("fleet sharing a `GrantRedisStore`", "not run: no redis-server", "", "");
      return;
    }

  argv[0] = self_path;
  argv[1] = "fleet-child";
  argv[2] = bench->token_url;
  argv[3] = redis_url;
  argv[4] = NULL;

  /* Every host's processes at once, each restarting as soon as it has its
   * token: the first ones meet on a cold store. */
  before = token_requests (bench);
  start = now_ns ();
  for (guint i = 0; i < G_N_ELEMENTS (chains); i++)
    {
      chains[i] = (Chain) { argv, restarts, &running, digests };
      chain_next (&chains[i]);
    }
  while (running > 0)
    g_main_context_iteration (NULL, TRUE);
  requests = token_requests (bench) - before;

  g_snprintf (metric, sizeof metric,
              "%u hosts x %u processes x %u restarts, one `GrantRedisStore`: token requests per token lifetime",
              FLEET_HOSTS, FLEET_PROCESSES, restarts);
  g_snprintf (figure, sizeof figure, "%u (%u distinct tokens seen, %u processes, %.0f ms in all)",
              requests, g_hash_table_size (digests), FLEET_HOSTS * FLEET_PROCESSES * restarts,
              (double) (now_ns () - start) / 1e6);
  row (metric, figure, "1", verdict (bench, requests == 1 && g_hash_table_size (digests) == 1));

  /* The store is warm now; the first derived-key provider warms its own
   * prefix. */
  warm = time_to_token (bench, redis_url, TRUE);
  {
    g_autoptr(GrantTokenProvider) provider = new_provider (bench);
    g_autoptr(GrantRedisStore) store = fleet_store (redis_url, FALSE);

    grant_token_provider_set_store (provider, GRANT_TOKEN_STORE (store));
    g_object_unref (get_token (provider));
  }
  derived = time_to_token (bench, redis_url, FALSE);
  fresh = time_to_token (bench, NULL, FALSE);
  g_snprintf (figure, sizeof figure, "%.1f µs", warm);
  row ("time to a new provider's token, warm `GrantRedisStore` (new connection, GET, AES-GCM), application key",
       figure, "", "");
  g_snprintf (figure, sizeof figure, "%.1f µs", derived);
  row ("the same, key derived from the secret (PBKDF2, once per process)", figure, "", "");
  g_snprintf (figure, sizeof figure, "%.1f µs (warm Redis: %.2fx of it)", fresh, warm / fresh);
  row ("time to a new provider's token, fresh fetch (keep-alive, loopback endpoint)", figure, "", "");

  g_subprocess_force_exit (redis);
  g_subprocess_wait (redis, NULL, NULL);
}

/* Main */

/* 8. The same figures, measured the way bench/go/fetch.go and
 * bench/python/fetch.py measure the peers, so that the script can run the
 * three clients in turn, in processes alike, and compare them. */

static gint64
cpu_ns (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);

  return ((gint64) usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000 +
         ((gint64) usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000;
}

/* Threads calling the blocking get_token() on one provider's cached token
 * at the same time, let go together. */

#define N_CALLER_THREADS 8

typedef struct {
  GrantTokenProvider *provider;
  GrantToken *token;
  guint n;
  GMutex lock;
  GCond cond;
  gboolean go;
} Callers;

static gpointer
cached_caller_thread (gpointer data)
{
  Callers *callers = data;

  g_mutex_lock (&callers->lock);
  while (!callers->go)
    g_cond_wait (&callers->cond, &callers->lock);
  g_mutex_unlock (&callers->lock);

  for (guint i = 0; i < callers->n; i++)
    {
      GrantToken *again = grant_token_provider_get_token (callers->provider, NULL, NULL);

      if (again != callers->token)
        g_error ("get_token did not return the cached token");
      g_object_unref (again);
    }

  return NULL;
}

/* The wall time, in nanoseconds, of N_CALLER_THREADS threads each making
 * @n calls. */
static gint64
cached_threads_ns (GrantTokenProvider *provider,
                   GrantToken         *token,
                   guint               n)
{
  Callers callers = { provider, token, n };
  GThread *threads[N_CALLER_THREADS];
  gint64 start;

  g_mutex_init (&callers.lock);
  g_cond_init (&callers.cond);
  for (guint i = 0; i < N_CALLER_THREADS; i++)
    threads[i] = g_thread_new ("bench-caller", cached_caller_thread, &callers);
  /* Let every thread reach the gate. */
  g_usleep (20000);

  g_mutex_lock (&callers.lock);
  start = now_ns ();
  callers.go = TRUE;
  g_cond_broadcast (&callers.cond);
  g_mutex_unlock (&callers.lock);
  for (guint i = 0; i < N_CALLER_THREADS; i++)
    g_thread_join (threads[i]);

  g_mutex_clear (&callers.lock);
  g_cond_clear (&callers.cond);

  return now_ns () - start;
}

/* In a process of its own, with a provider as an application makes one:
 * prints "libgrant MODE N FIGURES...", as the peers' programs do. */
static int
peer_child (const char *mode,
            const char *base_url,
            guint       n)
{
  Bench bench = { (char *) base_url, g_strconcat (base_url, "/token", NULL), NULL, NULL, FALSE, 0 };
  g_autoptr(GrantTokenProvider) provider = NULL;

  bench.session = soup_session_new ();
  bench.stats_session = soup_session_new ();
  provider = new_provider (&bench);

  /* Warm up: the connection, the code paths (fetch and floor warm up what
   * they measure). */
  if (!g_str_equal (mode, "fetch") && !g_str_equal (mode, "floor"))
    fetch_loop_us (&bench, provider, LOOP_LIBGRANT, MIN (n / 10 + 1, 200));

  if (g_str_equal (mode, "fetch"))
    {
      /* As the peers' fetches are: the blocking call, on the session the
       * provider makes for itself (Go's client is the program's own). */
      g_autoptr(GrantTokenProvider) own = new_provider_own_session (&bench);
      gint64 cpu;
      double wall_us;

      fetch_loop_us (&bench, own, LOOP_LIBGRANT_BLOCKING, MIN (n / 10 + 1, 200));
      cpu = cpu_ns ();
      wall_us = fetch_loop_us (&bench, own, LOOP_LIBGRANT_BLOCKING, n);

      printf ("libgrant fetch %u %.2f %.2f\n", n, wall_us, (double) (cpu_ns () - cpu) / n / 1000);
    }
  else if (g_str_equal (mode, "floor"))
    {
      /* What libsoup alone costs the same fetch (raw_fetch_blocking()). */
      gint64 cpu;
      double wall_us;

      fetch_loop_us (&bench, NULL, LOOP_RAW_BLOCKING, MIN (n / 10 + 1, 200));
      cpu = cpu_ns ();
      wall_us = fetch_loop_us (&bench, NULL, LOOP_RAW_BLOCKING, n);
      printf ("libsoup-blocking fetch %u %.2f %.2f\n", n, wall_us, (double) (cpu_ns () - cpu) / n / 1000);
    }
  else if (g_str_equal (mode, "cached"))
    {
      /* The blocking call, as Go's Token() and authlib's
       * ensure_active_token() are: the cached token, or a fetch. */
      g_autoptr(GrantToken) token = get_token (provider);
      double ns[7];

      for (guint r = 0; r < G_N_ELEMENTS (ns); r++)
        {
          gint64 start = now_ns ();

          for (guint i = 0; i < n; i++)
            {
              GrantToken *again = grant_token_provider_get_token (provider, NULL, NULL);

              if (again != token)
                g_error ("get_token did not return the cached token");
              g_object_unref (again);
            }
          ns[r] = (double) (now_ns () - start) / n;
        }
      printf ("libgrant cached %u %.1f\n", n, median (ns, G_N_ELEMENTS (ns)));
    }
  else if (g_str_equal (mode, "threads"))
    {
      /* Figures: nanoseconds per call as each thread sees it (the wall
       * time over its calls), and calls per microsecond in all. */
      g_autoptr(GrantToken) token = get_token (provider);
      double ns[5];

      for (guint r = 0; r < G_N_ELEMENTS (ns); r++)
        ns[r] = (double) cached_threads_ns (provider, token, n) / n;
      printf ("libgrant threads %u %d %.1f %.2f\n", n, N_CALLER_THREADS,
              median (ns, G_N_ELEMENTS (ns)), N_CALLER_THREADS * 1000.0 / median (ns, G_N_ELEMENTS (ns)));
    }
  else if (g_str_equal (mode, "concurrent"))
    {
      Concurrent result = measure_concurrent (&bench, 5, n);

      printf ("libgrant concurrent %u %u %.0f %.0f\n", n, result.most_requests,
              result.many_us, result.single_us);
    }
  else
    {
      g_printerr ("bench-grant: unknown peer mode “%s”\n", mode);
      return 2;
    }

  g_clear_object (&provider);
  g_object_unref (bench.session);
  g_object_unref (bench.stats_session);
  g_free (bench.token_url);

  return EXIT_SUCCESS;
}

static const char *const all_modes[] = { "peek", "cached", "concurrent", "fetch", "memory", "restarts", "fleet" };

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GSubprocess) endpoint = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *self_path = NULL;
  g_autofree char *url = NULL;
  g_autofree char *endpoint_path = NULL;
  g_auto(GStrv) modes = NULL;
  gboolean quick = FALSE;
  Bench bench = { 0 };
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "Base URL of a running grant-local-endpoint", "URL" },
    { "endpoint", 0, 0, G_OPTION_ARG_FILENAME, &endpoint_path, "Start this grant-local-endpoint", "PATH" },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Fewer iterations, rougher figures", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &modes, NULL, "MODE..." },
    { NULL }
  };

  /* The children of the memory and restarts modes. */
  if (argc == 4 && g_str_equal (argv[1], "memory-child"))
    return memory_child (argv[2], (guint) g_ascii_strtoull (argv[3], NULL, 10));
  if (argc == 4 && g_str_equal (argv[1], "restart-child"))
    return restart_child (argv[2], argv[3]);
  if (argc == 4 && g_str_equal (argv[1], "fleet-child"))
    return fleet_child (argv[2], argv[3]);
  /* bench/run-benchmarks.sh: bench-grant peer MODE BASE_URL N */
  if (argc == 5 && g_str_equal (argv[1], "peer"))
    {
      guint64 n = g_ascii_strtoull (argv[4], NULL, 10);

      if (n < 1 || n > G_MAXUINT)
        {
          g_printerr ("bench-grant: N must be a positive number\n");
          return 2;
        }
      return peer_child (argv[2], argv[3], (guint) n);
    }

  options = g_option_context_new ("[MODE...]");
  g_option_context_set_summary (options, "Where libgrant spends time and memory.\n\n"
                                "Modes: peek, cached, concurrent, fetch, memory, restarts, fleet (default: all).");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("bench-grant: %s\n", error->message);
      return 2;
    }
  if ((url == NULL) == (endpoint_path == NULL))
    {
      g_printerr ("bench-grant: give either --url or --endpoint\n");
      return 2;
    }
  for (guint i = 0; modes != NULL && modes[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *) all_modes, modes[i]))
      {
        g_printerr ("bench-grant: unknown mode “%s”\n", modes[i]);
        return 2;
      }

  self_path = g_file_read_link ("/proc/self/exe", &error);
  if (self_path == NULL)
    g_error ("%s", error->message);

  if (endpoint_path != NULL)
    endpoint = start_endpoint (endpoint_path, &url);
  bench.base_url = url;
  bench.token_url = g_strconcat (url, "/token", NULL);
  bench.session = soup_session_new ();
  bench.stats_session = soup_session_new ();
  bench.quick = quick;

  printf ("| benchmark | figure | goal | |\n|---|---|---|---|\n");
  for (guint i = 0; i < G_N_ELEMENTS (all_modes); i++)
    {
      const char *mode = all_modes[i];

      if (modes != NULL && !g_strv_contains ((const char *const *) modes, mode))
        continue;
      if (g_str_equal (mode, "peek"))
        bench_peek (&bench);
      else if (g_str_equal (mode, "cached"))
        bench_cached (&bench);
      else if (g_str_equal (mode, "concurrent"))
        bench_concurrent (&bench);
      else if (g_str_equal (mode, "fetch"))
        bench_fetch (&bench);
      else if (g_str_equal (mode, "memory"))
        bench_memory (&bench, self_path);
      else if (g_str_equal (mode, "restarts"))
        bench_restarts (&bench, self_path);
      else if (g_str_equal (mode, "fleet"))
        bench_fleet (&bench, self_path);
    }

  g_object_unref (bench.session);
  g_object_unref (bench.stats_session);
  g_free (bench.token_url);

  /* Closing its standard input stops the endpoint. */
  if (endpoint != NULL)
    {
      g_output_stream_close (g_subprocess_get_stdin_pipe (endpoint), NULL, NULL);
      g_subprocess_wait (endpoint, NULL, NULL);
    }

  if (bench.failures > 0)
    g_printerr ("bench-grant: %d goal(s) missed\n", bench.failures);

  /* A missed goal is a finding, not a failure of the benchmark. */
  return EXIT_SUCCESS;
}
