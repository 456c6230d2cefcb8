/* test-response.c: understanding token responses, on bytes alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <grant.h>

#include "grant-body-private.h"
#include "grant-json-pointer-private.h"
#include "grant-response-private.h"
#include "grant-token-private.h"
#include "grant-utils-private.h"

/* 2024-06-24T16:00:00Z, in microseconds. */
#define NOW (G_GINT64_CONSTANT (1719244800) * G_USEC_PER_SEC)

static GrantToken *
parse_full (guint        status,
            const char  *content_type,
            const char  *body,
            gssize       body_len,
            const char  *requested_scope,
            GError     **error)
{
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autoptr(GBytes) bytes = g_bytes_new (body, body_len < 0 ? strlen (body) : (gsize) body_len);

  if (content_type != NULL)
    soup_message_headers_set_content_type (headers, content_type, NULL);

  GrantParseContext context = { .now = NOW, .requested_scope = requested_scope, .client_secret = "s3cret" };

  return grant_response_parse (&context, status, headers, bytes, error);
}

static GrantToken *
parse (guint        status,
       const char  *body,
       GError     **error)
{
  return parse_full (status, "application/json", body, -1, NULL, error);
}

static gint64
lifetime_of (GrantToken *token)
{
  GDateTime *expires_at = grant_token_get_expires_at (token);

  g_assert_nonnull (expires_at);

  return g_date_time_difference (expires_at, grant_token_get_issued_at (token)) / G_USEC_PER_SEC;
}

static void
test_standard (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autofree char *authorization = NULL;
  JsonNode *response;

  token = parse (200, "{\"access_token\":\"abc.def\",\"token_type\":\"Bearer\","
                      "\"expires_in\":3599,\"scope\":\"officernd.api.read\"}", &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);

  g_assert_cmpstr (grant_token_get_access_token (token), ==, "abc.def");
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpstr (grant_token_get_scope (token), ==, "officernd.api.read");
  g_assert_cmpint (grant_date_time_to_usec (grant_token_get_issued_at (token)), ==, NOW);
  g_assert_cmpint (lifetime_of (token), ==, 3599);

  authorization = grant_token_dup_authorization (token);
  g_assert_cmpstr (authorization, ==, "Bearer abc.def");

  response = grant_token_get_response (token);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (response));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (response), "expires_in"), ==, 3599);
}

static void
test_expires_in_forms (void)
{
  const struct {
    const char *body;
    gint64 lifetime;
  } cases[] = {
    { "{\"access_token\":\"t\",\"expires_in\":3600}", 3600 },
    { "{\"access_token\":\"t\",\"expires_in\":\"3600\"}", 3600 },
    { "{\"access_token\":\"t\",\"expires_in\":\" 120 \"}", 120 },
    { "{\"access_token\":\"t\",\"expires_in\":3599.9}", 3599 },
    { "{\"access_token\":\"t\",\"expires_in\":\"59.5\"}", 59 },
    { "{\"access_token\":\"t\",\"expires_in\":1e3}", 1000 },
    /* Absurd lifetimes are clamped to ten years. */
    { "{\"access_token\":\"t\",\"expires_in\":9223372036854775807}", GRANT_MAX_LIFETIME },
    { "{\"access_token\":\"t\",\"expires_in\":9223372036854775808}", GRANT_MAX_LIFETIME },
    { "{\"access_token\":\"t\",\"expires_in\":1e300}", GRANT_MAX_LIFETIME },
    { "{\"access_token\":\"t\",\"expires_in\":\"99999999999999999999\"}", GRANT_MAX_LIFETIME },
    /* Beyond 64 bits: json-glib would wrap these around. */
    { "{\"access_token\":\"t\",\"expires_in\":10000000000000000000}", GRANT_MAX_LIFETIME },
    { "{\"access_token\":\"t\",\"expires_in\":18446744073709551615}", GRANT_MAX_LIFETIME },
    { "{\"access_token\":\"t\",\"expires_in\":18446744073709551616}", GRANT_MAX_LIFETIME },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = parse (200, cases[i].body, &error);

      g_test_message ("%s", cases[i].body);
      g_assert_no_error (error);
      g_assert_cmpint (lifetime_of (token), ==, cases[i].lifetime);
    }
}

static void
test_expires_in_missing (void)
{
  const char *bodies[] = {
    "{\"access_token\":\"t\"}",
    "{\"access_token\":\"t\",\"expires_in\":null}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = parse (200, bodies[i], &error);

      g_assert_no_error (error);
      g_assert_null (grant_token_get_expires_at (token));
      g_assert_false (grant_token_is_expired (token, 0));
    }
}

static void
test_expires_in_bad (void)
{
  const char *bodies[] = {
    "{\"access_token\":\"t\",\"expires_in\":0}",
    "{\"access_token\":\"t\",\"expires_in\":-5}",
    "{\"access_token\":\"t\",\"expires_in\":\"0\"}",
    "{\"access_token\":\"t\",\"expires_in\":0.4}",
    "{\"access_token\":\"t\",\"expires_in\":\"soon\"}",
    "{\"access_token\":\"t\",\"expires_in\":\"\"}",
    "{\"access_token\":\"t\",\"expires_in\":\"12abc\"}",
    "{\"access_token\":\"t\",\"expires_in\":\"nan\"}",
    "{\"access_token\":\"t\",\"expires_in\":{}}",
    "{\"access_token\":\"t\",\"expires_in\":[3600]}",
    "{\"access_token\":\"t\",\"expires_in\":true}",
    "{\"access_token\":\"t\",\"expires_in\":-9223372036854775807}",
    "{\"access_token\":\"t\",\"expires_in\":-9223372036854775808}",
    "{\"access_token\":\"t\",\"expires_in\":-99999999999999999999}",
    "{\"access_token\":\"t\",\"expires_in\":\"inf\"}",
    "{\"access_token\":\"t\",\"expires_in\":\"infinity\"}",
    "{\"access_token\":\"t\",\"expires_in\":\"0x10\"}",
    "{\"access_token\":\"t\",\"expires_in\":\"+60\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = parse (200, bodies[i], &error);

      g_test_message ("%s", bodies[i]);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
      g_assert_null (token);
      g_assert_true (strstr (error->message, "expire") != NULL);
    }
}

static void
test_token_type (void)
{
  const struct {
    const char *body;
    const char *type;
  } cases[] = {
    { "{\"access_token\":\"t\"}", "Bearer" },
    { "{\"access_token\":\"t\",\"token_type\":null}", "Bearer" },
    { "{\"access_token\":\"t\",\"token_type\":\"bearer\"}", "Bearer" },
    { "{\"access_token\":\"t\",\"token_type\":\"BEARER\"}", "Bearer" },
    { "{\"access_token\":\"t\",\"token_type\":\"DPoP\"}", "DPoP" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = parse (200, cases[i].body, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (grant_token_get_token_type (token), ==, cases[i].type);
    }
}

static void
test_scope_types (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) boolean = NULL;
  g_autoptr(GrantToken) absent = NULL;
  g_autoptr(GrantToken) array = NULL;
  JsonNode *scope;

  /* ExpertFile sends a boolean: accepted, kept in the response; it names
   * no scope, so the token has the one requested. */
  boolean = parse_full (200, "application/json", "{\"access_token\":\"t\",\"scope\":true}", -1,
                        "requested", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (boolean), ==, "requested");
  scope = json_object_get_member (json_node_get_object (grant_token_get_response (boolean)), "scope");
  g_assert_true (json_node_get_boolean (scope));

  /* No scope in the answer: the token has the scope requested. */
  absent = parse_full (200, "application/json", "{\"access_token\":\"t\"}", -1, "WebAPI", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (absent), ==, "WebAPI");

  array = parse_full (200, "application/json", "{\"access_token\":\"t\",\"scope\":[\"a\",\"b\"]}", -1,
                      NULL, &error);
  g_assert_no_error (error);
  g_assert_null (grant_token_get_scope (array));
}

/* A scope that is null or not a string names none: the token has the one
 * requested, as GrantToken:scope promises. */
static void
test_scope_not_a_string (void)
{
  const char *bodies[] = {
    "{\"access_token\":\"t\",\"scope\":null}",
    "{\"access_token\":\"t\",\"scope\":42}",
    "{\"access_token\":\"t\",\"scope\":false}",
    "{\"access_token\":\"t\",\"scope\":[\"a\",\"b\"]}",
    "{\"access_token\":\"t\",\"scope\":{\"a\":1}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = parse_full (200, "application/json", bodies[i], -1, "read write", &error);

      g_test_message ("%s", bodies[i]);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_token_get_scope (token), ==, "read write");
      g_assert_nonnull (json_object_get_member (json_node_get_object (grant_token_get_response (token)),
                                                "scope"));
    }
}

static void
test_form_response (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;
  JsonObject *object;

  token = parse_full (200, "application/x-www-form-urlencoded",
                      "access_token=abc%2Bdef&token_type=bearer&expires_in=7200&scope=read+write", -1,
                      NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (token), ==, "abc+def");
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpstr (grant_token_get_scope (token), ==, "read write");
  g_assert_cmpint (lifetime_of (token), ==, 7200);

  object = json_node_get_object (grant_token_get_response (token));
  g_assert_cmpstr (json_object_get_string_member (object, "expires_in"), ==, "7200");
}

static void
test_oauth_errors (void)
{
  const struct {
    guint status;
    const char *code;
    GrantError expected;
  } cases[] = {
    { 400, "invalid_request", GRANT_ERROR_INVALID_REQUEST },
    { 401, "invalid_client", GRANT_ERROR_INVALID_CLIENT },
    { 400, "invalid_grant", GRANT_ERROR_INVALID_GRANT },
    { 400, "unauthorized_client", GRANT_ERROR_UNAUTHORIZED_CLIENT },
    { 400, "unsupported_grant_type", GRANT_ERROR_UNSUPPORTED_GRANT_TYPE },
    { 400, "invalid_scope", GRANT_ERROR_INVALID_SCOPE },
    { 500, "server_error", GRANT_ERROR_SERVER_ERROR },
    { 503, "temporarily_unavailable", GRANT_ERROR_TEMPORARILY_UNAVAILABLE },
    { 400, "slow_down", GRANT_ERROR_RATE_LIMITED },
    { 429, "invalid_request", GRANT_ERROR_RATE_LIMITED },
    { 403, "access_denied", GRANT_ERROR_FAILED },
    /* A 200 that carries an error is an error. */
    { 200, "invalid_client", GRANT_ERROR_INVALID_CLIENT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = NULL;
      g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\",\"error_description\":"
                                               "\"Described for case %u\"}", cases[i].code, i);
      g_autofree char *status = g_strdup_printf ("HTTP %u", cases[i].status);
      g_autofree char *description = g_strdup_printf ("Described for case %u", i);

      token = parse (cases[i].status, body, &error);
      g_assert_null (token);
      g_assert_error (error, GRANT_ERROR, cases[i].expected);
      g_assert_nonnull (strstr (error->message, cases[i].code));
      g_assert_nonnull (strstr (error->message, status));
      g_assert_nonnull (strstr (error->message, description));
    }
}

static void
test_error_description_sanitized (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) long_description = g_string_new (NULL);
  g_autofree char *body = NULL;
  g_autoptr(GrantToken) token = NULL;

  for (guint i = 0; i < 1000; i++)
    g_string_append (long_description, "x");
  body = g_strdup_printf ("{\"error\":\"invalid_client\",\"error_description\":\"line\\nbreak\\u0007 %s\"}",
                          long_description->str);

  token = parse (401, body, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_null (strchr (error->message, '\a'));
  g_assert_cmpuint (strlen (error->message), <, 500);
}

static void
test_secret_echo_redacted (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;

  /* Not a known code: the 401 decides. */
  token = parse (401, "{\"error\":\"invalid_client s3cret\",\"error_description\":"
                      "\"you sent s3cret\"}", &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_null (strstr (error->message, "s3cret"));
  g_assert_nonnull (strstr (error->message, "you sent [REDACTED]"));
}

/* Web frameworks' own error bodies have an "error" that is the status
 * phrase: not a code libgrant knows, so the status decides, whatever the
 * dialect, and the phrase stays in the message. */
static void
test_unknown_codes (void)
{
  const struct {
    guint status;
    const char *body;
    GrantError expected;
    const char *words;
  } cases[] = {
    /* Spring Boot */
    { 401, "{\"timestamp\":\"2024-06-24T16:00:00.000+00:00\",\"status\":401,\"error\":\"Unauthorized\","
           "\"path\":\"/oauth/token\"}", GRANT_ERROR_INVALID_CLIENT, "“Unauthorized”" },
    { 500, "{\"timestamp\":\"2024-06-24T16:00:00.000+00:00\",\"status\":500,"
           "\"error\":\"Internal Server Error\",\"message\":\"\",\"path\":\"/oauth/token\"}",
      GRANT_ERROR_SERVER_ERROR, "“Internal Server Error”" },
    /* hapi (Boom) */
    { 500, "{\"statusCode\":500,\"error\":\"Internal Server Error\","
           "\"message\":\"An internal server error occurred\"}",
      GRANT_ERROR_SERVER_ERROR, "“Internal Server Error”: An internal server error occurred" },
    { 502, "{\"statusCode\":502,\"error\":\"Bad Gateway\"}", GRANT_ERROR_SERVER_ERROR, "Bad Gateway" },
    { 503, "{\"statusCode\":503,\"error\":\"Service Unavailable\"}", GRANT_ERROR_SERVER_ERROR, "Service Unavailable" },
    { 408, "{\"statusCode\":408,\"error\":\"Request Time-out\"}", GRANT_ERROR_TEMPORARILY_UNAVAILABLE, "Request Time-out" },
    { 429, "{\"statusCode\":429,\"error\":\"Too Many Requests\"}", GRANT_ERROR_RATE_LIMITED, "Too Many Requests" },
    { 400, "{\"statusCode\":400,\"error\":\"Bad Request\",\"message\":\"Invalid request payload input\"}",
      GRANT_ERROR_FAILED, "“Bad Request”: Invalid request payload input" },
    { 403, "{\"error\":\"Forbidden\"}", GRANT_ERROR_FAILED, "Forbidden" },
    { 404, "{\"error\":\"Not Found\"}", GRANT_ERROR_FAILED, "Not Found" },
    /* An OAuth-looking code that is not one of the token endpoint's. */
    { 401, "{\"error\":\"access_denied\"}", GRANT_ERROR_INVALID_CLIENT, "access_denied" },
    { 403, "{\"error\":\"access_denied\"}", GRANT_ERROR_FAILED, "access_denied" },
    { 200, "{\"error\":\"Something went wrong\"}", GRANT_ERROR_FAILED, "Something went wrong" },
  };
  const char *presets[] = { NULL, "rfc6749", "officernd", "smartdocumentor", "json-body" };

  for (guint d = 0; d < G_N_ELEMENTS (presets) + 1; d++)
    {
      g_autoptr(GrantDialect) dialect = NULL;

      /* Every preset, and a dialect that keeps the code elsewhere. */
      if (d == G_N_ELEMENTS (presets))
        dialect = g_object_new (GRANT_TYPE_DIALECT, "error-pointer", "/fault/code",
                                "error-description-pointer", "/fault/text", NULL);
      else if (presets[d] != NULL)
        dialect = grant_dialect_new_for_preset (presets[d], NULL);

      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
          g_autoptr(GBytes) bytes = NULL;
          g_autoptr(GError) error = NULL;
          g_autoptr(GrantToken) token = NULL;
          g_autofree char *status = g_strdup_printf ("HTTP %u", cases[i].status);
          g_autofree char *body = NULL;
          GrantParseContext context = { .now = NOW, .dialect = dialect, .client_secret = "s3cret" };

          if (d == G_N_ELEMENTS (presets))
            {
              /* {"fault":{"code":"<phrase>","text":"<message>"}} */
              g_autoptr(JsonNode) root = json_from_string (cases[i].body, NULL);
              JsonObject *object = json_node_get_object (root);
              g_autoptr(JsonBuilder) builder = json_builder_new ();
              g_autoptr(JsonNode) built = NULL;

              json_builder_begin_object (builder);
              json_builder_set_member_name (builder, "fault");
              json_builder_begin_object (builder);
              json_builder_set_member_name (builder, "code");
              json_builder_add_string_value (builder, json_object_get_string_member (object, "error"));
              if (json_object_has_member (object, "message"))
                {
                  json_builder_set_member_name (builder, "text");
                  json_builder_add_string_value (builder, json_object_get_string_member (object, "message"));
                }
              json_builder_end_object (builder);
              json_builder_end_object (builder);
              built = json_builder_get_root (builder);
              body = json_to_string (built, FALSE);
            }
          else
            body = g_strdup (cases[i].body);

          bytes = g_bytes_new (body, strlen (body));
          soup_message_headers_set_content_type (headers, "application/json", NULL);
          token = grant_response_parse (&context, cases[i].status, headers, bytes, &error);
          g_test_message ("%s: %s -> %s",
                          d == G_N_ELEMENTS (presets) ? "moved" : presets[d] ? presets[d] : "default",
                          body, error ? error->message : "(a token)");
          g_assert_null (token);
          g_assert_error (error, GRANT_ERROR, cases[i].expected);
          g_assert_nonnull (strstr (error->message, status));
          g_assert_nonnull (strstr (error->message, cases[i].words));
        }
    }
}

/* Every spelling of the secret and of the Basic credentials a server could
 * echo is redacted; text around them is kept. */
static void
test_redact_credentials (void)
{
  const char *id = "my client";
  const char *secret = "a/b+c%d:e~f g!h*>?";
  g_autofree char *raw_pair = g_strconcat (id, ":", secret, NULL);
  g_autofree char *form_pair = g_strdup ("my+client:a%2Fb%2Bc%25d%3Ae%7Ef+g%21h*%3E%3F");
  g_autofree char *raw_base64 = g_base64_encode ((const guchar *) raw_pair, strlen (raw_pair));
  g_autofree char *form_base64 = g_base64_encode ((const guchar *) form_pair, strlen (form_pair));
  g_autofree char *url_base64 = g_strdup (raw_base64);
  g_autofree char *unpadded = g_strdup (form_base64);
  const char *spellings[] = {
    "a/b+c%d:e~f g!h*>?",                                     /* itself */
    "a%2Fb%2Bc%25d%3Ae%7Ef+g%21h*%3E%3F",                     /* a form */
    "a%2fb%2bc%25d%3ae%7ef+g%21h*%3e%3f",                     /* lower case */
    "a%2Fb%2Bc%25d%3Ae~f%20g%21h%2A%3E%3F",                   /* g_uri_escape_string () */
    "a/b+c%25d:e~f%20g!h*%3E%3F",                             /* leaving sub-delims, '/' and ':' */
    "a%2Fb+c%25d:e~f+g!h*>%3F",                               /* a mix */
    "a\\/b+c%d:e~f g!h*>?",                                   /* JSON escapes '/' */
    "a\\u002fb\\u002Bc\\u0025d:e~f\\u0020g!h*\\u003e?",       /* JSON, in hexadecimal */
    "a%252Fb%252Bc%2525d%253Ae%257Ef%2Bg%2521h*%253E%253F",   /* a form, percent-encoded again */
    raw_base64, form_base64, url_base64, unpadded,
  };

  g_strdelimit (url_base64, "+", '-');
  g_strdelimit (url_base64, "/", '_');
  *strchr (unpadded, '=') = '\0';
  g_assert_nonnull (strchr (raw_base64, '+'));

  for (guint i = 0; i < G_N_ELEMENTS (spellings); i++)
    {
      g_autofree char *text = g_strdup_printf ("[%s] Basic %s.", spellings[i], spellings[i]);
      g_autofree char *redacted = grant_redact_credentials (text, id, secret);

      g_test_message ("%s -> %s", text, redacted);
      g_assert_cmpstr (redacted, ==, "[[REDACTED]] Basic [REDACTED].");
    }

  /* Without the id, the secret alone; without a secret, nothing. */
  {
    g_autofree char *text = g_strdup_printf ("%s %s", secret, raw_base64);
    g_autofree char *secret_only = grant_redact_credentials (text, NULL, secret);
    g_autofree char *expected = g_strdup_printf ("[REDACTED] %s", raw_base64);
    g_autofree char *no_secret = grant_redact_credentials (text, id, NULL);

    g_assert_cmpstr (secret_only, ==, expected);
    g_assert_cmpstr (no_secret, ==, text);
  }

  /* A secret that is its own encoding's prefix: "%25" as itself, or as
   * an encoded '%'. */
  {
    g_autofree char *redacted = grant_redact_credentials ("x %25%25 y %252525 z %2525", NULL, "%25");

    g_assert_cmpstr (redacted, ==, "x [REDACTED][REDACTED] y [REDACTED] z [REDACTED]");
  }
}

/* Text that nearly spells the secret everywhere costs time linear in its
 * length, not exponential in the secret's '%'s. */
static void
test_redact_pathological (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  const char *secret = "%25%25%25%25%25%25%25%25%25%25%25%25%25%25%25%25%25%25%25%25x";
  g_autofree char *redacted = NULL;
  gint64 started;

  for (guint i = 0; i < 2000; i++)
    g_string_append (text, "%2525");
  started = g_get_monotonic_time ();
  redacted = grant_redact_credentials (text->str, "id", secret);
  g_assert_cmpstr (redacted, ==, text->str);
  /* Milliseconds; backtracking would take longer than the test's timeout,
   * valgrind or not. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
}

static void
test_non_json (void)
{
  const struct {
    guint status;
    const char *content_type;
    const char *body;
    GrantError expected;
  } cases[] = {
    { 500, "text/html", "<html><body>Internal error</body></html>", GRANT_ERROR_SERVER_ERROR },
    { 502, "text/html", "<html>Bad gateway</html>", GRANT_ERROR_SERVER_ERROR },
    { 503, NULL, "", GRANT_ERROR_SERVER_ERROR },
    { 429, "text/plain", "slow down", GRANT_ERROR_RATE_LIMITED },
    { 401, "text/html", "<h1>Unauthorized</h1>", GRANT_ERROR_INVALID_CLIENT },
    { 404, "text/html", "<h1>Not found</h1>", GRANT_ERROR_INVALID_RESPONSE },
    { 400, "application/json", "{\"message\":\"bad\"}", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "text/html", "<html>Login</html>", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{\"access_token\":", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "[\"access_token\"]", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "\"access_token\"", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "null", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{}", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{\"access_token\":42}", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{\"access_token\":\"\"}", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{\"access_token\":\"a\\r\\nX-Injected: 1\"}", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{\"access_token\":\"t\",\"token_type\":7}", GRANT_ERROR_INVALID_RESPONSE },
    { 200, "application/json", "{\"access_token\":\"t\",\"token_type\":\"\"}", GRANT_ERROR_INVALID_RESPONSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = NULL;
      g_autofree char *status = g_strdup_printf ("HTTP %u", cases[i].status);

      g_test_message ("case %u: %u %s", i, cases[i].status, cases[i].body);
      token = parse_full (cases[i].status, cases[i].content_type, cases[i].body, -1, NULL, &error);
      g_assert_null (token);
      g_assert_error (error, GRANT_ERROR, cases[i].expected);
      g_assert_nonnull (strstr (error->message, status));
      /* An HTML page is never quoted into the message. */
      g_assert_null (strstr (error->message, "<"));
    }
}

static void
test_invalid_utf8 (void)
{
  const char body[] = "{\"access_token\":\"\xff\xfe\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;

  token = parse_full (200, "application/json", body, sizeof body - 1, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
  g_assert_null (token);
}

static void
test_embedded_nul (void)
{
  const char body[] = "{\"access_token\":\"t\"}\0garbage";
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;

  token = parse_full (200, "application/json", body, sizeof body - 1, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
  g_assert_null (token);
}

static void
test_deep_nesting (void)
{
  g_autoptr(GString) body = g_string_new ("{\"access_token\":\"t\",\"x\":");
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) shallow = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (body, '[');
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (body, ']');
  g_string_append_c (body, '}');

  token = parse (200, body->str, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
  g_assert_null (token);
  g_clear_error (&error);

  /* Brackets inside strings do not count. */
  shallow = parse (200, "{\"access_token\":\"t\",\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &error);
  g_assert_no_error (error);
  g_assert_nonnull (shallow);

  g_assert_true (grant_json_depth_ok ("[[]]", 4, 2));
  g_assert_false (grant_json_depth_ok ("[[[]]]", 6, 2));
  g_assert_true (grant_json_depth_ok ("[\"\\\"[[[\"]", 10, 1));

  /* Malformed JSON is refused before json-glib 1.6, which leaks on some
   * of it, sees it. */
  {
    const char *valid[] = {
      "{}", "[]", " {\"a\":[{}, 1, -0.5e+3, true, false, null, \"\\u00e9\\n\"]} ", "\"s\"", "0", "-12",
      "[[[]]]", "{\"\":{\"\":\"\"}}",
    };
    const char *invalid[] = {
      "", " ", "2[]", "[1] [2]", "\"a\"{}", "{\"\":[/\"/]}{\"\":\"\"}", "{", "[", "[1,]", "{\"a\":1,}",
      "{a:1}", "{\"a\" 1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[tru]", "[nul]", "\"\\x\"",
      "\"\\u12G4\"", "\"tab\there\"", "// comment\n{}", "{}}", "[]]", "{]", "[}", "'a'", "[1 2]",
    };

    for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
      {
        g_test_message ("valid %s", valid[i]);
        g_assert_cmpint (grant_json_scan (valid[i], strlen (valid[i]), 8), ==, GRANT_JSON_SHAPE_OK);
      }
    for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
      {
        g_test_message ("invalid %s", invalid[i]);
        g_assert_cmpint (grant_json_scan (invalid[i], strlen (invalid[i]), 8), ==, GRANT_JSON_SHAPE_INVALID);
      }
    g_assert_cmpint (grant_json_scan ("[[[]]]", 6, 2), ==, GRANT_JSON_SHAPE_TOO_DEEP);
  }
  g_clear_object (&shallow);
  shallow = parse (200, "[1] [2]", &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
  g_clear_error (&error);
}

static void
test_utf8_from_escapes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) lone = NULL;
  g_autoptr(GrantToken) paired = NULL;
  g_autoptr(GrantToken) form = NULL;
  g_autofree char *serialized = NULL;
  g_autoptr(GrantToken) back = NULL;

  /* A lone surrogate would become invalid UTF-8 in json-glib. */
  lone = parse (200, "{\"access_token\":\"a\",\"x\":\"\\ud800x\"}", &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
  g_clear_error (&error);

  paired = parse (200, "{\"access_token\":\"a\",\"scope\":\"\\ud83d\\ude00\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (paired), ==, "\xf0\x9f\x98\x80");

  /* A form value that decodes to bytes that are not UTF-8 is dropped, so
   * what is kept can be stored and read back. */
  form = parse_full (200, "application/x-www-form-urlencoded", "access_token=a&scope=%FF%FE", -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (grant_token_get_scope (form));
  serialized = grant_token_serialize (form);
  back = grant_token_new_from_serialized (serialized, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
}

static void
test_redirect (void)
{
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autoptr(GBytes) body = g_bytes_new_static ("", 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;

  GrantParseContext context = { .now = NOW };

  soup_message_headers_replace (headers, "Location", "https://user:pw@elsewhere.example/token?key=abc");
  token = grant_response_parse (&context, 302, headers, body, &error);
  g_assert_null (token);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "302"));
  g_assert_nonnull (strstr (error->message, "https://elsewhere.example/token"));
  /* Neither user info nor the query, which may hold credentials. */
  g_assert_null (strstr (error->message, "pw"));
  g_assert_null (strstr (error->message, "key=abc"));
}

/* A relative Location is resolved against the URL of the request. */
static void
test_redirect_relative (void)
{
  const struct {
    const char *location;
    const char *described;
  } cases[] = {
    { "/other?key=abc", "https://auth.example:8443/other" },
    { "other/token#f", "https://auth.example:8443/oauth/other/token" },
    { "../v2/token?key=abc", "https://auth.example:8443/v2/token" },
    { "//elsewhere.example/token?key=abc", "https://elsewhere.example/token" },
    { "https://user:pw@elsewhere.example/t?key=abc", "https://elsewhere.example/t" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
      g_autoptr(GBytes) body = g_bytes_new_static ("", 0);
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = NULL;
      GrantParseContext context = {
        .now = NOW,
        .request_url = "https://auth.example:8443/oauth/token?tenant=1",
      };

      soup_message_headers_replace (headers, "Location", cases[i].location);
      token = grant_response_parse (&context, 307, headers, body, &error);
      g_test_message ("%s -> %s", cases[i].location, error->message);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      g_assert_nonnull (strstr (error->message, cases[i].described));
      g_assert_null (strstr (error->message, "key=abc"));
      g_assert_null (strstr (error->message, "invalid URL"));
    }
}

static void
test_json_pointer (void)
{
  g_autoptr(JsonNode) root = json_from_string ("{\"data\":{\"accessToken\":\"x\",\"list\":[1,{\"a/b\":2,\"m~n\":3}]},"
                                               "\"\":4}", NULL);
  JsonNode *node;

  g_assert_true (grant_json_pointer_get (root, "") == root);
  node = grant_json_pointer_get (root, "/data/accessToken");
  g_assert_cmpstr (json_node_get_string (node), ==, "x");
  node = grant_json_pointer_get (root, "/data/list/0");
  g_assert_cmpint (json_node_get_int (node), ==, 1);
  node = grant_json_pointer_get (root, "/data/list/1/a~1b");
  g_assert_cmpint (json_node_get_int (node), ==, 2);
  node = grant_json_pointer_get (root, "/data/list/1/m~0n");
  g_assert_cmpint (json_node_get_int (node), ==, 3);
  node = grant_json_pointer_get (root, "/");
  g_assert_cmpint (json_node_get_int (node), ==, 4);

  g_assert_null (grant_json_pointer_get (root, "/data/list/2"));
  g_assert_null (grant_json_pointer_get (root, "/data/list/01"));
  g_assert_null (grant_json_pointer_get (root, "/data/list/-"));
  g_assert_null (grant_json_pointer_get (root, "/data/list/99999999999999999999"));
  g_assert_null (grant_json_pointer_get (root, "/data/accessToken/deeper"));
  g_assert_null (grant_json_pointer_get (root, "/missing"));
  g_assert_null (grant_json_pointer_get (root, "data"));
  g_assert_null (grant_json_pointer_get (root, "/data/~2"));
  g_assert_null (grant_json_pointer_get (NULL, "/data"));

  g_assert_true (grant_json_pointer_validate ("", NULL));
  g_assert_true (grant_json_pointer_validate ("/a~0~1", NULL));
  g_assert_false (grant_json_pointer_validate ("a", NULL));
  g_assert_false (grant_json_pointer_validate ("/a~", NULL));
}

static GrantToken *
parse_dialect (const char          *preset,
               guint                status,
               SoupMessageHeaders  *headers,
               const char          *body,
               GError             **error)
{
  g_autoptr(GrantDialect) dialect = grant_dialect_new_for_preset (preset, NULL);
  g_autoptr(SoupMessageHeaders) own_headers = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  GrantParseContext context = { .now = NOW, .dialect = dialect, .client_secret = "s3cret" };

  g_assert_nonnull (dialect);
  if (headers == NULL)
    headers = own_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  soup_message_headers_set_content_type (headers, "application/json", NULL);

  return grant_response_parse (&context, status, headers, bytes, error);
}

/* ExpertFile's documented answer, with the expiry 30 days after NOW. */
#define EXPERTFILE_OK \
  "{\"data\":{\"accessToken\":\"ef-token\",\"accessTokenExpiresAt\":\"2024-07-24T16:00:00.457Z\"," \
  "\"client\":\"my-client\",\"user\":4242,\"scope\":true},\"success\":true}"

static void
test_expertfile (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = parse_dialect ("expertfile", 200, NULL, EXPERTFILE_OK, &error);
  g_autoptr(GDateTime) expected = g_date_time_new_from_iso8601 ("2024-07-24T16:00:00.457Z", NULL);
  JsonNode *user;

  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (token), ==, "ef-token");
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_null (grant_token_get_scope (token));
  g_assert_true (g_date_time_equal (grant_token_get_expires_at (token), expected));

  user = json_object_get_member (json_object_get_object_member (json_node_get_object (grant_token_get_response (token)),
                                                                "data"), "user");
  g_assert_cmpint (json_node_get_int (user), ==, 4242);
}

static void
test_expertfile_failures (void)
{
  const struct {
    guint status;
    const char *body;
    GrantError code;
    const char *words;
  } cases[] = {
    { 200, "{\"success\":false,\"message\":\"Invalid client\"}", GRANT_ERROR_FAILED, "Invalid client" },
    { 401, "{\"success\":false,\"message\":\"Invalid client\"}", GRANT_ERROR_INVALID_CLIENT, "Invalid client" },
    { 200, "{\"success\":\"false\"}", GRANT_ERROR_FAILED, "/success is false" },
    /* success false wins over a token in the same answer */
    { 200, "{\"data\":{\"accessToken\":\"x\"},\"success\":false}", GRANT_ERROR_FAILED, "/success" },
    { 200, "{\"data\":{\"accessToken\":\"x\",\"accessTokenExpiresAt\":\"2020-01-01T00:00:00Z\"},\"success\":true}",
      GRANT_ERROR_INVALID_RESPONSE, "already expired" },
    { 200, "{\"data\":{\"accessToken\":\"x\",\"accessTokenExpiresAt\":\"next week\"},\"success\":true}",
      GRANT_ERROR_INVALID_RESPONSE, "ISO 8601" },
    { 200, "{\"data\":{\"accessToken\":\"x\",\"accessTokenExpiresAt\":{}},\"success\":true}",
      GRANT_ERROR_INVALID_RESPONSE, "ISO 8601" },
    { 200, "{\"access_token\":\"x\",\"success\":true}", GRANT_ERROR_INVALID_RESPONSE, "/data/accessToken" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = parse_dialect ("expertfile", cases[i].status, NULL, cases[i].body, &error);

      g_test_message ("case %u: %s", i, error ? error->message : "(no error)");
      g_assert_null (token);
      g_assert_error (error, GRANT_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].words));
    }
}

static void
test_expires_at_forms (void)
{
  const struct {
    const char *value;
    gint64 lifetime;
  } cases[] = {
    { "\"2024-06-24T17:00:00Z\"", 3600 },
    { "\"2024-06-24T18:00:00+01:00\"", 3600 },
    { "1719248400", 3600 },                 /* seconds since the epoch */
    { "1719248400000", 3600 },              /* milliseconds */
    { "\"1719248400\"", 3600 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *body = g_strdup_printf ("{\"data\":{\"accessToken\":\"t\",\"accessTokenExpiresAt\":%s}}",
                                               cases[i].value);
      g_autoptr(GrantToken) token = parse_dialect ("expertfile", 200, NULL, body, &error);

      g_test_message ("%s", cases[i].value);
      g_assert_no_error (error);
      g_assert_cmpint (lifetime_of (token), ==, cases[i].lifetime);
    }
}

static void
test_clock_skew (void)
{
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (NOW / G_USEC_PER_SEC);
  g_autoptr(GDateTime) server_now = g_date_time_add_hours (now, 1);
  g_autofree char *date = soup_date_time_to_string (server_now, SOUP_DATE_HTTP);
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) relative = NULL;
  g_autoptr(GrantToken) would_be_dead = NULL;
  const char *body;

  /* The server's clock is an hour ahead: its "expires in two hours" says
   * 18:00 by its clock, which is 17:00 by ours. */
  soup_message_headers_replace (headers, "Date", date);
  body = "{\"data\":{\"accessToken\":\"t\",\"accessTokenExpiresAt\":\"2024-06-24T18:00:00Z\"}}";
  token = parse_dialect ("expertfile", 200, headers, body, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lifetime_of (token), ==, 3600);

  /* Our clock ahead instead: a token that looks expired by our clock is
   * not thrown away when the server says it is valid for another hour. */
  {
    g_autoptr(GDateTime) behind = g_date_time_add_hours (now, -2);
    g_autofree char *behind_date = soup_date_time_to_string (behind, SOUP_DATE_HTTP);

    soup_message_headers_replace (headers, "Date", behind_date);
    body = "{\"data\":{\"accessToken\":\"t\",\"accessTokenExpiresAt\":\"2024-06-24T15:00:00Z\"}}";
    would_be_dead = parse_dialect ("expertfile", 200, headers, body, &error);
    g_assert_no_error (error);
    g_assert_cmpint (lifetime_of (would_be_dead), ==, 3600);
  }

  /* A Date more than a day away is not believed (a cached answer, a
   * proxy's clock): the expiry is taken as it is. */
  {
    g_autoptr(GDateTime) far = g_date_time_add_days (now, -3);
    g_autofree char *far_date = soup_date_time_to_string (far, SOUP_DATE_HTTP);
    g_autoptr(GrantToken) unskewed = NULL;

    soup_message_headers_replace (headers, "Date", far_date);
    body = "{\"data\":{\"accessToken\":\"t\",\"accessTokenExpiresAt\":\"2024-06-24T17:00:00Z\"}}";
    unskewed = parse_dialect ("expertfile", 200, headers, body, &error);
    g_assert_no_error (error);
    g_assert_cmpint (lifetime_of (unskewed), ==, 3600);
  }

  /* A relative expiry needs no correction. */
  soup_message_headers_replace (headers, "Date", date);
  relative = parse_dialect ("rfc6749", 200, headers, "{\"access_token\":\"t\",\"expires_in\":60}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (lifetime_of (relative), ==, 60);
}

static void
test_both_expiries (void)
{
  g_autoptr(GrantDialect) dialect = g_object_new (GRANT_TYPE_DIALECT,
                                                  "expires-at-pointer", "/expires_at",
                                                  NULL);
  const char *text = "{\"access_token\":\"t\",\"expires_in\":600,"
                     "\"expires_at\":\"2024-06-24T16:05:00Z\"}";
  g_autoptr(GBytes) body = g_bytes_new_static (text, strlen (text));
  GrantParseContext context = { .now = NOW, .dialect = dialect };
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = grant_response_parse (&context, 200, NULL, body, &error);

  /* The earlier of the two. */
  g_assert_no_error (error);
  g_assert_cmpint (lifetime_of (token), ==, 300);
}

static void
test_json_body_dialect (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = parse_dialect ("json-body", 200, NULL,
                                               "{\"access_token\":\"jb\",\"expires_in\":7200}", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpint (lifetime_of (token), ==, 7200);
}

static void
test_smartdocumentor_error (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = parse_dialect ("smartdocumentor", 400, NULL, "{\n    \"error\": \"invalid_client\"\n}",
                                               &error);

  g_assert_null (token);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_nonnull (strstr (error->message, "invalid_client (HTTP 400"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/response/standard", test_standard);
  g_test_add_func ("/response/expires-in/forms", test_expires_in_forms);
  g_test_add_func ("/response/expires-in/missing", test_expires_in_missing);
  g_test_add_func ("/response/expires-in/bad", test_expires_in_bad);
  g_test_add_func ("/response/token-type", test_token_type);
  g_test_add_func ("/response/scope-types", test_scope_types);
  g_test_add_func ("/response/scope-not-a-string", test_scope_not_a_string);
  g_test_add_func ("/response/form", test_form_response);
  g_test_add_func ("/response/errors/oauth", test_oauth_errors);
  g_test_add_func ("/response/errors/description-sanitized", test_error_description_sanitized);
  g_test_add_func ("/response/errors/not-json", test_non_json);
  g_test_add_func ("/response/errors/secret-echo-redacted", test_secret_echo_redacted);
  g_test_add_func ("/response/errors/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/response/errors/embedded-nul", test_embedded_nul);
  g_test_add_func ("/response/errors/deep-nesting", test_deep_nesting);
  g_test_add_func ("/response/errors/redirect", test_redirect);
  g_test_add_func ("/response/errors/redirect-relative", test_redirect_relative);
  g_test_add_func ("/response/errors/unknown-codes", test_unknown_codes);
  g_test_add_func ("/response/redact/credentials", test_redact_credentials);
  g_test_add_func ("/response/redact/pathological", test_redact_pathological);
  g_test_add_func ("/response/errors/utf8-from-escapes", test_utf8_from_escapes);
  g_test_add_func ("/response/json-pointer", test_json_pointer);
  g_test_add_func ("/response/dialect/expertfile", test_expertfile);
  g_test_add_func ("/response/dialect/expertfile-failures", test_expertfile_failures);
  g_test_add_func ("/response/dialect/expires-at-forms", test_expires_at_forms);
  g_test_add_func ("/response/dialect/clock-skew", test_clock_skew);
  g_test_add_func ("/response/dialect/both-expiries", test_both_expiries);
  g_test_add_func ("/response/dialect/json-body", test_json_body_dialect);
  g_test_add_func ("/response/dialect/smartdocumentor-error", test_smartdocumentor_error);

  return g_test_run ();
}
