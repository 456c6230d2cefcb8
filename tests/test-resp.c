/* test-resp.c: the Redis protocol parser, on bytes alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <gio/gio.h>

#include "grant-resp-private.h"

static GrantRespParseResult
parse (const char       *bytes,
       gsize             length,
       gsize            *consumed,
       GrantRespValue  **value,
       GError          **error)
{
  return grant_resp_parse ((const guint8 *) bytes, length, consumed, value, error);
}

static GrantRespValue *
parse_whole (const char *bytes,
             gsize       length)
{
  GrantRespValue *value = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 0;

  g_assert_cmpint (parse (bytes, length, &consumed, &value, &error), ==, GRANT_RESP_PARSE_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (consumed, ==, length);

  /* Every shorter prefix asks for more. */
  for (gsize i = 0; i < length; i++)
    {
      GrantRespValue *partial = NULL;

      g_assert_cmpint (parse (bytes, i, NULL, &partial, &error), ==, GRANT_RESP_PARSE_INCOMPLETE);
      g_assert_no_error (error);
      g_assert_null (partial);
    }

  return value;
}

static void
assert_invalid (const char *bytes,
                gsize       length)
{
  GrantRespValue *value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (parse (bytes, length, NULL, &value, &error), ==, GRANT_RESP_PARSE_INVALID);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_null (value);
}

#define S(literal) literal, sizeof literal - 1

static void
test_scalars (void)
{
  g_autoptr(GrantRespValue) ok = parse_whole (S ("+OK\r\n"));
  g_autoptr(GrantRespValue) err = parse_whole (S ("-WRONGPASS invalid username-password pair\r\n"));
  g_autoptr(GrantRespValue) integer = parse_whole (S (":-42\r\n"));
  g_autoptr(GrantRespValue) big = parse_whole (S (":9223372036854775807\r\n"));

  g_assert_cmpint (ok->type, ==, GRANT_RESP_SIMPLE);
  g_assert_cmpstr (ok->data, ==, "OK");
  g_assert_cmpint (err->type, ==, GRANT_RESP_ERROR);
  g_assert_cmpstr (err->data, ==, "WRONGPASS invalid username-password pair");
  g_assert_cmpint (integer->type, ==, GRANT_RESP_INTEGER);
  g_assert_cmpint (integer->integer, ==, -42);
  g_assert_cmpint (big->integer, ==, G_MAXINT64);
}

static void
test_bulk (void)
{
  g_autoptr(GrantRespValue) bulk = parse_whole (S ("$3\r\nabc\r\n"));
  g_autoptr(GrantRespValue) binary = parse_whole (S ("$5\r\na\0\r\nb\r\n"));
  g_autoptr(GrantRespValue) empty = parse_whole (S ("$0\r\n\r\n"));
  g_autoptr(GrantRespValue) null = parse_whole (S ("$-1\r\n"));

  g_assert_cmpint (bulk->type, ==, GRANT_RESP_BULK);
  g_assert_cmpstr (bulk->data, ==, "abc");
  g_assert_cmpuint (bulk->length, ==, 3);
  g_assert_cmpuint (binary->length, ==, 5);
  g_assert_cmpmem (binary->data, binary->length, "a\0\r\nb", 5);
  g_assert_cmpint (empty->type, ==, GRANT_RESP_BULK);
  g_assert_cmpuint (empty->length, ==, 0);
  g_assert_cmpint (null->type, ==, GRANT_RESP_NULL);
}

static void
test_arrays (void)
{
  g_autoptr(GrantRespValue) array = parse_whole (S ("*3\r\n$1\r\na\r\n:1\r\n*1\r\n$-1\r\n"));
  g_autoptr(GrantRespValue) null = parse_whole (S ("*-1\r\n"));
  g_autoptr(GrantRespValue) empty = parse_whole (S ("*0\r\n"));
  GrantRespValue *inner;

  g_assert_cmpint (array->type, ==, GRANT_RESP_ARRAY);
  g_assert_cmpuint (array->elements->len, ==, 3);
  g_assert_cmpstr (((GrantRespValue *) array->elements->pdata[0])->data, ==, "a");
  g_assert_cmpint (((GrantRespValue *) array->elements->pdata[1])->integer, ==, 1);
  inner = array->elements->pdata[2];
  g_assert_cmpint (inner->type, ==, GRANT_RESP_ARRAY);
  g_assert_cmpint (((GrantRespValue *) inner->elements->pdata[0])->type, ==, GRANT_RESP_NULL);
  g_assert_cmpint (null->type, ==, GRANT_RESP_NULL);
  g_assert_cmpuint (empty->elements->len, ==, 0);
}

static void
test_two_replies (void)
{
  GrantRespValue *value = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 0;

  g_assert_cmpint (parse (S ("+OK\r\n:1\r\n"), &consumed, &value, &error), ==, GRANT_RESP_PARSE_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (consumed, ==, 5);
  g_assert_cmpstr (value->data, ==, "OK");
  grant_resp_value_free (value);
}

static void
test_invalid (void)
{
  g_autofree char *long_line = NULL;
  GString *deep = g_string_new (NULL);
  GrantRespValue *value = NULL;
  g_autoptr(GError) error = NULL;

  assert_invalid (S ("?what\r\n"));
  assert_invalid (S ("\r\n"));
  assert_invalid (S ("+OK\n"));
  assert_invalid (S (":4x\r\n"));
  assert_invalid (S (":\r\n"));
  assert_invalid (S (":-\r\n"));
  assert_invalid (S (":99999999999999999999\r\n"));
  assert_invalid (S ("$-2\r\n"));
  assert_invalid (S ("$x\r\n"));
  assert_invalid (S ("$3\r\nabcd\r\n"));
  assert_invalid (S ("*-5\r\n"));
  assert_invalid (S ("*2\r\n+OK\r\n!\r\n"));

  /* Hostile lengths are refused before anything is allocated for them. */
  assert_invalid (S ("$1048577\r\n"));
  assert_invalid (S ("$9223372036854775807\r\n"));
  assert_invalid (S ("*1025\r\n"));
  assert_invalid (S ("*9223372036854775807\r\n"));

  for (guint i = 0; i < GRANT_RESP_MAX_DEPTH + 1; i++)
    g_string_append (deep, "*1\r\n");
  g_string_append (deep, ":1\r\n");
  assert_invalid (deep->str, deep->len);
  g_string_free (deep, TRUE);

  /* A line that never ends is not waited for forever. */
  long_line = g_malloc (GRANT_RESP_MAX_LINE + 10);
  long_line[0] = '+';
  memset (long_line + 1, 'a', GRANT_RESP_MAX_LINE + 9);
  assert_invalid (long_line, GRANT_RESP_MAX_LINE + 10);

  /* The largest bulk string allowed is still waited for. */
  g_assert_cmpint (parse (S ("$1048576\r\n"), NULL, &value, &error), ==, GRANT_RESP_PARSE_INCOMPLETE);
  g_assert_no_error (error);
}

static void
test_encode (void)
{
  const char *args[] = { "SET", "k", "v\r\n" };
  const gsize lengths[] = { 3, 1, 3 };
  g_autoptr(GBytes) plain = grant_resp_encode (3, args, NULL);
  g_autoptr(GBytes) sized = grant_resp_encode (2, args, lengths);
  gsize size;
  const char *data = g_bytes_get_data (plain, &size);
  g_autofree char *first = g_strndup (data, size);
  g_autofree char *second = NULL;

  g_assert_cmpstr (first, ==, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n");
  data = g_bytes_get_data (sized, &size);
  second = g_strndup (data, size);
  g_assert_cmpstr (second, ==, "*2\r\n$3\r\nSET\r\n$1\r\nk\r\n");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/resp/scalars", test_scalars);
  g_test_add_func ("/resp/bulk", test_bulk);
  g_test_add_func ("/resp/arrays", test_arrays);
  g_test_add_func ("/resp/two-replies", test_two_replies);
  g_test_add_func ("/resp/invalid", test_invalid);
  g_test_add_func ("/resp/encode", test_encode);

  return g_test_run ();
}
