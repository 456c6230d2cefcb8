/* grant-enums.h: enumerations of libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * GrantAuthMethod:
 * @GRANT_AUTH_METHOD_AUTO: with a
 *   [property@Grant.TokenProvider:client-key], `PRIVATE_KEY_JWT`; otherwise
 *   try `CLIENT_SECRET_BASIC` first and, when the server refuses it,
 *   `CLIENT_SECRET_POST`; what worked is remembered for the token endpoint
 *   and client id, and when both fail the error reports both answers
 * @GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC: HTTP Basic authentication with the
 *   client id and secret, each form-encoded first as RFC 6749, section 2.3.1
 *   requires
 * @GRANT_AUTH_METHOD_CLIENT_SECRET_POST: `client_id` and `client_secret` in
 *   the request body
 * @GRANT_AUTH_METHOD_NONE: `client_id` in the request body and no secret (a
 *   public client)
 * @GRANT_AUTH_METHOD_TLS_CLIENT_AUTH: mutual TLS with a certificate from a
 *   CA the server trusts (RFC 8705, section 2.1): the provider's
 *   [property@Grant.TokenProvider:tls-certificate] is presented, and
 *   `client_id` goes in the body with no secret
 * @GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH: mutual TLS with a
 *   self-signed certificate registered with the server (RFC 8705, section
 *   2.2); otherwise as `TLS_CLIENT_AUTH`
 * @GRANT_AUTH_METHOD_PRIVATE_KEY_JWT: a JWT assertion signed with the
 *   provider's [property@Grant.TokenProvider:client-key] (RFC 7523, section
 *   2.2; OpenID Connect Core, section 9), new for every request; no secret
 * @GRANT_AUTH_METHOD_CLIENT_SECRET_JWT: a JWT assertion signed with the
 *   client secret (HS256); the secret itself is not sent
 *
 * How the client authenticates itself to the token endpoint.
 */
typedef enum {
  GRANT_AUTH_METHOD_AUTO,
  GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
  GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
  GRANT_AUTH_METHOD_NONE,
  GRANT_AUTH_METHOD_TLS_CLIENT_AUTH,
  GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH,
  GRANT_AUTH_METHOD_PRIVATE_KEY_JWT,
  GRANT_AUTH_METHOD_CLIENT_SECRET_JWT,
} GrantAuthMethod;

/**
 * GrantRequestFormat:
 * @GRANT_REQUEST_FORMAT_FORM: an `application/x-www-form-urlencoded` body,
 *   as RFC 6749 specifies
 * @GRANT_REQUEST_FORMAT_JSON: an `application/json` object of strings, for
 *   servers that want JSON
 *
 * How the body of a token request is encoded.
 */
typedef enum {
  GRANT_REQUEST_FORMAT_FORM,
  GRANT_REQUEST_FORMAT_JSON,
} GrantRequestFormat;

G_END_DECLS
