/* grant-token-private.h: what a token's times mean to a cache
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-token.h"

G_BEGIN_DECLS

/* The longest lifetime believed, in seconds (ten years): anything longer is
 * clamped so that date arithmetic cannot overflow. */
#define GRANT_MAX_LIFETIME (G_GINT64_CONSTANT (10) * 365 * 24 * 3600)

/* When @token expires (its own expiry, or @default_lifetime seconds after
 * it was issued) and from when it is stale (@expiry_margin seconds before,
 * but never more than half its lifetime before), in wall-clock
 * microseconds. */
void grant_token_get_times (GrantToken *token,
                            guint       default_lifetime,
                            guint       expiry_margin,
                            gint64     *expires,
                            gint64     *stale);

G_END_DECLS
