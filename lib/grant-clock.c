/* grant-clock.c: wall-clock time and alarms, replaceable in tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <unistd.h>
#ifdef HAVE_TIMERFD
#include <sys/timerfd.h>
#endif

#include "grant-clock-private.h"

G_DEFINE_TYPE (GrantClock, grant_clock, G_TYPE_OBJECT)

/* Alarms on the wall clock.
 *
 * Each alarm is a light source that is ready once g_get_real_time() reaches
 * its time; between iterations the main loop sleeps at most until then. A
 * monotonic sleep does not count a suspend, and a wall clock can be set,
 * so one "waker" per main context, a timerfd on CLOCK_REALTIME with
 * TFD_TIMER_CANCEL_ON_SET armed at the earliest alarm, wakes the loop when
 * that time comes after a resume, or when the clock is set. One file
 * descriptor per main context, however many providers. */

typedef struct {
  GSource source;
  gint64 at;
  struct _Waker *waker;
} AlarmSource;

#ifdef HAVE_TIMERFD

typedef struct _Waker {
  GSource source;
  GMainContext *context;  /* the key in wakers; not a reference */
  int fd;
  gpointer tag;
  gint64 armed_at;
  guint users;
} Waker;

G_LOCK_DEFINE_STATIC (wakers);
static GHashTable *wakers;  /* GMainContext -> Waker */

static gboolean
waker_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  Waker *waker = (Waker *) source;
  guint64 expirations;

  /* ECANCELED: the clock was set. Either way the alarms look again. */
  if (read (waker->fd, &expirations, sizeof expirations) < 0 && errno != ECANCELED && errno != EAGAIN)
    g_debug ("Reading the refresh timer failed: %s", g_strerror (errno));
  waker->armed_at = G_MAXINT64;

  return G_SOURCE_CONTINUE;
}

static void
waker_finalize (GSource *source)
{
  Waker *waker = (Waker *) source;

  if (waker->fd >= 0)
    close (waker->fd);
}

static GSourceFuncs waker_funcs = {
  .dispatch = waker_dispatch,
  .finalize = waker_finalize,
};

static void
waker_arm (Waker  *waker,
           gint64  at)
{
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };

  if (at >= waker->armed_at)
    return;

  at = MAX (at, 1);
  spec.it_value.tv_sec = at / G_USEC_PER_SEC;
  spec.it_value.tv_nsec = (at % G_USEC_PER_SEC) * 1000;
  if (timerfd_settime (waker->fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL) == 0)
    waker->armed_at = at;
}

static Waker *
waker_acquire (GMainContext *context)
{
  Waker *waker;

  G_LOCK (wakers);
  if (wakers == NULL)
    wakers = g_hash_table_new (NULL, NULL);
  waker = g_hash_table_lookup (wakers, context);
  /* A waker whose context went away stays alive for the alarms that still
   * point at it, but a new context at the same address gets its own. */
  if (waker != NULL && g_source_is_destroyed ((GSource *) waker))
    {
      g_hash_table_remove (wakers, context);
      waker = NULL;
    }
  if (waker == NULL)
    {
      int fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);

      if (fd >= 0)
        {
          waker = (Waker *) g_source_new (&waker_funcs, sizeof (Waker));
          waker->context = context;
          waker->fd = fd;
          waker->armed_at = G_MAXINT64;
          waker->tag = g_source_add_unix_fd ((GSource *) waker, fd, G_IO_IN);
          g_source_set_static_name ((GSource *) waker, "[libgrant] wall-clock waker");
          g_source_attach ((GSource *) waker, context);
          g_hash_table_insert (wakers, context, waker);
        }
    }
  if (waker != NULL)
    waker->users++;
  G_UNLOCK (wakers);

  return waker;
}

static void
waker_release (Waker *waker)
{
  G_LOCK (wakers);
  if (--waker->users == 0)
    {
      if (g_hash_table_lookup (wakers, waker->context) == waker)
        g_hash_table_remove (wakers, waker->context);
      g_source_destroy ((GSource *) waker);
      g_source_unref ((GSource *) waker);
    }
  G_UNLOCK (wakers);
}

#else

static gpointer waker_acquire (GMainContext *context) { return NULL; }
static void waker_release (gpointer waker) { }
static void waker_arm (gpointer waker, gint64 at) { }

#endif

static gboolean
alarm_prepare (GSource *source,
               gint    *timeout)
{
  AlarmSource *alarm = (AlarmSource *) source;
  gint64 now = g_get_real_time ();

  if (now >= alarm->at)
    {
      *timeout = 0;
      return TRUE;
    }

  if (alarm->waker == NULL)
    alarm->waker = waker_acquire (g_source_get_context (source));
  if (alarm->waker != NULL)
    waker_arm (alarm->waker, alarm->at);

  /* Rounded up: waking early would only mean another sleep. */
  *timeout = (int) MIN ((alarm->at - now + 999) / 1000, (gint64) G_MAXINT);

  return FALSE;
}

static gboolean
alarm_check (GSource *source)
{
  return g_get_real_time () >= ((AlarmSource *) source)->at;
}

static gboolean
alarm_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  if (callback != NULL)
    callback (user_data);

  return G_SOURCE_REMOVE;
}

static void
alarm_finalize (GSource *source)
{
  AlarmSource *alarm = (AlarmSource *) source;

  if (alarm->waker != NULL)
    waker_release (alarm->waker);
}

static GSourceFuncs alarm_funcs = {
  .prepare = alarm_prepare,
  .check = alarm_check,
  .dispatch = alarm_dispatch,
  .finalize = alarm_finalize,
};

static gint64
grant_clock_real_now (GrantClock *self)
{
  return g_get_real_time ();
}

static GSource *
grant_clock_real_alarm_source (GrantClock *self,
                               gint64      at)
{
  AlarmSource *alarm = (AlarmSource *) g_source_new (&alarm_funcs, sizeof (AlarmSource));

  alarm->at = at;
  g_source_set_static_name ((GSource *) alarm, "[libgrant] refresh alarm");

  return (GSource *) alarm;
}

static void
grant_clock_class_init (GrantClockClass *klass)
{
  klass->now = grant_clock_real_now;
  klass->alarm_source = grant_clock_real_alarm_source;
}

static void
grant_clock_init (GrantClock *self)
{
}

/* The real wall clock, shared. */
GrantClock *
grant_clock_get_default (void)
{
  static GrantClock *clock;

  if (g_once_init_enter (&clock))
    g_once_init_leave (&clock, g_object_new (GRANT_TYPE_CLOCK, NULL));

  return clock;
}

gint64
grant_clock_now (GrantClock *self)
{
  return GRANT_CLOCK_GET_CLASS (self)->now (self);
}

GSource *
grant_clock_alarm_source (GrantClock *self,
                          gint64      at)
{
  return GRANT_CLOCK_GET_CLASS (self)->alarm_source (self, at);
}
