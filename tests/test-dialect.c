/* test-dialect.c: provider files, presets and their search path
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>
#include <grant.h>

static void
test_default (void)
{
  g_autoptr(GrantDialect) dialect = grant_dialect_new ();

  g_assert_null (grant_dialect_get_name (dialect));
  g_assert_null (grant_dialect_get_token_url (dialect));
  g_assert_cmpint (grant_dialect_get_request_format (dialect), ==, GRANT_REQUEST_FORMAT_FORM);
  g_assert_cmpint (grant_dialect_get_auth_method (dialect), ==, GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
  g_assert_cmpuint (grant_dialect_get_default_lifetime (dialect), ==, 600);
  g_assert_cmpstr (grant_dialect_get_access_token_pointer (dialect), ==, "/access_token");
  g_assert_cmpstr (grant_dialect_get_token_type_pointer (dialect), ==, "/token_type");
  g_assert_cmpstr (grant_dialect_get_expires_in_pointer (dialect), ==, "/expires_in");
  g_assert_null (grant_dialect_get_expires_at_pointer (dialect));
  g_assert_cmpstr (grant_dialect_get_scope_pointer (dialect), ==, "/scope");
  g_assert_null (grant_dialect_get_success_pointer (dialect));
  g_assert_cmpstr (grant_dialect_get_error_pointer (dialect), ==, "/error");
  g_assert_cmpstr (grant_dialect_get_error_description_pointer (dialect), ==, "/error_description");
}

static void
test_builtin_presets (void)
{
  g_auto(GStrv) names = grant_dialect_list_presets ();
  const char *expected[] = {
    "auth0", "entra", "expertfile", "json-body", "keycloak", "officernd", "okta", "okta-org",
    "rfc6749", "smartdocumentor",
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GrantDialect) dialect = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (g_strv_contains ((const char * const *) names, expected[i]));
      dialect = grant_dialect_new_for_preset (expected[i], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_dialect_get_name (dialect), ==, expected[i]);
      g_assert_nonnull (grant_dialect_get_display_name (dialect));
    }

  /* Sorted. */
  for (guint i = 1; names[i] != NULL; i++)
    g_assert_cmpint (strcmp (names[i - 1], names[i]), <, 0);
}

static void
test_expertfile (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) dialect = grant_dialect_new_for_preset ("expertfile", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_token_url (dialect), ==,
                   "https://public-api.expertfile.com/v2/oauth/token");
  g_assert_cmpint (grant_dialect_get_request_format (dialect), ==, GRANT_REQUEST_FORMAT_FORM);
  g_assert_cmpstr (grant_dialect_get_access_token_pointer (dialect), ==, "/data/accessToken");
  g_assert_cmpstr (grant_dialect_get_expires_at_pointer (dialect), ==, "/data/accessTokenExpiresAt");
  g_assert_cmpstr (grant_dialect_get_scope_pointer (dialect), ==, "/data/scope");
  g_assert_cmpstr (grant_dialect_get_success_pointer (dialect), ==, "/success");
  /* Keys left out keep the RFC 6749 defaults. */
  g_assert_cmpstr (grant_dialect_get_error_pointer (dialect), ==, "/error");
  g_assert_cmpuint (grant_dialect_get_default_lifetime (dialect), ==, 30 * 24 * 3600);
}

static void
test_seed_presets (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) json_body = grant_dialect_new_for_preset ("json-body", &error);
  g_autoptr(GrantDialect) smartdocumentor = grant_dialect_new_for_preset ("smartdocumentor", &error);
  g_autoptr(GrantDialect) officernd = grant_dialect_new_for_preset ("officernd", &error);

  g_assert_no_error (error);
  g_assert_null (grant_dialect_get_token_url (json_body));
  g_assert_cmpstr (grant_dialect_get_token_url_hint (json_body), ==, "https://<api_base_path>/oauth/token");
  g_assert_cmpint (grant_dialect_get_request_format (json_body), ==, GRANT_REQUEST_FORMAT_JSON);

  g_assert_cmpstr (grant_dialect_get_token_url (smartdocumentor), ==,
                   "https://cloud.smartdocumentor.net/connect/token");
  g_assert_cmpstr (grant_dialect_get_scope (smartdocumentor), ==, "WebAPI");

  g_assert_cmpstr (grant_dialect_get_token_url (officernd), ==, "https://identity.officernd.com/oauth/token");
  g_assert_cmpstr (grant_dialect_get_scope (officernd), ==, "officernd.api.read officernd.api.write");
}

static void
test_from_data (void)
{
  const char *data =
    "# A service nobody has seen\n"
    "[Provider]\n"
    "Name=Example\n"
    "TokenUrl=https://auth.example.com/token\n"
    "RequestFormat=json\n"
    "AuthMethod=client_secret_basic\n"
    "Scope=read\n"
    "DefaultLifetime=120\n"
    "\n"
    "[Response]\n"
    "AccessToken=/result/token\n"
    "TokenType=\n"
    "ExpiresAt=/result/expiry\n"
    "Error=/problem/code\n"
    "\n"
    "[Parameters]\n"
    "audience=https://api.example.com/\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) dialect = grant_dialect_new_from_data ("example", data, -1, &error);
  const char * const *parameters;

  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_name (dialect), ==, "example");
  g_assert_cmpstr (grant_dialect_get_display_name (dialect), ==, "Example");
  g_assert_cmpint (grant_dialect_get_request_format (dialect), ==, GRANT_REQUEST_FORMAT_JSON);
  g_assert_cmpint (grant_dialect_get_auth_method (dialect), ==, GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
  g_assert_cmpstr (grant_dialect_get_scope (dialect), ==, "read");
  g_assert_cmpuint (grant_dialect_get_default_lifetime (dialect), ==, 120);
  g_assert_cmpstr (grant_dialect_get_access_token_pointer (dialect), ==, "/result/token");
  /* Empty turns a field off. */
  g_assert_null (grant_dialect_get_token_type_pointer (dialect));
  g_assert_cmpstr (grant_dialect_get_expires_at_pointer (dialect), ==, "/result/expiry");
  g_assert_cmpstr (grant_dialect_get_error_pointer (dialect), ==, "/problem/code");
  parameters = grant_dialect_get_parameters (dialect);
  g_assert_cmpstr (parameters[0], ==, "audience=https://api.example.com/");
  g_assert_null (parameters[1]);
}

static void
test_broken_files (void)
{
  const struct {
    const char *data;
    const char *words[3];
  } cases[] = {
    { "[Response]\nAccessToken=/t\n", { "broken", "no [Provider] group" } },
    { "[Provider]\nRequestFormat=xml\n", { "broken", "RequestFormat", "xml" } },
    { "[Provider]\nAuthMethod=magic_jwt\n", { "AuthMethod", "magic_jwt" } },
    { "[Provider]\nDefaultLifetime=soon\n", { "DefaultLifetime", "soon" } },
    { "[Provider]\nDefaultLifetime=0\n", { "DefaultLifetime" } },
    { "[Provider]\nTokenUrl=http://auth.example.com/token\n", { "TokenUrl", "http" } },
    { "[Provider]\nTokenUrl=not a url\n", { "TokenUrl" } },
    { "[Provider]\n[Response]\nAccessToken=data/token\n", { "[Response] AccessToken", "data/token" } },
    { "[Provider]\n[Response]\nExpiresIn=/a~2\n", { "[Response] ExpiresIn", "~" } },
    { "[Provider]\n[Response]\nAccessToken=\n", { "AccessToken", "empty" } },
    { "[Provider]\nTokenURL=https://a.example/\n", { "TokenURL", "unknown key" } },
    { "[Provider]\n[Reponse]\nAccessToken=/t\n", { "[Reponse]", "unknown group" } },
    { "[Provider]\n[Parameters]\nclient_secret=x\n", { "[Parameters] client_secret" } },
    { "[Provider]\nthis is not a key file line\n", { "broken", "this is not a key file line" } },
    { "\xff\xfe[Provider]\n", { "broken" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantDialect) dialect = grant_dialect_new_from_data ("broken", cases[i].data, -1, &error);

      g_test_message ("case %u: %s", i, error ? error->message : "(no error)");
      g_assert_null (dialect);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      for (guint j = 0; j < G_N_ELEMENTS (cases[i].words) && cases[i].words[j] != NULL; j++)
        g_assert_nonnull (strstr (error->message, cases[i].words[j]));
    }
}

static char *
write_provider (const char *dir,
                const char *name,
                const char *data)
{
  g_autofree char *providers = g_build_filename (dir, "grant", "providers", NULL);
  g_autofree char *file = g_strconcat (name, ".provider", NULL);
  char *path = g_build_filename (providers, file, NULL);

  g_assert_cmpint (g_mkdir_with_parents (providers, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, data, -1, NULL));

  return path;
}

static void
test_user_and_system_files (void)
{
  /* G_TEST_OPTION_ISOLATE_DIRS gives every test its own XDG directories. */
  const char * const *system_dirs = g_get_system_data_dirs ();
  g_autofree char *user_file = NULL;
  g_autofree char *system_file = NULL;
  g_autofree char *override = NULL;
  g_autofree char *broken = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GrantDialect) custom = NULL;
  g_autoptr(GrantDialect) overridden = NULL;
  g_autoptr(GrantDialect) from_system = NULL;
  g_autoptr(GrantDialect) still_there = NULL;
  g_autoptr(GrantDialect) not_found = NULL;
  g_autoptr(GrantDialect) broken_dialect = NULL;
  g_autoptr(GError) error = NULL;

  user_file = write_provider (g_get_user_data_dir (), "custom",
                              "[Provider]\nName=Custom\nTokenUrl=https://custom.example/token\n");
  override = write_provider (g_get_user_data_dir (), "officernd",
                             "[Provider]\nName=My OfficeRnD\nScope=officernd.api.read\n");
  system_file = write_provider (system_dirs[0], "sysonly",
                                "[Provider]\nName=System\n");
  /* A system file hidden by the user's. */
  g_free (write_provider (system_dirs[0], "custom", "[Provider]\nName=System custom\n"));
  broken = write_provider (g_get_user_data_dir (), "broken", "[Provider]\nRequestFormat=yaml\n");
  g_free (write_provider (g_get_user_data_dir (), "not-a-provider.txt~", "x"));

  names = grant_dialect_list_presets ();
  g_assert_true (g_strv_contains ((const char * const *) names, "custom"));
  g_assert_true (g_strv_contains ((const char * const *) names, "sysonly"));
  g_assert_true (g_strv_contains ((const char * const *) names, "broken"));
  g_assert_true (g_strv_contains ((const char * const *) names, "expertfile"));
  g_assert_false (g_strv_contains ((const char * const *) names, "not-a-provider.txt~"));

  custom = grant_dialect_new_for_preset ("custom", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_display_name (custom), ==, "Custom");

  overridden = grant_dialect_new_for_preset ("officernd", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_display_name (overridden), ==, "My OfficeRnD");
  g_assert_cmpstr (grant_dialect_get_scope (overridden), ==, "officernd.api.read");

  from_system = grant_dialect_new_for_preset ("sysonly", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_display_name (from_system), ==, "System");

  /* A broken file is an error naming the file and the key... */
  broken_dialect = grant_dialect_new_for_preset ("broken", &error);
  g_assert_null (broken_dialect);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, broken));
  g_assert_nonnull (strstr (error->message, "RequestFormat"));
  g_clear_error (&error);

  /* ...and hides nothing else. */
  still_there = grant_dialect_new_for_preset ("expertfile", &error);
  g_assert_no_error (error);

  not_found = grant_dialect_new_for_preset ("nope", &error);
  g_assert_null (not_found);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_assert_nonnull (strstr (error->message, "expertfile"));
}

static void
test_bad_names (void)
{
  const char *names[] = { "../../etc/passwd", "a/b", "", ".hidden", "a..b", "sp ace" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantDialect) dialect = grant_dialect_new_for_preset (names[i], &error);

      g_assert_null (dialect);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      g_assert_nonnull (strstr (error->message, "not a valid preset name"));
    }
}

static void
test_properties (void)
{
  const char *parameters[] = { "audience=x", NULL };
  g_autoptr(GrantDialect) dialect = g_object_new (GRANT_TYPE_DIALECT,
                                                  "access-token-pointer", "/t",
                                                  "expires-at-pointer", "/exp",
                                                  "token-type-pointer", NULL,
                                                  "request-format", GRANT_REQUEST_FORMAT_JSON,
                                                  "parameters", parameters,
                                                  NULL);

  g_assert_cmpstr (grant_dialect_get_access_token_pointer (dialect), ==, "/t");
  g_assert_cmpstr (grant_dialect_get_expires_at_pointer (dialect), ==, "/exp");
  g_assert_null (grant_dialect_get_token_type_pointer (dialect));
  g_assert_cmpstr (grant_dialect_get_error_pointer (dialect), ==, "/error");
  g_assert_cmpint (grant_dialect_get_request_format (dialect), ==, GRANT_REQUEST_FORMAT_JSON);
  g_assert_cmpstr (grant_dialect_get_parameters (dialect)[0], ==, "audience=x");
}

static void
test_auth_method_names (void)
{
  const struct {
    const char *name;
    GrantAuthMethod method;
  } names[] = {
    { "client_secret_post", GRANT_AUTH_METHOD_CLIENT_SECRET_POST },
    { "client_secret_basic", GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC },
    { "none", GRANT_AUTH_METHOD_NONE },
    { "auto", GRANT_AUTH_METHOD_AUTO },
    { "private_key_jwt", GRANT_AUTH_METHOD_PRIVATE_KEY_JWT },
    { "client_secret_jwt", GRANT_AUTH_METHOD_CLIENT_SECRET_JWT },
    { "tls_client_auth", GRANT_AUTH_METHOD_TLS_CLIENT_AUTH },
    { "self_signed_tls_client_auth", GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH },
  };
  g_autoptr(GrantDialect) refused = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *data = g_strdup_printf ("[Provider]\nAuthMethod=%s\n", names[i].name);
      g_autoptr(GrantDialect) dialect = grant_dialect_new_from_data ("m", data, -1, &error);

      g_assert_no_error (error);
      g_assert_cmpint (grant_dialect_get_auth_method (dialect), ==, names[i].method);
    }

  refused = grant_dialect_new_from_data ("m", "[Provider]\nAuthMethod=private_key\n", -1, &error);
  g_assert_null (refused);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "AuthMethod"));
  g_assert_nonnull (strstr (error->message, "private_key_jwt"));
}

static void
test_assertion_keys (void)
{
  const char *bad[] = {
    "[Provider]\nSigningAlgorithm=HS256\n",
    "[Provider]\nSigningAlgorithm=none\n",
    "[Provider]\nSigningAlgorithm=ps256\n",
    "[Provider]\nIssuer=http://auth.example.com\n",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) dialect =
    grant_dialect_new_from_data ("acme",
                                 "[Provider]\n"
                                 "TokenUrl=https://auth.example.com/oauth/token\n"
                                 "Issuer=https://auth.example.com/\n"
                                 "AssertionAudience=https://auth.example.com/\n"
                                 "SigningAlgorithm=PS256\n"
                                 "AuthMethod=private_key_jwt\n",
                                 -1, &error);
  g_autoptr(GrantDialect) plain = grant_dialect_new ();

  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_issuer (dialect), ==, "https://auth.example.com/");
  g_assert_cmpstr (grant_dialect_get_assertion_audience (dialect), ==, "https://auth.example.com/");
  g_assert_cmpstr (grant_dialect_get_signing_algorithm (dialect), ==, "PS256");
  g_assert_null (grant_dialect_get_variables (dialect));

  g_assert_null (grant_dialect_get_issuer (plain));
  g_assert_null (grant_dialect_get_assertion_audience (plain));
  g_assert_null (grant_dialect_get_signing_algorithm (plain));
  g_assert_null (grant_dialect_get_variables (plain));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GrantDialect) refused = grant_dialect_new_from_data ("bad", bad[i], -1, &error);

      g_assert_null (refused);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      g_assert_true (strstr (error->message, "SigningAlgorithm") || strstr (error->message, "Issuer"));
      g_clear_error (&error);
    }
}

typedef struct {
  const char *preset;
  const char *variables[4];
  const char *token_url;
  const char *issuer;
  const char *assertion_audience;   /* NULL: the token URL */
  GrantAuthMethod auth_method;
  const char *signing_algorithm;
  const char *names;                /* the variables, joined */
} TemplatedPreset;

static const TemplatedPreset templated_presets[] = {
  { "entra", { "tenant=contoso.onmicrosoft.com", NULL },
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
    NULL, GRANT_AUTH_METHOD_AUTO, "PS256", "authority_host,tenant" },
  { "entra", { "tenant=72f988bf-86f1-41af-91ab-2d7cd011db47", "authority_host=login.microsoftonline.us", NULL },
    "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
    "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
    NULL, GRANT_AUTH_METHOD_AUTO, "PS256", "authority_host,tenant" },
  { "okta", { "domain=dev-123456.okta.com", NULL },
    "https://dev-123456.okta.com/oauth2/default/v1/token",
    "https://dev-123456.okta.com/oauth2/default",
    NULL, GRANT_AUTH_METHOD_AUTO, NULL, "authorization_server,domain" },
  { "okta", { "domain=login.example.com", "authorization_server=aus8abc123", NULL },
    "https://login.example.com/oauth2/aus8abc123/v1/token",
    "https://login.example.com/oauth2/aus8abc123",
    NULL, GRANT_AUTH_METHOD_AUTO, NULL, "authorization_server,domain" },
  { "okta-org", { "domain=dev-123456.okta.com", NULL },
    "https://dev-123456.okta.com/oauth2/v1/token",
    "https://dev-123456.okta.com",
    NULL, GRANT_AUTH_METHOD_PRIVATE_KEY_JWT, NULL, "domain" },
  { "auth0", { "domain=example.us.auth0.com", NULL },
    "https://example.us.auth0.com/oauth/token",
    "https://example.us.auth0.com/",
    "https://example.us.auth0.com/", GRANT_AUTH_METHOD_AUTO, NULL, "domain" },
  { "keycloak", { "host=sso.example.com:8443", "realm=acme", NULL },
    "https://sso.example.com:8443/realms/acme/protocol/openid-connect/token",
    "https://sso.example.com:8443/realms/acme",
    NULL, GRANT_AUTH_METHOD_AUTO, NULL, "host,realm" },
};

static void
test_templated_presets (void)
{
  g_auto(GStrv) names = grant_dialect_list_presets ();

  for (guint i = 0; i < G_N_ELEMENTS (templated_presets); i++)
    {
      const TemplatedPreset *expected = &templated_presets[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantDialect) dialect = NULL;
      g_autoptr(GrantTokenProvider) provider = NULL;
      g_autofree char *joined = NULL;

      g_test_message ("%s, %s", expected->preset, expected->variables[0]);
      g_assert_true (g_strv_contains ((const char * const *) names, expected->preset));

      dialect = grant_dialect_new_for_preset_with_variables (expected->preset, expected->variables, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_dialect_get_name (dialect), ==, expected->preset);
      g_assert_cmpstr (grant_dialect_get_token_url (dialect), ==, expected->token_url);
      g_assert_cmpstr (grant_dialect_get_issuer (dialect), ==, expected->issuer);
      g_assert_cmpstr (grant_dialect_get_assertion_audience (dialect), ==, expected->assertion_audience);
      g_assert_cmpint (grant_dialect_get_auth_method (dialect), ==, expected->auth_method);
      g_assert_cmpstr (grant_dialect_get_signing_algorithm (dialect), ==, expected->signing_algorithm);
      g_assert_cmpint (grant_dialect_get_request_format (dialect), ==, GRANT_REQUEST_FORMAT_FORM);
      g_assert_true (grant_dialect_get_parameters (dialect) == NULL ||
                     grant_dialect_get_parameters (dialect)[0] == NULL);
      joined = g_strjoinv (",", (char **) grant_dialect_get_variables (dialect));
      g_assert_cmpstr (joined, ==, expected->names);

      /* The provider takes all of it as defaults. */
      provider = grant_token_provider_new_from_preset_with_variables (expected->preset, expected->variables,
                                                                      "my-app", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_token_provider_get_token_url (provider), ==, expected->token_url);
      g_assert_cmpstr (grant_token_provider_get_issuer (provider), ==, expected->issuer);
      g_assert_cmpstr (grant_token_provider_get_assertion_audience (provider), ==,
                       expected->assertion_audience);
      g_assert_cmpint (grant_token_provider_get_auth_method (provider), ==, expected->auth_method);
      g_assert_null (grant_token_provider_get_scope (provider));
    }
}

/* Without variables, a templated preset still reads: what needs a variable
 * is unset, and the hint says what the URL looks like. */
static void
test_templated_without_variables (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) entra = grant_dialect_new_for_preset ("entra", &error);
  g_autoptr(GrantDialect) auth0 = NULL;
  g_autoptr(GrantDialect) expertfile = NULL;
  const char *none[] = { NULL };

  g_assert_no_error (error);
  g_assert_null (grant_dialect_get_token_url (entra));
  g_assert_null (grant_dialect_get_issuer (entra));
  g_assert_cmpstr (grant_dialect_get_token_url_hint (entra), ==,
                   "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token");
  g_assert_cmpstr (grant_dialect_get_signing_algorithm (entra), ==, "PS256");
  g_assert_true (g_strv_contains (grant_dialect_get_variables (entra), "tenant"));

  auth0 = grant_dialect_new_for_preset ("auth0", &error);
  g_assert_no_error (error);
  g_assert_null (grant_dialect_get_assertion_audience (auth0));

  /* A preset without variables is the same either way. */
  expertfile = grant_dialect_new_for_preset_with_variables ("expertfile", none, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_token_url (expertfile), ==,
                   "https://public-api.expertfile.com/v2/oauth/token");
  g_clear_object (&expertfile);
  expertfile = grant_dialect_new_for_preset_with_variables ("expertfile", NULL, &error);
  g_assert_no_error (error);
}

static void
assert_refused (const char         *preset,
                const char * const *variables,
                const char         *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantDialect) dialect = grant_dialect_new_for_preset_with_variables (preset, variables, &error);
  g_autoptr(GrantTokenProvider) provider = NULL;

  g_assert_null (dialect);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));
  g_clear_error (&error);

  provider = grant_token_provider_new_from_preset_with_variables (preset, variables, "id", "secret", &error);
  g_assert_null (provider);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, expected));
}

static void
test_variables_refused (void)
{
  /* Values that would move the request to another host, path or query. */
  const char *hostile[] = {
    "evil.example/x", "evil.example?", "evil.example#", "me@evil.example",
    "a b", "..", ".", "%2F", "a\\b", "a\nb", "", "{tenant}", "[::1]", "a;b", "a&b",
  };

  {
    const char *none[] = { NULL };
    const char *other[] = { "authority_host=login.microsoftonline.us", NULL };
    const char *keycloak[] = { "host=sso.example.com", NULL };

    assert_refused ("entra", none, "“tenant” is not set");
    assert_refused ("entra", NULL, "“tenant” is not set");
    assert_refused ("entra", other, "“tenant” is not set");
    assert_refused ("keycloak", keycloak, "“realm” is not set");
  }

  {
    const char *typo[] = { "tenat=contoso", NULL };
    const char *not_pair[] = { "tenant", NULL };
    const char *no_name[] = { "=contoso", NULL };
    const char *none_taken[] = { "tenant=contoso", NULL };

    assert_refused ("entra", typo, "no variable “tenat”; the variables are: authority_host, tenant");
    assert_refused ("entra", not_pair, "not NAME=VALUE");
    assert_refused ("entra", no_name, "not NAME=VALUE");
    assert_refused ("expertfile", none_taken, "takes no variables");
  }

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autofree char *tenant = g_strconcat ("tenant=", hostile[i], NULL);
      g_autofree char *domain = g_strconcat ("domain=", hostile[i], NULL);
      const char *entra[] = { tenant, NULL };
      const char *auth0[] = { domain, NULL };

      assert_refused ("entra", entra, "is not a safe value for the variable “tenant”");
      assert_refused ("auth0", auth0, "is not a safe value for the variable “domain”");
    }
}

static void
test_variables_in_files (void)
{
  const struct {
    const char *data;
    const char *expected;
  } broken[] = {
    { "[Provider]\nTokenUrl=https://{host/token\n", "[Provider] TokenUrl: “{” starts no variable" },
    { "[Provider]\nTokenUrl=https://{}/token\n", "[Provider] TokenUrl: “{” starts no variable" },
    { "[Provider]\nIssuer=https://{a-b}/\n", "[Provider] Issuer: “{” starts no variable" },
    { "[Provider]\nAssertionAudience=https://x}/\n", "[Provider] AssertionAudience: “}” closes no variable" },
    { "[Provider]\nTokenUrl=https://{host}/token\n[Variables]\nhost=a/b\n", "[Variables] host: “a/b” is not a safe value" },
    { "[Provider]\nTokenUrl=https://{host}/token\n[Variables]\nho-st=a\n", "[Variables] ho-st: a variable name" },
    { "[Provider]\nTokenUrl=http://{host}/token\n[Variables]\nhost=example.com\n", "[Provider] TokenUrl" },
  };
  const char *given[] = { "realm=acme", NULL };
  const char *port[] = { "realm=acme", "host=localhost:8080", NULL };
  g_autoptr(GrantDialect) dialect = NULL;
  g_autoptr(GrantDialect) overridden = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autofree char *path = write_provider (g_get_user_data_dir (), "broken", broken[i].data);
      g_autoptr(GrantDialect) refused = grant_dialect_new_for_preset_with_variables ("broken", NULL, &error);

      g_assert_null (refused);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, broken[i].expected));
      g_clear_error (&error);
    }

  /* A default, replaced when given; braces elsewhere are text. */
  g_free (write_provider (g_get_user_data_dir (), "mine",
                          "[Provider]\n"
                          "TokenUrl=https://{host}/{realm}/token\n"
                          "AssertionAudience=https://{host}/\n"
                          "Scope={not a variable}\n"
                          "[Variables]\n"
                          "host=auth.example.com\n"
                          "realm=\n"));
  dialect = grant_dialect_new_for_preset_with_variables ("mine", given, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_token_url (dialect), ==, "https://auth.example.com/acme/token");
  g_assert_cmpstr (grant_dialect_get_assertion_audience (dialect), ==, "https://auth.example.com/");
  g_assert_cmpstr (grant_dialect_get_scope (dialect), ==, "{not a variable}");

  overridden = grant_dialect_new_for_preset_with_variables ("mine", port, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_dialect_get_token_url (overridden), ==, "https://localhost:8080/acme/token");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/dialect/default", test_default);
  g_test_add_func ("/dialect/builtin-presets", test_builtin_presets);
  g_test_add_func ("/dialect/expertfile", test_expertfile);
  g_test_add_func ("/dialect/seed-presets", test_seed_presets);
  g_test_add_func ("/dialect/from-data", test_from_data);
  g_test_add_func ("/dialect/broken-files", test_broken_files);
  g_test_add_func ("/dialect/user-and-system-files", test_user_and_system_files);
  g_test_add_func ("/dialect/bad-names", test_bad_names);
  g_test_add_func ("/dialect/properties", test_properties);
  g_test_add_func ("/dialect/auth-method-names", test_auth_method_names);
  g_test_add_func ("/dialect/assertion-keys", test_assertion_keys);
  g_test_add_func ("/dialect/templated-presets", test_templated_presets);
  g_test_add_func ("/dialect/templated-without-variables", test_templated_without_variables);
  g_test_add_func ("/dialect/variables-refused", test_variables_refused);
  g_test_add_func ("/dialect/variables-in-files", test_variables_in_files);

  return g_test_run ();
}
