/* grant-sealer-private.h: the key that seals a client's stored tokens
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "grant-client-key.h"

G_BEGIN_DECLS

/* What a provider's credentials make for its stores: a 32-byte key that
 * only a process with the same credentials can derive, computed once, on
 * first use, in whatever thread asks. Safe to use from any thread. */
typedef struct _GrantSealer GrantSealer;

#define GRANT_SEALING_KEY_SIZE 32

/* PBKDF2-HMAC-SHA256 iterations for a client secret: OWASP's 2023 figure. */
#define GRANT_SEALER_SECRET_ITERATIONS 600000

GrantSealer *grant_sealer_new      (const char      *token_url,
                                    const char      *client_id,
                                    const char      *client_secret,
                                    GrantClientKey  *client_key,
                                    GTlsCertificate *certificate);
GrantSealer *grant_sealer_ref      (GrantSealer     *self);
void         grant_sealer_unref    (GrantSealer     *self);

/* Whether @self was made from these same credentials. */
gboolean     grant_sealer_matches  (GrantSealer     *self,
                                    const char      *token_url,
                                    const char      *client_id,
                                    const char      *client_secret,
                                    GrantClientKey  *client_key,
                                    GTlsCertificate *certificate);

/* The key, or NULL when the credentials hold nothing secret to derive it
 * from (no secret, and keys that stay in a PKCS#11 token). The first call
 * may take about 100 ms of CPU. */
GBytes      *grant_sealer_dup_key  (GrantSealer     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantSealer, grant_sealer_unref)

G_END_DECLS
