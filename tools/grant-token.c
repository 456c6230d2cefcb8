/* grant-token.c: prints an OAuth 2.0 client credentials token, for scripts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <grant.h>

/* Exit statuses, as --help documents them. */
enum {
  EXIT_OK = 0,
  EXIT_OTHER = 1,
  EXIT_USAGE = 2,
  EXIT_REFUSED = 3,
  EXIT_UNREACHABLE = 4,
};

typedef enum {
  OUTPUT_TOKEN,
  OUTPUT_HEADER,
  OUTPUT_JSON,
} Output;

static char *opt_preset;
static char **opt_preset_vars;
static char *opt_token_url;
static char *opt_issuer;
static char *opt_client_id;
static char *opt_secret_file;
static char *opt_scope;
static char *opt_auth_method;
static char *opt_request_format;
static char **opt_params;
static char *opt_output;
static char *opt_store;
static int opt_timeout = -1;
static gboolean opt_watch;
static gboolean opt_verbose;
static gboolean opt_list_presets;
static gboolean opt_version;
static gboolean opt_allow_insecure_http;
static char *opt_tls_certificate;
static char *opt_ca_file;
static char *opt_private_key;
static char *opt_key_id;
static char *opt_key_password_file;
static char *opt_dpop_key;
static char *opt_dpop_url;
static char *opt_dpop_method;
static char *opt_dpop_nonce;

static const GOptionEntry entries[] = {
  { "preset", 'p', 0, G_OPTION_ARG_STRING, &opt_preset,
    "A known service: see --list-presets", "NAME" },
  { "preset-var", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_preset_vars,
    "A variable of the preset's URLs, such as tenant=contoso.onmicrosoft.com "
    "for entra (repeatable; --list-presets names them)", "NAME=VALUE" },
  { "token-url", 'u', 0, G_OPTION_ARG_STRING, &opt_token_url,
    "The token endpoint (replaces the preset's)", "URL" },
  { "issuer", 'i', 0, G_OPTION_ARG_STRING, &opt_issuer,
    "Find the token endpoint through the issuer's discovery document", "URL" },
  { "client-id", 'c', 0, G_OPTION_ARG_STRING, &opt_client_id,
    "The client identifier", "ID" },
  { "client-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_secret_file,
    "Read the client secret from FILE (\"-\": standard input); otherwise it "
    "comes from the GRANT_CLIENT_SECRET environment variable, never from an "
    "option", "FILE" },
  { "scope", 's', 0, G_OPTION_ARG_STRING, &opt_scope,
    "The space-separated scope to request", "SCOPE" },
  { "auth-method", 'a', 0, G_OPTION_ARG_STRING, &opt_auth_method,
    "Client authentication: basic, post, none, auto, private_key_jwt, client_secret_jwt, "
    "tls_client_auth or self_signed_tls_client_auth (default: the preset's, or post; "
    "private_key_jwt with --private-key)", "METHOD" },
  { "request-format", 'f', 0, G_OPTION_ARG_STRING, &opt_request_format,
    "The request body: form or json (default: the preset's, or form)", "FORMAT" },
  { "param", 'P', 0, G_OPTION_ARG_STRING_ARRAY, &opt_params,
    "An extra request parameter, such as audience=https://api.example.com/ (repeatable)", "NAME=VALUE" },
  { "output", 'o', 0, G_OPTION_ARG_STRING, &opt_output,
    "What to print: token (the default), header (an Authorization header line) or json", "WHAT" },
  { "store", 0, 0, G_OPTION_ARG_STRING, &opt_store,
    "Keep tokens across runs: none (the default), file (in ~/.cache/grant), keyring, "
    "or redis (shared by every machine; the URL from GRANT_REDIS_URL)", "STORE" },
  { "timeout", 't', 0, G_OPTION_ARG_INT, &opt_timeout,
    "Seconds one request may take (default 30; 0: no limit)", "SECONDS" },
  { "watch", 'w', 0, G_OPTION_ARG_NONE, &opt_watch,
    "Keep running, refresh the token before it expires, and print a line for "
    "each refresh or failure, until interrupted", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
    "Say what happens on standard error (never the secret or the token)", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version,
    "Print the version of grant-token and libgrant, and exit", NULL },
  { "list-presets", 'l', 0, G_OPTION_ARG_NONE, &opt_list_presets,
    "List the presets and exit", NULL },
  { "allow-insecure-http", 0, 0, G_OPTION_ARG_NONE, &opt_allow_insecure_http,
    "Allow plain http:// to hosts that are not loopback addresses", NULL },
  { "tls-certificate", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_certificate,
    "Present the certificate and private key in FILE (PEM) for mutual TLS", "FILE" },
  { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_ca_file,
    "Trust the CA certificates in FILE (PEM) instead of the system's", "FILE" },
  { "private-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_private_key,
    "Sign private_key_jwt assertions with the key in FILE (PEM, DER or PKCS#12; "
    "a certificate in it gives x5t#S256)", "FILE" },
  { "key-id", 0, 0, G_OPTION_ARG_STRING, &opt_key_id,
    "The kid of the assertions' header", "ID" },
  { "dpop-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_dpop_key,
    "Bind tokens to the key in FILE with DPoP (PEM, DER or PKCS#12); keep the file to reuse "
    "stored tokens", "FILE" },
  { "dpop-url", 0, 0, G_OPTION_ARG_STRING, &opt_dpop_url,
    "Also print a DPoP proof for a request to URL (with -o header: a DPoP: line; with -o json: "
    "dpop_proof)", "URL" },
  { "dpop-method", 0, 0, G_OPTION_ARG_STRING, &opt_dpop_method,
    "The method of the request --dpop-url proves (default GET)", "METHOD" },
  { "dpop-nonce", 0, 0, G_OPTION_ARG_STRING, &opt_dpop_nonce,
    "The DPoP-Nonce the resource server asked for, for the proof", "NONCE" },
  { "key-password-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_key_password_file,
    "Read the private key's password from FILE; otherwise it comes from the "
    "GRANT_KEY_PASSWORD environment variable, never from an option", "FILE" },
  { NULL },
};

static const char *description =
  "Prints an OAuth 2.0 access token obtained with the client credentials\n"
  "grant, for scripts: curl -H \"$(grant-token -p officernd -c ID -o header)\" ...\n"
  "\n"
  "The client secret is read from --client-secret-file or from the\n"
  "GRANT_CLIENT_SECRET environment variable, never from the command line,\n"
  "where other users could see it.\n"
  "\n"
  "Exit status:\n"
  "  0  a token was printed (with --watch: interrupted while the last\n"
  "     refresh had worked; else the status of the last failure)\n"
  "  1  another failure, such as an unreadable secret file\n"
  "  2  bad usage: unknown options, a missing client id or secret\n"
  "  3  the server or the configuration refused: wrong credentials, a scope\n"
  "     the client may not have, an unknown preset, an insecure URL\n"
  "  4  the network or the server failed: unreachable, timed out, a server\n"
  "     error, rate limiting, an answer that is not a token\n";

static gboolean verbose;

static void
say (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format,
     ...)
{
  va_list args;
  g_autofree char *text = NULL;

  if (!verbose)
    return;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("grant-token: %s\n", text);
}

/* Messages from the library (a store that failed, say) as the command's
 * own: one line, starting with "grant-token: ". Debug output, when asked
 * for with G_MESSAGES_DEBUG, goes as GLib writes it. */
static GLogLevelFlags always_fatal;

static GLogWriterOutput
log_writer (GLogLevelFlags   level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  g_autofree char *line = NULL;

  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
    return g_log_writer_default (level, fields, n_fields, user_data);

  for (gsize i = 0; i < n_fields && line == NULL; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      line = fields[i].length < 0 ? g_strdup (fields[i].value)
                                  : g_strndup (fields[i].value, fields[i].length);
  if (line == NULL)
    line = g_strdup ("(no message)");
  /* One line, and nothing that a terminal would take for a command. */
  for (char *p = line; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p))
      *p = ' ';

  g_printerr ("grant-token: %s: %s\n",
              level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL) ? "error"
              : level & G_LOG_LEVEL_WARNING ? "warning" : "note", line);

  /* G_DEBUG=fatal-warnings and the like still stop the program: GLib
   * applies that mask in its own writer only (G_LOG_FLAG_FATAL it honours
   * after any writer). */
  if (level & always_fatal)
    G_BREAKPOINT ();

  return G_LOG_WRITER_HANDLED;
}

static int
fail (int         status,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static int
fail (int         status,
      const char *format,
      ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("grant-token: %s\n", text);

  return status;
}

/* Which exit status an error deserves. */
static int
status_for_error (const GError *error)
{
  if (error->domain == GRANT_ERROR)
    {
      switch ((GrantError) error->code)
        {
        case GRANT_ERROR_SERVER_ERROR:
        case GRANT_ERROR_TEMPORARILY_UNAVAILABLE:
        case GRANT_ERROR_RATE_LIMITED:
        case GRANT_ERROR_INVALID_RESPONSE:
          return EXIT_UNREACHABLE;

        case GRANT_ERROR_FAILED:
        case GRANT_ERROR_INVALID_REQUEST:
        case GRANT_ERROR_INVALID_CLIENT:
        case GRANT_ERROR_INVALID_GRANT:
        case GRANT_ERROR_UNAUTHORIZED_CLIENT:
        case GRANT_ERROR_UNSUPPORTED_GRANT_TYPE:
        case GRANT_ERROR_INVALID_SCOPE:
        case GRANT_ERROR_INSECURE_URL:
        case GRANT_ERROR_INVALID_CONFIGURATION:
        default:
          return EXIT_REFUSED;
        }
    }

  /* Transport, TLS, resolver, timeouts. */
  return EXIT_UNREACHABLE;
}

static char *
read_secret (GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  if (opt_secret_file == NULL)
    return g_strdup (g_getenv ("GRANT_CLIENT_SECRET"));

  if (g_str_equal (opt_secret_file, "-"))
    {
      /* Sized for any secret, so that no growth leaves a copy behind. */
      g_autoptr(GString) text = g_string_sized_new (4096);
      char buffer[256];
      size_t n;

      while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
        g_string_append_len (text, buffer, n);
      memset (buffer, 0, sizeof buffer);
      data = g_string_free (g_steal_pointer (&text), FALSE);
    }
  else if (!g_file_get_contents (opt_secret_file, &data, &length, error))
    return NULL;

  /* A trailing newline is not part of the secret. */
  g_strchomp (data);

  return g_steal_pointer (&data);
}

/* "basic", "post", or a method's RFC 8414 name (its enum nick, with
 * underscores). */
static gboolean
parse_auth_method (const char      *text,
                   GrantAuthMethod *method)
{
  g_autoptr(GEnumClass) methods = g_type_class_ref (GRANT_TYPE_AUTH_METHOD);
  g_autofree char *nick = g_str_equal (text, "basic") ? g_strdup ("client-secret-basic")
                          : g_str_equal (text, "post") ? g_strdup ("client-secret-post")
                          : g_strdelimit (g_strdup (text), "_", '-');
  GEnumValue *value;

  value = g_enum_get_value_by_nick (methods, nick);
  if (value == NULL)
    return FALSE;
  *method = value->value;

  return TRUE;
}

static char *
format_time (GDateTime *time)
{
  g_autoptr(GDateTime) utc = NULL;

  if (time == NULL)
    return g_strdup ("unknown");

  utc = g_date_time_to_utc (time);

  return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}

static void
print_token (GrantToken *token,
             Output      output,
             const char *dpop_proof)
{
  switch (output)
    {
    case OUTPUT_HEADER:
      {
        g_autofree char *value = grant_token_dup_authorization (token);

        printf ("Authorization: %s\n", value);
        if (dpop_proof != NULL)
          printf ("DPoP: %s\n", dpop_proof);
      }
      break;

    case OUTPUT_JSON:
      {
        g_autoptr(JsonBuilder) builder = json_builder_new ();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *expires = grant_token_get_expires_at (token)
                                   ? format_time (grant_token_get_expires_at (token)) : NULL;
        g_autofree char *text = NULL;

        json_builder_begin_object (builder);
        json_builder_set_member_name (builder, "access_token");
        json_builder_add_string_value (builder, grant_token_get_access_token (token));
        json_builder_set_member_name (builder, "token_type");
        json_builder_add_string_value (builder, grant_token_get_token_type (token));
        json_builder_set_member_name (builder, "expires_at");
        if (expires != NULL)
          json_builder_add_string_value (builder, expires);
        else
          json_builder_add_null_value (builder);
        json_builder_set_member_name (builder, "scope");
        if (grant_token_get_scope (token) != NULL)
          json_builder_add_string_value (builder, grant_token_get_scope (token));
        else
          json_builder_add_null_value (builder);
        if (dpop_proof != NULL)
          {
            json_builder_set_member_name (builder, "dpop_proof");
            json_builder_add_string_value (builder, dpop_proof);
          }
        json_builder_set_member_name (builder, "response");
        if (grant_token_get_response (token) != NULL)
          json_builder_add_value (builder, json_node_copy (grant_token_get_response (token)));
        else
          json_builder_add_null_value (builder);
        json_builder_end_object (builder);

        root = json_builder_get_root (builder);
        text = json_to_string (root, FALSE);
        printf ("%s\n", text);
      }
      break;

    case OUTPUT_TOKEN:
    default:
      printf ("%s\n", grant_token_get_access_token (token));
      break;
    }

  fflush (stdout);
}

/* --watch */

/* Once the token has expired without a refresh (the server kept failing),
 * nobody would ask for another: --watch does, at these intervals. */
#define WATCH_RETRY_MIN_S 1
#define WATCH_RETRY_MAX_S 60

typedef struct {
  GrantTokenProvider *provider;
  GMainLoop *loop;
  Output output;
  guint expiry;       /* fires when the token held expires */
  guint retry_s;      /* the next wait between fetches, once expired */
  GError *last_error; /* NULL when the last thing seen was a token */
} Watch;

static void watch_arm (Watch *watch, GrantToken *token);

static void
watch_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    Watch              *watch)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = format_time (now);
  g_autofree char *expires = format_time (grant_token_get_expires_at (token));

  g_clear_error (&watch->last_error);
  watch->retry_s = WATCH_RETRY_MIN_S;
  watch_arm (watch, token);

  if (watch->output == OUTPUT_JSON)
    print_token (token, OUTPUT_JSON, NULL);
  else
    {
      printf ("%s refreshed, expires %s\n", when, expires);
      fflush (stdout);
    }
}

static void
watch_failed_cb (GrantTokenProvider *provider,
                 GError             *error,
                 Watch              *watch)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = format_time (now);

  g_clear_error (&watch->last_error);
  watch->last_error = g_error_copy (error);
  printf ("%s refresh failed: %s\n", when, error->message);
  fflush (stdout);
}

static gboolean watch_fetch_cb (gpointer user_data);

/* A fetch once the token expired: its outcome comes as a signal too. */
static void
watch_fetched_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Watch *watch = user_data;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (object), result, &error);
  if (token != NULL)
    return;

  /* Again later, less and less often. */
  if (watch->last_error == NULL)
    watch->last_error = g_steal_pointer (&error);
  g_clear_handle_id (&watch->expiry, g_source_remove);
  watch->expiry = g_timeout_add_seconds (watch->retry_s, watch_fetch_cb, watch);
  watch->retry_s = MIN (watch->retry_s * 2, WATCH_RETRY_MAX_S);
}

static gboolean
watch_fetch_cb (gpointer user_data)
{
  Watch *watch = user_data;

  watch->expiry = 0;
  grant_token_provider_get_token_async (watch->provider, NULL, watch_fetched_cb, watch);

  return G_SOURCE_REMOVE;
}

static gboolean
watch_expired_cb (gpointer user_data)
{
  Watch *watch = user_data;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = format_time (now);
  GrantToken *token = grant_token_provider_peek_token (watch->provider);

  watch->expiry = 0;
  /* A refresh came just now, or a far expiry was only part of the way. */
  if (token != NULL)
    {
      watch_arm (watch, token);
      return G_SOURCE_REMOVE;
    }

  printf ("%s expired; asking for a new token until one comes\n", when);
  fflush (stdout);
  /* Without a valid token, being stopped now is a failure. */
  if (watch->last_error == NULL)
    watch->last_error = g_error_new_literal (GRANT_ERROR, GRANT_ERROR_SERVER_ERROR,
                                             "The token expired without a new one");

  return watch_fetch_cb (watch);
}

/* When the token held stops being valid: its expiry, or for one that
 * names none, the provider's default lifetime after it was issued; in
 * steps of at most a day, which is all a timer of milliseconds can say. */
static void
watch_arm (Watch      *watch,
           GrantToken *token)
{
  g_autoptr(GDateTime) fallback = NULL;
  GDateTime *expires_at = grant_token_get_expires_at (token);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  GTimeSpan left;

  g_clear_handle_id (&watch->expiry, g_source_remove);
  if (expires_at == NULL)
    {
      GDateTime *issued_at = grant_token_get_issued_at (token);

      fallback = g_date_time_add_seconds (issued_at != NULL ? issued_at : now,
                                          grant_token_provider_get_default_lifetime (watch->provider));
      expires_at = fallback;
    }

  left = g_date_time_difference (expires_at, now);
  left = CLAMP (left / 1000 + 1, 0, 24 * 3600 * 1000);
  watch->expiry = g_timeout_add ((guint) left, watch_expired_cb, watch);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);

  /* Kept: removed once the loop is done, and catching a second signal. */
  return G_SOURCE_CONTINUE;
}

static void
wipe_secret (char *secret)
{
  if (secret != NULL)
    {
      memset (secret, 0, strlen (secret));
      g_free (secret);
    }
}

static int
list_presets (void)
{
  g_auto(GStrv) names = grant_dialect_list_presets ();

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantDialect) dialect = grant_dialect_new_for_preset (names[i], &error);

      if (dialect == NULL)
        {
          printf ("%-18s (broken: %s)\n", names[i], error->message);
          continue;
        }

      printf ("%-18s %s, %s", names[i], grant_dialect_get_display_name (dialect),
              grant_dialect_get_token_url (dialect)
                ? grant_dialect_get_token_url (dialect)
                : grant_dialect_get_token_url_hint (dialect)
                  ? grant_dialect_get_token_url_hint (dialect)
                  : "(set --token-url)");
      if (grant_dialect_get_variables (dialect) != NULL)
        {
          g_autofree char *variables = g_strjoinv (", ", (char **) grant_dialect_get_variables (dialect));

          printf (" (--preset-var %s)", variables);
        }
      printf ("\n");
    }

  return EXIT_OK;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GrantTokenProvider) provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  char *secret = NULL;
  char *key_password = NULL;       /* wiped once the keys are read */
  gsize key_password_length = 0;
  g_autofree char *dpop_proof = NULL;
  gboolean have_secret;
  Output output = OUTPUT_TOKEN;
  GrantAuthMethod method;
  g_autoptr(GMainLoop) watch_loop = NULL;
  guint sigint_id = 0, sigterm_id = 0;

  setlocale (LC_ALL, "");
  /* Standard output is for the token alone. */
  g_log_writer_default_set_use_stderr (TRUE);
  always_fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_always_fatal (always_fatal);
  g_log_set_writer_func (log_writer, NULL, NULL);

  context = g_option_context_new ("- print an OAuth 2.0 client credentials token");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context, description);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_USAGE, "%s (see --help)", error->message);

  if (argc > 1)
    return fail (EXIT_USAGE, "unexpected argument “%s”: the secret is never an argument; "
                 "use --client-secret-file or GRANT_CLIENT_SECRET (see --help)", argv[1]);

  verbose = opt_verbose;
  if (verbose && g_getenv ("G_MESSAGES_DEBUG") == NULL)
    g_setenv ("G_MESSAGES_DEBUG", "Grant", TRUE);

  if (opt_version)
    {
      printf ("grant-token %s\n", GRANT_VERSION_S);
      return EXIT_SUCCESS;
    }

  if (opt_list_presets)
    return list_presets ();

  if (opt_output != NULL)
    {
      if (g_str_equal (opt_output, "token"))
        output = OUTPUT_TOKEN;
      else if (g_str_equal (opt_output, "header"))
        output = OUTPUT_HEADER;
      else if (g_str_equal (opt_output, "json"))
        output = OUTPUT_JSON;
      else
        return fail (EXIT_USAGE, "--output must be token, header or json, not “%s”", opt_output);
    }

  if (opt_client_id == NULL)
    return fail (EXIT_USAGE, "--client-id is required (see --help)");

  if (opt_preset == NULL && opt_token_url == NULL && opt_issuer == NULL)
    return fail (EXIT_USAGE, "say where to get the token: --preset, --token-url or --issuer");

  if (opt_timeout < -1)
    return fail (EXIT_USAGE, "--timeout must be 0 or more seconds");

  secret = read_secret (&error);
  if (error != NULL)
    return fail (EXIT_OTHER, "cannot read the client secret: %s", error->message);
  have_secret = secret != NULL && *secret != '\0';

  if (opt_preset_vars != NULL && opt_preset == NULL)
    {
      wipe_secret (secret);
      return fail (EXIT_USAGE, "--preset-var needs a --preset");
    }

  /* A preset's variables must all be given, unless the token URL or the
   * issuer is set instead. */
  if (opt_preset != NULL && (opt_preset_vars != NULL || (opt_token_url == NULL && opt_issuer == NULL)))
    provider = grant_token_provider_new_from_preset_with_variables (opt_preset,
                                                                    (const char * const *) opt_preset_vars,
                                                                    opt_client_id, secret, &error);
  else if (opt_preset != NULL)
    provider = grant_token_provider_new_from_preset (opt_preset, opt_client_id, secret, &error);
  else
    provider = grant_token_provider_new (NULL, opt_client_id, secret);

  /* The provider has its own copy, which it wipes; wipe this one. */
  wipe_secret (secret);

  if (provider == NULL)
    return fail (EXIT_REFUSED, "%s", error->message);
  if (opt_preset != NULL)
    say ("using the %s preset", opt_preset);

  if (opt_token_url != NULL)
    grant_token_provider_set_token_url (provider, opt_token_url);
  if (opt_issuer != NULL)
    grant_token_provider_set_issuer (provider, opt_issuer);
  if (opt_scope != NULL)
    grant_token_provider_set_scope (provider, opt_scope);
  if (opt_timeout >= 0)
    grant_token_provider_set_timeout (provider, (guint) opt_timeout);
  if (opt_allow_insecure_http)
    grant_token_provider_set_allow_insecure_http (provider, TRUE);

  if (opt_auth_method != NULL)
    {
      if (!parse_auth_method (opt_auth_method, &method))
        return fail (EXIT_USAGE, "--auth-method must be basic, post, none, auto, private_key_jwt, "
                     "client_secret_jwt, tls_client_auth or self_signed_tls_client_auth, not “%s”",
                     opt_auth_method);
      grant_token_provider_set_auth_method (provider, method);
    }

  if (opt_request_format != NULL)
    {
      if (g_str_equal (opt_request_format, "form"))
        grant_token_provider_set_request_format (provider, GRANT_REQUEST_FORMAT_FORM);
      else if (g_str_equal (opt_request_format, "json"))
        grant_token_provider_set_request_format (provider, GRANT_REQUEST_FORMAT_JSON);
      else
        return fail (EXIT_USAGE, "--request-format must be form or json, not “%s”", opt_request_format);
    }

  if (opt_ca_file != NULL)
    {
      g_autoptr(GTlsDatabase) database = g_tls_file_database_new (opt_ca_file, &error);

      if (database == NULL)
        return fail (EXIT_USAGE, "cannot use --ca-file %s: %s", opt_ca_file, error->message);
      soup_session_set_tls_database (grant_token_provider_get_session (provider), database);
    }

  if (opt_tls_certificate != NULL)
    {
      g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (opt_tls_certificate, &error);

      if (certificate == NULL)
        return fail (EXIT_USAGE, "cannot use --tls-certificate %s: %s", opt_tls_certificate, error->message);
      grant_token_provider_set_tls_certificate (provider, certificate);
    }

  if (opt_private_key != NULL || opt_dpop_key != NULL)
    {
      if (opt_key_password_file != NULL)
        {
          if (!g_file_get_contents (opt_key_password_file, &key_password, &key_password_length, &error))
            return fail (EXIT_USAGE, "cannot read --key-password-file: %s", error->message);
          /* One trailing newline is the file's, not the password's. */
          if (key_password_length > 0 && key_password[key_password_length - 1] == '\n')
            key_password[key_password_length - 1] = '\0';
        }
      else if (g_getenv ("GRANT_KEY_PASSWORD") != NULL)
        {
          key_password = g_strdup (g_getenv ("GRANT_KEY_PASSWORD"));
          key_password_length = strlen (key_password);
          /* Not left for child processes. */
          g_unsetenv ("GRANT_KEY_PASSWORD");
        }
    }

  if (opt_dpop_key != NULL)
    {
      g_autoptr(GrantClientKey) key = grant_client_key_new_from_file (opt_dpop_key, key_password, &error);

      if (key == NULL)
        return fail (EXIT_USAGE, "%s", error->message);
      grant_token_provider_set_dpop_key (provider, key);
    }
  if (opt_dpop_url != NULL && (opt_dpop_key == NULL || output == OUTPUT_TOKEN))
    return fail (EXIT_USAGE, "--dpop-url needs --dpop-key, and --output header or json");

  if (opt_private_key != NULL)
    {
      g_autoptr(GrantClientKey) key = grant_client_key_new_from_file (opt_private_key, key_password, &error);

      if (key == NULL)
        return fail (EXIT_USAGE, "%s", error->message);
      if (opt_key_id != NULL)
        grant_client_key_set_key_id (key, opt_key_id);
      grant_token_provider_set_client_key (provider, key);
      if (opt_auth_method == NULL)
        grant_token_provider_set_auth_method (provider, GRANT_AUTH_METHOD_PRIVATE_KEY_JWT);
    }
  else if (opt_key_id != NULL)
    return fail (EXIT_USAGE, "--key-id needs --private-key");
  else if (opt_key_password_file != NULL && opt_dpop_key == NULL)
    return fail (EXIT_USAGE, "--key-password-file needs --private-key or --dpop-key");
  if (key_password != NULL)
    {
      memset (key_password, 0, key_password_length);
      g_clear_pointer (&key_password, g_free);
    }

  method = grant_token_provider_get_auth_method (provider);
  if (!have_secret && method != GRANT_AUTH_METHOD_NONE && method != GRANT_AUTH_METHOD_TLS_CLIENT_AUTH &&
      method != GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH && method != GRANT_AUTH_METHOD_PRIVATE_KEY_JWT &&
      !(method == GRANT_AUTH_METHOD_AUTO && (opt_private_key != NULL || opt_tls_certificate != NULL)))
    {
      /* An empty file is one the client needs a secret from. */
      if (opt_secret_file != NULL)
        return fail (EXIT_OTHER, "the client secret in %s is empty",
                     g_str_equal (opt_secret_file, "-") ? "standard input" : opt_secret_file);
      return fail (EXIT_USAGE, "no client secret: put it in a file for --client-secret-file, "
                   "or in the GRANT_CLIENT_SECRET environment variable");
    }

  for (guint i = 0; opt_params != NULL && opt_params[i] != NULL; i++)
    {
      const char *equals = strchr (opt_params[i], '=');
      g_autofree char *name = NULL;

      if (equals == NULL || equals == opt_params[i])
        return fail (EXIT_USAGE, "--param wants NAME=VALUE, not “%s”", opt_params[i]);
      name = g_strndup (opt_params[i], equals - opt_params[i]);
      if (g_str_equal (name, "grant_type") || g_str_equal (name, "client_id") ||
          g_str_equal (name, "client_secret") || g_str_equal (name, "scope"))
        return fail (EXIT_USAGE, "--param cannot set %s; use the option for it", name);
      grant_token_provider_set_parameter (provider, name, equals + 1);
    }

  if (opt_store != NULL && !g_str_equal (opt_store, "none"))
    {
      g_autoptr(GrantTokenStore) store = NULL;

      if (g_str_equal (opt_store, "file"))
        store = GRANT_TOKEN_STORE (grant_file_store_new (NULL));
      else if (g_str_equal (opt_store, "keyring"))
        store = GRANT_TOKEN_STORE (grant_secret_store_new ());
      else if (g_str_equal (opt_store, "redis"))
        {
          /* From the environment, never argv: the URL may hold a password. */
          char *url = g_strdup (g_getenv ("GRANT_REDIS_URL"));
          g_autoptr(GError) store_error = NULL;
          GrantRedisStore *redis;

          if (url == NULL || *url == '\0')
            {
              g_free (url);
              return fail (EXIT_USAGE, "--store redis takes the Redis URL from GRANT_REDIS_URL, which is not set");
            }
          g_unsetenv ("GRANT_REDIS_URL");
          redis = grant_redis_store_new (url, &store_error);
          wipe_secret (url);
          if (redis == NULL)
            return fail (EXIT_USAGE, "%s", store_error->message);
          if (g_getenv ("GRANT_REDIS_KEY_PREFIX") != NULL)
            grant_redis_store_set_key_prefix (redis, g_getenv ("GRANT_REDIS_KEY_PREFIX"));
          store = GRANT_TOKEN_STORE (redis);
        }
      else
        return fail (EXIT_USAGE, "--store must be none, file, keyring or redis, not “%s”", opt_store);
      grant_token_provider_set_store (provider, store);
      say ("keeping tokens in the %s store", opt_store);
    }

  grant_token_provider_set_auto_refresh (provider, opt_watch);

  say ("token URL %s, client id %s",
       grant_token_provider_get_token_url (provider) ? grant_token_provider_get_token_url (provider)
                                                     : "from the issuer's discovery document",
       opt_client_id);

  token = grant_token_provider_get_token (provider, NULL, &error);
  if (token == NULL)
    return fail (status_for_error (error), "%s", error->message);

  {
    g_autofree char *expires = format_time (grant_token_get_expires_at (token));

    say ("got a %s token, expires %s", grant_token_get_token_type (token), expires);
  }
  if (opt_dpop_url != NULL)
    {
      dpop_proof = grant_token_provider_create_dpop_proof (provider, opt_dpop_method ? opt_dpop_method : "GET",
                                                           opt_dpop_url, token, opt_dpop_nonce, &error);
      if (dpop_proof == NULL)
        return fail (EXIT_USAGE, "%s", error->message);
    }
  /* Caught from the first line on: a supervisor that reads it and stops
   * the command gets the documented status, not a death by signal. */
  if (opt_watch)
    {
      watch_loop = g_main_loop_new (NULL, FALSE);
      sigint_id = g_unix_signal_add (SIGINT, quit_cb, watch_loop);
      sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, watch_loop);
    }
  print_token (token, output, dpop_proof);

  if (opt_watch)
    {
      Watch watch = { provider, watch_loop, output, 0, WATCH_RETRY_MIN_S, NULL };
      int status;

      g_signal_connect (provider, "token-refreshed", G_CALLBACK (watch_refreshed_cb), &watch);
      g_signal_connect (provider, "refresh-failed", G_CALLBACK (watch_failed_cb), &watch);
      watch_arm (&watch, token);
      say ("watching; interrupt to stop");
      /* Interrupted before the loop runs (right after the first line),
       * it quits as soon as it does. */
      g_main_loop_run (watch_loop);

      /* Interrupted: the exit status says how things stood. */
      g_signal_handlers_disconnect_by_data (provider, &watch);
      g_clear_handle_id (&watch.expiry, g_source_remove);
      g_clear_handle_id (&sigint_id, g_source_remove);
      g_clear_handle_id (&sigterm_id, g_source_remove);
      status = watch.last_error != NULL ? status_for_error (watch.last_error) : EXIT_OK;
      g_clear_error (&watch.last_error);
      return status;
    }

  return EXIT_OK;
}
