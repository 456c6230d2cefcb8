/* grant-json-pointer.c: RFC 6901 JSON Pointer evaluation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-error.h"
#include "grant-json-pointer-private.h"

/* Checks the syntax of @pointer: empty, or '/'-separated reference tokens in
 * which '~' is only followed by '0' or '1'. */
gboolean
grant_json_pointer_validate (const char  *pointer,
                             GError     **error)
{
  const char *p;

  g_return_val_if_fail (pointer != NULL, FALSE);

  if (*pointer != '\0' && *pointer != '/')
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "JSON Pointer “%s” does not start with “/”", pointer);
      return FALSE;
    }

  if (!g_utf8_validate (pointer, -1, NULL))
    {
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                           "JSON Pointer is not valid UTF-8");
      return FALSE;
    }

  for (p = pointer; *p; p++)
    {
      if (*p == '~' && p[1] != '0' && p[1] != '1')
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "JSON Pointer “%s” has a “~” not followed by “0” or “1”",
                       pointer);
          return FALSE;
        }
    }

  return TRUE;
}

/* Decodes one reference token, [start, end), undoing "~1" and "~0" in that
 * order as RFC 6901 section 4 says. */
static char *
decode_token (const char *start,
              const char *end)
{
  GString *out = g_string_sized_new (end - start);
  const char *p;

  for (p = start; p < end; p++)
    {
      if (*p == '~' && p + 1 < end && p[1] == '1')
        {
          g_string_append_c (out, '/');
          p++;
        }
      else if (*p == '~' && p + 1 < end && p[1] == '0')
        {
          g_string_append_c (out, '~');
          p++;
        }
      else
        g_string_append_c (out, *p);
    }

  return g_string_free (out, FALSE);
}

static gboolean
parse_index (const char *token,
             guint      *index)
{
  guint64 value;
  const char *p;

  if (*token == '\0' || (token[0] == '0' && token[1] != '\0'))
    return FALSE;

  for (p = token; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;

  if (!g_ascii_string_to_unsigned (token, 10, 0, G_MAXUINT, &value, NULL))
    return FALSE;

  *index = (guint) value;
  return TRUE;
}

/* Returns the node @pointer refers to in @root (transfer none), or NULL when
 * the pointer is invalid or refers to nothing. */
JsonNode *
grant_json_pointer_get (JsonNode   *root,
                        const char *pointer)
{
  JsonNode *node = root;
  const char *p;

  if (root == NULL || pointer == NULL)
    return NULL;

  if (!grant_json_pointer_validate (pointer, NULL))
    return NULL;

  p = pointer;
  while (*p == '/')
    {
      const char *start = p + 1;
      const char *end = strchr (start, '/');
      g_autofree char *token = NULL;

      if (end == NULL)
        end = start + strlen (start);
      token = decode_token (start, end);
      p = end;

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *object = json_node_get_object (node);

          if (!json_object_has_member (object, token))
            return NULL;
          node = json_object_get_member (object, token);
        }
      else if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint index;

          if (!parse_index (token, &index) || index >= json_array_get_length (array))
            return NULL;
          node = json_array_get_element (array, index);
        }
      else
        return NULL;
    }

  return node;
}
