/* fuzz-resp.c: RESP2 replies from a hostile Redis (or something posing as
 * one)
 *
 * Input: the bytes a server sent. Every reply parsed from them is bounded
 * (lengths, depth, elements), a DONE reply consumes bytes it was given,
 * and a prefix of a whole reply is INCOMPLETE, never DONE with something
 * else: what a reader that gets the reply in pieces relies on.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib.h>

#include "grant-resp-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_value (const GrantRespValue *value,
             guint                 depth)
{
  g_assert_true (depth <= GRANT_RESP_MAX_DEPTH);
  switch (value->type)
    {
    case GRANT_RESP_SIMPLE:
    case GRANT_RESP_ERROR:
    case GRANT_RESP_BULK:
      g_assert_true (value->data != NULL && value->data[value->length] == '\0');
      g_assert_true (value->length <= GRANT_RESP_MAX_BULK);
      break;
    case GRANT_RESP_ARRAY:
      g_assert_true (value->elements != NULL && value->elements->len <= GRANT_RESP_MAX_ELEMENTS);
      for (guint i = 0; i < value->elements->len; i++)
        check_value (g_ptr_array_index (value->elements, i), depth + 1);
      break;
    default:
      break;
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  gsize offset = 0;

  /* Replies one after another, as a pipeline would read them. */
  while (offset < size)
    {
      g_autoptr(GrantRespValue) value = NULL;
      g_autoptr(GError) error = NULL;
      gsize consumed = 0;
      GrantRespParseResult result = grant_resp_parse (data + offset, size - offset, &consumed, &value, &error);

      if (result != GRANT_RESP_PARSE_DONE)
        {
          g_assert_true (result == GRANT_RESP_PARSE_INCOMPLETE || error != NULL);
          break;
        }
      g_assert_true (value != NULL && consumed > 0 && consumed <= size - offset);
      check_value (value, 0);

      /* Any shorter prefix of this reply asks for more, or is refused. */
      {
        g_autoptr(GrantRespValue) partial = NULL;
        g_autoptr(GError) partial_error = NULL;
        gsize partial_consumed = 0;

        g_assert_true (grant_resp_parse (data + offset, consumed - 1, &partial_consumed, &partial,
                                    &partial_error) != GRANT_RESP_PARSE_DONE);
      }
      offset += consumed;
    }

  return 0;
}
