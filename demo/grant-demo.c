/* grant-demo.c: libgrant against a token endpoint it starts on 127.0.0.1
 *
 * Shows, without an account anywhere: a token from each seed provider's
 * preset, the background refresh of a short-lived token with its signals,
 * a server failure during a refresh (the old token still served, then the
 * recovery), and the error a wrong secret gives. Tokens are never printed:
 * they are secrets, even here; a fingerprint tells them apart.
 *
 *   grant-demo [--lifetime SECONDS] [--fast]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <locale.h>
#include <stdlib.h>

#include <grant.h>

#include "local-endpoint.h"

static gint64 started;

static void
say (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format,
     ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  g_print ("[%5.1fs] %s\n", (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC, text);
}

/* Waiting without blocking the endpoint, which runs in this main loop. */

typedef struct {
  gboolean done;
  GrantToken *token;
  GError *error;
} Wait;

static void
got_token_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Wait *wait = user_data;

  wait->token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (source), result,
                                                       &wait->error);
  wait->done = TRUE;
}

static GrantToken *
get_token (GrantTokenProvider  *provider,
           GError             **error)
{
  Wait wait = { 0 };

  grant_token_provider_get_token_async (provider, NULL, got_token_cb, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);

  if (wait.error != NULL)
    g_propagate_error (error, wait.error);

  return wait.token;
}

static void
run_until (guint *counter,
           guint  value)
{
  while (*counter < value)
    g_main_context_iteration (NULL, TRUE);
}

static char *
describe_token (GrantToken *token)
{
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                           grant_token_get_access_token (token), -1);
  GDateTime *expires_at = grant_token_get_expires_at (token);
  g_autofree char *expires = NULL;

  if (expires_at != NULL)
    {
      g_autoptr(GDateTime) local = g_date_time_to_local (expires_at);
      gint64 left = g_date_time_difference (expires_at, grant_token_get_issued_at (token)) / G_USEC_PER_SEC;

      if (left >= 86400)
        expires = g_date_time_format (local, "%Y-%m-%d %H:%M");
      else
        expires = g_date_time_format (local, "%H:%M:%S");
      if (left >= 86400)
        return g_strdup_printf ("%s token %.8s…, expires %s (lives %" G_GINT64_FORMAT " days)",
                                grant_token_get_token_type (token), digest, expires, (left + 43200) / 86400);
      return g_strdup_printf ("%s token %.8s…, expires %s (lives %" G_GINT64_FORMAT " s)",
                              grant_token_get_token_type (token), digest, expires, left);
    }

  return g_strdup_printf ("%s token %.8s…, no expiry given", grant_token_get_token_type (token), digest);
}

typedef struct {
  guint refreshed;
  guint failed;
} Events;

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    Events             *events)
{
  g_autofree char *description = describe_token (token);

  events->refreshed++;
  say ("  signal token-refreshed: %s", description);
}

static void
refresh_failed_cb (GrantTokenProvider *provider,
                   GError             *error,
                   Events             *events)
{
  events->failed++;
  say ("  signal refresh-failed: %s", error->message);
}

static GrantTokenProvider *
preset_provider (const char         *preset,
                 LocalEndpoint      *endpoint,
                 LocalEndpointStyle  style,
                 const char         *secret,
                 Events             *events)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = local_endpoint_url_for (endpoint, style);
  GrantTokenProvider *provider = grant_token_provider_new_from_preset (preset, endpoint->client_id,
                                                                       secret, &error);

  g_assert_no_error (error);
  /* The preset names the service's own URL; this demo's is local. */
  grant_token_provider_set_token_url (provider, url);
  if (events != NULL)
    {
      g_signal_connect (provider, "token-refreshed", G_CALLBACK (token_refreshed_cb), events);
      g_signal_connect (provider, "refresh-failed", G_CALLBACK (refresh_failed_cb), events);
    }

  return provider;
}

static gboolean
show_presets (LocalEndpoint *endpoint)
{
  const struct {
    const char *preset;
    LocalEndpointStyle style;
    const char *what;
  } presets[] = {
    { "expertfile", LOCAL_ENDPOINT_EXPERTFILE, "form body; nested camelCase answer with an absolute expiry" },
    { "json-body", LOCAL_ENDPOINT_JSON_BODY, "JSON request body; no token_type in the answer" },
    { "smartdocumentor", LOCAL_ENDPOINT_SMARTDOCUMENTOR, "scope WebAPI sent by default" },
    { "officernd", LOCAL_ENDPOINT_OFFICERND, "read and write scopes by default" },
  };

  g_print ("\n1. A token from each seed provider's preset\n");
  endpoint->expires_in = -1;
  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    {
      g_autoptr(GrantTokenProvider) provider = preset_provider (presets[i].preset, endpoint, presets[i].style,
                                                                endpoint->client_secret, NULL);
      g_autoptr(GrantToken) token = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *description = NULL;

      grant_token_provider_set_auto_refresh (provider, FALSE);
      token = get_token (provider, &error);
      if (token == NULL)
        {
          say ("%s: unexpected error: %s", presets[i].preset, error->message);
          return FALSE;
        }
      description = describe_token (token);
      say ("%-16s %s", presets[i].preset, presets[i].what);
      say ("%-16s %s%s%s", "", description,
           grant_token_get_scope (token) ? ", scope " : "",
           grant_token_get_scope (token) ? grant_token_get_scope (token) : "");
      if (g_str_equal (presets[i].preset, "expertfile"))
        {
          JsonObject *data = json_object_get_object_member (json_node_get_object (grant_token_get_response (token)),
                                                            "data");

          say ("%-16s the organisation id from the response: %" G_GINT64_FORMAT, "",
               json_object_get_int_member (data, "user"));
        }
    }

  return TRUE;
}

static gboolean
show_refresh_and_failure (LocalEndpoint *endpoint,
                          guint          lifetime)
{
  Events events = { 0 };
  g_autoptr(GrantTokenProvider) provider = preset_provider ("officernd", endpoint, LOCAL_ENDPOINT_OFFICERND,
                                                            endpoint->client_secret, &events);
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) before = NULL;
  g_autoptr(GrantToken) during = NULL;
  g_autoptr(GrantToken) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;

  /* One attempt per refresh, so that a failure shows at once; the failed
   * refresh is still tried again after a backoff. */
  grant_token_provider_set_max_attempts (provider, 1);

  g_print ("\n2. Background refresh of a %u-second token\n", lifetime);
  endpoint->expires_in = lifetime + 1;  /* OfficeRnD answers one second less */
  first = get_token (provider, &error);
  if (first == NULL)
    {
      say ("unexpected error: %s", error->message);
      return FALSE;
    }
  description = describe_token (first);
  say ("got %s", description);
  say ("no caller asks again; the provider refreshes it in the background before it goes stale...");
  run_until (&events.refreshed, 2);
  say ("the cached token is the new one: %s",
       grant_token_provider_peek_token (provider) != first ? "yes" : "no");

  g_print ("\n3. The server fails during the next refresh\n");
  before = g_object_ref (grant_token_provider_peek_token (provider));
  local_endpoint_push_failure (endpoint, 503, NULL, NULL, "{\"error\":\"temporarily_unavailable\","
                               "\"error_description\":\"Down for maintenance\"}");
  say ("the endpoint will answer 503 once (max-attempts is 1: no retry within the refresh)");
  run_until (&events.failed, 1);

  during = get_token (provider, &error);
  if (during == NULL)
    {
      say ("unexpected error: %s", error->message);
      return FALSE;
    }
  say ("a caller asking now still gets the old, still valid token: %s",
       during == before ? "yes" : "no");
  say ("the provider tries again after a backoff...");
  run_until (&events.refreshed, 3);
  after = get_token (provider, &error);
  say ("recovered: callers get the new token: %s", after != during ? "yes" : "no");

  return events.failed == 1 && during == before && after != during;
}

static gboolean
show_wrong_secret (LocalEndpoint *endpoint)
{
  Events events = { 0 };
  g_autoptr(GrantTokenProvider) provider = preset_provider ("smartdocumentor", endpoint,
                                                            LOCAL_ENDPOINT_SMARTDOCUMENTOR,
                                                            "not-the-secret", &events);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  g_print ("\n4. A wrong secret\n");
  token = get_token (provider, &error);
  if (token != NULL || !g_error_matches (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT))
    {
      say ("expected GRANT_ERROR_INVALID_CLIENT");
      return FALSE;
    }
  say ("GRANT_ERROR_INVALID_CLIENT: %s", error->message);
  say ("(the message never holds the secret or a token)");

  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LocalEndpoint) endpoint = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  gboolean fast = FALSE;
  int lifetime = 5;
  gboolean ok;
  const GOptionEntry entries[] = {
    { "lifetime", 'l', 0, G_OPTION_ARG_INT, &lifetime,
      "Seconds the short-lived token of parts 2 and 3 lives (default 5)", "SECONDS" },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &fast,
      "Three-second tokens, for the test suite", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- libgrant against a local token endpoint");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
                                    "To get a token from a real provider, use grant-token "
                                    "(grant-token --help).");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("grant-demo: %s\n", error->message);
      return 2;
    }
  /* A failed refresh at half the lifetime is tried again within a second:
   * still before a three-second token expires. */
  if (fast)
    lifetime = 3;
  if (lifetime < 3)
    {
      g_printerr ("grant-demo: --lifetime must be at least 3 seconds\n");
      return 2;
    }

  endpoint = local_endpoint_new (FALSE, &error);
  if (endpoint == NULL)
    {
      g_printerr ("grant-demo: %s\n", error->message);
      return EXIT_FAILURE;
    }

  started = g_get_monotonic_time ();
  g_print ("libgrant %s demo: a token endpoint speaking the four seed dialects is at %s\n",
           GRANT_VERSION_S, endpoint->base_url);

  ok = show_presets (endpoint) &&
       show_refresh_and_failure (endpoint, (guint) lifetime) &&
       show_wrong_secret (endpoint);

  g_print ("\n%s\n", ok ? "Demo finished: everything behaved as expected."
                        : "Demo finished with unexpected results.");

  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
