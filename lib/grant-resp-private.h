/* grant-resp-private.h: the Redis protocol (RESP2), without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The largest bulk string a reply may hold, the deepest nesting of arrays
 * and the most elements in one array: a token is small, and a hostile
 * server must not make libgrant allocate what it says. */
#define GRANT_RESP_MAX_BULK      (1024 * 1024)
#define GRANT_RESP_MAX_DEPTH     4
#define GRANT_RESP_MAX_ELEMENTS  1024
#define GRANT_RESP_MAX_LINE      (64 * 1024)

typedef enum {
  GRANT_RESP_SIMPLE,   /* +OK */
  GRANT_RESP_ERROR,    /* -ERR ... */
  GRANT_RESP_INTEGER,  /* :42 */
  GRANT_RESP_BULK,     /* $3 abc */
  GRANT_RESP_NULL,     /* $-1 or *-1 */
  GRANT_RESP_ARRAY,    /* *2 ... */
} GrantRespType;

typedef struct _GrantRespValue GrantRespValue;

struct _GrantRespValue {
  GrantRespType type;
  gint64 integer;         /* GRANT_RESP_INTEGER */
  char *data;             /* SIMPLE, ERROR, BULK: NUL-terminated too */
  gsize length;           /* of @data */
  GPtrArray *elements;    /* ARRAY: of GrantRespValue */
};

typedef enum {
  GRANT_RESP_PARSE_DONE,        /* one whole reply: @value and @consumed set */
  GRANT_RESP_PARSE_INCOMPLETE,  /* more bytes are needed */
  GRANT_RESP_PARSE_INVALID,     /* not RESP2, or over a limit: @error set */
} GrantRespParseResult;

GrantRespParseResult  grant_resp_parse        (const guint8     *data,
                                               gsize             length,
                                               gsize            *consumed,
                                               GrantRespValue  **value,
                                               GError          **error);
void                  grant_resp_value_free   (GrantRespValue   *value);

/* A command as RESP2 sends it: an array of bulk strings. @lengths may be
 * NULL when every argument is a NUL-terminated string. */
GBytes               *grant_resp_encode       (guint              n_args,
                                               const char * const *args,
                                               const gsize        *lengths);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantRespValue, grant_resp_value_free)

G_END_DECLS
