/* grant-token-store-private.h: what a provider tells its stores
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-sealer-private.h"
#include "grant-token-store.h"

G_BEGIN_DECLS

/* Both set by the provider that made @self, before any store sees it. */
void  grant_token_key_set_sealer       (GrantTokenKey *self,
                                        GrantSealer   *sealer);

/* The provider's timeout, in seconds (0: none): how long a lock that
 * spans machines is held at most, and waited for. */
void  grant_token_key_set_lock_timeout (GrantTokenKey *self,
                                        guint          seconds);
guint grant_token_key_get_lock_timeout (GrantTokenKey *self);

G_END_DECLS
