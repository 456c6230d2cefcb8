/* grant-demo.c: libgrant against a token endpoint it starts on 127.0.0.1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Shows the life of a GrantTokenProvider: a first fetch, the cache, many
 * callers sharing one request, an invalidated token, and a wrong secret.
 * Tokens are never printed whole: they are secrets, even here.
 */

#include <locale.h>
#include <stdlib.h>

#include <grant.h>

#include "local-endpoint.h"

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

/* Asks for a token and runs the main loop until it is there. */
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

/* A fingerprint (the start of a SHA-256 digest) tells tokens apart without
 * showing any part of them. */
static char *
describe_token (GrantToken *token)
{
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                           grant_token_get_access_token (token), -1);
  g_autofree char *expires = NULL;
  GDateTime *expires_at = grant_token_get_expires_at (token);

  if (expires_at != NULL)
    {
      g_autoptr(GDateTime) local = g_date_time_to_local (expires_at);

      expires = g_date_time_format (local, "%H:%M:%S");
    }

  return g_strdup_printf ("%s token with fingerprint %.8s, expires at %s",
                          grant_token_get_token_type (token), digest,
                          expires ? expires : "an unknown time (the server gave none)");
}

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    gpointer            user_data)
{
  g_autofree char *description = describe_token (token);

  g_print ("   signal token-refreshed: %s\n", description);
}

static void
refresh_failed_cb (GrantTokenProvider *provider,
                   GError             *error,
                   gpointer            user_data)
{
  g_print ("   signal refresh-failed: %s\n", error->message);
}

static GrantTokenProvider *
demo_provider (const char *token_url,
               const char *client_id,
               const char *client_secret)
{
  GrantTokenProvider *provider = grant_token_provider_new (token_url, client_id, client_secret);

  g_signal_connect (provider, "token-refreshed", G_CALLBACK (token_refreshed_cb), NULL);
  g_signal_connect (provider, "refresh-failed", G_CALLBACK (refresh_failed_cb), NULL);

  return provider;
}

static gboolean
run_demo (LocalEndpoint *endpoint)
{
  g_autoptr(GrantTokenProvider) provider = NULL;
  g_autoptr(GrantTokenProvider) wrong = NULL;
  g_autoptr(GrantToken) first = NULL;
  g_autoptr(GrantToken) cached = NULL;
  g_autoptr(GrantToken) renewed = NULL;
  g_autoptr(GrantToken) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  Wait waits[100] = { { 0 } };
  guint before, shared;

  g_print ("A token endpoint is listening at %s\n\n", endpoint->token_url);

  g_print ("1. Ask for a token: the provider fetches one.\n");
  provider = demo_provider (endpoint->token_url, endpoint->client_id, endpoint->client_secret);
  first = get_token (provider, &error);
  if (first == NULL)
    {
      g_printerr ("   unexpected error: %s\n", error->message);
      return FALSE;
    }
  description = describe_token (first);
  g_print ("   got %s\n\n", description);

  g_print ("2. Ask again: the fresh token comes from the cache.\n");
  cached = get_token (provider, &error);
  g_print ("   same token: %s; requests the endpoint has seen: %u\n\n",
           cached == first ? "yes" : "no", local_endpoint_get_requests (endpoint));

  g_print ("3. An API answered 401: invalidate, then %u callers ask at once.\n",
           (guint) G_N_ELEMENTS (waits));
  grant_token_provider_invalidate (provider, first);
  before = local_endpoint_get_requests (endpoint);
  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    grant_token_provider_get_token_async (provider, NULL, got_token_cb, &waits[i]);
  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    while (!waits[i].done)
      g_main_context_iteration (NULL, TRUE);
  renewed = g_object_ref (waits[0].token);
  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    {
      g_clear_object (&waits[i].token);
      g_clear_error (&waits[i].error);
    }
  shared = local_endpoint_get_requests (endpoint) - before;
  g_print ("   %u callers shared %u request; new token differs from the old: %s\n\n",
           (guint) G_N_ELEMENTS (waits), shared,
           g_strcmp0 (grant_token_get_access_token (renewed),
                      grant_token_get_access_token (first)) != 0 ? "yes" : "no");

  g_print ("4. A wrong secret gives a clear error, never the secret itself.\n");
  wrong = demo_provider (endpoint->token_url, endpoint->client_id, "not-the-secret");
  refused = get_token (wrong, &error);
  if (refused != NULL || !g_error_matches (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT))
    {
      g_printerr ("   expected GRANT_ERROR_INVALID_CLIENT\n");
      return FALSE;
    }
  g_print ("   error GRANT_ERROR_INVALID_CLIENT: %s\n\n", error->message);

  return cached == first && shared == 1;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LocalEndpoint) endpoint = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  setlocale (LC_ALL, "");
  endpoint = local_endpoint_new (FALSE, &error);
  if (endpoint == NULL)
    {
      g_printerr ("grant-demo: %s\n", error->message);
      return EXIT_FAILURE;
    }

  g_print ("libgrant %s demo\n\n", GRANT_VERSION_S);
  ok = run_demo (endpoint);
  g_print ("%s\n", ok ? "Demo finished: everything behaved as expected."
                      : "Demo finished with unexpected results.");

  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
