/* grant-response-private.h: understanding a token response, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "grant-dialect.h"
#include "grant-token.h"

G_BEGIN_DECLS

/* What the parser needs to know besides the response itself. */
typedef struct {
  gint64      now;              /* wall-clock microseconds since the epoch */
  const char *requested_scope;  /* the scope sent, or NULL */
  const char *client_secret;    /* kept out of anything quoted from the server */
  GrantDialect *dialect;        /* where the answer keeps what; NULL: RFC 6749 */
  const char *client_id;        /* with the secret, its Basic credentials are kept out too */
  const char *request_url;      /* what a relative Location is resolved against, or NULL */
} GrantParseContext;

GrantToken *grant_response_parse       (const GrantParseContext  *context,
                                        guint                     status,
                                        SoupMessageHeaders       *headers,
                                        GBytes                   *body,
                                        GError                  **error);

gint64      grant_response_retry_after (SoupMessageHeaders  *headers,
                                        gint64               now);

G_END_DECLS
