/* grant-error.h: the Grant error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <glib.h>

#include "grant-version-macros.h"

G_BEGIN_DECLS

/**
 * GRANT_ERROR:
 *
 * The error domain of libgrant; errors in it use [error@Grant.Error] codes.
 *
 * Transport failures are not in this domain: they keep their GIO or TLS
 * error (`G_IO_ERROR_TIMED_OUT`, `G_TLS_ERROR_BAD_CERTIFICATE`...), and a
 * cancelled operation is always `G_IO_ERROR_CANCELLED`.
 */
#define GRANT_ERROR (grant_error_quark ())

/**
 * GrantError:
 * @GRANT_ERROR_FAILED: the server refused the request with an error code
 *   libgrant does not know, and an HTTP status that says no more (a 401,
 *   408, 429 or 5xx gives the code of that status); the message names the
 *   code
 * @GRANT_ERROR_INVALID_REQUEST: the server answered `invalid_request`: a
 *   parameter is missing, repeated or malformed
 * @GRANT_ERROR_INVALID_CLIENT: client authentication failed
 *   (`invalid_client`, or HTTP 401): wrong client id or secret, or an
 *   authentication method the server does not accept
 * @GRANT_ERROR_INVALID_GRANT: the server answered `invalid_grant`
 * @GRANT_ERROR_UNAUTHORIZED_CLIENT: the client may not use the client
 *   credentials grant (`unauthorized_client`)
 * @GRANT_ERROR_UNSUPPORTED_GRANT_TYPE: the server does not support the
 *   client credentials grant (`unsupported_grant_type`)
 * @GRANT_ERROR_INVALID_SCOPE: the requested scope is unknown, malformed or
 *   more than the client is allowed (`invalid_scope`)
 * @GRANT_ERROR_SERVER_ERROR: the server failed (HTTP 5xx or `server_error`)
 * @GRANT_ERROR_TEMPORARILY_UNAVAILABLE: the server is overloaded or down for
 *   maintenance (`temporarily_unavailable`, or HTTP 408)
 * @GRANT_ERROR_RATE_LIMITED: the server asked the client to slow down
 *   (HTTP 429 or `slow_down`)
 * @GRANT_ERROR_INVALID_RESPONSE: the answer could not be understood: not
 *   JSON or form data, no access token, a field of the wrong type, a token
 *   that has already expired, or a body larger than 1 MiB
 * @GRANT_ERROR_INSECURE_URL: a plain `http://` URL to a host that is not a
 *   loopback address
 * @GRANT_ERROR_INVALID_CONFIGURATION: the provider cannot make a request as
 *   configured (no token URL, no client id, a URL that does not parse), or
 *   the token endpoint redirected elsewhere
 *
 * Error codes in the `GRANT_ERROR` domain.
 *
 * The first codes follow the error responses of RFC 6749, section 5.2. The
 * message of every error says what went wrong and carries the HTTP status and
 * the server's `error_description`; it never contains the client secret or
 * an access token.
 */
typedef enum {
  GRANT_ERROR_FAILED,
  GRANT_ERROR_INVALID_REQUEST,
  GRANT_ERROR_INVALID_CLIENT,
  GRANT_ERROR_INVALID_GRANT,
  GRANT_ERROR_UNAUTHORIZED_CLIENT,
  GRANT_ERROR_UNSUPPORTED_GRANT_TYPE,
  GRANT_ERROR_INVALID_SCOPE,
  GRANT_ERROR_SERVER_ERROR,
  GRANT_ERROR_TEMPORARILY_UNAVAILABLE,
  GRANT_ERROR_RATE_LIMITED,
  GRANT_ERROR_INVALID_RESPONSE,
  GRANT_ERROR_INSECURE_URL,
  GRANT_ERROR_INVALID_CONFIGURATION,
} GrantError;

GRANT_AVAILABLE_IN_ALL
GQuark grant_error_quark (void);

G_END_DECLS
