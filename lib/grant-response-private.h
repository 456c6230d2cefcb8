/* grant-response-private.h: understanding a token response, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "grant-dialect.h"
#include "grant-token.h"

G_BEGIN_DECLS

/* Nesting deeper than this is refused before json-glib sees the body: its
 * parser recurses once per level. */
#define GRANT_MAX_JSON_DEPTH 32

/* The longest lifetime believed, in seconds (ten years): anything longer is
 * clamped so that date arithmetic cannot overflow. */
#define GRANT_MAX_LIFETIME (G_GINT64_CONSTANT (10) * 365 * 24 * 3600)

/* What the parser needs to know besides the response itself. */
typedef struct {
  gint64      now;              /* wall-clock microseconds since the epoch */
  const char *requested_scope;  /* the scope sent, or NULL */
  const char *client_secret;    /* kept out of anything quoted from the server */
  GrantDialect *dialect;        /* where the answer keeps what; NULL: RFC 6749 */
} GrantParseContext;

GrantToken *grant_response_parse       (const GrantParseContext  *context,
                                        guint                     status,
                                        SoupMessageHeaders       *headers,
                                        GBytes                   *body,
                                        GError                  **error);

JsonNode   *grant_response_decode_body (SoupMessageHeaders  *headers,
                                        GBytes              *body,
                                        GError             **error);

gint64      grant_response_retry_after (SoupMessageHeaders  *headers,
                                        gint64               now);

typedef enum {
  GRANT_JSON_SHAPE_OK,
  GRANT_JSON_SHAPE_TOO_DEEP,
  GRANT_JSON_SHAPE_INVALID,
} GrantJsonShape;

GrantJsonShape grant_json_scan         (const char          *data,
                                        gsize                len,
                                        guint                max_depth);

GrantJsonShape grant_json_scan_full    (const char          *data,
                                        gsize                len,
                                        guint                max_depth,
                                        GArray              *big_integers);

gboolean    grant_json_depth_ok        (const char          *data,
                                        gsize                len,
                                        guint                max_depth);

G_END_DECLS
