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
  const char *expected[] = { "expertfile", "json-body", "officernd", "rfc6749", "smartdocumentor" };

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

  return g_test_run ();
}
