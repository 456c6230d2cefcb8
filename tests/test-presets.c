/* test-presets.c: every seed provider by name, against loopback endpoints
 * that answer the way each provider's documentation shows; discovery
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "grant-discovery-private.h"
#include "test-utils.h"

static GrantTokenProvider *
preset_provider (const char    *preset,
                 LocalEndpoint *endpoint,
                 const char    *secret)
{
  g_autoptr(GError) error = NULL;
  GrantTokenProvider *provider = grant_token_provider_new_from_preset (preset, endpoint->client_id,
                                                                       secret, &error);

  g_assert_no_error (error);
  g_assert_nonnull (provider);

  return provider;
}

static gint64
seconds_left (GrantToken *token)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_difference (grant_token_get_expires_at (token), now) / G_USEC_PER_SEC;
}

static void
test_expertfile (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_EXPERTFILE);
  GrantTokenProvider *provider = preset_provider ("expertfile", endpoint, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  JsonObject *data;

  g_assert_cmpstr (grant_token_provider_get_token_url (provider), ==,
                   "https://public-api.expertfile.com/v2/oauth/token");
  g_assert_cmpint (grant_token_provider_get_default_lifetime (provider), ==, 30 * 24 * 3600);

  endpoint->expires_in = -1;  /* its own 30 days */
  grant_token_provider_set_token_url (provider, url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (endpoint->last_content_type, ==, "application/x-www-form-urlencoded");
  secret = local_endpoint_dup_param (endpoint, "client_secret");
  g_assert_cmpstr (secret, ==, endpoint->client_secret);

  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpint (seconds_left (token), >, 30 * 24 * 3600 - 60);
  g_assert_cmpint (seconds_left (token), <=, 30 * 24 * 3600);

  /* The organisation id stays reachable. */
  data = json_object_get_object_member (json_node_get_object (grant_token_get_response (token)), "data");
  g_assert_cmpint (json_object_get_int_member (data, "user"), ==, 4242);
  g_assert_true (json_object_get_boolean_member (data, "scope"));

  g_assert_finalize_object (provider);
}

static void
test_expertfile_wrong_secret (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_EXPERTFILE);
  GrantTokenProvider *provider = preset_provider ("expertfile", endpoint, "wrong");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_token_url (provider, url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);
  g_assert_nonnull (strstr (error->message, "Client authentication failed"));

  g_assert_finalize_object (provider);
}

static void
test_expertfile_skew (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_EXPERTFILE);
  GrantTokenProvider *provider = preset_provider ("expertfile", endpoint, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  /* The server's clock is an hour ahead; its tokens live an hour by it. */
  endpoint->clock_offset = 3600;
  endpoint->expires_in = 3600;
  grant_token_provider_set_token_url (provider, url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);

  /* Uncorrected, the token would seem to have two hours left. */
  g_assert_cmpint (seconds_left (token), >, 3600 - 60);
  g_assert_cmpint (seconds_left (token), <=, 3600);

  g_assert_finalize_object (provider);
}

static void
test_json_body (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_JSON_BODY);
  GrantTokenProvider *provider = preset_provider ("json-body", endpoint, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *grant_type = NULL;

  /* No URL of its own: a clear configuration error, before any request. */
  g_assert_null (grant_token_provider_get_token_url (provider));
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "token-url"));
  g_assert_nonnull (strstr (error->message, "https://<api_base_path>/oauth/token"));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);
  g_clear_error (&error);

  grant_token_provider_set_token_url (provider, url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (endpoint->last_content_type, ==, "application/json");
  grant_type = local_endpoint_dup_param (endpoint, "grant_type");
  g_assert_cmpstr (grant_type, ==, "client_credentials");
  g_assert_cmpstr (grant_token_get_token_type (token), ==, "Bearer");
  g_assert_cmpint (seconds_left (token), >, 3500);

  g_assert_finalize_object (provider);
}

static void
test_smartdocumentor (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_SMARTDOCUMENTOR);
  GrantTokenProvider *provider = preset_provider ("smartdocumentor", endpoint, endpoint->client_secret);
  GrantTokenProvider *wrong = preset_provider ("smartdocumentor", endpoint, "wrong");
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *scope = NULL;

  g_assert_cmpstr (grant_token_provider_get_scope (provider), ==, "WebAPI");
  grant_token_provider_set_token_url (provider, url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  scope = local_endpoint_dup_param (endpoint, "scope");
  g_assert_cmpstr (scope, ==, "WebAPI");
  g_assert_cmpstr (grant_token_get_scope (token), ==, "WebAPI");
  g_assert_cmpint (seconds_left (token), >, 3500);

  /* Its documented error: {"error": "invalid_client"}. */
  grant_token_provider_set_token_url (wrong, url);
  refused = test_provider_get_token (wrong, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT);

  g_assert_finalize_object (provider);
  g_assert_finalize_object (wrong);
}

static void
test_officernd (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_OFFICERND);
  GrantTokenProvider *provider = preset_provider ("officernd", endpoint, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) narrower = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (grant_token_provider_get_scope (provider), ==, "officernd.api.read officernd.api.write");
  grant_token_provider_set_token_url (provider, url);

  /* An application allowed to read only asks for too much by default. */
  endpoint->allowed_scope = g_strdup ("officernd.api.read");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_SCOPE);
  g_clear_error (&error);

  /* The scope is overridable. */
  grant_token_provider_set_scope (provider, "officernd.api.read");
  narrower = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_scope (narrower), ==, "officernd.api.read");
  g_assert_cmpint (seconds_left (narrower), >, 3500);
  g_assert_cmpint (seconds_left (narrower), <, 3600);

  g_assert_finalize_object (provider);
}

static void
test_rfc6749 (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = preset_provider ("rfc6749", endpoint, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  grant_token_provider_set_token_url (provider, endpoint->token_url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);

  g_assert_finalize_object (provider);
}

static void
test_unknown_preset (void)
{
  g_autoptr(GError) error = NULL;
  GrantTokenProvider *provider = grant_token_provider_new_from_preset ("nope", "id", "s", &error);

  g_assert_null (provider);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
}

static void
test_construct_properties_win (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) dialect = grant_dialect_new_for_preset ("officernd", &error);
  GrantTokenProvider *provider = g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                                               "scope", "officernd.api.read",
                                               "dialect", dialect,
                                               "client-id", "id",
                                               NULL);

  g_assert_true (grant_token_provider_get_dialect (provider) == dialect);
  g_assert_cmpstr (grant_token_provider_get_scope (provider), ==, "officernd.api.read");
  g_assert_cmpstr (grant_token_provider_get_token_url (provider), ==, "https://identity.officernd.com/oauth/token");
  g_assert_finalize_object (provider);
}

static void
test_user_preset (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "grant", "providers", NULL);
  g_autofree char *path = g_build_filename (dir, "acme.provider", NULL);
  g_autofree char *contents = g_strdup_printf ("[Provider]\n"
                                               "Name=ACME\n"
                                               "TokenUrl=%s\n"
                                               "RequestFormat=json\n"
                                               "\n"
                                               "[Parameters]\n"
                                               "audience=https://api.acme.example/\n",
                                               endpoint->token_url);
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *audience = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));

  provider = preset_provider ("acme", endpoint, endpoint->client_secret);
  g_assert_cmpstr (grant_token_provider_get_parameter (provider, "audience"), ==, "https://api.acme.example/");
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (endpoint->last_content_type, ==, "application/json");
  audience = local_endpoint_dup_param (endpoint, "audience");
  g_assert_cmpstr (audience, ==, "https://api.acme.example/");

  g_assert_finalize_object (provider);
}

/* Presets with variables */

/* Part @index (0: header, 1: claims) of the JWT @jwt, as a JSON object. */
static JsonObject *
jwt_part (const char *jwt,
          guint       index)
{
  g_auto(GStrv) parts = g_strsplit (jwt, ".", -1);
  g_autoptr(GString) b64 = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree guchar *json = NULL;
  gsize length;

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  b64 = g_string_new (parts[index]);
  g_string_replace (b64, "-", "+", 0);
  g_string_replace (b64, "_", "/", 0);
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  json = g_base64_decode (b64->str, &length);
  node = json_from_string ((const char *) json, NULL);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));

  return json_object_ref (json_node_get_object (node));
}

static guint
endpoint_port (LocalEndpoint *endpoint)
{
  g_autoptr(GUri) uri = g_uri_parse (endpoint->base_url, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (uri);

  return (guint) g_uri_get_port (uri);
}

/* A user preset with variables, pointing at the local endpoint: the port
 * is a variable too. */
static void
write_local_idp (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "grant", "providers", NULL);
  g_autofree char *path = g_build_filename (dir, "local-idp.provider", NULL);
  const char *contents = "[Provider]\n"
                         "Name=Local IdP\n"
                         "TokenUrl=http://127.0.0.1:{port}/token\n"
                         "Issuer=http://127.0.0.1:{port}/{tenant}\n"
                         "AssertionAudience=http://127.0.0.1:{port}/{tenant}/\n"
                         "SigningAlgorithm=PS256\n"
                         "AuthMethod=private_key_jwt\n"
                         "\n"
                         "[Variables]\n"
                         "port=\n"
                         "tenant=\n";

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

static void
test_templated_fetch (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *port = g_strdup_printf ("port=%u", endpoint_port (endpoint));
  g_autofree char *audience = g_strdup_printf ("%s/contoso/", endpoint->base_url);
  const char *variables[] = { port, "tenant=contoso", NULL };
  g_autoptr(GrantClientKey) key = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autofree char *assertion = NULL;
  GrantTokenProvider *provider;

  write_local_idp ();
  endpoint->accept_assertions = TRUE;
  key = grant_client_key_generate ("RS256", &error);
  g_assert_no_error (error);

  provider = grant_token_provider_new_from_preset_with_variables ("local-idp", variables,
                                                                  endpoint->client_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_provider_get_token_url (provider), ==, endpoint->token_url);
  g_assert_cmpstr (grant_token_provider_get_assertion_audience (provider), ==, audience);
  grant_token_provider_set_client_key (provider, key);

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  assertion = local_endpoint_dup_param (endpoint, "client_assertion");
  g_assert_nonnull (assertion);
  header = jwt_part (assertion, 0);
  claims = jwt_part (assertion, 1);
  /* The dialect's algorithm, and the key left as it was. */
  g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==, "PS256");
  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, "RS256");
  g_assert_cmpstr (json_object_get_string_member (claims, "aud"), ==, audience);
  g_assert_cmpstr (json_object_get_string_member (claims, "iss"), ==, endpoint->client_id);

  g_assert_finalize_object (provider);
}

/* A key that cannot sign with the dialect's algorithm: an error before any
 * request, that names the algorithm. */
static void
test_signing_algorithm_refused (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *port = g_strdup_printf ("port=%u", endpoint_port (endpoint));
  const char *variables[] = { port, "tenant=contoso", NULL };
  g_autoptr(GrantClientKey) key = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  GrantTokenProvider *provider;

  write_local_idp ();
  endpoint->accept_assertions = TRUE;
  key = grant_client_key_generate ("ES256", &error);
  g_assert_no_error (error);

  provider = grant_token_provider_new_from_preset_with_variables ("local-idp", variables,
                                                                  endpoint->client_id, NULL, &error);
  g_assert_no_error (error);
  grant_token_provider_set_client_key (provider, key);

  token = test_provider_get_token (provider, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "PS256"));
  g_assert_nonnull (strstr (error->message, "ES256"));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);
  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, "ES256");

  g_assert_finalize_object (provider);
}

/* The built-in presets' assertions, sent to the local endpoint instead:
 * Entra's signed PS256 for the token URL, Auth0's for the tenant URL. */
static void
test_enterprise_assertions (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  const char *entra_variables[] = { "tenant=contoso.onmicrosoft.com", NULL };
  const char *auth0_variables[] = { "domain=example.us.auth0.com", NULL };
  g_autoptr(GrantClientKey) key = NULL;
  g_autoptr(GError) error = NULL;
  GrantTokenProvider *entra;
  GrantTokenProvider *auth0;

  endpoint->accept_assertions = TRUE;
  key = grant_client_key_generate ("RS256", &error);
  g_assert_no_error (error);

  entra = grant_token_provider_new_from_preset_with_variables ("entra", entra_variables,
                                                               endpoint->client_id, NULL, &error);
  g_assert_no_error (error);
  auth0 = grant_token_provider_new_from_preset_with_variables ("auth0", auth0_variables,
                                                               endpoint->client_id, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 2; i++)
    {
      GrantTokenProvider *provider = i == 0 ? entra : auth0;
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(JsonObject) header = NULL;
      g_autoptr(JsonObject) claims = NULL;
      g_autofree char *assertion = NULL;
      g_autofree char *method = NULL;

      /* AUTO with a key: private_key_jwt. */
      grant_token_provider_set_client_key (provider, key);
      grant_token_provider_set_token_url (provider, endpoint->token_url);
      grant_token_provider_set_scope (provider, "api://my-api/.default");
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);

      assertion = local_endpoint_dup_param (endpoint, "client_assertion");
      g_assert_nonnull (assertion);
      header = jwt_part (assertion, 0);
      claims = jwt_part (assertion, 1);
      g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==, i == 0 ? "PS256" : "RS256");
      g_assert_cmpstr (json_object_get_string_member (claims, "aud"), ==,
                       i == 0 ? endpoint->token_url : "https://example.us.auth0.com/");
      method = local_endpoint_dup_param (endpoint, "client_assertion_type");
      g_assert_cmpstr (method, ==, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    }

  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, "RS256");
  g_assert_finalize_object (entra);
  g_assert_finalize_object (auth0);
}

/* Made without its variables, a templated preset says what to give. */
static void
test_templated_without_variables (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;
  GrantTokenProvider *provider = grant_token_provider_new_from_preset ("keycloak", "id", "secret", &error);

  g_assert_no_error (error);
  g_assert_null (grant_token_provider_get_token_url (provider));
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "host, realm"));
  g_assert_nonnull (strstr (error->message, "https://{host}/realms/{realm}/protocol/openid-connect/token"));

  g_assert_finalize_object (provider);
}

/* Discovery */

typedef struct {
  LocalEndpoint *endpoint;
  char *issuer;            /* what the document claims */
  const char *methods;     /* JSON array, or NULL */
  guint served;
  const char *algs;        /* JSON array of signing algorithms, or NULL */
} Document;

static void
document_handler (SoupServer        *server,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  Document *document = user_data;
  g_autofree char *body = NULL;

  document->served++;
  body = g_strdup_printf ("{\"issuer\":\"%s\",\"token_endpoint\":\"%s\"%s%s%s%s}",
                          document->issuer, document->endpoint->token_url,
                          document->methods ? ",\"token_endpoint_auth_methods_supported\":" : "",
                          document->methods ? document->methods : "",
                          document->algs ? ",\"token_endpoint_auth_signing_alg_values_supported\":" : "",
                          document->algs ? document->algs : "");
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

static void
test_discovery (void)
{
  const struct {
    const char *issuer_path;   /* appended to the base URL */
    const char *document_path;
  } cases[] = {
    { "", "/.well-known/oauth-authorization-server" },
    { "/tenant", "/.well-known/oauth-authorization-server/tenant" },
    { "", "/.well-known/openid-configuration" },
    { "/tenant", "/tenant/.well-known/openid-configuration" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
      g_autofree char *issuer = g_strconcat (endpoint->base_url, cases[i].issuer_path, NULL);
      Document document = { endpoint, issuer, NULL, 0 };
      GrantTokenProvider *provider = NULL;
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GrantToken) again = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("issuer %s, document at %s", issuer, cases[i].document_path);
      soup_server_add_handler (endpoint->server, cases[i].document_path, document_handler, &document, NULL);

      provider = grant_token_provider_new (NULL, endpoint->client_id, endpoint->client_secret);
      grant_token_provider_set_issuer (provider, issuer);
      token = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (document.served, ==, 1);
      g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

      /* The document is read once for the provider's lifetime. */
      grant_token_provider_invalidate (provider, NULL);
      again = test_provider_get_token (provider, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (document.served, ==, 1);
      g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

      g_assert_finalize_object (provider);
    }
}

static void
test_discovery_issuer_mismatch (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  Document document = { endpoint, (char *) "https://evil.example", NULL, 0 };
  GrantTokenProvider *provider = grant_token_provider_new (NULL, endpoint->client_id, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  soup_server_add_handler (endpoint->server, "/.well-known/oauth-authorization-server",
                           document_handler, &document, NULL);
  grant_token_provider_set_issuer (provider, endpoint->base_url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "https://evil.example"));
  /* No credentials went anywhere. */
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);

  g_assert_finalize_object (provider);
}

/* A server that moves its document: to the same path with a slash (same
 * origin, followed), in a loop (followed a few hops, then reported), or to
 * another origin (reported, not followed). */
typedef struct {
  Document document;
  const char *mode;        /* "slash", "loop" or "elsewhere" */
  guint redirects;
} MovedDocument;

static void
moved_document_handler (SoupServer        *server,
                        SoupServerMessage *msg,
                        const char        *path,
                        GHashTable        *query,
                        gpointer           user_data)
{
  MovedDocument *moved = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (g_str_equal (moved->mode, "slash") && g_str_has_suffix (path, "/"))
    {
      document_handler (server, msg, path, query, &moved->document);
      return;
    }
  if (g_str_equal (moved->mode, "slash-failing") && g_str_has_suffix (path, "/"))
    {
      moved->document.served++;
      soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      return;
    }

  moved->redirects++;
  soup_server_message_set_status (msg, SOUP_STATUS_MOVED_PERMANENTLY, NULL);
  if (g_str_has_prefix (moved->mode, "slash"))
    soup_message_headers_replace (headers, "Location", "/.well-known/openid-configuration/");
  else if (g_str_equal (moved->mode, "loop"))
    soup_message_headers_replace (headers, "Location", path);
  else
    {
      g_autofree char *elsewhere = g_strdup_printf ("http://localhost:%u%s",
                                                    g_uri_get_port (soup_server_message_get_uri (msg)), path);

      soup_message_headers_replace (headers, "Location", elsewhere);
    }
}

static void
test_discovery_redirects (void)
{
  const char *modes[] = { "slash", "loop", "elsewhere", "slash-failing" };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
      MovedDocument moved = { { endpoint, endpoint->base_url, NULL, 0 }, modes[i], 0 };
      GrantTokenProvider *provider = grant_token_provider_new (NULL, endpoint->client_id,
                                                               endpoint->client_secret);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", modes[i]);
      soup_server_add_handler (endpoint->server, "/.well-known/openid-configuration",
                               moved_document_handler, &moved, NULL);
      grant_token_provider_set_issuer (provider, endpoint->base_url);
      test_fast_retries (provider, 3);
      token = test_provider_get_token (provider, NULL, &error);
      if (i == 3)
        {
          /* Moved, then failing: the GETs after the move are attempts, and
           * they run out: three GETs in all, as max-attempts says. */
          g_assert_error (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR);
          g_assert_cmpuint (moved.redirects + moved.document.served, ==, 3);
          g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);
        }
      else if (i == 0)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (moved.redirects, ==, 1);
          g_assert_cmpuint (moved.document.served, ==, 1);
          g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
        }
      else
        {
          g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
          g_assert_nonnull (strstr (error->message, "301"));
          /* A loop is followed three hops; another origin not at all. */
          g_assert_cmpuint (moved.redirects, ==, i == 1 ? 4 : 1);
          g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);
        }

      g_assert_finalize_object (provider);
    }
}

static void
test_discovery_missing (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  GrantTokenProvider *provider = grant_token_provider_new (NULL, endpoint->client_id, endpoint->client_secret);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  grant_token_provider_set_issuer (provider, endpoint->base_url);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "openid-configuration"));
  g_assert_nonnull (strstr (error->message, "404"));

  g_assert_finalize_object (provider);
}

static void
test_discovery_kept_across_changes (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  Document document = { endpoint, endpoint->base_url, NULL, 0 };
  GrantTokenProvider *provider = grant_token_provider_new (NULL, endpoint->client_id, endpoint->client_secret);
  g_autoptr(GrantToken) again = NULL;
  g_autoptr(GError) error = NULL;
  TestResult result = { 0 };

  soup_server_add_handler (endpoint->server, "/.well-known/oauth-authorization-server",
                           document_handler, &document, NULL);
  grant_token_provider_set_issuer (provider, endpoint->base_url);

  /* The scope changes while the token request is in flight: that token is
   * not cached, but the document, which depends on the issuer alone, is. */
  endpoint->hold = TRUE;
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  while (local_endpoint_get_requests (endpoint) < 1)
    g_main_context_iteration (NULL, TRUE);
  grant_token_provider_set_scope (provider, "read");
  endpoint->hold = FALSE;
  local_endpoint_release (endpoint);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_null (grant_token_provider_peek_token (provider));
  g_assert_cmpuint (document.served, ==, 1);

  again = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (document.served, ==, 1);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  test_result_clear (&result);
  g_assert_finalize_object (provider);
}

static void
test_discovery_auth_methods (void)
{
  const struct {
    const char *methods;
    gboolean accept_basic;
    guint requests;
    const char *auth;       /* NULL: an error */
  } cases[] = {
    { "[\"client_secret_post\"]", TRUE, 1, "post" },
    { "[\"private_key_jwt\",\"client_secret_basic\"]", TRUE, 1, "basic" },
    { NULL, TRUE, 1, "basic" },     /* RFC 8414: Basic when none are listed */
    { "[\"client_secret_basic\",\"client_secret_post\"]", FALSE, 2, "post" },
    { "[\"private_key_jwt\"]", TRUE, 0, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
      Document document = { endpoint, endpoint->base_url, cases[i].methods, 0 };
      g_autofree char *client_id = g_strdup_printf ("discovery-client-%u", i);
      GrantTokenProvider *provider = grant_token_provider_new (NULL, client_id, endpoint->client_secret);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *auth = NULL;

      g_test_message ("methods %s", cases[i].methods ? cases[i].methods : "(none)");
      g_free (endpoint->client_id);
      endpoint->client_id = g_strdup (client_id);
      endpoint->accept_basic = cases[i].accept_basic;
      soup_server_add_handler (endpoint->server, "/.well-known/oauth-authorization-server",
                               document_handler, &document, NULL);
      grant_token_provider_set_issuer (provider, endpoint->base_url);
      grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);

      token = test_provider_get_token (provider, NULL, &error);
      g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, cases[i].requests);
      if (cases[i].auth != NULL)
        {
          g_assert_no_error (error);
          auth = local_endpoint_dup_auth (endpoint);
          g_assert_cmpstr (auth, ==, cases[i].auth);
        }
      else
        {
          g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
          g_assert_nonnull (strstr (error->message, "client_secret_basic"));
        }

      g_assert_finalize_object (provider);
    }
}

/* AUTO picks among what the server takes and what the client has: a key,
 * a secret; with an error naming both when nothing fits. */
static void
test_discovery_auth_methods_with_key (void)
{
  const struct {
    const char *methods;
    const char *algs;
    gboolean key;
    const char *auth;       /* NULL: an error */
    const char *error_has[3];
  } cases[] = {
    { "[\"client_secret_basic\",\"private_key_jwt\"]", NULL, TRUE, "jwt", { NULL } },
    { "[\"client_secret_basic\",\"private_key_jwt\"]", "[\"RS256\"]", TRUE, "basic", { NULL } },
    { "[\"client_secret_jwt\"]", "[\"HS256\"]", FALSE, "jwt", { NULL } },
    { NULL, NULL, TRUE, "jwt", { NULL } },
    { "[\"private_key_jwt\"]", "[\"RS256\",\"PS256\"]", TRUE, NULL,
      { "takes private_key_jwt", "its key signs ES256", "the server takes RS256, PS256" } },
    { "[\"tls_client_auth\"]", NULL, TRUE, NULL,
      { "takes tls_client_auth", "can use client_secret_basic, client_secret_post, private_key_jwt, client_secret_jwt", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
      Document document = { endpoint, endpoint->base_url, cases[i].methods, 0, cases[i].algs };
      GrantTokenProvider *provider = grant_token_provider_new (NULL, endpoint->client_id, endpoint->client_secret);
      g_autoptr(GrantClientKey) key = NULL;
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *auth = NULL;

      g_test_message ("methods %s, algorithms %s", cases[i].methods, cases[i].algs);
      endpoint->accept_assertions = TRUE;
      soup_server_add_handler (endpoint->server, "/.well-known/oauth-authorization-server",
                               document_handler, &document, NULL);
      grant_token_provider_set_issuer (provider, endpoint->base_url);
      grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_AUTO);
      if (cases[i].key)
        {
          key = grant_client_key_generate ("ES256", &error);
          g_assert_no_error (error);
          grant_token_provider_set_client_key (provider, key);
        }

      token = test_provider_get_token (provider, NULL, &error);
      if (cases[i].auth != NULL)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
          auth = local_endpoint_dup_auth (endpoint);
          g_assert_cmpstr (auth, ==, cases[i].auth);
        }
      else
        {
          g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
          g_test_message ("%s", error->message);
          for (guint j = 0; j < G_N_ELEMENTS (cases[i].error_has) && cases[i].error_has[j]; j++)
            g_assert_nonnull (strstr (error->message, cases[i].error_has[j]));
          g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);
        }

      g_assert_finalize_object (provider);
    }
}

static void
test_discovery_urls (void)
{
  const struct {
    const char *issuer;
    const char *oauth;
    const char *openid;
  } cases[] = {
    { "https://ex.com", "https://ex.com/.well-known/oauth-authorization-server",
      "https://ex.com/.well-known/openid-configuration" },
    { "https://ex.com/", "https://ex.com/.well-known/oauth-authorization-server",
      "https://ex.com/.well-known/openid-configuration" },
    { "https://ex.com/tenant/", "https://ex.com/.well-known/oauth-authorization-server/tenant",
      "https://ex.com/tenant/.well-known/openid-configuration" },
    { "https://ex.com:8443/a%2Fb", "https://ex.com:8443/.well-known/oauth-authorization-server/a%2Fb",
      "https://ex.com:8443/a%2Fb/.well-known/openid-configuration" },
    { "https://ex.com/t?x=1", NULL, NULL },
    { "https://ex.com/t#f", NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *oauth = grant_discovery_url (cases[i].issuer, GRANT_DISCOVERY_OAUTH);
      g_autofree char *openid = grant_discovery_url (cases[i].issuer, GRANT_DISCOVERY_OPENID);

      g_assert_cmpstr (oauth, ==, cases[i].oauth);
      g_assert_cmpstr (openid, ==, cases[i].openid);
    }
}

static void
test_discovery_wrong_types (void)
{
  const char *documents[] = {
    "{\"issuer\":{},\"token_endpoint\":\"https://ex.com/token\"}",
    "{\"issuer\":\"https://ex.com\",\"token_endpoint\":[1]}",
    "{\"issuer\":\"https://ex.com\",\"token_endpoint\":\"http://ex.com/token\"}",
    "[]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (documents); i++)
    {
      g_autoptr(GBytes) body = g_bytes_new (documents[i], strlen (documents[i]));
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantDiscovery) discovery = grant_discovery_parse ("https://ex.com", GRANT_DISCOVERY_OAUTH,
                                                                   200, NULL, body, FALSE, &error);

      g_assert_null (discovery);
      g_assert_nonnull (error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/presets/expertfile", test_expertfile);
  g_test_add_func ("/presets/expertfile-wrong-secret", test_expertfile_wrong_secret);
  g_test_add_func ("/presets/expertfile-clock-skew", test_expertfile_skew);
  g_test_add_func ("/presets/json-body", test_json_body);
  g_test_add_func ("/presets/smartdocumentor", test_smartdocumentor);
  g_test_add_func ("/presets/officernd", test_officernd);
  g_test_add_func ("/presets/rfc6749", test_rfc6749);
  g_test_add_func ("/presets/unknown", test_unknown_preset);
  g_test_add_func ("/presets/construct-properties-win", test_construct_properties_win);
  g_test_add_func ("/presets/user-preset", test_user_preset);
  g_test_add_func ("/presets/templated-fetch", test_templated_fetch);
  g_test_add_func ("/presets/signing-algorithm-refused", test_signing_algorithm_refused);
  g_test_add_func ("/presets/enterprise-assertions", test_enterprise_assertions);
  g_test_add_func ("/presets/templated-without-variables", test_templated_without_variables);
  g_test_add_func ("/discovery/well-known-locations", test_discovery);
  g_test_add_func ("/discovery/issuer-mismatch", test_discovery_issuer_mismatch);
  g_test_add_func ("/discovery/kept-across-changes", test_discovery_kept_across_changes);
  g_test_add_func ("/discovery/missing", test_discovery_missing);
  g_test_add_func ("/discovery/redirects", test_discovery_redirects);
  g_test_add_func ("/discovery/auth-methods", test_discovery_auth_methods);
  g_test_add_func ("/discovery/auth-methods-with-key", test_discovery_auth_methods_with_key);
  g_test_add_func ("/discovery/urls", test_discovery_urls);
  g_test_add_func ("/discovery/wrong-types", test_discovery_wrong_types);

  return g_test_run ();
}
