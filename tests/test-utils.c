/* test-utils.c: helpers shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>

#include "test-utils.h"

LocalEndpoint *
test_endpoint_new (gboolean threaded)
{
  g_autoptr(GError) error = NULL;
  LocalEndpoint *endpoint = local_endpoint_new (threaded, &error);

  g_assert_no_error (error);

  return endpoint;
}

void
test_fast_retries (GrantTokenProvider *provider,
                   guint               max_attempts)
{
  grant_token_provider_set_retry_policy (provider, 5, 20, max_attempts, FALSE);
}

void
test_provider_wait_quiet (GrantTokenProvider *provider,
                          TestClock          *clock)
{
  gint64 until = grant_token_provider_get_quiet_until (provider);

  if (until < 0)
    return;
  if (clock != NULL)
    {
      if (grant_clock_now (GRANT_CLOCK (clock)) < until)
        test_clock_set (clock, until);
      return;
    }
  /* The time left, read once: read twice, it could turn negative between
   * the test and the sleep, and g_usleep() would take it for centuries. */
  for (;;)
    {
      gint64 left = until - g_get_real_time ();

      if (left <= 0)
        break;
      g_usleep ((gulong) left);
    }
}

void
test_wait_until (gboolean *done)
{
  while (!*done)
    g_main_context_iteration (NULL, TRUE);
}

void
test_result_clear (TestResult *result)
{
  g_clear_object (&result->token);
  g_clear_error (&result->error);
  result->done = FALSE;
}

void
test_provider_get_token_cb (GObject      *object,
                            GAsyncResult *res,
                            gpointer      user_data)
{
  TestResult *result = user_data;

  g_assert_false (result->done);
  result->token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (object), res,
                                                         &result->error);
  g_assert_true ((result->token == NULL) != (result->error == NULL));
  result->done = TRUE;
}

void
test_provider_refresh_cb (GObject      *object,
                          GAsyncResult *res,
                          gpointer      user_data)
{
  TestResult *result = user_data;

  g_assert_false (result->done);
  result->token = grant_token_provider_refresh_finish (GRANT_TOKEN_PROVIDER (object), res,
                                                       &result->error);
  g_assert_true ((result->token == NULL) != (result->error == NULL));
  result->done = TRUE;
}

static GrantToken *
finish_in_thread_default (TestResult  *result,
                          GError     **error)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  while (!result->done)
    g_main_context_iteration (context, TRUE);
  if (result->error != NULL)
    g_propagate_error (error, g_steal_pointer (&result->error));

  return g_steal_pointer (&result->token);
}

/* -1: as GRANT_TEST_BLOCKING says. */
static int blocking_calls = -1;

void
test_use_blocking_calls (gboolean blocking)
{
  blocking_calls = blocking;
}

GrantToken *
test_provider_get_token (GrantTokenProvider  *provider,
                         GCancellable        *cancellable,
                         GError             **error)
{
  TestResult result = { 0 };

  if (blocking_calls < 0)
    blocking_calls = g_getenv ("GRANT_TEST_BLOCKING") != NULL;
  if (blocking_calls)
    return test_provider_get_token_blocking (provider, cancellable, error);

  grant_token_provider_get_token_async (provider, cancellable, test_provider_get_token_cb, &result);

  return finish_in_thread_default (&result, error);
}

typedef struct {
  GrantTokenProvider *provider;
  GCancellable *cancellable;
  TestResult result;
  GMainContext *context;      /* the waiting thread's, woken at the end */
} BlockingCall;

static gpointer
blocking_call_thread (gpointer data)
{
  BlockingCall *call = data;

  call->result.token = grant_token_provider_get_token (call->provider, call->cancellable,
                                                       &call->result.error);
  g_assert_true ((call->result.token == NULL) != (call->result.error == NULL));
  g_atomic_int_set (&call->result.done, TRUE);
  g_main_context_wakeup (call->context);

  return NULL;
}

GrantToken *
test_provider_get_token_blocking (GrantTokenProvider  *provider,
                                  GCancellable        *cancellable,
                                  GError             **error)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  BlockingCall call = { provider, cancellable, { 0 }, context };
  GThread *thread = g_thread_new ("test-blocking-call", blocking_call_thread, &call);

  while (!g_atomic_int_get (&call.result.done))
    g_main_context_iteration (context, TRUE);
  g_thread_join (thread);
  /* What the call queued for this context (signals, the refresh alarm)
   * runs before the test looks, as it does before an asynchronous
   * caller's callback here. */
  while (g_main_context_iteration (context, FALSE))
    ;
  if (call.result.error != NULL)
    g_propagate_error (error, g_steal_pointer (&call.result.error));

  return g_steal_pointer (&call.result.token);
}

GrantToken *
test_provider_refresh (GrantTokenProvider  *provider,
                       GCancellable        *cancellable,
                       GError             **error)
{
  TestResult result = { 0 };

  grant_token_provider_refresh_async (provider, cancellable, test_provider_refresh_cb, &result);

  return finish_in_thread_default (&result, error);
}

/* Removes @path and everything below it. */
void
test_remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                                   NULL, NULL);
  GFileInfo *info;

  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        test_remove_tree (child);
      else
        g_unlink (child);
      g_object_unref (info);
    }
  g_rmdir (path);
}

void
test_session_use_other_credentials (SoupSession *session,
                                    const char  *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(SoupMessage) challenged = soup_message_new ("GET", url);
  g_autoptr(SoupAuth) other = soup_auth_new (SOUP_TYPE_AUTH_BASIC, challenged, "Basic realm=\"other\"");

  g_assert_nonnull (other);
  soup_auth_authenticate (other, "someone-else", "their-password");
  soup_auth_manager_use_auth (SOUP_AUTH_MANAGER (soup_session_get_feature (session, SOUP_TYPE_AUTH_MANAGER)),
                              uri, other);
}

static GMutex log_lock;
static GString *captured_logs;

static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  g_mutex_lock (&log_lock);
  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        {
          if (fields[i].length < 0)
            g_string_append (captured_logs, fields[i].value);
          else
            g_string_append_len (captured_logs, fields[i].value, fields[i].length);
          g_string_append_c (captured_logs, '\n');
        }
    }
  g_mutex_unlock (&log_lock);

  /* Debug output is only captured; the rest goes on as usual. */
  if (log_level & G_LOG_LEVEL_DEBUG)
    return G_LOG_WRITER_HANDLED;

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* Captures every message, debug ones included. Call before g_test_init(). */
void
test_capture_logs (void)
{
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  captured_logs = g_string_new (NULL);
  g_log_set_writer_func (capture_writer, NULL, NULL);
}

char *
test_dup_captured_logs (void)
{
  char *copy;

  g_mutex_lock (&log_lock);
  copy = g_strdup (captured_logs ? captured_logs->str : "");
  g_mutex_unlock (&log_lock);

  return copy;
}

/* TestClock: read by libgrant's worker thread too, so everything in it is
 * under one lock. */

G_LOCK_DEFINE_STATIC (test_clock);

struct _TestClock
{
  GrantClock parent_instance;

  gint64 now;
  guint fired;
  GList *alarms;   /* AlarmSource, alive */
};

G_DEFINE_FINAL_TYPE (TestClock, test_clock, GRANT_TYPE_CLOCK)

typedef struct {
  GSource source;
  TestClock *clock;
  gint64 at;
} TestAlarm;

static gboolean
test_alarm_check (GSource *source)
{
  TestAlarm *alarm = (TestAlarm *) source;
  gboolean due;

  G_LOCK (test_clock);
  due = alarm->clock != NULL && alarm->clock->now >= alarm->at;
  G_UNLOCK (test_clock);

  return due;
}

static gboolean
test_alarm_prepare (GSource *source,
                    gint    *timeout)
{
  *timeout = -1;

  return test_alarm_check (source);
}

static gboolean
test_alarm_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  TestAlarm *alarm = (TestAlarm *) source;

  G_LOCK (test_clock);
  if (alarm->clock != NULL)
    alarm->clock->fired++;
  G_UNLOCK (test_clock);
  if (callback != NULL)
    callback (user_data);

  return G_SOURCE_REMOVE;
}

static void
test_alarm_finalize (GSource *source)
{
  TestAlarm *alarm = (TestAlarm *) source;

  G_LOCK (test_clock);
  if (alarm->clock != NULL)
    alarm->clock->alarms = g_list_remove (alarm->clock->alarms, alarm);
  G_UNLOCK (test_clock);
}

static GSourceFuncs test_alarm_funcs = {
  .prepare = test_alarm_prepare,
  .check = test_alarm_check,
  .dispatch = test_alarm_dispatch,
  .finalize = test_alarm_finalize,
};

static gint64
test_clock_now (GrantClock *clock)
{
  gint64 now;

  G_LOCK (test_clock);
  now = TEST_CLOCK (clock)->now;
  G_UNLOCK (test_clock);

  return now;
}

static GSource *
test_clock_alarm_source (GrantClock *clock,
                         gint64      at)
{
  TestClock *self = TEST_CLOCK (clock);
  TestAlarm *alarm = (TestAlarm *) g_source_new (&test_alarm_funcs, sizeof (TestAlarm));

  alarm->clock = self;
  alarm->at = at;
  G_LOCK (test_clock);
  self->alarms = g_list_prepend (self->alarms, alarm);
  G_UNLOCK (test_clock);

  return (GSource *) alarm;
}

static void
test_clock_finalize (GObject *object)
{
  TestClock *self = TEST_CLOCK (object);

  G_LOCK (test_clock);
  for (GList *l = self->alarms; l != NULL; l = l->next)
    ((TestAlarm *) l->data)->clock = NULL;
  g_clear_pointer (&self->alarms, g_list_free);
  G_UNLOCK (test_clock);

  G_OBJECT_CLASS (test_clock_parent_class)->finalize (object);
}

static void
test_clock_class_init (TestClockClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_clock_finalize;
  GRANT_CLOCK_CLASS (klass)->now = test_clock_now;
  GRANT_CLOCK_CLASS (klass)->alarm_source = test_clock_alarm_source;
}

static void
test_clock_init (TestClock *self)
{
}

TestClock *
test_clock_new (gint64 start)
{
  TestClock *self = g_object_new (TEST_TYPE_CLOCK, NULL);

  self->now = start;

  return self;
}

/* Moves the clock, and runs the main context so that due alarms fire. */
void
test_clock_set (TestClock *self,
                gint64     now)
{
  G_LOCK (test_clock);
  self->now = now;
  G_UNLOCK (test_clock);
  g_main_context_wakeup (NULL);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

void
test_clock_advance (TestClock *self,
                    gint64     seconds)
{
  test_clock_set (self, grant_clock_now (GRANT_CLOCK (self)) + seconds * G_USEC_PER_SEC);
}

static gboolean
alarm_is_armed (TestAlarm *alarm)
{
  return !g_source_is_destroyed ((GSource *) alarm) &&
         g_source_get_context ((GSource *) alarm) != NULL;
}

/* When the one armed alarm is due, or -1. */
gint64
test_clock_get_alarm (TestClock *self)
{
  gint64 at = -1;

  G_LOCK (test_clock);
  for (GList *l = self->alarms; l != NULL && at < 0; l = l->next)
    if (alarm_is_armed (l->data))
      at = ((TestAlarm *) l->data)->at;
  G_UNLOCK (test_clock);

  return at;
}

guint
test_clock_get_armed (TestClock *self)
{
  guint n = 0;

  G_LOCK (test_clock);
  for (GList *l = self->alarms; l != NULL; l = l->next)
    if (alarm_is_armed (l->data))
      n++;
  G_UNLOCK (test_clock);

  return n;
}

guint
test_clock_get_fired (TestClock *self)
{
  guint fired;

  G_LOCK (test_clock);
  fired = self->fired;
  G_UNLOCK (test_clock);

  return fired;
}

/* TestNetworkMonitor */

struct _TestNetworkMonitor
{
  GObject parent_instance;

  gint available;   /* atomic: libgrant's worker reads it */
};

enum {
  MONITOR_PROP_0,
  MONITOR_PROP_NETWORK_AVAILABLE,
  MONITOR_PROP_NETWORK_METERED,
  MONITOR_PROP_CONNECTIVITY,
};

static void test_network_monitor_iface_init (GNetworkMonitorInterface *iface);
static void test_network_monitor_initable_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestNetworkMonitor, test_network_monitor, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, test_network_monitor_initable_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR, test_network_monitor_iface_init))

static void
test_network_monitor_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TestNetworkMonitor *self = TEST_NETWORK_MONITOR (object);

  switch (prop_id)
    {
    case MONITOR_PROP_NETWORK_AVAILABLE:
      g_value_set_boolean (value, g_atomic_int_get (&self->available));
      break;

    case MONITOR_PROP_NETWORK_METERED:
      g_value_set_boolean (value, FALSE);
      break;

    case MONITOR_PROP_CONNECTIVITY:
      g_value_set_enum (value, g_atomic_int_get (&self->available) ? G_NETWORK_CONNECTIVITY_FULL : G_NETWORK_CONNECTIVITY_LOCAL);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_network_monitor_class_init (TestNetworkMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_network_monitor_get_property;
  g_object_class_override_property (object_class, MONITOR_PROP_NETWORK_AVAILABLE, "network-available");
  g_object_class_override_property (object_class, MONITOR_PROP_NETWORK_METERED, "network-metered");
  g_object_class_override_property (object_class, MONITOR_PROP_CONNECTIVITY, "connectivity");
}

static gboolean
test_network_monitor_can_reach (GNetworkMonitor     *monitor,
                                GSocketConnectable  *connectable,
                                GCancellable        *cancellable,
                                GError             **error)
{
  if (g_atomic_int_get (&TEST_NETWORK_MONITOR (monitor)->available))
    return TRUE;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "Network unreachable");
  return FALSE;
}

static void
test_network_monitor_iface_init (GNetworkMonitorInterface *iface)
{
  iface->can_reach = test_network_monitor_can_reach;
}

static gboolean
test_network_monitor_initable_init_fn (GInitable     *initable,
                                       GCancellable  *cancellable,
                                       GError       **error)
{
  return TRUE;
}

static void
test_network_monitor_initable_init (GInitableIface *iface)
{
  iface->init = test_network_monitor_initable_init_fn;
}

static void
test_network_monitor_init (TestNetworkMonitor *self)
{
}

TestNetworkMonitor *
test_network_monitor_new (gboolean available)
{
  TestNetworkMonitor *self = g_object_new (TEST_TYPE_NETWORK_MONITOR, NULL);

  g_atomic_int_set (&self->available, available);

  return self;
}

void
test_network_monitor_set_available (TestNetworkMonitor *self,
                                    gboolean            available)
{
  if (g_atomic_int_get (&self->available) == available)
    return;

  g_atomic_int_set (&self->available, available);
  g_object_notify (G_OBJECT (self), "network-available");
  g_signal_emit_by_name (self, "network-changed", available);
}

/* Token stores */

void
test_store_load_cb (GObject      *object,
                    GAsyncResult *res,
                    gpointer      user_data)
{
  TestStoreResult *result = user_data;

  result->token = grant_token_store_load_finish (GRANT_TOKEN_STORE (object), res, &result->error);
  g_assert_true (result->token == NULL || result->error == NULL);
  result->done = TRUE;
}

void
test_store_save_cb (GObject      *object,
                    GAsyncResult *res,
                    gpointer      user_data)
{
  TestStoreResult *result = user_data;

  result->ok = grant_token_store_save_finish (GRANT_TOKEN_STORE (object), res, &result->error);
  g_assert_true (result->ok == (result->error == NULL));
  result->done = TRUE;
}

void
test_store_clear_cb (GObject      *object,
                     GAsyncResult *res,
                     gpointer      user_data)
{
  TestStoreResult *result = user_data;

  result->ok = grant_token_store_clear_finish (GRANT_TOKEN_STORE (object), res, &result->error);
  g_assert_true (result->ok == (result->error == NULL));
  result->done = TRUE;
}

GrantToken *
test_store_load (gpointer       store,
                 GrantTokenKey *key,
                 GError       **error)
{
  TestStoreResult result = { 0 };

  grant_token_store_load_async (GRANT_TOKEN_STORE (store), key, NULL, test_store_load_cb, &result);
  test_wait_until (&result.done);
  if (result.error != NULL)
    g_propagate_error (error, result.error);

  return result.token;
}

gboolean
test_store_save (gpointer       store,
                 GrantTokenKey *key,
                 GrantToken    *token,
                 GError       **error)
{
  TestStoreResult result = { 0 };

  grant_token_store_save_async (GRANT_TOKEN_STORE (store), key, token, NULL, test_store_save_cb, &result);
  test_wait_until (&result.done);
  if (result.error != NULL)
    g_propagate_error (error, result.error);

  return result.ok;
}

gboolean
test_store_clear (gpointer       store,
                  GrantTokenKey *key,
                  GError       **error)
{
  TestStoreResult result = { 0 };

  grant_token_store_clear_async (GRANT_TOKEN_STORE (store), key, NULL, test_store_clear_cb, &result);
  test_wait_until (&result.done);
  if (result.error != NULL)
    g_propagate_error (error, result.error);

  return result.ok;
}
