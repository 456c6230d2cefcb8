/* fault-server.c: a loopback HTTP server that misbehaves on purpose
 *
 * Plain sockets rather than SoupServer, so that it can reset connections in
 * the middle of an answer, drip bytes, lie about lengths and hang.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/socket.h>

#include <libsoup/soup.h>

#include "fault-server.h"

typedef struct {
  FaultKind kind;
  guint status;
  char *headers;
  GBytes *body;
} Action;

struct _FaultServer {
  GSocketService *service;
  GTlsCertificate *certificate;
  char *url;
  GQueue actions;
  guint requests;
  guint tokens;
  char *last_request;
  GPtrArray *hung;          /* connections kept open, never answered */
};

typedef struct {
  FaultServer *server;
  GIOStream *stream;
  GSocketConnection *connection;
  GByteArray *request;
  Action *action;
  GBytes *answer;
  gsize sent;
  guchar buffer[4096];
} Connection;

static void
action_free (Action *action)
{
  g_free (action->headers);
  g_clear_pointer (&action->body, g_bytes_unref);
  g_free (action);
}

static void
connection_free (Connection *connection)
{
  g_clear_object (&connection->stream);
  g_clear_object (&connection->connection);
  g_byte_array_unref (connection->request);
  g_clear_pointer (&connection->action, action_free);
  g_clear_pointer (&connection->answer, g_bytes_unref);
  g_free (connection);
}

/* An abortive close: the peer gets a reset, not an orderly end. */
static void
reset (Connection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection->connection);
  struct linger linger = { 1, 0 };

  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  g_socket_close (socket, NULL);
}

/* @text, escaped to go between the quotes of a JSON string. */
static void
append_json_escaped (GString    *out,
                     const char *text,
                     gsize       length)
{
  for (gsize i = 0; i < length; i++)
    {
      guchar c = text[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, c);
    }
}

/* The body of a FAULT_ECHO answer: what the request sent, in @template. */
static GBytes *
build_echo (GByteArray *request,
            GBytes     *template)
{
  const char *data = (const char *) request->data;
  const char *end = g_strstr_len (data, request->len, "\r\n\r\n");
  g_autofree char *headers = g_strndup (data, end - data);
  g_autofree char *lower = g_ascii_strdown (headers, -1);
  const char *authorization = strstr (lower, "\r\nauthorization:");
  g_autofree char *value = NULL;
  g_autofree char *text = g_strndup (g_bytes_get_data (template, NULL), g_bytes_get_size (template));
  g_auto(GStrv) parts = NULL;
  GString *out = g_string_new (NULL);

  if (authorization != NULL)
    {
      const char *start = headers + (authorization - lower) + strlen ("\r\nauthorization:");
      const char *stop = strstr (start, "\r\n");

      value = g_strstrip (stop ? g_strndup (start, stop - start) : g_strdup (start));
    }

  /* "{authorization}" and "{body}", wherever they are. */
  parts = g_regex_split_simple ("(\\{authorization\\}|\\{body\\})", text, 0, 0);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (g_str_equal (parts[i], "{authorization}"))
        append_json_escaped (out, value ? value : "", value ? strlen (value) : 0);
      else if (g_str_equal (parts[i], "{body}"))
        append_json_escaped (out, end + 4, request->len - (end + 4 - data));
      else
        g_string_append (out, parts[i]);
    }

  return g_string_free_to_bytes (out);
}

static GBytes *
build_answer (Connection *connection)
{
  Action *action = connection->action;
  GString *answer = g_string_new (NULL);
  gsize body_length;

  if (action->kind == FAULT_ECHO && action->body != NULL)
    {
      GBytes *echo = build_echo (connection->request, action->body);

      g_bytes_unref (action->body);
      action->body = echo;
    }
  body_length = action->body ? g_bytes_get_size (action->body) : 0;
  gsize announced = action->kind == FAULT_SHORT_BODY ? body_length + 100 : body_length;

  g_string_append_printf (answer, "HTTP/1.1 %u %s\r\n", action->status,
                          soup_status_get_phrase (action->status));
  g_string_append (answer, "Connection: close\r\n");
  g_string_append_printf (answer, "Content-Length: %zu\r\n", announced);
  if (action->headers != NULL)
    g_string_append (answer, action->headers);
  g_string_append (answer, "\r\n");
  if (body_length > 0)
    g_string_append_len (answer, g_bytes_get_data (action->body, NULL), body_length);

  return g_string_free_to_bytes (answer);
}

static void send_more (Connection *connection);

static gboolean
drip_cb (gpointer user_data)
{
  send_more (user_data);

  return G_SOURCE_REMOVE;
}

static void
written_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Connection *connection = user_data;
  g_autoptr(GError) error = NULL;
  gssize written;

  written = g_output_stream_write_finish (G_OUTPUT_STREAM (object), result, &error);
  if (written < 0)
    {
      connection_free (connection);
      return;
    }

  connection->sent += written;
  if (connection->action->kind == FAULT_DRIP && connection->sent < g_bytes_get_size (connection->answer))
    {
      g_timeout_add (2, drip_cb, connection);
      return;
    }
  send_more (connection);
}

static void
send_more (Connection *connection)
{
  gsize total = g_bytes_get_size (connection->answer);
  gsize limit = total;
  gsize chunk;

  if (connection->action->kind == FAULT_RESET_DURING)
    limit = total / 2;

  if (connection->sent >= limit)
    {
      if (connection->action->kind == FAULT_RESET_DURING)
        reset (connection);
      else
        g_io_stream_close (connection->stream, NULL, NULL);
      connection_free (connection);
      return;
    }

  chunk = connection->action->kind == FAULT_DRIP ? 1 : limit - connection->sent;
  g_output_stream_write_async (g_io_stream_get_output_stream (connection->stream),
                               (const guchar *) g_bytes_get_data (connection->answer, NULL) + connection->sent,
                               chunk, G_PRIORITY_DEFAULT, NULL, written_cb, connection);
}

static Action *
default_action (FaultServer *server)
{
  Action *action = g_new0 (Action, 1);
  g_autofree char *body = g_strdup_printf ("{\"access_token\":\"fault-token-%u\",\"token_type\":\"Bearer\","
                                           "\"expires_in\":3600}", ++server->tokens);

  action->kind = FAULT_ANSWER;
  action->status = 200;
  action->headers = g_strdup ("Content-Type: application/json\r\n");
  action->body = g_bytes_new (body, strlen (body));

  return action;
}

/* The request is in when the headers are, plus Content-Length bytes. */
static gboolean
request_complete (GByteArray *request)
{
  const char *data = (const char *) request->data;
  const char *end = g_strstr_len (data, request->len, "\r\n\r\n");
  g_autofree char *headers = NULL;
  const char *length;

  if (end == NULL)
    return FALSE;

  headers = g_ascii_strdown (data, end - data);
  length = strstr (headers, "content-length:");
  if (length == NULL)
    return TRUE;

  return request->len >= (gsize) (end - data) + 4 + g_ascii_strtoull (length + 15, NULL, 10);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Connection *connection = user_data;
  FaultServer *server = connection->server;
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  if (n <= 0)
    {
      connection_free (connection);
      return;
    }

  g_byte_array_append (connection->request, connection->buffer, n);
  if (!request_complete (connection->request))
    {
      g_input_stream_read_async (g_io_stream_get_input_stream (connection->stream),
                                 connection->buffer, sizeof connection->buffer,
                                 G_PRIORITY_DEFAULT, NULL, read_cb, connection);
      return;
    }

  server->requests++;
  g_free (server->last_request);
  server->last_request = g_strndup ((const char *) connection->request->data, connection->request->len);

  connection->action = g_queue_pop_head (&server->actions);
  if (connection->action == NULL)
    connection->action = default_action (server);

  switch (connection->action->kind)
    {
    case FAULT_RESET_BEFORE:
      reset (connection);
      connection_free (connection);
      return;

    case FAULT_HANG:
      g_ptr_array_add (server->hung, g_object_ref (connection->stream));
      connection_free (connection);
      return;

    case FAULT_ANSWER:
    case FAULT_RESET_DURING:
    case FAULT_DRIP:
    case FAULT_SHORT_BODY:
    case FAULT_ECHO:
    default:
      connection->answer = build_answer (connection);
      send_more (connection);
      return;
    }
}

static void
start_reading (Connection *connection)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (connection->stream),
                             connection->buffer, sizeof connection->buffer,
                             G_PRIORITY_DEFAULT, NULL, read_cb, connection);
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Connection *connection = user_data;

  /* A client that refuses the certificate ends here. */
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, NULL))
    {
      connection_free (connection);
      return;
    }

  start_reading (connection);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *socket_connection,
             GObject           *source,
             gpointer           user_data)
{
  FaultServer *server = user_data;
  Connection *connection = g_new0 (Connection, 1);

  connection->server = server;
  connection->connection = g_object_ref (socket_connection);
  connection->request = g_byte_array_new ();

  if (server->certificate != NULL)
    {
      g_autoptr(GError) error = NULL;
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (socket_connection),
                                                    server->certificate, &error);

      g_assert_no_error (error);
      connection->stream = tls;
      g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                        handshake_cb, connection);
    }
  else
    {
      connection->stream = G_IO_STREAM (g_object_ref (socket_connection));
      start_reading (connection);
    }

  return TRUE;
}

FaultServer *
fault_server_new (GTlsCertificate *certificate)
{
  FaultServer *server = g_new0 (FaultServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_queue_init (&server->actions);
  server->hung = g_ptr_array_new_with_free_func (g_object_unref);
  server->certificate = certificate ? g_object_ref (certificate) : NULL;
  server->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (server->service, "incoming", G_CALLBACK (incoming_cb), server);
  g_socket_service_start (server->service);

  server->url = g_strdup_printf ("%s://127.0.0.1:%u/token", certificate ? "https" : "http",
                                 g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  return server;
}

void
fault_server_free (FaultServer *server)
{
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_clear_object (&server->service);
  g_clear_object (&server->certificate);
  g_queue_clear_full (&server->actions, (GDestroyNotify) action_free);
  g_ptr_array_unref (server->hung);
  g_free (server->url);
  g_free (server->last_request);
  /* Let closing connections finish their callbacks. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_free (server);
}

const char *
fault_server_get_url (FaultServer *server)
{
  return server->url;
}

guint
fault_server_get_requests (FaultServer *server)
{
  return server->requests;
}

const char *
fault_server_get_last_request (FaultServer *server)
{
  return server->last_request;
}

void
fault_server_push (FaultServer *server,
                   FaultKind    kind,
                   guint        status,
                   const char  *headers,
                   GBytes      *body)
{
  Action *action = g_new0 (Action, 1);

  action->kind = kind;
  action->status = status;
  action->headers = g_strdup (headers);
  action->body = body ? g_bytes_ref (body) : NULL;
  g_queue_push_tail (&server->actions, action);
}

void
fault_server_push_simple (FaultServer *server,
                          FaultKind    kind,
                          guint        status,
                          const char  *headers,
                          const char  *body)
{
  g_autoptr(GBytes) bytes = body ? g_bytes_new (body, strlen (body)) : NULL;

  fault_server_push (server, kind, status, headers, bytes);
}
