/* grant-clock-private.h: wall-clock time and alarms, replaceable in tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define GRANT_TYPE_CLOCK (grant_clock_get_type ())

G_DECLARE_DERIVABLE_TYPE (GrantClock, grant_clock, GRANT, CLOCK, GObject)

/* Expiry is judged by wall-clock time, so that a machine that slept past a
 * refresh point refreshes when it wakes: the default alarm is a timerfd on
 * CLOCK_REALTIME that also fires when the clock is set. */
struct _GrantClockClass
{
  GObjectClass parent_class;

  /* Microseconds since the epoch. */
  gint64    (*now)          (GrantClock *self);
  /* A source that dispatches once the wall clock reaches @at (or when the
   * clock jumps, after which the callback should look at the time again).
   * Not attached. */
  GSource  *(*alarm_source) (GrantClock *self,
                             gint64      at);
};

GrantClock *grant_clock_get_default      (void);
gint64      grant_clock_now              (GrantClock *self);
GSource    *grant_clock_alarm_source     (GrantClock *self,
                                          gint64      at);

G_END_DECLS
