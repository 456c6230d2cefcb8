/* grant-body.c: reading a response body, without I/O
 *
 * A scanner checks that a JSON document is well formed and not nested too
 * deep before json-glib, whose parser recurses once per level, sees it;
 * then the body is decoded as JSON, or as a form. The token, discovery and
 * dialect code read bodies through here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-body-private.h"
#include "grant-error.h"

/* data[*i] is the 'u' of \uXXXX; leaves *i on the last digit. */
static gboolean
scan_unicode_escape (const char *data,
                     gsize       len,
                     gsize      *i,
                     guint      *unit)
{
  *unit = 0;
  for (guint k = 0; k < 4; k++)
    {
      if (++(*i) >= len || !g_ascii_isxdigit (data[*i]))
        return FALSE;
      *unit = *unit * 16 + g_ascii_xdigit_value (data[*i]);
    }

  return TRUE;
}

static gboolean
scan_string (const char *data,
             gsize       len,
             gsize      *i)
{
  /* data[*i] is the opening quote. */
  for ((*i)++; *i < len; (*i)++)
    {
      guchar c = data[*i];

      if (c == '"')
        {
          (*i)++;
          return TRUE;
        }
      if (c < 0x20)
        return FALSE;
      if (c == '\\')
        {
          if (++(*i) >= len)
            return FALSE;
          c = data[*i];
          if (c == 'u')
            {
              guint unit;

              if (!scan_unicode_escape (data, len, i, &unit))
                return FALSE;

              /* A surrogate must come in a high-low pair, or json-glib
               * makes invalid UTF-8 of it. */
              if (unit >= 0xDC00 && unit <= 0xDFFF)
                return FALSE;
              if (unit >= 0xD800 && unit <= 0xDBFF)
                {
                  guint low;

                  if (*i + 2 >= len || data[*i + 1] != '\\' || data[*i + 2] != 'u')
                    return FALSE;
                  *i += 2;
                  if (!scan_unicode_escape (data, len, i, &low) || low < 0xDC00 || low > 0xDFFF)
                    return FALSE;
                }
            }
          else if (strchr ("\"\\/bfnrt", c) == NULL || c == '\0')
            return FALSE;
        }
    }

  return FALSE;
}

static gboolean
scan_digits (const char *data,
             gsize       len,
             gsize      *i)
{
  gsize start = *i;

  while (*i < len && g_ascii_isdigit (data[*i]))
    (*i)++;

  return *i > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; *integer tells whether
 * there was neither a fraction nor an exponent. */
gboolean
grant_json_scan_number (const char *data,
                        gsize       len,
                        gsize      *i,
                        gboolean   *integer)
{
  *integer = TRUE;
  if (data[*i] == '-')
    (*i)++;
  if (*i < len && data[*i] == '0')
    (*i)++;
  else if (!scan_digits (data, len, i))
    return FALSE;
  if (*i < len && data[*i] == '.')
    {
      *integer = FALSE;
      (*i)++;
      if (!scan_digits (data, len, i))
        return FALSE;
    }
  if (*i < len && (data[*i] == 'e' || data[*i] == 'E'))
    {
      *integer = FALSE;
      (*i)++;
      if (*i < len && (data[*i] == '+' || data[*i] == '-'))
        (*i)++;
      if (!scan_digits (data, len, i))
        return FALSE;
    }

  return TRUE;
}

static gboolean
scan_literal (const char *data,
              gsize       len,
              gsize      *i,
              const char *literal)
{
  gsize n = strlen (literal);

  if (len - *i < n || memcmp (data + *i, literal, n) != 0)
    return FALSE;
  *i += n;

  return TRUE;
}

/* Checks that @data is one JSON text as RFC 8259 defines it, with arrays
 * and objects nested at most @max_depth deep, without recursion. json-glib
 * 1.6 recurses once per level and leaks memory on some malformed input,
 * so it only ever sees what passes this. */
static gboolean
fits_in_int64 (const char *data,
               gsize       start,
               gsize       end)
{
  g_autofree char *literal = g_strndup (data + start, end - start);

  return g_ascii_string_to_signed (literal, 10, G_MININT64, G_MAXINT64, NULL, NULL);
}

GrantJsonShape
grant_json_scan (const char *data,
                 gsize       len,
                 guint       max_depth)
{
  return grant_json_scan_full (data, len, max_depth, NULL);
}

/* Like grant_json_scan(), and adds to @big_integers (if not NULL) the
 * offset just after each integer literal that does not fit in 64 bits,
 * which json-glib 1.6 would wrap around. */
GrantJsonShape
grant_json_scan_full (const char *data,
                      gsize       len,
                      guint       max_depth,
                      GArray     *big_integers)
{
  enum { VALUE, ARRAY_FIRST, OBJECT_FIRST, KEY, COLON, AFTER_VALUE } state = VALUE;
  g_autofree char *stack = g_malloc (max_depth + 1);
  guint depth = 0;
  gsize i = 0;

  while (TRUE)
    {
      char c;

      while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
        i++;
      if (i == len)
        return state == AFTER_VALUE && depth == 0 ? GRANT_JSON_SHAPE_OK : GRANT_JSON_SHAPE_INVALID;

      c = data[i];
      switch (state)
        {
        case ARRAY_FIRST:
          if (c == ']')
            {
              depth--;
              i++;
              state = AFTER_VALUE;
              break;
            }
          state = VALUE;
          G_GNUC_FALLTHROUGH;

        case VALUE:
          if (c == '{' || c == '[')
            {
              if (depth == max_depth)
                return GRANT_JSON_SHAPE_TOO_DEEP;
              stack[depth++] = c;
              i++;
              state = c == '{' ? OBJECT_FIRST : ARRAY_FIRST;
            }
          else if (c == '-' || g_ascii_isdigit (c))
            {
              gsize start = i;
              gboolean integer;

              if (!grant_json_scan_number (data, len, &i, &integer))
                return GRANT_JSON_SHAPE_INVALID;
              if (integer && big_integers != NULL && i - start > 18 && !fits_in_int64 (data, start, i))
                g_array_append_val (big_integers, i);
              state = AFTER_VALUE;
            }
          else if ((c == '"' && scan_string (data, len, &i)) ||
                   (c == 't' && scan_literal (data, len, &i, "true")) ||
                   (c == 'f' && scan_literal (data, len, &i, "false")) ||
                   (c == 'n' && scan_literal (data, len, &i, "null")))
            state = AFTER_VALUE;
          else
            return GRANT_JSON_SHAPE_INVALID;
          break;

        case OBJECT_FIRST:
          if (c == '}')
            {
              depth--;
              i++;
              state = AFTER_VALUE;
              break;
            }
          state = KEY;
          G_GNUC_FALLTHROUGH;

        case KEY:
          if (c != '"' || !scan_string (data, len, &i))
            return GRANT_JSON_SHAPE_INVALID;
          state = COLON;
          break;

        case COLON:
          if (c != ':')
            return GRANT_JSON_SHAPE_INVALID;
          i++;
          state = VALUE;
          break;

        case AFTER_VALUE:
        default:
          if (depth == 0)
            return GRANT_JSON_SHAPE_INVALID;
          if (c == ',')
            state = stack[depth - 1] == '[' ? VALUE : KEY;
          else if ((c == ']' && stack[depth - 1] == '[') || (c == '}' && stack[depth - 1] == '{'))
            depth--;
          else
            return GRANT_JSON_SHAPE_INVALID;
          i++;
          break;
        }
    }
}

gboolean
grant_json_depth_ok (const char *data,
                     gsize       len,
                     guint       max_depth)
{
  return grant_json_scan (data, len, max_depth) != GRANT_JSON_SHAPE_TOO_DEEP;
}

static gboolean
is_form_content_type (SoupMessageHeaders *headers)
{
  const char *content_type;

  if (headers == NULL)
    return FALSE;

  content_type = soup_message_headers_get_content_type (headers, NULL);

  return content_type != NULL &&
         g_ascii_strcasecmp (content_type, "application/x-www-form-urlencoded") == 0;
}

static JsonNode *
decode_form (const char *text)
{
  g_autoptr(GHashTable) form = soup_form_decode (text);
  JsonObject *object = json_object_new ();
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, form);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      /* Percent-decoding can make bytes that are not UTF-8. */
      if (!g_utf8_validate (key, -1, NULL) || !g_utf8_validate (value, -1, NULL))
        continue;
      json_object_set_string_member (object, key, value);
    }

  json_node_take_object (root, object);

  return root;
}

/* Turns a response body into a JSON node: a JSON document, or a form-encoded
 * body as an object of strings. The error says why it could not. */
JsonNode *
grant_body_decode (SoupMessageHeaders  *headers,
                            GBytes              *body,
                            GError             **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GArray) big_integers = NULL;
  g_autofree char *rewritten = NULL;
  const char *data;
  gsize len = 0;

  data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  if (len == 0)
    {
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                           "the body is empty");
      return NULL;
    }

  if (!g_utf8_validate_len (data, len, NULL))
    {
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                           "the body is not valid UTF-8 text");
      return NULL;
    }

  if (is_form_content_type (headers))
    {
      g_autofree char *text = g_strndup (data, len);

      return decode_form (text);
    }

  big_integers = g_array_new (FALSE, FALSE, sizeof (gsize));
  switch (grant_json_scan_full (data, len, GRANT_MAX_JSON_DEPTH, big_integers))
    {
    case GRANT_JSON_SHAPE_TOO_DEEP:
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "the JSON body nests deeper than %d levels",
                   GRANT_MAX_JSON_DEPTH);
      return NULL;

    case GRANT_JSON_SHAPE_INVALID:
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                           "the body is not valid JSON");
      return NULL;

    case GRANT_JSON_SHAPE_OK:
    default:
      break;
    }

  /* json-glib 1.6 wraps integers beyond 64 bits around (2^63 becomes
   * -2^63): give it those as floats, which keep their sign and size. */
  if (big_integers->len > 0)
    {
      GString *copy = g_string_new_len (data, len);

      for (guint k = big_integers->len; k > 0; k--)
        g_string_insert (copy, g_array_index (big_integers, gsize, k - 1), ".0");
      len = copy->len;
      data = rewritten = g_string_free (copy, FALSE);
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, NULL))
    {
      /* Not expected after the scan. The parser's message quotes the body,
       * which may hold a token. */
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                           "the body is not valid JSON");
      return NULL;
    }

  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                           "the body is empty");
      return NULL;
    }

  return json_parser_steal_root (parser);
}
