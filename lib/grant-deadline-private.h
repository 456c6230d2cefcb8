/* grant-deadline-private.h: cancelling a blocking call when its time is up
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A time limit on a blocking call: once the monotonic time passes @when,
 * @cancellable is cancelled from libgrant's deadline thread and @fired is
 * set. Lives where its caller puts it (its stack), between
 * grant_deadline_arm() and grant_deadline_disarm(). */
typedef struct {
  GList link;
  gint64 when;
  GCancellable *cancellable;
  gboolean fired;              /* read after grant_deadline_disarm() */
} GrantDeadline;

void grant_deadline_arm    (GrantDeadline *deadline,
                            gint64         when,
                            GCancellable  *cancellable);
void grant_deadline_disarm (GrantDeadline *deadline);

G_END_DECLS
