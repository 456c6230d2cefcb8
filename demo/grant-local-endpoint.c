/* grant-local-endpoint.c: a token endpoint and an API on 127.0.0.1, for the
 * examples and for trying libgrant without an account anywhere
 *
 * Prints its base URL on the first line of standard output, then serves
 * until interrupted (SIGINT, SIGTERM), or, with --until-stdin-closes,
 * until its standard input closes (as a script's pipe does when the
 * script ends):
 *
 *   BASE/token                            a strict RFC 6749 endpoint
 *   BASE/expertfile/v2/oauth/token        answers like ExpertFile
 *   BASE/json-body/oauth/token            wants a JSON body
 *   BASE/smartdocumentor/connect/token    answers like SmartDocumentor
 *   BASE/officernd/oauth/token            answers like OfficeRnD
 *   BASE/api                              200 for a token it issued, else 401
 *   BASE/stats                            what it has seen, as JSON
 *
 * A token URL with ?delay_ms=N answers N milliseconds late, as a distant
 * server would.
 *
 * The client is "test-client" with the secret "test-secret". Tokens last an
 * hour unless --expires-in says otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>

#include <unistd.h>

#include <glib-unix.h>

#include "local-endpoint.h"

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);

  return G_SOURCE_REMOVE;
}

static gboolean
stdin_cb (int           fd,
          GIOCondition  condition,
          gpointer      user_data)
{
  char buffer[256];

  /* Standard input closed: whoever started us is gone. */
  if ((condition & (G_IO_HUP | G_IO_ERR)) || read (fd, buffer, sizeof buffer) <= 0)
    {
      g_main_loop_quit (user_data);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LocalEndpoint) endpoint = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  gboolean watch_stdin = FALSE;
  gint64 expires_in = 3600;
  const GOptionEntry entries[] = {
    { "until-stdin-closes", 0, 0, G_OPTION_ARG_NONE, &watch_stdin,
      "Quit when standard input closes", NULL },
    { "expires-in", 0, 0, G_OPTION_ARG_INT64, &expires_in,
      "Lifetime of the tokens handed out (default: 3600)", "SECONDS" },
    { NULL }
  };

  options = g_option_context_new (NULL);
  g_option_context_set_summary (options, "A token endpoint and an API on 127.0.0.1.");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("grant-local-endpoint: %s\n", error->message);
      return 2;
    }
  if (expires_in < 1)
    {
      g_printerr ("grant-local-endpoint: --expires-in must be at least 1\n");
      return 2;
    }

  endpoint = local_endpoint_new (FALSE, &error);
  if (endpoint == NULL)
    {
      g_printerr ("grant-local-endpoint: %s\n", error->message);
      return EXIT_FAILURE;
    }
  endpoint->expires_in = expires_in;

  printf ("%s\n", endpoint->base_url);
  fflush (stdout);

  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  if (watch_stdin)
    g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, stdin_cb, loop);

  g_main_loop_run (loop);

  return EXIT_SUCCESS;
}
