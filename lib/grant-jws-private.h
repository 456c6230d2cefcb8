/* grant-jws-private.h: JSON Web Signatures (RFC 7515), compact form
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-client-key.h"

G_BEGIN_DECLS

/* base64url without padding (RFC 7515 section 2). */
char   *grant_base64url_encode         (const guint8    *data,
                                        gsize            length);

/* A JWS in compact serialization: base64url(header) "." base64url(payload)
 * "." base64url(signature), signed with @key and the algorithm that the
 * header's "alg" names (so that the two always agree, whatever another
 * thread does to the key's algorithm meanwhile). A header without "alg",
 * or naming one the key cannot do, is a GRANT_ERROR_INVALID_CONFIGURATION. */
char   *grant_jws_sign_compact         (GrantClientKey  *key,
                                        const char      *header_json,
                                        const char      *payload_json,
                                        GError         **error);

/* The same with HMAC SHA-256 and @secret (client_secret_jwt). */
char   *grant_jws_hs256_compact        (const char      *secret,
                                        const char      *header_json,
                                        const char      *payload_json);

G_END_DECLS
