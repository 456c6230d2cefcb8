/* grant-tls.c: never write credentials to a server whose certificate the
 * session would not accept
 *
 * glib-networking 2.74 keeps TLS session tickets for the whole process.
 * A session with another trust policy (another `tls-database`, or the
 * system's) may resume a TLS 1.3 session that a first one verified, and
 * then no certificate is checked at all: libsoup reports the errors only
 * once the request, credentials and all, has been written. So libgrant
 * checks the certificate itself as soon as a message knows it, for a new
 * connection (after its handshake, resumed or not) as for a kept-alive
 * one, before anything is written, against the database of the session
 * the request goes through. A certificate it refuses takes the
 * credentials off the message's headers and cancels the send, and the
 * error says why.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "grant-tls-private.h"

#define GUARD_KEY "grant-tls-guard"
#define PRESENT_KEY "grant-tls-present"

typedef struct {
  SoupSession *session;
  GCancellable *cancellable;       /* cancelled on a refusal; may be NULL */
  gboolean ask_message;            /* SoupMessage::accept-certificate decides */
  gulong handler;
  GTlsCertificateFlags refused;    /* why, once refused */
  GTlsCertificateFlags checked;    /* what the last check found */
} Guard;

static void
guard_free (gpointer data)
{
  Guard *guard = data;

  g_clear_object (&guard->session);
  g_clear_object (&guard->cancellable);
  g_free (guard);
}

/* What @session's database says of @certificate for @message's server. */
static GTlsCertificateFlags
verify (SoupSession     *session,
        SoupMessage     *message,
        GTlsCertificate *certificate)
{
  GTlsDatabase *database = soup_session_get_tls_database (session);
  GUri *uri = soup_message_get_uri (message);
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autoptr(GError) error = NULL;
  GTlsCertificateFlags flags;

  /* No database: a session that trusts nothing. */
  if (database == NULL)
    return G_TLS_CERTIFICATE_UNKNOWN_CA;

  /* Only the host name is checked against the certificate. */
  identity = g_network_address_new (g_uri_get_host (uri),
                                    g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 443);
  flags = g_tls_database_verify_chain (database, certificate, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                       identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
  if (error != NULL)
    flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;

  return flags;
}

static guint
accept_certificate_signal (void)
{
  static gsize id;

  if (g_once_init_enter (&id))
    g_once_init_leave (&id, g_signal_lookup ("accept-certificate", SOUP_TYPE_MESSAGE));

  return (guint) id;
}

/* The message has its server's certificate: a new connection finished its
 * handshake, or a kept-alive one was given to the message. Its request is
 * not written yet. */
static void
peer_certificate_cb (SoupMessage *message,
                     GParamSpec  *pspec,
                     gpointer     user_data)
{
  Guard *guard = user_data;
  GTlsCertificate *certificate = soup_message_get_tls_peer_certificate (message);
  GTlsCertificateFlags flags;

  if (certificate == NULL)
    return;

  /* An application that decides itself which certificates its requests
   * accept (a SoupMessage::accept-certificate handler) keeps deciding: its
   * code is not called from here, where libsoup may hold its connection
   * manager's lock (a kept-alive connection is given to the message under
   * it). */
  if (guard->ask_message && g_signal_has_handler_pending (message, accept_certificate_signal (), 0, FALSE))
    return;

  /* Without the session the message goes through (authorize_message()),
   * what its own connection found. */
  flags = guard->session != NULL ? verify (guard->session, message, certificate)
                                 : soup_message_get_tls_peer_certificate_errors (message);
  guard->checked = flags;
  if (flags == 0)
    return;

  guard->refused = flags;
  soup_message_headers_remove (soup_message_get_request_headers (message), "Authorization");
  if (guard->cancellable != NULL)
    g_cancellable_cancel (guard->cancellable);
}

/*
 * grant_tls_guard_message:
 * @message: a request that carries credentials or a token
 * @session: (nullable): the session it is sent through; NULL when unknown
 *   (the errors its connection reports decide)
 * @cancellable: (nullable): the cancellable it is sent with, cancelled if
 *   the server's certificate is refused
 * @ask_message: whether an application's #SoupMessage::accept-certificate
 *   handler, if it has one, decides instead (an application's request)
 *
 * Checks the server's certificate of every connection @message is sent
 * on, before its request is written. Replaces any earlier guard.
 */
void
grant_tls_guard_message (SoupMessage  *message,
                         SoupSession  *session,
                         GCancellable *cancellable,
                         gboolean      ask_message)
{
  Guard *guard = g_new0 (Guard, 1);
  Guard *old = g_object_get_data (G_OBJECT (message), GUARD_KEY);

  if (old != NULL)
    g_signal_handler_disconnect (message, old->handler);

  guard->session = session ? g_object_ref (session) : NULL;
  guard->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  guard->ask_message = ask_message;
  guard->handler = g_signal_connect (message, "notify::tls-peer-certificate",
                                     G_CALLBACK (peer_certificate_cb), guard);
  g_object_set_data_full (G_OBJECT (message), GUARD_KEY, guard, guard_free);
}

/*
 * grant_tls_describe_flags:
 * @flags: what is wrong with a certificate
 *
 * Returns: the reasons, in words, such as "it has expired"
 */
char *
grant_tls_describe_flags (GTlsCertificateFlags flags)
{
  static const struct {
    GTlsCertificateFlags flag;
    const char *words;
  } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "it is not signed by an authority the session trusts" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "it is for another host name" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "it is not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "it has expired" },
    { G_TLS_CERTIFICATE_REVOKED, "it has been revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "it uses an insecure algorithm" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, "it could not be verified" },
  };
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (flags & reasons[i].flag)
      {
        if (text->len > 0)
          g_string_append (text, "; ");
        g_string_append (text, reasons[i].words);
      }
  if (text->len == 0)
    g_string_append (text, "it was not accepted");

  return g_string_free (text, FALSE);
}

/*
 * grant_tls_explain_error:
 * @message: a guarded message whose send failed
 * @error: (transfer full): the send's error
 *
 * Returns: (transfer full): @error, or in its place the certificate
 *   error that caused it, saying why the certificate was refused
 */
GError *
grant_tls_explain_error (SoupMessage *message,
                         GError      *error)
{
  Guard *guard = g_object_get_data (G_OBJECT (message), GUARD_KEY);
  GTlsCertificateFlags flags = 0;
  g_autofree char *host = NULL;
  g_autofree char *why = NULL;
  GError *explained;

  if (guard != NULL && guard->refused != 0)
    flags = guard->refused;
  else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    flags = guard != NULL && guard->checked != 0 ? guard->checked
                                                 : soup_message_get_tls_peer_certificate_errors (message);
  else
    return error;

  host = g_strdup (g_uri_get_host (soup_message_get_uri (message)));
  why = grant_tls_describe_flags (flags);
  explained = g_error_new (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                           "The certificate of %s is not acceptable: %s", host, why);
  g_error_free (error);

  return explained;
}

/* At the start of each handshake of @message's connections. */
static void
present_certificate_cb (SoupMessage        *message,
                        GSocketClientEvent  event,
                        GIOStream          *connection,
                        gpointer            user_data)
{
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CONNECTION (connection))
    g_tls_connection_set_certificate (G_TLS_CONNECTION (connection), user_data);
}

/*
 * grant_tls_present_certificate:
 * @message: a request
 * @certificate: the client certificate, with its key
 *
 * Presents @certificate on @message's connection, for mutual TLS.
 *
 * libsoup 3.2 hands the certificate over only when the server asks, which
 * on a TLS 1.3 session resumed from glib-networking's process-wide ticket
 * cache it never does: the certificate is set on the connection as its
 * handshake starts. With @new_connection, an idle connection (made
 * without it, on a session other requests use) is not reused.
 */
void
grant_tls_present_certificate (SoupMessage     *message,
                               GTlsCertificate *certificate,
                               gboolean         new_connection)
{
  gulong old = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (message), PRESENT_KEY));
  gulong handler;

  soup_message_set_tls_client_certificate (message, certificate);
  if (new_connection)
    soup_message_add_flags (message, SOUP_MESSAGE_NEW_CONNECTION);
  /* A message sent again (after a 401) keeps one handler. */
  if (old != 0)
    g_signal_handler_disconnect (message, old);
  handler = g_signal_connect_data (message, "network-event", G_CALLBACK (present_certificate_cb),
                                   g_object_ref (certificate),
                                   (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  g_object_set_data (G_OBJECT (message), PRESENT_KEY, GSIZE_TO_POINTER (handler));
}
