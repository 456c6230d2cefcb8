/* test-request.c: building token requests, on bytes alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <grant.h>
#include <libsoup/soup.h>

#include "grant-request-private.h"
#include "grant-utils-private.h"

static char *
body_string (GrantRequest *request)
{
  gsize len;
  const char *data = g_bytes_get_data (request->body, &len);

  return g_strndup (data, len);
}

static void
test_form_post (void)
{
  GrantRequestSpec spec = {
    .client_id = "my-client",
    .client_secret = "s3cret",
    .auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
    .format = GRANT_REQUEST_FORMAT_FORM,
  };
  g_autoptr(GrantRequest) request = grant_request_build (&spec);
  g_autofree char *body = body_string (request);

  g_assert_cmpstr (request->content_type, ==, "application/x-www-form-urlencoded");
  g_assert_null (request->authorization);
  g_assert_cmpstr (body, ==, "grant_type=client_credentials&client_id=my-client&client_secret=s3cret");
}

static void
test_form_scope_and_parameters (void)
{
  g_autoptr(GPtrArray) parameters = g_ptr_array_new_with_free_func ((GDestroyNotify) grant_parameter_free);
  GrantRequestSpec spec = {
    .client_id = "c",
    .client_secret = "s",
    .scope = "officernd.api.read officernd.api.write",
    .parameters = parameters,
    .auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
    .format = GRANT_REQUEST_FORMAT_FORM,
  };
  g_autoptr(GrantRequest) request = NULL;
  g_autofree char *body = NULL;
  g_autoptr(GHashTable) decoded = NULL;

  g_ptr_array_add (parameters, grant_parameter_new ("audience", "https://api.example.com/&x=1"));
  g_ptr_array_add (parameters, grant_parameter_new ("resource", "urn:a b"));
  request = grant_request_build (&spec);
  body = body_string (request);

  g_assert_cmpstr (body, ==,
                   "grant_type=client_credentials"
                   "&scope=officernd.api.read+officernd.api.write"
                   "&audience=https%3A%2F%2Fapi.example.com%2F%26x%3D1"
                   "&resource=urn%3Aa+b"
                   "&client_id=c&client_secret=s");

  /* And it decodes back to the same values with libsoup's decoder. */
  decoded = soup_form_decode (body);
  g_assert_cmpstr (g_hash_table_lookup (decoded, "audience"), ==, "https://api.example.com/&x=1");
  g_assert_cmpstr (g_hash_table_lookup (decoded, "resource"), ==, "urn:a b");
  g_assert_cmpstr (g_hash_table_lookup (decoded, "scope"), ==, "officernd.api.read officernd.api.write");
}

static void
test_basic_encoding (void)
{
  /* RFC 6749 section 2.3.1: form-encode id and secret, then base64. */
  const struct {
    const char *id;
    const char *secret;
    const char *joined;
  } cases[] = {
    { "plain", "secret", "plain:secret" },
    { "my client", "p:ss%&+ w", "my+client:p%3Ass%25%26%2B+w" },
    { "id:with:colons", "a/b~c*d", "id%3Awith%3Acolons:a%2Fb%7Ec*d" },
    { "ünï", "çödé", "%C3%BCn%C3%AF:%C3%A7%C3%B6d%C3%A9" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GrantRequestSpec spec = {
        .client_id = cases[i].id,
        .client_secret = cases[i].secret,
        .auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
      };
      g_autoptr(GrantRequest) request = grant_request_build (&spec);
      g_autofree char *body = body_string (request);
      g_autofree char *expected_b64 = g_base64_encode ((const guchar *) cases[i].joined,
                                                       strlen (cases[i].joined));
      g_autofree char *expected = g_strconcat ("Basic ", expected_b64, NULL);

      g_assert_cmpstr (request->authorization, ==, expected);
      /* Neither the id nor the secret goes into the body as well. */
      g_assert_cmpstr (body, ==, "grant_type=client_credentials");
    }
}

static void
test_none (void)
{
  GrantRequestSpec spec = {
    .client_id = "public app",
    .client_secret = "ignored",
    .auth_method = GRANT_AUTH_METHOD_NONE,
  };
  g_autoptr(GrantRequest) request = grant_request_build (&spec);
  g_autofree char *body = body_string (request);

  g_assert_null (request->authorization);
  g_assert_cmpstr (body, ==, "grant_type=client_credentials&client_id=public+app");
  g_assert_null (strstr (body, "ignored"));
}

/* Mutual TLS: the certificate proves the client; no secret goes out. */
static void
test_mutual_tls (void)
{
  const GrantAuthMethod methods[] = {
    GRANT_AUTH_METHOD_TLS_CLIENT_AUTH,
    GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH,
  };
  const char *names[] = { "tls_client_auth", "self_signed_tls_client_auth" };

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      GrantRequestSpec spec = {
        .client_id = "mtls app",
        .client_secret = "not sent",
        .auth_method = methods[i],
      };
      g_autoptr(GrantRequest) request = grant_request_build (&spec);
      g_autofree char *body = body_string (request);
      GrantAuthMethod parsed = GRANT_AUTH_METHOD_AUTO;

      g_assert_null (request->authorization);
      g_assert_cmpstr (body, ==, "grant_type=client_credentials&client_id=mtls+app");
      g_assert_true (grant_auth_method_is_mutual_tls (methods[i]));
      g_assert_cmpstr (grant_auth_method_to_string (methods[i]), ==, names[i]);
      g_assert_true (grant_auth_method_from_string (names[i], &parsed));
      g_assert_cmpint (parsed, ==, methods[i]);
    }
  g_assert_false (grant_auth_method_is_mutual_tls (GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC));
}

static void
test_json (void)
{
  g_autoptr(GPtrArray) parameters = g_ptr_array_new_with_free_func ((GDestroyNotify) grant_parameter_free);
  GrantRequestSpec spec = {
    .client_id = "id \"quoted\"",
    .client_secret = "se\\cret",
    .scope = "WebAPI",
    .parameters = parameters,
    .auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
    .format = GRANT_REQUEST_FORMAT_JSON,
  };
  g_autoptr(GrantRequest) request = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  gsize len;
  const char *data;

  g_ptr_array_add (parameters, grant_parameter_new ("audience", "api"));
  request = grant_request_build (&spec);
  data = g_bytes_get_data (request->body, &len);

  g_assert_cmpstr (request->content_type, ==, "application/json");
  g_assert_true (json_parser_load_from_data (parser, data, len, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpuint (json_object_get_size (object), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (object, "grant_type"), ==, "client_credentials");
  g_assert_cmpstr (json_object_get_string_member (object, "client_id"), ==, "id \"quoted\"");
  g_assert_cmpstr (json_object_get_string_member (object, "client_secret"), ==, "se\\cret");
  g_assert_cmpstr (json_object_get_string_member (object, "scope"), ==, "WebAPI");
  g_assert_cmpstr (json_object_get_string_member (object, "audience"), ==, "api");
}

static void
test_json_basic (void)
{
  GrantRequestSpec spec = {
    .client_id = "c",
    .client_secret = "s",
    .auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
    .format = GRANT_REQUEST_FORMAT_JSON,
  };
  g_autoptr(GrantRequest) request = grant_request_build (&spec);
  g_autofree char *body = body_string (request);

  g_assert_nonnull (request->authorization);
  g_assert_cmpstr (body, ==, "{\"grant_type\":\"client_credentials\"}");
}

static void
test_reserved_names (void)
{
  g_assert_true (grant_parameter_name_is_reserved ("grant_type"));
  g_assert_true (grant_parameter_name_is_reserved ("client_id"));
  g_assert_true (grant_parameter_name_is_reserved ("client_secret"));
  g_assert_true (grant_parameter_name_is_reserved ("scope"));
  g_assert_false (grant_parameter_name_is_reserved ("audience"));
}

static void
test_form_encode_value (void)
{
  const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "", "" },
    { "abcXYZ019-._*", "abcXYZ019-._*" },
    { " ", "+" },
    { "+", "%2B" },
    { "a&b=c", "a%26b%3Dc" },
    { "~/?#[]@!$'()", "%7E%2F%3F%23%5B%5D%40%21%24%27%28%29" },
    { "\n\t%", "%0A%09%25" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *encoded = grant_form_encode_value (cases[i].in);

      g_assert_cmpstr (encoded, ==, cases[i].out);
    }
}

static void
test_loopback (void)
{
  const char *loopback[] = { "localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1", "[::1]" };
  const char *remote[] = { "example.com", "localhost.example.com", "127.0.0.1.nip.io", "10.0.0.1",
                           "192.0.2.1", "::ffff:8.8.8.8", "[::2]", "", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (loopback); i++)
    g_assert_true (grant_host_is_loopback (loopback[i]));
  for (guint i = 0; i < G_N_ELEMENTS (remote); i++)
    g_assert_false (grant_host_is_loopback (remote[i]));
}

static void
test_check_url (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (grant_check_url ("https://auth.example.com/token", FALSE, NULL));
  g_assert_true (grant_check_url ("http://127.0.0.1:8080/token", FALSE, NULL));
  g_assert_true (grant_check_url ("http://localhost/token", FALSE, NULL));
  g_assert_true (grant_check_url ("http://[::1]:9/token", FALSE, NULL));
  g_assert_true (grant_check_url ("http://auth.example.com/token", TRUE, NULL));

  g_assert_false (grant_check_url ("http://auth.example.com/token", FALSE, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INSECURE_URL);
  g_clear_error (&error);
  g_assert_false (grant_check_url ("file:///etc/passwd", FALSE, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_false (grant_check_url ("/relative", FALSE, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_false (grant_check_url ("https://a.example/tok\r\nen", FALSE, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_false (grant_check_url ("https://a.example/a b", FALSE, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
}

static void
test_redact (void)
{
  g_autofree char *plain = grant_redact ("the secret is a b&c, or a+b%26c, or a%20b%26c", "a b&c");
  g_autofree char *untouched = grant_redact ("nothing here", NULL);
  g_autofree char *empty_secret = grant_redact ("nothing here", "");
  g_autofree char *sanitized = grant_sanitize_text ("tab\there\nline\r\x01", 100);
  g_autofree char *cut = grant_sanitize_text ("abcdef", 3);
  g_autofree char *invalid = grant_sanitize_text ("ok \xff\xfe", 100);
  g_autofree char *described = grant_describe_url ("https://user:pw@host.example:8443/p/token?key=1#f");

  g_assert_cmpstr (plain, ==, "the secret is [REDACTED], or [REDACTED], or [REDACTED]");
  {
    g_autofree char *lower = grant_redact ("echo a%2fb and a%2Fb and a/b", "a/b");
    g_autofree char *bidi = grant_sanitize_text ("ok\u202edlrow\u2028next", 100);

    g_assert_cmpstr (lower, ==, "echo [REDACTED] and [REDACTED] and [REDACTED]");
    g_assert_cmpstr (bidi, ==, "ok dlrow next");
  }
  g_assert_cmpstr (untouched, ==, "nothing here");
  g_assert_cmpstr (empty_secret, ==, "nothing here");
  g_assert_null (strchr (sanitized, '\n'));
  g_assert_null (strchr (sanitized, '\x01'));
  g_assert_cmpstr (cut, ==, "abc…");
  g_assert_true (g_utf8_validate (invalid, -1, NULL));
  g_assert_cmpstr (described, ==, "https://host.example:8443/p/token");
}

/* Errors describe a request from the URI libsoup holds, which keeps the
 * path encoded and spells out the default port: the description must be
 * the one of the URL as given. */
static void
test_describe_message_uri (void)
{
  static const char *const urls[] = {
    "https://auth.example/t%20x/token",
    "https://user:pw@auth.example:443/a%2Fb/token?key=1",
    "http://127.0.0.1:8080/oauth/token",
    "https://auth.example/caf%C3%A9/token#f",
  };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("POST", urls[i]);
      g_autofree char *from_message = NULL;
      g_autofree char *from_string = grant_describe_url (urls[i]);

      g_assert_nonnull (message);
      from_message = grant_describe_uri (soup_message_get_uri (message));
      g_assert_cmpstr (from_message, ==, from_string);
      g_assert_null (strstr (from_message, "pw"));
      g_assert_null (strchr (from_message, '?'));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/request/form/post", test_form_post);
  g_test_add_func ("/request/form/scope-and-parameters", test_form_scope_and_parameters);
  g_test_add_func ("/request/form/encode-value", test_form_encode_value);
  g_test_add_func ("/request/basic/encoding", test_basic_encoding);
  g_test_add_func ("/request/none", test_none);
  g_test_add_func ("/request/mutual-tls", test_mutual_tls);
  g_test_add_func ("/request/json/post", test_json);
  g_test_add_func ("/request/json/basic", test_json_basic);
  g_test_add_func ("/request/reserved-names", test_reserved_names);
  g_test_add_func ("/utils/loopback", test_loopback);
  g_test_add_func ("/utils/check-url", test_check_url);
  g_test_add_func ("/utils/redact-and-sanitize", test_redact);
  g_test_add_func ("/utils/describe-message-uri", test_describe_message_uri);

  return g_test_run ();
}
