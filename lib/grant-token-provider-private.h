/* grant-token-provider-private.h: hooks for tests, and the provider's clock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-clock-private.h"
#include "grant-token-provider.h"

G_BEGIN_DECLS

void   grant_token_provider_set_clock           (GrantTokenProvider *self,
                                                 GrantClock         *clock);
void   grant_token_provider_set_network_monitor (GrantTokenProvider *self,
                                                 GNetworkMonitor    *monitor);
void   grant_token_provider_set_retry_policy    (GrantTokenProvider *self,
                                                 guint               base_ms,
                                                 guint               max_ms,
                                                 guint               max_attempts,
                                                 gboolean            jitter);
gint64 grant_token_provider_get_refresh_time    (GrantTokenProvider *self);
gint64 grant_token_provider_get_quiet_until     (GrantTokenProvider *self);
gint64 grant_token_provider_now                 (GrantTokenProvider *self);
char  *grant_token_provider_dup_dpop_nonce      (GrantTokenProvider *self,
                                                 const char         *url);
SoupSession *grant_token_provider_dup_certificate_session (GrantTokenProvider  *self,
                                                          GTlsCertificate    **certificate);

G_END_DECLS
