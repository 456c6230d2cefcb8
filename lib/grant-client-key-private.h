/* grant-client-key-private.h: signing with a client key, inside libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-client-key.h"

G_BEGIN_DECLS

/* The JWS signature (RFC 7515) of @data: raw r||s for ECDSA, each half
 * padded to the curve's size; the PKCS#1 v1.5, PSS or EdDSA signature
 * otherwise. @algorithm NULL means the key's own; one the key cannot do is
 * a GRANT_ERROR_INVALID_CONFIGURATION. Safe to call from any thread. */
GBytes *grant_client_key_sign          (GrantClientKey  *self,
                                        const char      *algorithm,
                                        const guint8    *data,
                                        gsize            length,
                                        GError         **error);

/* base64url(SHA-256(DER of the certificate)), the JWS `x5t#S256` header,
 * or NULL when the key has no certificate. */
char   *grant_client_key_dup_x5t_s256  (GrantClientKey  *self);

/* The private key as unencrypted PKCS#8 DER, for deriving other keys from
 * it: the caller wipes and frees it. NULL for a key that cannot leave its
 * PKCS#11 token. */
guint8 *grant_client_key_dup_private_der (GrantClientKey *self,
                                          gsize          *length);

/* A private key in DER (PKCS#1, SEC1 or PKCS#8, unencrypted), written
 * again as PKCS#8 by GnuTLS, or NULL: the caller wipes and frees it. */
guint8 *grant_private_key_canonical_der  (const guint8   *der,
                                          gsize           length,
                                          gsize          *out_length);

G_END_DECLS
