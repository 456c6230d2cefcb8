/* grant-body-private.h: reading a response body, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Nesting deeper than this is refused before json-glib sees the body: its
 * parser recurses once per level. */
#define GRANT_MAX_JSON_DEPTH 32

typedef enum {
  GRANT_JSON_SHAPE_OK,
  GRANT_JSON_SHAPE_TOO_DEEP,
  GRANT_JSON_SHAPE_INVALID,
} GrantJsonShape;

GrantJsonShape  grant_json_scan        (const char          *data,
                                        gsize                len,
                                        guint                max_depth);
GrantJsonShape  grant_json_scan_full   (const char          *data,
                                        gsize                len,
                                        guint                max_depth,
                                        GArray              *big_integers);
gboolean        grant_json_depth_ok    (const char          *data,
                                        gsize                len,
                                        guint                max_depth);

/* One JSON number at data[*i], leaving *i after it; *integer tells whether
 * it has neither a fraction nor an exponent. */
gboolean        grant_json_scan_number (const char          *data,
                                        gsize                len,
                                        gsize               *i,
                                        gboolean            *integer);

/* A JSON document, or a form-encoded body (by @headers' content type) as
 * an object of strings. */
JsonNode       *grant_body_decode      (SoupMessageHeaders  *headers,
                                        GBytes              *body,
                                        GError             **error);

G_END_DECLS
