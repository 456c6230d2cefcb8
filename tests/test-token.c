/* test-token.c: GrantToken
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <grant.h>

static void
test_new (void)
{
  g_autoptr(GDateTime) issued = g_date_time_new_utc (2024, 6, 24, 16, 0, 0);
  g_autoptr(GDateTime) expires = g_date_time_add_hours (issued, 1);
  GrantToken *token;
  g_autofree char *authorization = NULL;
  g_autofree char *access_token = NULL;
  g_autofree char *token_type = NULL;

  token = grant_token_new ("abc", NULL, "read write", issued, expires);

  g_assert_cmpstr (grant_token_get_access_token (token), ==, "abc");
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpstr (grant_token_get_scope (token), ==, "read write");
  g_assert_true (g_date_time_equal (grant_token_get_issued_at (token), issued));
  g_assert_true (g_date_time_equal (grant_token_get_expires_at (token), expires));
  g_assert_null (grant_token_get_response (token));

  authorization = grant_token_dup_authorization (token);
  g_assert_cmpstr (authorization, ==, "Bearer abc");

  g_object_get (token, "access-token", &access_token, "token-type", &token_type, NULL);
  g_assert_cmpstr (access_token, ==, "abc");
  g_assert_cmpstr (token_type, ==, "Bearer");

  /* The token holds its own references to the dates it was given. */
  g_assert_finalize_object (token);
}

static void
test_defaults (void)
{
  g_autoptr(GDateTime) before = g_date_time_new_now_utc ();
  g_autoptr(GrantToken) token = grant_token_new ("abc", "mac", NULL, NULL, NULL);
  g_autoptr(GDateTime) after = g_date_time_new_now_utc ();

  g_assert_cmpstr (grant_token_get_token_type (token), ==, "mac");
  g_assert_null (grant_token_get_scope (token));
  g_assert_null (grant_token_get_expires_at (token));
  g_assert_cmpint (g_date_time_compare (before, grant_token_get_issued_at (token)), <=, 0);
  g_assert_cmpint (g_date_time_compare (grant_token_get_issued_at (token), after), <=, 0);
  g_assert_false (grant_token_is_expired (token, 0));
  g_assert_false (grant_token_is_expired (token, G_MAXINT32 * G_TIME_SPAN_SECOND));
}

static void
test_is_expired (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) in_two_minutes = g_date_time_add_minutes (now, 2);
  g_autoptr(GDateTime) a_second_ago = g_date_time_add_seconds (now, -1);
  g_autoptr(GrantToken) live = grant_token_new ("a", NULL, NULL, now, in_two_minutes);
  g_autoptr(GrantToken) dead = grant_token_new ("b", NULL, NULL, now, a_second_ago);

  g_assert_false (grant_token_is_expired (live, 0));
  g_assert_false (grant_token_is_expired (live, 60 * G_TIME_SPAN_SECOND));
  g_assert_true (grant_token_is_expired (live, 3 * G_TIME_SPAN_MINUTE));
  g_assert_true (grant_token_is_expired (dead, 0));
}

static void
test_response_sealed (void)
{
  g_autoptr(JsonNode) response = json_from_string ("{\"data\":{\"user\":42}}", NULL);
  g_autoptr(GrantToken) token = g_object_new (GRANT_TYPE_TOKEN,
                                              "access-token", "abc",
                                              "response", response,
                                              NULL);
  JsonNode *kept = grant_token_get_response (token);

  g_assert_nonnull (kept);
  g_assert_true (kept != response);
  g_assert_true (json_node_is_immutable (kept));
  g_assert_false (json_node_is_immutable (response));
  g_assert_true (json_node_equal (kept, response));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/token/new", test_new);
  g_test_add_func ("/token/defaults", test_defaults);
  g_test_add_func ("/token/is-expired", test_is_expired);
  g_test_add_func ("/token/response-sealed", test_response_sealed);

  return g_test_run ();
}
