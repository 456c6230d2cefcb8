/* grant-assertion-private.h: JWT client assertions (RFC 7523 section 2.2,
 * OpenID Connect Core section 9), without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-client-key.h"

G_BEGIN_DECLS

/* How long an assertion is valid, in seconds. */
#define GRANT_ASSERTION_LIFETIME 60

/* What an assertion says. */
typedef struct {
  const char *client_id;        /* iss and sub */
  const char *audience;         /* aud: one string */
  const char *jti;              /* new for every HTTP request */
  gint64 issued_at;             /* iat, in seconds since the epoch */
} GrantAssertionClaims;

/* A new random jti: 128 bits from GnuTLS's nonce generator, base64url. */
char *grant_assertion_new_jti (void);

/* private_key_jwt: signed with @key and @algorithm (NULL: the key's own,
 * which stays as it is); `kid` when it has a key id, `x5t#S256` when it has
 * a certificate. An @algorithm the key cannot do is a
 * GRANT_ERROR_INVALID_CONFIGURATION. */
char *grant_assertion_sign    (GrantClientKey              *key,
                               const char                  *algorithm,
                               const GrantAssertionClaims  *claims,
                               GError                     **error);

/* client_secret_jwt: HS256 with @secret. */
char *grant_assertion_hs256   (const char                  *secret,
                               const GrantAssertionClaims  *claims);

G_END_DECLS
