/* grant-dpop-private.h: DPoP proofs (RFC 9449), without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-client-key.h"

G_BEGIN_DECLS

/* What a proof says. @access_token, when set, gives `ath` (a request to a
 * resource server with that token); @nonce, when set, the server's. */
typedef struct {
  const char *method;        /* htm */
  const char *url;           /* htu: made of its scheme, host, port, path */
  const char *access_token;  /* nullable */
  const char *nonce;         /* nullable */
  const char *jti;
  gint64 issued_at;          /* iat, seconds since the epoch */
} GrantDpopClaims;

/* The `htu` of @url: scheme, host, port (unless the scheme's default) and
 * path, without query or fragment; NULL if @url is not an http(s) URL. */
char *grant_dpop_htu         (const char             *url);

/* The origin nonces are kept for: scheme://host:port. */
char *grant_dpop_origin      (const char             *url);

/* A proof: header `typ` dpop+jwt, `alg`, the public `jwk`. */
char *grant_dpop_proof_build (GrantClientKey         *key,
                              const GrantDpopClaims  *claims,
                              GError                **error);

G_END_DECLS
