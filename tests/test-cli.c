/* test-cli.c: grant-token, run as a process against a loopback endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

typedef struct {
  gboolean done;
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static void
communicated_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_finish (G_SUBPROCESS (object), result, &out, &err, &error);
  g_assert_no_error (error);
  run->out = g_strndup (g_bytes_get_size (out) ? g_bytes_get_data (out, NULL) : "", g_bytes_get_size (out));
  run->err = g_strndup (g_bytes_get_size (err) ? g_bytes_get_data (err, NULL) : "", g_bytes_get_size (err));
  run->status = g_subprocess_get_exit_status (G_SUBPROCESS (object));
  run->done = TRUE;
}

static GSubprocessLauncher *
launcher_new (const char *secret)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                             G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                             G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_subprocess_launcher_unsetenv (launcher, "GRANT_CLIENT_SECRET");
  if (secret != NULL)
    g_subprocess_launcher_setenv (launcher, "GRANT_CLIENT_SECRET", secret, TRUE);

  return launcher;
}

/* Runs grant-token with @args (NULL-terminated), @input on its stdin. */
static void
run_tool (GSubprocessLauncher *launcher,
          const char          *input,
          Run                 *run,
          const char * const  *args)
{
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "grant-token", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) stdin_bytes = g_bytes_new (input ? input : "", input ? strlen (input) : 0);
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, tool);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_async (process, stdin_bytes, NULL, communicated_cb, run);
  test_wait_until (&run->done);
}

#define RUN(launcher, input, run, ...) \
  G_STMT_START { \
    const char *args_[] = { __VA_ARGS__, NULL }; \
    run_tool ((launcher), (input), (run), args_); \
  } G_STMT_END

static void
test_outputs (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autofree char *first = local_endpoint_token (endpoint, 1);
  g_autofree char *second = local_endpoint_token (endpoint, 2);
  g_autofree char *third = local_endpoint_token (endpoint, 3);
  g_autofree char *expected_header = g_strdup_printf ("Authorization: Bearer %s\n", second);
  g_autoptr(JsonNode) json = NULL;
  JsonObject *object;
  Run token = { 0 }, header = { 0 }, as_json = { 0 };

  RUN (launcher, NULL, &token, "--client-id", "test-client", "--token-url", endpoint->token_url);
  g_assert_cmpint (token.status, ==, 0);
  g_assert_cmpstr (g_strchomp (token.out), ==, first);
  g_assert_cmpstr (token.err, ==, "");

  RUN (launcher, NULL, &header, "-c", "test-client", "-u", endpoint->token_url, "--output", "header");
  g_assert_cmpint (header.status, ==, 0);
  g_assert_cmpstr (header.out, ==, expected_header);

  RUN (launcher, NULL, &as_json, "-c", "test-client", "-u", endpoint->token_url, "-o", "json",
       "--scope", "read write");
  g_assert_cmpint (as_json.status, ==, 0);
  json = json_from_string (as_json.out, NULL);
  g_assert_nonnull (json);
  object = json_node_get_object (json);
  g_assert_cmpstr (json_object_get_string_member (object, "access_token"), ==, third);
  g_assert_cmpstr (json_object_get_string_member (object, "token_type"), ==, "Bearer");
  g_assert_cmpstr (json_object_get_string_member (object, "scope"), ==, "read write");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (object, "expires_at"), "Z"));
  g_assert_true (json_object_has_member (object, "response"));

  run_clear (&token);
  run_clear (&header);
  run_clear (&as_json);
}

static void
test_secret_sources (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) no_env = launcher_new (NULL);
  g_autofree char *file = NULL;
  g_autoptr(GError) error = NULL;
  Run from_file = { 0 }, from_stdin = { 0 }, missing = { 0 }, unreadable = { 0 };
  int fd;

  fd = g_file_open_tmp ("grant-secret-XXXXXX", &file, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, "test-secret\n", 12), ==, 12);
  close (fd);

  RUN (no_env, NULL, &from_file, "-c", "test-client", "-u", endpoint->token_url,
       "--client-secret-file", file);
  g_assert_cmpint (from_file.status, ==, 0);

  RUN (no_env, "test-secret\n", &from_stdin, "-c", "test-client", "-u", endpoint->token_url,
       "--client-secret-file", "-");
  g_assert_cmpint (from_stdin.status, ==, 0);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  RUN (no_env, NULL, &missing, "-c", "test-client", "-u", endpoint->token_url);
  g_assert_cmpint (missing.status, ==, 2);
  g_assert_nonnull (strstr (missing.err, "GRANT_CLIENT_SECRET"));

  RUN (no_env, NULL, &unreadable, "-c", "test-client", "-u", endpoint->token_url,
       "--client-secret-file", "/nonexistent/secret");
  g_assert_cmpint (unreadable.status, ==, 1);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_unlink (file);
  run_clear (&from_file);
  run_clear (&from_stdin);
  run_clear (&missing);
  run_clear (&unreadable);
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p; p++)
    if (*p == '\n')
      n++;

  return n;
}

static void
test_exit_statuses (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(LocalEndpoint) gone = test_endpoint_new (FALSE);
  g_autofree char *gone_url = g_strdup (gone->token_url);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autoptr(GSubprocessLauncher) wrong = launcher_new ("wrong");
  const struct {
    GSubprocessLauncher *launcher;
    int status;
    const char *args[12];
  } cases[] = {
    /* Usage. */
    { launcher, 2, { "--no-such-option", NULL } },
    { launcher, 2, { "-u", endpoint->token_url, NULL } },
    { launcher, 2, { "-c", "test-client", NULL } },
    { launcher, 2, { "-c", "test-client", "-u", endpoint->token_url, "-o", "xml", NULL } },
    { launcher, 2, { "-c", "test-client", "-u", endpoint->token_url, "-a", "magic", NULL } },
    { launcher, 2, { "-c", "test-client", "-u", endpoint->token_url, "--param", "noequals", NULL } },
    { launcher, 2, { "-c", "test-client", "-u", endpoint->token_url, "--param", "client_secret=x", NULL } },
    { launcher, 2, { "-c", "test-client", "-u", endpoint->token_url, "test-secret", NULL } },
    /* Refused by the server or the configuration. */
    { wrong, 3, { "-c", "test-client", "-u", endpoint->token_url, NULL } },
    { launcher, 3, { "-c", "nobody", "-u", endpoint->token_url, NULL } },
    { launcher, 3, { "-c", "test-client", "-p", "no-such-preset", NULL } },
    { launcher, 3, { "-c", "test-client", "-u", "http://192.0.2.1/token", NULL } },
    { launcher, 3, { "-c", "test-client", "-p", "json-body", NULL } },
    /* The network or the server. */
    { launcher, 4, { "-c", "test-client", "-u", NULL, NULL } },
  };

  g_clear_pointer (&gone, local_endpoint_free);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Run run = { 0 };
      const char *args[12];

      memcpy (args, cases[i].args, sizeof args);
      if (i == G_N_ELEMENTS (cases) - 1)
        args[3] = gone_url;

      run_tool (cases[i].launcher, NULL, &run, args);
      g_test_message ("case %u: status %d, stderr %s", i, run.status, run.err);
      g_assert_cmpint (run.status, ==, cases[i].status);
      /* One line on stderr, nothing on stdout. */
      g_assert_cmpstr (run.out, ==, "");
      g_assert_true (g_str_has_prefix (run.err, "grant-token: "));
      g_assert_cmpuint (count_lines (run.err), ==, 1);
      run_clear (&run);
    }

  /* A server failing: after its retries, status 4. */
  {
    Run run = { 0 };

    for (guint i = 0; i < 3; i++)
      local_endpoint_push_failure (endpoint, 503, "Retry-After", "0", "");
    RUN (launcher, NULL, &run, "-c", "test-client", "-u", endpoint->token_url);
    g_assert_cmpint (run.status, ==, 4);
    run_clear (&run);
  }
}

static void
test_nothing_secret_on_stderr (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("cli-canary-secret");
  g_autoptr(GSubprocessLauncher) wrong = launcher_new ("cli-canary-wrong");
  g_autofree char *token = local_endpoint_token (endpoint, 1);
  Run ok = { 0 }, failed = { 0 };

  g_free (endpoint->client_secret);
  endpoint->client_secret = g_strdup ("cli-canary-secret");
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "all", TRUE);
  g_subprocess_launcher_setenv (wrong, "G_MESSAGES_DEBUG", "all", TRUE);

  RUN (launcher, NULL, &ok, "-v", "-c", "test-client", "-u", endpoint->token_url, "-a", "auto");
  g_assert_cmpint (ok.status, ==, 0);
  g_assert_nonnull (strstr (ok.err, "Requesting a token"));
  g_assert_null (strstr (ok.err, "cli-canary"));
  g_assert_null (strstr (ok.err, token));
  g_assert_nonnull (strstr (ok.out, token));

  RUN (wrong, NULL, &failed, "-v", "-c", "test-client", "-u", endpoint->token_url, "-a", "auto");
  g_assert_cmpint (failed.status, ==, 3);
  g_assert_null (strstr (failed.err, "cli-canary"));

  run_clear (&ok);
  run_clear (&failed);
}

static void
test_params_and_formats (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autofree char *json_url = local_endpoint_url_for (endpoint, LOCAL_ENDPOINT_JSON_BODY);
  g_autofree char *audience = NULL;
  g_autofree char *auth = NULL;
  Run params = { 0 }, json = { 0 }, preset = { 0 };

  RUN (launcher, NULL, &params, "-c", "test-client", "-u", endpoint->token_url,
       "--param", "audience=https://api.example.com/", "-a", "basic");
  g_assert_cmpint (params.status, ==, 0);
  audience = local_endpoint_dup_param (endpoint, "audience");
  g_assert_cmpstr (audience, ==, "https://api.example.com/");
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "basic");

  RUN (launcher, NULL, &json, "-c", "test-client", "-u", json_url, "-f", "json");
  g_assert_cmpint (json.status, ==, 0);

  RUN (launcher, NULL, &preset, "-c", "test-client", "-p", "json-body", "-u", json_url);
  g_assert_cmpint (preset.status, ==, 0);
  g_assert_cmpstr (endpoint->last_content_type, ==, "application/json");

  run_clear (&params);
  run_clear (&json);
  run_clear (&preset);
}

static void
test_list_presets (void)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (NULL);
  Run run = { 0 };

  RUN (launcher, NULL, &run, "--list-presets");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "expertfile"));
  g_assert_nonnull (strstr (run.out, "https://public-api.expertfile.com/v2/oauth/token"));
  g_assert_nonnull (strstr (run.out, "json-body"));
  g_assert_nonnull (strstr (run.out, "smartdocumentor"));
  g_assert_nonnull (strstr (run.out, "officernd"));
  g_assert_nonnull (strstr (run.out, "rfc6749"));
  run_clear (&run);
}

static void
test_preset_vars (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_dir_make_tmp ("grant-cli-XXXXXX", &error);
  g_autofree char *providers = g_build_filename (data, "grant", "providers", NULL);
  g_autofree char *path = g_build_filename (providers, "local-tenant.provider", NULL);
  g_autoptr(GUri) uri = g_uri_parse (endpoint->base_url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *port = g_strdup_printf ("port=%d", g_uri_get_port (uri));
  g_autofree char *first = local_endpoint_token (endpoint, 1);
  Run ok = { 0 }, missing = { 0 }, hostile = { 0 }, unknown = { 0 }, alone = { 0 }, list = { 0 };
  Run with_url = { 0 };

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (providers, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path,
                                      "[Provider]\n"
                                      "Name=Local tenant\n"
                                      "TokenUrl=http://127.0.0.1:{port}/{path}\n"
                                      "[Variables]\n"
                                      "port=\n"
                                      "path=token\n",
                                      -1, NULL));
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);

  RUN (launcher, NULL, &ok, "-c", "test-client", "-p", "local-tenant", "--preset-var", port);
  g_assert_cmpstr (ok.err, ==, "");
  g_assert_cmpint (ok.status, ==, 0);
  g_assert_cmpstr (g_strchomp (ok.out), ==, first);

  RUN (launcher, NULL, &missing, "-c", "test-client", "-p", "entra");
  g_assert_cmpint (missing.status, ==, 3);
  g_assert_nonnull (strstr (missing.err, "“tenant” is not set"));
  g_assert_nonnull (strstr (missing.err, "tenant=VALUE"));

  RUN (launcher, NULL, &hostile, "-c", "test-client", "-p", "entra",
       "--preset-var", "tenant=evil.example/x?", "--preset-var", "authority_host=login.microsoftonline.us");
  g_assert_cmpint (hostile.status, ==, 3);
  g_assert_nonnull (strstr (hostile.err, "not a safe value for the variable “tenant”"));

  RUN (launcher, NULL, &unknown, "-c", "test-client", "-p", "auth0", "--preset-var", "tenant=x");
  g_assert_cmpint (unknown.status, ==, 3);
  g_assert_nonnull (strstr (unknown.err, "no variable “tenant”; the variables are: domain"));

  RUN (launcher, NULL, &alone, "-c", "test-client", "-u", endpoint->token_url, "--preset-var", "tenant=x");
  g_assert_cmpint (alone.status, ==, 2);
  g_assert_nonnull (strstr (alone.err, "--preset-var needs a --preset"));

  /* A token URL given instead of the variables. */
  RUN (launcher, NULL, &with_url, "-c", "test-client", "-p", "keycloak", "-u", endpoint->token_url);
  g_assert_cmpint (with_url.status, ==, 0);

  RUN (launcher, NULL, &list, "--list-presets");
  g_assert_cmpint (list.status, ==, 0);
  g_assert_nonnull (strstr (list.out, "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token "
                                      "(--preset-var authority_host, tenant)"));
  g_assert_nonnull (strstr (list.out, "local-tenant"));
  g_assert_nonnull (strstr (list.out, "okta-org"));
  g_assert_nonnull (strstr (list.out, "keycloak"));

  test_remove_tree (data);
  run_clear (&ok);
  run_clear (&missing);
  run_clear (&hostile);
  run_clear (&unknown);
  run_clear (&alone);
  run_clear (&with_url);
  run_clear (&list);
}

static void
test_store_file (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autoptr(GError) error = NULL;
  g_autofree char *cache = g_dir_make_tmp ("grant-cli-XXXXXX", &error);
  Run one = { 0 }, two = { 0 };

  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  RUN (launcher, NULL, &one, "-c", "test-client", "-u", endpoint->token_url, "--store", "file");
  RUN (launcher, NULL, &two, "-c", "test-client", "-u", endpoint->token_url, "--store", "file");
  g_assert_cmpint (one.status, ==, 0);
  g_assert_cmpint (two.status, ==, 0);
  g_assert_cmpstr (one.out, ==, two.out);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  run_clear (&one);
  run_clear (&two);
  {
    g_autofree char *command = g_strdup_printf ("rm -rf '%s'", cache);

    g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
  }
}

/* A store that fails is a warning on one line, the command's own, and the
 * token still comes; an empty secret file is called that. */
static void
test_one_line_messages (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autoptr(GSubprocessLauncher) no_secret = launcher_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("grant-cli-XXXXXX", &error);
  g_autofree char *blocker = g_build_filename (dir, "not-a-directory", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty-secret", NULL);
  Run stored = { 0 }, blank = { 0 };

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_assert_true (g_file_set_contents (empty, "\n", 1, NULL));

  /* The cache directory cannot be made: a file is in the way. */
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", blocker, TRUE);
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  RUN (launcher, NULL, &stored, "-c", "test-client", "-u", endpoint->token_url, "--store", "file");
  g_assert_cmpint (stored.status, ==, 0);
  g_assert_cmpuint (strlen (g_strchomp (stored.out)), >, 0);
  g_assert_true (g_str_has_prefix (stored.err, "grant-token: warning: The token store failed"));
  g_assert_cmpuint (strlen (stored.err), ==, strcspn (stored.err, "\n") + 1);
  g_assert_null (strstr (stored.err, "Grant-WARNING"));

  RUN (no_secret, NULL, &blank, "-c", "test-client", "-u", endpoint->token_url, "--client-secret-file", empty);
  g_assert_cmpint (blank.status, !=, 0);
  g_assert_nonnull (strstr (blank.err, "is empty"));
  g_assert_nonnull (strstr (blank.err, empty));

  run_clear (&stored);
  run_clear (&blank);
  test_remove_tree (dir);
}

static void
line_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  char **line = user_data;
  gsize length;

  *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, &length, NULL);
  if (*line == NULL)
    *line = g_strdup ("");
}

static char *
read_line (GDataInputStream *stream)
{
  char *line = NULL;

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, NULL, line_cb, &line);
  while (line == NULL)
    g_main_context_iteration (NULL, TRUE);

  return line;
}

/* grant-token --watch for the endpoint's client, its output as lines. */
static GSubprocess *
spawn_watch (LocalEndpoint     *endpoint,
             GDataInputStream **out)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "grant-token", NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "GRANT_CLIENT_SECRET", "test-secret", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, tool, "-c", "test-client",
                                         "-u", endpoint->token_url, "--watch", NULL);
  g_assert_no_error (error);
  *out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));

  return process;
}

/* Interrupts it, and checks its exit status. */
static void
stop_watch (GSubprocess *process,
            int          status)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (process, SIGTERM);
  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, status);
}

static void
test_watch (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *first = local_endpoint_token (endpoint, 1);
  g_autofree char *line1 = NULL;
  g_autofree char *line2 = NULL;
  g_autofree char *line3 = NULL;

  /* Two-second tokens: refreshed about a second later. */
  endpoint->expires_in = 2;
  process = spawn_watch (endpoint, &out);

  line1 = read_line (out);
  g_assert_cmpstr (line1, ==, first);

  line2 = read_line (out);
  g_test_message ("%s", line2);
  g_assert_nonnull (strstr (line2, " refreshed, expires "));

  /* A failure is a line too. */
  for (guint i = 0; i < 3; i++)
    local_endpoint_push_failure (endpoint, 400, NULL, NULL, "{\"error\":\"invalid_client\"}");
  line3 = read_line (out);
  g_test_message ("%s", line3);
  g_assert_nonnull (strstr (line3, " refresh failed: "));
  g_assert_nonnull (strstr (line3, "invalid_client"));

  /* Then the endpoint works again, and a token comes, whether refreshed
   * or fetched once the last one expired. */
  for (guint i = 0; ; i++)
    {
      g_autofree char *line = read_line (out);

      g_test_message ("%s", line);
      g_assert_cmpuint (i, <, 20);
      g_assert_cmpstr (line, !=, "");
      if (strstr (line, " refreshed, expires ") != NULL)
        break;
    }

  /* Interrupted while all is well, it exits with 0. */
  stop_watch (process, 0);
}

/* A server that keeps failing until the token has expired: --watch says
 * so, keeps asking, and exits with the failure's status when interrupted. */
static void
test_watch_expired (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *first = NULL;
  gboolean expired = FALSE;
  guint failures_after = 0;

  endpoint->expires_in = 2;
  process = spawn_watch (endpoint, &out);
  first = read_line (out);
  g_assert_cmpuint (strlen (first), >, 0);
  for (guint i = 0; i < 1000; i++)
    local_endpoint_push_failure (endpoint, 503, NULL, NULL, "");

  for (guint i = 0; failures_after < 1; i++)
    {
      g_autofree char *line = read_line (out);

      g_test_message ("%s", line);
      g_assert_cmpuint (i, <, 40);
      g_assert_cmpstr (line, !=, "");
      g_assert_null (strstr (line, " refreshed"));
      if (strstr (line, " expired; asking for a new token") != NULL)
        expired = TRUE;
      else if (expired)
        {
          g_assert_nonnull (strstr (line, " refresh failed: "));
          failures_after++;
        }
    }

  /* Interrupted after a failure: status 4, the server's. */
  stop_watch (process, 4);
}

/* --private-key, --key-id, --key-password-file and GRANT_KEY_PASSWORD;
 * the password never on the command line or in a message. */
static void
test_private_key (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (NULL);
  g_autofree char *dir = g_dir_make_tmp ("grant-cli-key-XXXXXX", NULL);
  g_autofree char *key_path = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *encrypted = g_build_filename (dir, "encrypted.pem", NULL);
  g_autofree char *password_file = g_build_filename (dir, "password", NULL);
  g_autofree char *command = NULL;
  g_autofree char *assertion = NULL;
  g_autofree char *auth = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree guchar *header = NULL;
  gsize header_length;
  int status;
  Run plain = { 0 }, from_file = { 0 }, from_env = { 0 }, wrong = { 0 }, orphan_kid = { 0 };

  g_autofree char *openssl = g_find_program_in_path ("openssl");

  if (openssl == NULL)
    {
      g_test_skip ("openssl makes the test key");
      return;
    }
  command = g_strdup_printf ("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s", key_path);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, NULL) && status == 0);
  g_free (command);
  command = g_strdup_printf ("openssl pkcs8 -topk8 -in %s -out %s -passout pass:cli-key-password", key_path, encrypted);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, NULL) && status == 0);
  g_assert_true (g_file_set_contents (password_file, "cli-key-password\n", -1, NULL));
  endpoint->accept_assertions = TRUE;

  /* No secret needed: private_key_jwt, with the key id in the header. */
  RUN (launcher, NULL, &plain, "-c", "test-client", "-u", endpoint->token_url,
       "--private-key", key_path, "--key-id", "cli-key");
  g_assert_cmpint (plain.status, ==, 0);
  auth = local_endpoint_dup_auth (endpoint);
  g_assert_cmpstr (auth, ==, "jwt");
  assertion = local_endpoint_dup_param (endpoint, "client_assertion");
  parts = g_strsplit (assertion, ".", 3);
  for (char *p = parts[0]; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  {
    g_autofree char *padded = g_strdup_printf ("%s%s", parts[0], strlen (parts[0]) % 4 == 2 ? "==" :
                                               strlen (parts[0]) % 4 == 3 ? "=" : "");

    header = g_base64_decode (padded, &header_length);
  }
  g_assert_nonnull (g_strstr_len ((const char *) header, header_length, "\"kid\":\"cli-key\""));
  g_assert_nonnull (g_strstr_len ((const char *) header, header_length, "\"alg\":\"ES256\""));

  /* An encrypted key, its password from a file, then from the environment. */
  RUN (launcher, NULL, &from_file, "-c", "test-client", "-u", endpoint->token_url,
       "--private-key", encrypted, "--key-password-file", password_file);
  g_assert_cmpint (from_file.status, ==, 0);
  g_subprocess_launcher_setenv (launcher, "GRANT_KEY_PASSWORD", "cli-key-password", TRUE);
  RUN (launcher, NULL, &from_env, "-c", "test-client", "-u", endpoint->token_url, "--private-key", encrypted);
  g_assert_cmpint (from_env.status, ==, 0);

  /* A wrong password: a usage error naming the file, not the password. */
  g_subprocess_launcher_setenv (launcher, "GRANT_KEY_PASSWORD", "not-the-password", TRUE);
  RUN (launcher, NULL, &wrong, "-c", "test-client", "-u", endpoint->token_url, "--private-key", encrypted);
  g_assert_cmpint (wrong.status, !=, 0);
  g_assert_nonnull (strstr (wrong.err, encrypted));
  g_assert_null (strstr (wrong.err, "not-the-password"));

  RUN (launcher, NULL, &orphan_kid, "-c", "test-client", "-u", endpoint->token_url, "--key-id", "x");
  g_assert_cmpint (orphan_kid.status, !=, 0);
  g_assert_nonnull (strstr (orphan_kid.err, "--key-id needs --private-key"));

  run_clear (&plain);
  run_clear (&from_file);
  run_clear (&from_env);
  run_clear (&wrong);
  run_clear (&orphan_kid);
  test_remove_tree (dir);
}

/* --dpop-key and --dpop-url: what a script needs for its own request. */
static void
test_dpop (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ("test-secret");
  g_autofree char *dir = g_dir_make_tmp ("grant-cli-dpop-XXXXXX", NULL);
  g_autofree char *key_path = g_build_filename (dir, "dpop.pem", NULL);
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *command = NULL;
  g_autoptr(JsonNode) json = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree guchar *claims = NULL;
  g_autofree char *claims_text = NULL;
  g_autoptr(JsonNode) claims_node = NULL;
  JsonObject *object;
  gsize claims_length;
  int status;
  Run as_json = { 0 }, header = { 0 }, token_only = { 0 };

  if (openssl == NULL)
    {
      g_test_skip ("openssl makes the test key");
      return;
    }
  command = g_strdup_printf ("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s", key_path);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, NULL) && status == 0);

  RUN (launcher, NULL, &as_json, "-c", "test-client", "-u", endpoint->token_url, "-o", "json",
       "--dpop-key", key_path, "--dpop-url", "https://api.example.com/v1/things?page=2", "--dpop-method", "post",
       "--dpop-nonce", "api-nonce");
  g_assert_cmpint (as_json.status, ==, 0);
  json = json_from_string (as_json.out, NULL);
  g_assert_nonnull (json);
  object = json_node_get_object (json);
  parts = g_strsplit (json_object_get_string_member (object, "dpop_proof"), ".", 3);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  for (char *p = parts[1]; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  {
    g_autofree char *padded = g_strdup_printf ("%s%s", parts[1], strlen (parts[1]) % 4 == 2 ? "==" :
                                               strlen (parts[1]) % 4 == 3 ? "=" : "");

    claims = g_base64_decode (padded, &claims_length);
  }
  claims_text = g_strndup ((const char *) claims, claims_length);
  claims_node = json_from_string (claims_text, NULL);
  g_assert_nonnull (claims_node);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (claims_node), "htm"), ==, "POST");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (claims_node), "htu"), ==,
                   "https://api.example.com/v1/things");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (claims_node), "nonce"), ==, "api-nonce");
  g_assert_true (json_object_has_member (json_node_get_object (claims_node), "ath"));

  RUN (launcher, NULL, &header, "-c", "test-client", "-u", endpoint->token_url, "-o", "header",
       "--dpop-key", key_path, "--dpop-url", "https://api.example.com/");
  g_assert_cmpint (header.status, ==, 0);
  g_assert_nonnull (strstr (header.out, "\nDPoP: ey"));

  /* A proof needs somewhere to go. */
  RUN (launcher, NULL, &token_only, "-c", "test-client", "-u", endpoint->token_url,
       "--dpop-key", key_path, "--dpop-url", "https://api.example.com/");
  g_assert_cmpint (token_only.status, !=, 0);
  g_assert_nonnull (strstr (token_only.err, "--dpop-url needs"));

  run_clear (&as_json);
  run_clear (&header);
  run_clear (&token_only);
  test_remove_tree (dir);
}

static void
test_version (void)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (NULL);
  g_autofree char *expected = g_strdup_printf ("grant-token %d.%d.%d\n", GRANT_MAJOR_VERSION,
                                               GRANT_MINOR_VERSION, GRANT_MICRO_VERSION);
  Run run = { 0 };

  RUN (launcher, NULL, &run, "--version");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, expected);
  g_assert_cmpstr (run.err, ==, "");
  run_clear (&run);
}

static void
test_help (void)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (NULL);
  const char *options[] = {
    "--preset", "--token-url", "--issuer", "--client-id", "--client-secret-file", "--scope",
    "--auth-method", "--request-format", "--param", "--output", "--store", "--timeout",
    "--watch", "--verbose", "--list-presets", "Exit status", "GRANT_CLIENT_SECRET",
  };
  Run run = { 0 };

  RUN (launcher, NULL, &run, "--help");
  g_assert_cmpint (run.status, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    g_assert_nonnull (strstr (run.out, options[i]));
  run_clear (&run);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/outputs", test_outputs);
  g_test_add_func ("/cli/secret-sources", test_secret_sources);
  g_test_add_func ("/cli/exit-statuses", test_exit_statuses);
  g_test_add_func ("/cli/nothing-secret-on-stderr", test_nothing_secret_on_stderr);
  g_test_add_func ("/cli/params-and-formats", test_params_and_formats);
  g_test_add_func ("/cli/list-presets", test_list_presets);
  g_test_add_func ("/cli/preset-vars", test_preset_vars);
  g_test_add_func ("/cli/store-file", test_store_file);
  g_test_add_func ("/cli/one-line-messages", test_one_line_messages);
  g_test_add_func ("/cli/watch", test_watch);
  g_test_add_func ("/cli/watch-expired", test_watch_expired);
  g_test_add_func ("/cli/private-key", test_private_key);
  g_test_add_func ("/cli/dpop", test_dpop);
  g_test_add_func ("/cli/version", test_version);
  g_test_add_func ("/cli/help", test_help);

  return g_test_run ();
}
