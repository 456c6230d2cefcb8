/* test-faults.c: the fault matrix. Each fault gives the caller the
 * documented error or a correct token, never a crash, a hang, a leak, an
 * expired token or the secret; and the provider works for the next call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "fault-server.h"
#include "test-utils.h"

#define SECRET "fault-canary-secret"

static GrantTokenProvider *
provider_for (FaultServer *server)
{
  GrantTokenProvider *provider = grant_token_provider_new (fault_server_get_url (server), "fault-client", SECRET);

  grant_token_provider_set_auto_refresh (provider, FALSE);
  test_fast_retries (provider, 3);

  return provider;
}

/* After a fault, the same provider gets a good token from a good answer. */
static void
assert_recovers (GrantTokenProvider *provider)
{
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_invalidate (provider, NULL);
  test_provider_wait_quiet (provider, NULL);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (grant_token_get_access_token (token), "fault-token-"));
  g_assert_false (grant_token_is_expired (token, 0));
}

static void
assert_clean_error (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_null (strstr (error->message, SECRET));
  g_assert_null (strstr (error->message, "fault-token-"));
}

typedef struct {
  const char *name;
  FaultKind kind;
  guint status;
  const char *headers;
  const char *body;
  gssize body_length;          /* -1: strlen */
  guint repeat;                /* how many times the fault is queued */
  GQuark domain;               /* 0: a token is expected */
  int code;                    /* -1: any code of the domain */
  guint requests;              /* token requests the call makes */
  const char *words;           /* in the error message, or NULL */
} Fault;

static void
run_fault (const Fault *fault)
{
  g_autoptr(FaultServer) server = fault_server_new (NULL);
  GrantTokenProvider *provider = provider_for (server);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  g_test_message ("%s", fault->name);
  for (guint i = 0; i < MAX (fault->repeat, 1); i++)
    {
      g_autoptr(GBytes) body = NULL;

      if (fault->body != NULL)
        body = g_bytes_new (fault->body, fault->body_length >= 0 ? (gsize) fault->body_length
                                                                 : strlen (fault->body));
      fault_server_push (server, fault->kind, fault->status, fault->headers, body);
    }

  token = test_provider_get_token (provider, NULL, &error);
  if (fault->domain == 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (token);
      g_assert_false (grant_token_is_expired (token, 0));
    }
  else
    {
      g_test_message ("  -> %s", error ? error->message : "(a token)");
      g_assert_null (token);
      assert_clean_error (error);
      g_assert_true (error->domain == fault->domain);
      if (fault->code >= 0)
        g_assert_cmpint (error->code, ==, fault->code);
      if (fault->words != NULL)
        g_assert_nonnull (strstr (error->message, fault->words));
    }
  g_assert_cmpuint (fault_server_get_requests (server), ==, fault->requests);

  assert_recovers (provider);
  g_assert_finalize_object (provider);
}

#define TOKEN_BODY(extra) "{\"access_token\":\"fault-token-x\",\"token_type\":\"Bearer\"" extra "}"
#define JSON "Content-Type: application/json\r\n"

static void
test_transport (void)
{
  const Fault faults[] = {
    { "reset before the answer, once", FAULT_RESET_BEFORE, 0, NULL, NULL, 0, 1, 0, 0, 2 },
    { "reset before the answer, always", FAULT_RESET_BEFORE, 0, NULL, NULL, 0, 3, G_IO_ERROR, -1, 3 },
    { "reset during the answer, always", FAULT_RESET_DURING, 200, JSON, TOKEN_BODY (",\"expires_in\":60"), -1, 3, G_IO_ERROR, -1, 3 },
    { "dripped one byte at a time", FAULT_DRIP, 200, JSON, TOKEN_BODY (",\"expires_in\":60"), -1, 1, 0, 0, 1 },
    { "a body shorter than its Content-Length", FAULT_SHORT_BODY, 200, JSON, TOKEN_BODY (",\"expires_in\":60"), -1, 3, G_IO_ERROR, -1, 3 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    run_fault (&faults[i]);
}

static void
test_server_errors (void)
{
  const guint statuses[] = { 500, 502, 503, 504 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      /* Twice, then a token: the retries get there. */
      const Fault recovering = { "5xx twice", FAULT_ANSWER, statuses[i], "Content-Type: text/html\r\n",
                                 "<html>busy</html>", -1, 2, 0, 0, 3 };
      /* Always: the error, once the attempts are spent. */
      const Fault failing = { "5xx always", FAULT_ANSWER, statuses[i], "Content-Type: text/html\r\n",
                              "<html>busy</html>", -1, 3, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR, 3 };

      run_fault (&recovering);
      run_fault (&failing);
    }
}

static void
test_rate_limited (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) soon = g_date_time_add_seconds (now, 2);
  g_autofree char *date = soup_date_time_to_string (soon, SOUP_DATE_HTTP);
  g_autofree char *date_header = g_strdup_printf ("Retry-After: %s\r\n", date);
  const Fault seconds = { "429, Retry-After in seconds", FAULT_ANSWER, 429, "Retry-After: 1\r\n",
                          "", -1, 1, 0, 0, 2 };
  const Fault http_date = { "429, Retry-After as a date", FAULT_ANSWER, 429, date_header,
                            "", -1, 1, 0, 0, 2 };
  const Fault always = { "429 always", FAULT_ANSWER, 429, "Retry-After: 0\r\n",
                         "{\"error\":\"slow_down\"}", -1, 3, GRANT_ERROR, GRANT_ERROR_RATE_LIMITED, 3 };
  gint64 started = g_get_monotonic_time ();

  run_fault (&seconds);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 900 * 1000);
  run_fault (&http_date);
  run_fault (&always);
}

static void
test_bodies (void)
{
  g_autofree char *deep = NULL;
  g_autoptr(GString) nested = g_string_new (TOKEN_BODY (",\"x\":"));
  const char non_utf8[] = "{\"access_token\":\"\xff\xfe\",\"expires_in\":60}";

  for (guint i = 0; i < 50000; i++)
    g_string_append_c (nested, '[');
  deep = g_string_free (g_steal_pointer (&nested), FALSE);

  {
    const Fault faults[] = {
      { "malformed JSON", FAULT_ANSWER, 200, JSON, "{\"access_token\": \"abc\"", -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "access_token a number", FAULT_ANSWER, 200, JSON, "{\"access_token\":42}", -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "expires_in an object", FAULT_ANSWER, 200, JSON, TOKEN_BODY (",\"expires_in\":{}"), -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "a top-level array", FAULT_ANSWER, 200, JSON, "[{\"access_token\":\"a\"}]", -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "an empty body", FAULT_ANSWER, 200, JSON, "", -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "deeply nested", FAULT_ANSWER, 200, JSON, deep, -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "not UTF-8", FAULT_ANSWER, 200, JSON, non_utf8, sizeof non_utf8 - 1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "expires_in 0", FAULT_ANSWER, 200, JSON, TOKEN_BODY (",\"expires_in\":0"), -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "expires_in negative", FAULT_ANSWER, 200, JSON, TOKEN_BODY (",\"expires_in\":-3600"), -1, 1, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 },
      { "expires_in 2^63", FAULT_ANSWER, 200, JSON, TOKEN_BODY (",\"expires_in\":9223372036854775808"), -1, 1, 0, 0, 1 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
      run_fault (&faults[i]);
  }
}

static void
test_huge_body (void)
{
  gsize size = 10 * 1024 * 1024;
  g_autofree char *huge = g_malloc (size);
  const Fault fault = { "a 10 MiB body", FAULT_ANSWER, 200, JSON, huge, (gssize) size, 1,
                        GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, 1 };

  memset (huge, ' ', size);
  memcpy (huge, "{\"access_token\":\"a\"}", 20);
  run_fault (&fault);
}

static void
test_hang (void)
{
  g_autoptr(FaultServer) server = fault_server_new (NULL);
  GrantTokenProvider *provider = provider_for (server);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  gint64 started;

  /* No answer: the timeout ends it. One attempt here, to keep it short. */
  grant_token_provider_set_timeout (provider, 1);
  test_fast_retries (provider, 1);
  fault_server_push_simple (server, FAULT_HANG, 0, NULL, NULL);
  started = g_get_monotonic_time ();
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  assert_clean_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 3 * G_USEC_PER_SEC);

  assert_recovers (provider);
  g_assert_finalize_object (provider);
}

static void
test_redirects (void)
{
  const guint statuses[] = { 301, 302, 303, 307, 308 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autoptr(FaultServer) server = fault_server_new (NULL);
      g_autoptr(FaultServer) elsewhere = fault_server_new (NULL);
      g_autofree char *location = g_strdup_printf ("Location: %s\r\n", fault_server_get_url (elsewhere));
      GrantTokenProvider *provider = provider_for (server);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *status = g_strdup_printf ("%u", statuses[i]);

      /* Basic, so that a followed redirect would carry the credentials in
       * a header too. */
      grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
      fault_server_push_simple (server, FAULT_ANSWER, statuses[i], location, "");
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      assert_clean_error (error);
      g_assert_nonnull (strstr (error->message, status));
      g_assert_cmpuint (fault_server_get_requests (elsewhere), ==, 0);

      assert_recovers (provider);
      g_assert_cmpuint (fault_server_get_requests (elsewhere), ==, 0);
      g_assert_finalize_object (provider);
    }
}

/* Web frameworks answer errors with JSON of their own, whose "error" is the
 * status phrase, not an OAuth code: the status decides, and the phrase stays
 * in the message. */
#define SPRING_401 "{\"timestamp\":\"2024-06-24T16:00:00.000+00:00\",\"status\":401," \
                   "\"error\":\"Unauthorized\",\"path\":\"/token\"}"
#define HAPI_500 "{\"statusCode\":500,\"error\":\"Internal Server Error\"," \
                 "\"message\":\"An internal server error occurred\"}"
#define HAPI_429 "{\"statusCode\":429,\"error\":\"Too Many Requests\"," \
                 "\"message\":\"Rate limit exceeded\"}"
#define HAPI_400 "{\"statusCode\":400,\"error\":\"Bad Request\"," \
                 "\"message\":\"Invalid request payload input\"}"

static void
test_framework_errors (void)
{
  const Fault faults[] = {
    { "Spring Boot 401", FAULT_ANSWER, 401, JSON, SPRING_401, -1, 1,
      GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT, 1, "Unauthorized" },
    { "hapi 500 always", FAULT_ANSWER, 500, JSON, HAPI_500, -1, 3,
      GRANT_ERROR, GRANT_ERROR_SERVER_ERROR, 3, "An internal server error occurred" },
    { "hapi 500 twice, then a token", FAULT_ANSWER, 500, JSON, HAPI_500, -1, 2, 0, 0, 3 },
    { "hapi 429 always", FAULT_ANSWER, 429, "Retry-After: 0\r\n" JSON, HAPI_429, -1, 3,
      GRANT_ERROR, GRANT_ERROR_RATE_LIMITED, 3, "Rate limit exceeded" },
    { "hapi 400", FAULT_ANSWER, 400, JSON, HAPI_400, -1, 1,
      GRANT_ERROR, GRANT_ERROR_FAILED, 1, "“Bad Request”: Invalid request payload input" },
    { "503 with a phrase, twice", FAULT_ANSWER, 503, JSON, "{\"error\":\"Service Unavailable\"}", -1, 2, 0, 0, 3 },
    { "408 with a phrase, twice", FAULT_ANSWER, 408, JSON, "{\"error\":\"Request Timeout\"}", -1, 2, 0, 0, 3 },
    { "403 with a phrase", FAULT_ANSWER, 403, JSON, "{\"error\":\"Forbidden\"}", -1, 1,
      GRANT_ERROR, GRANT_ERROR_FAILED, 1, "Forbidden" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    run_fault (&faults[i]);
}

/* AUTO takes a framework's 401 to Basic as a refusal of the method and
 * sends the credentials in the body instead. */
static void
test_framework_401_auto (void)
{
  g_autoptr(FaultServer) server = fault_server_new (NULL);
  GrantTokenProvider *provider = provider_for (server);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  const char *last;

  grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
  fault_server_push_simple (server, FAULT_ANSWER, 401, JSON, SPRING_401);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpuint (fault_server_get_requests (server), ==, 2);

  last = fault_server_get_last_request (server);
  g_assert_nonnull (strstr (last, "client_secret="));
  g_assert_null (strstr (last, "Authorization:"));

  g_assert_finalize_object (provider);
}

/* "scope": null, or a scope that is not a string, names no scope: the
 * token has the one requested. */
static void
test_scope_not_a_string (void)
{
  const char *bodies[] = {
    TOKEN_BODY (",\"expires_in\":60,\"scope\":null"),
    TOKEN_BODY (",\"expires_in\":60,\"scope\":42"),
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(FaultServer) server = fault_server_new (NULL);
      GrantTokenProvider *provider = provider_for (server);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bodies[i]);
      grant_token_provider_set_scope (provider, "read write");
      fault_server_push_simple (server, FAULT_ANSWER, 200, JSON, bodies[i]);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_token_get_scope (token), ==, "read write");
      g_assert_finalize_object (provider);
    }
}

/* A relative Location is on the token URL's origin: the message names
 * where, without the query. */
static void
test_relative_redirect (void)
{
  g_autoptr(FaultServer) server = fault_server_new (NULL);
  GrantTokenProvider *provider = provider_for (server);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *origin = g_strndup (fault_server_get_url (server),
                                       strlen (fault_server_get_url (server)) - strlen ("/token"));
  g_autofree char *expected = g_strconcat (origin, "/oauth/v2/token", NULL);

  fault_server_push_simple (server, FAULT_ANSWER, 308, "Location: /oauth/v2/token?key=abc\r\n", "");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_test_message ("%s", error->message);
  assert_clean_error (error);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_null (strstr (error->message, "invalid URL"));
  g_assert_null (strstr (error->message, "key=abc"));
  g_assert_cmpuint (fault_server_get_requests (server), ==, 1);

  g_assert_finalize_object (provider);
}

/* The echo test's credentials: form encoding, percent-encoding and base64
 * each write them differently. */
#define ECHO_ID "echo client"
#define ECHO_SECRET "echo-canary/+%:~ !*>?>"

/* application/x-www-form-urlencoded, with the case of the hexadecimal
 * digits and the spelling of a space to choose. */
static char *
form_encode (const char *value,
             gboolean    lower,
             gboolean    space_as_plus)
{
  GString *out = g_string_new (NULL);

  for (const guchar *p = (const guchar *) value; *p; p++)
    {
      if (g_ascii_isalnum (*p) || strchr ("-._*", *p) != NULL)
        g_string_append_c (out, *p);
      else if (*p == ' ' && space_as_plus)
        g_string_append_c (out, '+');
      else
        g_string_append_printf (out, lower ? "%%%02x" : "%%%02X", *p);
    }

  return g_string_free (out, FALSE);
}

/* Every byte other than a letter or a digit as a JSON \u escape. */
static char *
json_u_escape (const char *value)
{
  GString *out = g_string_new (NULL);

  for (const guchar *p = (const guchar *) value; *p; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (out, *p);
      else
        g_string_append_printf (out, "\\u%04X", *p);
    }

  return g_string_free (out, FALSE);
}

static void
add_base64_variants (GPtrArray  *variants,
                     const char *data)
{
  char *standard = g_base64_encode ((const guchar *) data, strlen (data));
  char *url_safe = g_strdup (standard);
  char *unpadded = g_strdup (standard);

  g_strdelimit (url_safe, "+", '-');
  g_strdelimit (url_safe, "/", '_');
  *strchr (unpadded, '=') = '\0';

  g_ptr_array_add (variants, g_strconcat ("Basic ", standard, NULL));
  g_ptr_array_add (variants, standard);
  g_ptr_array_add (variants, url_safe);
  g_ptr_array_add (variants, unpadded);
}

/* The ways a server could echo the credentials. */
static GPtrArray *
echo_variants (void)
{
  GPtrArray *variants = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *form = form_encode (ECHO_SECRET, FALSE, TRUE);
  g_autofree char *form_id = form_encode (ECHO_ID, FALSE, TRUE);
  g_autofree char *raw_pair = g_strconcat (ECHO_ID, ":", ECHO_SECRET, NULL);
  g_autofree char *form_pair = g_strconcat (form_id, ":", form, NULL);
  const char *reserved[] = {
    NULL,
    G_URI_RESERVED_CHARS_SUBCOMPONENT_DELIMITERS,
    G_URI_RESERVED_CHARS_ALLOWED_IN_PATH_ELEMENT,
    G_URI_RESERVED_CHARS_ALLOWED_IN_PATH,
    G_URI_RESERVED_CHARS_ALLOWED_IN_USERINFO,
    G_URI_RESERVED_CHARS_GENERIC_DELIMITERS G_URI_RESERVED_CHARS_SUBCOMPONENT_DELIMITERS,
  };

  g_ptr_array_add (variants, g_strdup (ECHO_SECRET));
  g_ptr_array_add (variants, g_strdup (form));
  g_ptr_array_add (variants, form_encode (ECHO_SECRET, TRUE, TRUE));
  g_ptr_array_add (variants, form_encode (ECHO_SECRET, FALSE, FALSE));
  for (guint i = 0; i < G_N_ELEMENTS (reserved); i++)
    {
      g_autofree char *escaped = g_uri_escape_string (ECHO_SECRET, reserved[i], FALSE);

      g_ptr_array_add (variants, g_strdup (escaped));
      g_ptr_array_add (variants, g_ascii_strdown (escaped, -1));
    }
  /* Percent-encoded twice, as a value in a URL that is itself a value. */
  g_ptr_array_add (variants, g_uri_escape_string (form, NULL, FALSE));
  /* As a JSON encoder that escapes '/' writes it, or one that escapes
   * everything. */
  {
    g_autoptr(GString) slashes = g_string_new (ECHO_SECRET);

    g_string_replace (slashes, "/", "\\/", 0);
    g_ptr_array_add (variants, g_strdup (slashes->str));
  }
  g_ptr_array_add (variants, json_u_escape (ECHO_SECRET));
  add_base64_variants (variants, raw_pair);
  add_base64_variants (variants, form_pair);

  return variants;
}

/* A server that echoes what it got into its error (the Authorization
 * header, the body, and the credentials spelled in every way) never gets
 * any of it into the message, which still says what happened. */
static void
test_echoed_credentials (void)
{
  g_autoptr(GPtrArray) variants = echo_variants ();
  const char *templates[] = {
    "{\"error\":\"invalid_client\",\"error_description\":\"you sent {authorization} and {body} and {variant}\"}",
    "{\"status\":401,\"error\":\"Unauthorized: {authorization}\",\"message\":\"{body} {variant}\",\"path\":\"/token\"}",
  };
  const GrantAuthMethod methods[] = {
    GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
    GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
  };

  for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
    for (guint t = 0; t < G_N_ELEMENTS (templates); t++)
      for (guint v = 0; v < variants->len; v++)
        {
          g_autoptr(FaultServer) server = fault_server_new (NULL);
          GrantTokenProvider *provider = grant_token_provider_new (fault_server_get_url (server),
                                                                   ECHO_ID, ECHO_SECRET);
          const char *variant = g_ptr_array_index (variants, v);
          g_autoptr(GString) quoted = g_string_new (NULL);
          g_autoptr(GString) body = g_string_new (templates[t]);
          g_autoptr(GrantToken) token = NULL;
          g_autoptr(GError) error = NULL;

          /* Into the template as a JSON string holds it, so that the
           * decoded text is the variant itself. */
          for (const char *p = variant; *p; p++)
            {
              if (*p == '"' || *p == '\\')
                g_string_append_c (quoted, '\\');
              g_string_append_c (quoted, *p);
            }
          g_string_replace (body, "{variant}", quoted->str, 0);

          grant_token_provider_set_auto_refresh (provider, FALSE);
          grant_token_provider_set_auth_method (provider, methods[m]);
          test_fast_retries (provider, 1);
          fault_server_push_simple (server, FAULT_ECHO, 401, JSON, body->str);

          token = test_provider_get_token (provider, NULL, &error);
          g_assert_null (token);
          g_test_message ("%s -> %s", variant, error->message);
          g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
          g_assert_nonnull (strstr (error->message, "HTTP 401"));
          g_assert_nonnull (strstr (error->message, "[REDACTED]"));
          for (guint k = 0; k < variants->len; k++)
            g_assert_null (strstr (error->message, g_ptr_array_index (variants, k)));
          g_assert_null (strstr (error->message, "echo-canary"));
          g_assert_finalize_object (provider);
        }
}

static gboolean
make_certificate (char **cert_path,
                  char **key_path)
{
  g_autofree char *dir = g_dir_make_tmp ("grant-tls-XXXXXX", NULL);
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *command = NULL;
  int status;

  if (dir == NULL || openssl == NULL)
    return FALSE;

  *cert_path = g_build_filename (dir, "cert.pem", NULL);
  *key_path = g_build_filename (dir, "key.pem", NULL);
  command = g_strdup_printf ("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s",
                             *key_path, *cert_path);

  return g_spawn_command_line_sync (command, NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

static void
test_self_signed_tls (void)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(FaultServer) server = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(SoupSession) trusting = NULL;
  GrantTokenProvider *provider = NULL;
  GrantTokenProvider *opted_in = NULL;
  g_autoptr(GrantToken) refused = NULL;
  g_autoptr(GrantToken) accepted = NULL;
  g_autoptr(GError) error = NULL;

#if defined(__SANITIZE_ADDRESS__)
  /* LeakSanitizer's tracer crashes at exit once GnuTLS (through
   * glib-networking) has run; this test runs in the other builds. */
  g_test_skip ("LeakSanitizer cannot stop GnuTLS's threads");
  return;
#endif

  if (!make_certificate (&cert_path, &key_path))
    {
      g_test_skip ("openssl cannot make a test certificate");
      return;
    }

  certificate = g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);
  server = fault_server_new (certificate);

  /* Rejected by default, before any request is sent. */
  provider = provider_for (server);
  refused = test_provider_get_token (provider, NULL, &error);
  g_assert_null (refused);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == G_TLS_ERROR);
  assert_clean_error (error);
  g_assert_cmpuint (fault_server_get_requests (server), ==, 0);
  g_clear_error (&error);

  /* Accepted when the application trusts it, with a session of its own. */
  database = g_tls_file_database_new (cert_path, &error);
  g_assert_no_error (error);
  trusting = soup_session_new_with_options ("tls-database", database, NULL);
  opted_in = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                           "token-url", fault_server_get_url (server),
                           "client-id", "fault-client",
                           "client-secret", SECRET,
                           "session", trusting,
                           "auto-refresh", FALSE,
                           NULL);
  accepted = test_provider_get_token (opted_in, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fault_server_get_requests (server), ==, 1);

  g_assert_finalize_object (provider);
  g_assert_finalize_object (opted_in);
  g_unlink (cert_path);
  g_unlink (key_path);
}

/* The matrix runs twice: with the asynchronous call, then with the
 * blocking one, which runs the fetch on the caller's thread with
 * libsoup's blocking API (the provider's own session, no store). */

static void
run_async (gconstpointer data)
{
  test_use_blocking_calls (FALSE);
  ((GTestFunc) data) ();
}

static void
run_blocking (gconstpointer data)
{
  test_use_blocking_calls (TRUE);
  ((GTestFunc) data) ();
}

int
main (int   argc,
      char *argv[])
{
  static const struct {
    const char *path;
    GTestFunc func;
  } tests[] = {
    { "transport", test_transport },
    { "hang", test_hang },
    { "server-errors", test_server_errors },
    { "rate-limited", test_rate_limited },
    { "bodies", test_bodies },
    { "huge-body", test_huge_body },
    { "redirects", test_redirects },
    { "redirects/relative", test_relative_redirect },
    { "framework-errors", test_framework_errors },
    { "framework-errors/auto", test_framework_401_auto },
    { "scope-not-a-string", test_scope_not_a_string },
    { "echoed-credentials", test_echoed_credentials },
    { "self-signed-tls", test_self_signed_tls },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    {
      g_autofree char *async_path = g_strconcat ("/faults/", tests[i].path, NULL);
      g_autofree char *blocking_path = g_strconcat ("/faults/blocking/", tests[i].path, NULL);

      g_test_add_data_func (async_path, tests[i].func, run_async);
      g_test_add_data_func (blocking_path, tests[i].func, run_blocking);
    }

  return g_test_run ();
}
