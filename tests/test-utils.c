/* test-utils.c: helpers shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

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
test_wait_until (gboolean *done)
{
  while (!*done)
    g_main_context_iteration (NULL, TRUE);
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
