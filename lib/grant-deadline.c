/* grant-deadline.c: cancelling a blocking call when its time is up
 *
 * A blocking exchange (grant-fetch.c, on a caller's thread) cannot look at
 * a timeout source while libsoup's blocking API holds its thread, so
 * another thread must cancel it. A source on the worker's context would
 * do, but attaching one wakes that thread every time. Here one thread
 * sleeps on a condition until the earliest deadline armed, and arming a
 * later one, or disarming any, wakes nothing: calls one after the other
 * each with a limit of 30 seconds cost two uncontended mutex operations,
 * and the thread wakes about once every 30 seconds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "grant-deadline-private.h"

static struct {
  GMutex lock;
  GCond cond;
  GQueue armed;          /* of GrantDeadline, earliest first */
  gint64 sleeping_until; /* the thread's, G_MAXINT64: until signalled */
  gboolean started;
} deadlines;

static gpointer
deadline_thread (gpointer data)
{
  g_mutex_lock (&deadlines.lock);
  for (;;)
    {
      GrantDeadline *first = g_queue_peek_head (&deadlines.armed);

      if (first != NULL && first->when <= g_get_monotonic_time ())
        {
          g_autoptr(GCancellable) cancellable = g_object_ref (first->cancellable);

          g_queue_unlink (&deadlines.armed, &first->link);
          first->fired = TRUE;
          /* @first is its caller's again; cancelling runs the handlers,
           * which may disarm others. */
          g_mutex_unlock (&deadlines.lock);
          g_cancellable_cancel (cancellable);
          g_clear_object (&cancellable);
          g_mutex_lock (&deadlines.lock);
          continue;
        }

      deadlines.sleeping_until = first != NULL ? first->when : G_MAXINT64;
      if (first != NULL)
        g_cond_wait_until (&deadlines.cond, &deadlines.lock, first->when);
      else
        g_cond_wait (&deadlines.cond, &deadlines.lock);
    }

  return NULL;
}

void
grant_deadline_arm (GrantDeadline *deadline,
                    gint64         when,
                    GCancellable  *cancellable)
{
  GList *l;

  deadline->link.data = deadline;
  deadline->link.prev = deadline->link.next = NULL;
  deadline->when = when;
  deadline->cancellable = cancellable;
  deadline->fired = FALSE;

  g_mutex_lock (&deadlines.lock);
  if (!deadlines.started)
    {
      deadlines.started = TRUE;
      deadlines.sleeping_until = G_MAXINT64;
      g_thread_unref (g_thread_new ("libgrant-deadline", deadline_thread, NULL));
    }

  /* From the end: a later call usually has the latest deadline. */
  for (l = deadlines.armed.tail; l != NULL; l = l->prev)
    if (((GrantDeadline *) l->data)->when <= when)
      break;
  if (l != NULL)
    g_queue_insert_after_link (&deadlines.armed, l, &deadline->link);
  else
    g_queue_push_head_link (&deadlines.armed, &deadline->link);

  /* The thread sleeps past this one: it must look again. */
  if (when < deadlines.sleeping_until)
    {
      deadlines.sleeping_until = when;
      g_cond_signal (&deadlines.cond);
    }
  g_mutex_unlock (&deadlines.lock);
}

void
grant_deadline_disarm (GrantDeadline *deadline)
{
  g_mutex_lock (&deadlines.lock);
  /* Fired: the thread unlinked it already. */
  if (!deadline->fired)
    g_queue_unlink (&deadlines.armed, &deadline->link);
  g_mutex_unlock (&deadlines.lock);
}
