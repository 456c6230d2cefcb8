/* fuzz-json-pointer.c: RFC 6901 JSON Pointer evaluation
 *
 * Input: a pointer, a newline, then a JSON document.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <grant.h>

#include "grant-body-private.h"
#include "grant-json-pointer-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  const guint8 *newline = memchr (data, '\n', size);
  g_autofree char *pointer = NULL;
  g_autoptr(GBytes) document = NULL;
  g_autoptr(JsonNode) root = NULL;
  gboolean valid;

  if (newline == NULL)
    return 0;

  pointer = g_strndup ((const char *) data, newline - data);
  valid = grant_json_pointer_validate (pointer, NULL);

  document = g_bytes_new (newline + 1, size - (newline + 1 - data));
  root = grant_body_decode (NULL, document, NULL);
  if (root != NULL)
    {
      JsonNode *found = grant_json_pointer_get (root, pointer);

      /* Only a valid pointer finds anything. */
      if (found != NULL)
        g_assert_true (valid);
    }

  return 0;
}
