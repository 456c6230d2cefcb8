/* grant-token-provider-private.h: hooks for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-token-provider.h"

G_BEGIN_DECLS

/* Returns the wall-clock time in microseconds since the epoch. */
typedef gint64 (*GrantClockFunc) (gpointer user_data);

void grant_token_provider_set_clock (GrantTokenProvider *self,
                                     GrantClockFunc      clock,
                                     gpointer            user_data);

G_END_DECLS
