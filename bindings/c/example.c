/* example.c: libgrant from C
 *
 * Gets a token from the OfficeRnD preset, reports refreshes and failures,
 * and calls the API once with the token.
 *
 *   example BASE_URL   against grant-local-endpoint (test-client/test-secret)
 *
 * GRANT_CLIENT_ID and GRANT_CLIENT_SECRET override the credentials.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include <grant.h>

typedef struct {
  GMainLoop *loop;
  SoupMessage *message;
  int status;
} Example;

static void
token_refreshed_cb (GrantTokenProvider *provider,
                    GrantToken         *token,
                    gpointer            user_data)
{
  g_autoptr(GDateTime) expires = g_date_time_to_local (grant_token_get_expires_at (token));
  g_autofree char *when = g_date_time_format (expires, "%H:%M:%S");

  /* Never print the token itself: it is a secret. */
  g_print ("token-refreshed: a %s token, expires at %s\n", grant_token_get_token_type (token), when);
}

static void
refresh_failed_cb (GrantTokenProvider *provider,
                   GError             *error,
                   gpointer            user_data)
{
  g_printerr ("refresh-failed: %s\n", error->message);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Example *example = user_data;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (body == NULL)
    g_printerr ("Reading the answer failed: %s\n", error->message);
  else
    {
      g_print ("API answered %u: %.*s\n", soup_message_get_status (example->message),
               (int) g_bytes_get_size (body), (const char *) g_bytes_get_data (body, NULL));
      example->status = EXIT_SUCCESS;
    }

  g_main_loop_quit (example->loop);
}

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Example *example = user_data;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  /* On a 401 the provider has already retried once with a new token. */
  stream = grant_token_provider_send_finish (GRANT_TOKEN_PROVIDER (object), result, &error);
  if (stream == NULL)
    {
      g_printerr ("The API call failed: %s\n", error->message);
      g_main_loop_quit (example->loop);
      return;
    }

  g_input_stream_read_bytes_async (stream, 64 * 1024, G_PRIORITY_DEFAULT, NULL, read_cb, example);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GrantTokenProvider) provider = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token_url = NULL;
  g_autofree char *api_url = NULL;
  const char *client_id = g_getenv ("GRANT_CLIENT_ID");
  const char *client_secret = g_getenv ("GRANT_CLIENT_SECRET");
  Example example = { 0 };

  if (argc != 2)
    {
      g_printerr ("usage: %s BASE_URL\n", argv[0]);
      return 2;
    }

  provider = grant_token_provider_new_from_preset ("officernd",
                                                   client_id ? client_id : "test-client",
                                                   client_secret ? client_secret : "test-secret",
                                                   &error);
  if (provider == NULL)
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }

  /* The preset knows OfficeRnD's own URL; point it at the local one. */
  token_url = g_strconcat (argv[1], "/officernd/oauth/token", NULL);
  grant_token_provider_set_token_url (provider, token_url);

  g_signal_connect (provider, "token-refreshed", G_CALLBACK (token_refreshed_cb), NULL);
  g_signal_connect (provider, "refresh-failed", G_CALLBACK (refresh_failed_cb), NULL);

  api_url = g_strconcat (argv[1], "/api", NULL);
  loop = g_main_loop_new (NULL, FALSE);
  example.loop = loop;
  example.message = soup_message_new ("GET", api_url);
  example.status = EXIT_FAILURE;

  grant_token_provider_send_async (provider, NULL, example.message, G_PRIORITY_DEFAULT,
                                   NULL, sent_cb, &example);
  g_main_loop_run (loop);

  g_object_unref (example.message);

  return example.status;
}
