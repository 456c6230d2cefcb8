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

#ifdef HAVE_TIMERFD

/* A one-shot source on a timerfd: it dispatches at an absolute wall-clock
 * time, which suspend does not delay, or as soon as the clock is set. */
typedef struct {
  GSource source;
  int fd;
  gpointer tag;
} AlarmSource;

static gboolean
alarm_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  AlarmSource *alarm = (AlarmSource *) source;
  guint64 expirations;

  /* ECANCELED means the clock was set: the callback looks at it again. */
  if (read (alarm->fd, &expirations, sizeof expirations) < 0 &&
      errno != ECANCELED && errno != EAGAIN)
    g_debug ("Reading the refresh timer failed: %s", g_strerror (errno));

  if (callback == NULL)
    return G_SOURCE_REMOVE;

  callback (user_data);

  return G_SOURCE_REMOVE;
}

static void
alarm_finalize (GSource *source)
{
  AlarmSource *alarm = (AlarmSource *) source;

  if (alarm->fd >= 0)
    close (alarm->fd);
}

static GSourceFuncs alarm_funcs = {
  .dispatch = alarm_dispatch,
  .finalize = alarm_finalize,
};

static GSource *
timerfd_alarm_source (gint64 at)
{
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };
  AlarmSource *alarm;
  int fd;

  fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0)
    return NULL;

  /* A time in the past would disarm the timer: fire at once instead. */
  if (at < 1)
    at = 1;
  spec.it_value.tv_sec = at / G_USEC_PER_SEC;
  spec.it_value.tv_nsec = (at % G_USEC_PER_SEC) * 1000;
  if (timerfd_settime (fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL) < 0)
    {
      close (fd);
      return NULL;
    }

  alarm = (AlarmSource *) g_source_new (&alarm_funcs, sizeof (AlarmSource));
  alarm->fd = fd;
  alarm->tag = g_source_add_unix_fd ((GSource *) alarm, fd, G_IO_IN);
  g_source_set_static_name ((GSource *) alarm, "[libgrant] refresh alarm");

  return (GSource *) alarm;
}

#endif

static gint64
grant_clock_real_now (GrantClock *self)
{
  return g_get_real_time ();
}

static GSource *
grant_clock_real_alarm_source (GrantClock *self,
                               gint64      at)
{
  gint64 delay;
  GSource *source = NULL;

#ifdef HAVE_TIMERFD
  source = timerfd_alarm_source (at);
#endif

  if (source == NULL)
    {
      /* Elsewhere, a monotonic timeout; it may fire late after a suspend. */
      delay = MAX (at - g_get_real_time (), 0) / 1000;
      source = g_timeout_source_new ((guint) MIN (delay, (gint64) G_MAXUINT));
    }

  return source;
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
