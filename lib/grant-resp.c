/* grant-resp.c: the Redis protocol (RESP2), without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "grant-resp-private.h"

void
grant_resp_value_free (GrantRespValue *value)
{
  if (value == NULL)
    return;

  g_free (value->data);
  g_clear_pointer (&value->elements, g_ptr_array_unref);
  g_free (value);
}

/* Finds the line at @data[*pos], up to its CRLF, and moves *pos past it. */
static GrantRespParseResult
read_line (const guint8  *data,
           gsize          length,
           gsize         *pos,
           const guint8 **line,
           gsize         *line_length,
           GError       **error)
{
  gsize start = *pos;
  gsize i;

  for (i = start; i < length; i++)
    {
      if (i - start > GRANT_RESP_MAX_LINE)
        break;
      if (data[i] == '\n')
        {
          if (i == start || data[i - 1] != '\r')
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                   "Redis sent a line that does not end in CRLF");
              return GRANT_RESP_PARSE_INVALID;
            }
          *line = data + start;
          *line_length = i - 1 - start;
          *pos = i + 1;
          return GRANT_RESP_PARSE_DONE;
        }
    }

  if (length - start > GRANT_RESP_MAX_LINE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Redis sent a line longer than %d bytes", GRANT_RESP_MAX_LINE);
      return GRANT_RESP_PARSE_INVALID;
    }

  return GRANT_RESP_PARSE_INCOMPLETE;
}

/* A signed decimal integer, the whole line, without a sign on zero or
 * leading zeros being a concern: only its value matters. */
static gboolean
parse_integer (const guint8 *line,
               gsize         length,
               gint64       *out)
{
  gboolean negative = FALSE;
  guint64 value = 0;
  gsize i = 0;

  if (length > 0 && line[0] == '-')
    {
      negative = TRUE;
      i = 1;
    }
  if (i == length || length - i > 19)
    return FALSE;

  for (; i < length; i++)
    {
      if (line[i] < '0' || line[i] > '9')
        return FALSE;
      value = value * 10 + (line[i] - '0');
    }

  if (value > (guint64) G_MAXINT64)
    return FALSE;

  *out = negative ? -(gint64) value : (gint64) value;

  return TRUE;
}

static GrantRespParseResult
parse_value (const guint8     *data,
             gsize             length,
             gsize            *pos,
             guint             depth,
             GrantRespValue  **out,
             GError          **error)
{
  g_autoptr(GrantRespValue) value = NULL;
  GrantRespParseResult result;
  const guint8 *line;
  gsize line_length;
  gint64 n;
  guint8 kind;

  if (*pos >= length)
    return GRANT_RESP_PARSE_INCOMPLETE;

  result = read_line (data, length, pos, &line, &line_length, error);
  if (result != GRANT_RESP_PARSE_DONE)
    return result;

  if (line_length == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "Redis sent an empty line");
      return GRANT_RESP_PARSE_INVALID;
    }

  kind = line[0];
  line++;
  line_length--;
  value = g_new0 (GrantRespValue, 1);

  switch (kind)
    {
    case '+':
    case '-':
      value->type = kind == '+' ? GRANT_RESP_SIMPLE : GRANT_RESP_ERROR;
      value->data = g_strndup ((const char *) line, line_length);
      value->length = strlen (value->data);
      break;

    case ':':
      value->type = GRANT_RESP_INTEGER;
      if (!parse_integer (line, line_length, &value->integer))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "Redis sent an integer that is not one");
          return GRANT_RESP_PARSE_INVALID;
        }
      break;

    case '$':
      if (!parse_integer (line, line_length, &n) || n < -1)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "Redis sent a bulk string of an invalid length");
          return GRANT_RESP_PARSE_INVALID;
        }
      if (n == -1)
        {
          value->type = GRANT_RESP_NULL;
          break;
        }
      if (n > GRANT_RESP_MAX_BULK)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "Redis sent a bulk string of %" G_GINT64_FORMAT " bytes, more than %d",
                       n, GRANT_RESP_MAX_BULK);
          return GRANT_RESP_PARSE_INVALID;
        }
      if (length - *pos < (gsize) n + 2)
        return GRANT_RESP_PARSE_INCOMPLETE;
      if (data[*pos + n] != '\r' || data[*pos + n + 1] != '\n')
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "Redis sent a bulk string longer than it said");
          return GRANT_RESP_PARSE_INVALID;
        }
      value->type = GRANT_RESP_BULK;
      value->data = g_malloc (n + 1);
      memcpy (value->data, data + *pos, n);
      value->data[n] = '\0';
      value->length = n;
      *pos += n + 2;
      break;

    case '*':
      if (!parse_integer (line, line_length, &n) || n < -1)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "Redis sent an array of an invalid length");
          return GRANT_RESP_PARSE_INVALID;
        }
      if (n == -1)
        {
          value->type = GRANT_RESP_NULL;
          break;
        }
      if (n > GRANT_RESP_MAX_ELEMENTS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "Redis sent an array of %" G_GINT64_FORMAT " elements, more than %d",
                       n, GRANT_RESP_MAX_ELEMENTS);
          return GRANT_RESP_PARSE_INVALID;
        }
      if (depth >= GRANT_RESP_MAX_DEPTH)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "Redis sent arrays nested more than %d deep", GRANT_RESP_MAX_DEPTH);
          return GRANT_RESP_PARSE_INVALID;
        }
      value->type = GRANT_RESP_ARRAY;
      value->elements = g_ptr_array_new_full (n, (GDestroyNotify) grant_resp_value_free);
      for (gint64 i = 0; i < n; i++)
        {
          GrantRespValue *element = NULL;

          result = parse_value (data, length, pos, depth + 1, &element, error);
          if (result != GRANT_RESP_PARSE_DONE)
            return result;
          g_ptr_array_add (value->elements, element);
        }
      break;

    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Redis sent a reply of an unknown type (byte 0x%02x)", kind);
      return GRANT_RESP_PARSE_INVALID;
    }

  *out = g_steal_pointer (&value);

  return GRANT_RESP_PARSE_DONE;
}

/* Parses one reply at the start of @data. Pure: it reads only its
 * arguments, so it can be fed any bytes (unit tests, a fuzzer). */
GrantRespParseResult
grant_resp_parse (const guint8     *data,
                  gsize             length,
                  gsize            *consumed,
                  GrantRespValue  **value,
                  GError          **error)
{
  GrantRespValue *parsed = NULL;
  GrantRespParseResult result;
  gsize pos = 0;

  g_return_val_if_fail (data != NULL || length == 0, GRANT_RESP_PARSE_INVALID);
  g_return_val_if_fail (value != NULL, GRANT_RESP_PARSE_INVALID);

  result = parse_value (data, length, &pos, 0, &parsed, error);
  if (result == GRANT_RESP_PARSE_DONE)
    {
      *value = parsed;
      if (consumed != NULL)
        *consumed = pos;
    }

  return result;
}

GBytes *
grant_resp_encode (guint               n_args,
                   const char * const *args,
                   const gsize        *lengths)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "*%u\r\n", n_args);
  for (guint i = 0; i < n_args; i++)
    {
      gsize length = lengths != NULL ? lengths[i] : strlen (args[i]);

      g_string_append_printf (out, "$%" G_GSIZE_FORMAT "\r\n", length);
      g_string_append_len (out, args[i], length);
      g_string_append_len (out, "\r\n", 2);
    }

  return g_string_free_to_bytes (out);
}
