/* grant-token-provider-send.c: requests authorized with the provider's tokens
 *
 * Built on the provider's public API alone: a token from
 * grant_token_provider_get_token_async(), grant_token_provider_invalidate()
 * after a 401, and the provider's session.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-tls-private.h"
#include "grant-token-provider-private.h"
#include "grant-utils-private.h"

/* A token fetched because the API refused the one before, and refused in
 * turn within this many seconds, is the API's problem, not the token's:
 * the 401 goes to the caller without yet another token. */
#define REFUSED_AGAIN_WINDOW 30

/* On a token: when, on the provider's clock, it was fetched after a 401. */
static G_DEFINE_QUARK (grant-fetched-after-401, fetched_after_401)

/* The time is kept in the qdata pointer itself, in seconds (never 0):
 * the token is shared by every thread, and a value another thread may
 * replace must not be one it frees. */
static void
mark_fetched_after_401 (GrantTokenProvider *self,
                        GrantToken         *token)
{
  gsize seconds = (gsize) MAX (grant_token_provider_now (self) / G_USEC_PER_SEC, 1);

  g_object_set_qdata (G_OBJECT (token), fetched_after_401_quark (), GSIZE_TO_POINTER (seconds));
}

/* Whether a 401 to @token deserves another token. */
static gboolean
worth_another_token (GrantTokenProvider *self,
                     GrantToken         *token)
{
  gsize when = GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (token), fetched_after_401_quark ()));
  gint64 now = grant_token_provider_now (self) / G_USEC_PER_SEC;

  return when == 0 || now < (gint64) when || now - (gint64) when >= REFUSED_AGAIN_WINDOW;
}

/* A DPoP-bound token goes with a new proof for this very request. */
static gboolean
add_dpop_proof (GrantTokenProvider  *self,
                SoupMessage         *message,
                GrantToken          *token,
                GError             **error)
{
  g_autofree char *url = NULL;
  g_autofree char *proof = NULL;

  if (g_ascii_strcasecmp (grant_token_get_token_type (token), "DPoP") != 0)
    return TRUE;

  url = g_uri_to_string (soup_message_get_uri (message));
  proof = grant_token_provider_create_dpop_proof (self, soup_message_get_method (message), url, token,
                                                  NULL, error);
  if (proof == NULL)
    return FALSE;
  soup_message_headers_replace (soup_message_get_request_headers (message), "DPoP", proof);

  return TRUE;
}

/* Every answer may carry the server's next DPoP nonce. */
static void
keep_dpop_nonce (GrantTokenProvider *self,
                 SoupMessage        *message)
{
  const char *nonce = soup_message_headers_get_one (soup_message_get_response_headers (message), "DPoP-Nonce");
  g_autofree char *url = NULL;

  if (nonce == NULL || *nonce == '\0' || strlen (nonce) >= 1024)
    return;
  url = g_uri_to_string (soup_message_get_uri (message));
  grant_token_provider_set_dpop_nonce (self, url, nonce);
}

/* A 401 that asks for a DPoP nonce (RFC 9449 section 9). */
static gboolean
asks_for_dpop_nonce (SoupMessage *message)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  const char *challenge = soup_message_headers_get_list (headers, "WWW-Authenticate");

  return soup_message_get_status (message) == SOUP_STATUS_UNAUTHORIZED &&
         soup_message_headers_get_one (headers, "DPoP-Nonce") != NULL &&
         challenge != NULL && strstr (challenge, "use_dpop_nonce") != NULL;
}

static void
set_authorization (SoupMessage *message,
                   GrantToken  *token)
{
  g_autoptr(GrantSecret) authorization = grant_token_dup_authorization (token);

  soup_message_headers_replace (soup_message_get_request_headers (message),
                                "Authorization", authorization);
  /* Otherwise a session's auth manager that holds credentials for this
   * server would put them in place of the token. Only its cache is kept
   * away: a proxy may still ask for credentials through the message's
   * SoupMessage::authenticate signal. */
  soup_message_add_flags (message, SOUP_MESSAGE_DO_NOT_USE_AUTH_CACHE);
  /* The token goes to no server whose certificate the connection found
   * wrong (the application sends it, on a session libgrant does not
   * know): it is taken off the message first. send_async() checks more. */
  grant_tls_guard_message (message, NULL, NULL, TRUE);
}

static void
authorize_got_token_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GrantToken *token;

  token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (object), result, &error);
  if (token == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (!add_dpop_proof (GRANT_TOKEN_PROVIDER (object), g_task_get_task_data (task), token, &error))
    {
      g_object_unref (token);
      g_task_return_error (task, error);
      return;
    }
  set_authorization (g_task_get_task_data (task), token);
  g_task_return_pointer (task, token, g_object_unref);
}

/**
 * grant_token_provider_authorize_message_async:
 * @self: a provider
 * @message: the request to authorize
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when @message is
 *   authorized
 * @user_data: data for @callback
 *
 * Gets a valid token, as [method@Grant.TokenProvider.get_token_async]
 * does, and sets the `Authorization` header of @message to it, such as
 * `Bearer abc`. It also sets %SOUP_MESSAGE_DO_NOT_USE_AUTH_CACHE on
 * @message, so that credentials the session's #SoupAuthManager keeps for
 * the same server do not replace the token.
 *
 * Call [method@Grant.TokenProvider.authorize_message_finish] in @callback.
 */
void
grant_token_provider_authorize_message_async (GrantTokenProvider  *self,
                                              SoupMessage         *message,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (SOUP_IS_MESSAGE (message));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_authorize_message_async);
  g_task_set_task_data (task, g_object_ref (message), g_object_unref);

  grant_token_provider_get_token_async (self, cancellable, authorize_got_token_cb, task);
}

/**
 * grant_token_provider_authorize_message_finish:
 * @self: a provider
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenProvider.authorize_message_async].
 *
 * Keep the token returned to pass it to
 * [method@Grant.TokenProvider.invalidate] if the API rejects it.
 *
 * Returns: (transfer full): the token the message carries, or `NULL` with
 *   @error set, in which case the message was not changed
 */
GrantToken *
grant_token_provider_authorize_message_finish (GrantTokenProvider  *self,
                                               GAsyncResult        *result,
                                               GError             **error)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == grant_token_provider_authorize_message_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  SoupSession *session;
  SoupMessage *message;
  int io_priority;
  GrantToken *token;
  gboolean retried;
  gboolean dpop_retried;           /* a use_dpop_nonce 401 was retried */
  /* What the message is sent with: cancelled with the caller's, or when
   * the server's certificate is refused. */
  GCancellable *cancellable;
  GCancellable *caller_cancellable;
  gulong caller_handler;
  SoupSession *caller_session;     /* the session the caller gave, or NULL */
} SendData;

static void
send_cancel_cb (GCancellable *caller_cancellable,
                gpointer      user_data)
{
  g_cancellable_cancel (user_data);
}

static void
send_data_clear_cancellable (SendData *data)
{
  if (data->caller_handler != 0)
    g_cancellable_disconnect (data->caller_cancellable, data->caller_handler);
  data->caller_handler = 0;
  g_clear_object (&data->cancellable);
}

static void
send_data_free (SendData *data)
{
  send_data_clear_cancellable (data);
  g_clear_object (&data->caller_cancellable);
  g_clear_object (&data->caller_session);
  g_clear_object (&data->session);
  g_clear_object (&data->message);
  g_clear_object (&data->token);
  g_free (data);
}

static void send_authorize (GTask *task);

/* The API refused the token, typically because it was revoked: drop it,
 * get a new one, and send once more. */
static void
send_closed_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  g_input_stream_close_finish (G_INPUT_STREAM (object), result, NULL);
  send_authorize (task);
}

static void
send_sent_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SendData *data = g_task_get_task_data (task);
  GrantTokenProvider *self = g_task_get_source_object (task);
  GCancellable *cancellable;
  GInputStream *stream;
  GError *error = NULL;

  stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  send_data_clear_cancellable (data);
  if (stream == NULL)
    {
      g_task_return_error (task, grant_tls_explain_error (data->message, error));
      return;
    }

  keep_dpop_nonce (self, data->message);

  /* The API wants a DPoP nonce it just gave: once more, with the same
   * token and a new proof. */
  if (asks_for_dpop_nonce (data->message) && !data->dpop_retried)
    {
      g_debug ("The API asked for a DPoP nonce; sending the request again with it");
      data->dpop_retried = TRUE;
      cancellable = g_task_get_cancellable (task);
      g_input_stream_close_async (stream, data->io_priority, cancellable,
                                  send_closed_cb, g_steal_pointer (&task));
      g_object_unref (stream);
      return;
    }

  if (soup_message_get_status (data->message) == SOUP_STATUS_UNAUTHORIZED && !data->retried &&
      worth_another_token (self, data->token))
    {
      g_debug ("The API answered 401 to the token; getting another and trying once more");
      data->retried = TRUE;
      grant_token_provider_invalidate (self, data->token);
      cancellable = g_task_get_cancellable (task);
      g_input_stream_close_async (stream, data->io_priority, cancellable,
                                  send_closed_cb, g_steal_pointer (&task));
      g_object_unref (stream);
      return;
    }

  g_task_return_pointer (task, stream, g_object_unref);
}

static void
send_authorized_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SendData *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  GError *error = NULL;

  g_clear_object (&data->token);
  data->token = grant_token_provider_authorize_message_finish (GRANT_TOKEN_PROVIDER (object),
                                                               result, &error);
  if (data->token == NULL)
    {
      /* Never sent without a token. */
      g_task_return_error (task, error);
      return;
    }

  if (data->retried)
    mark_fetched_after_401 (GRANT_TOKEN_PROVIDER (object), data->token);

  cancellable = g_task_get_cancellable (task);
  send_data_clear_cancellable (data);
  data->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      g_set_object (&data->caller_cancellable, cancellable);
      data->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (send_cancel_cb),
                                                    data->cancellable, NULL);
    }
  /* A token bound to the client certificate is good only with it: the
   * request presents it, on a session whose connections all do, or on a
   * new connection of the caller's session. */
  {
    g_autoptr(GTlsCertificate) certificate = NULL;
    g_autoptr(SoupSession) own = grant_token_provider_dup_certificate_session (GRANT_TOKEN_PROVIDER (object),
                                                                               &certificate);

    if (certificate != NULL)
      {
        if (data->caller_session == NULL)
          g_set_object (&data->session, own);
        grant_tls_present_certificate (data->message, certificate, data->caller_session != NULL);
      }
  }
  grant_tls_guard_message (data->message, data->session, data->cancellable, TRUE);
  soup_session_send_async (data->session, data->message, data->io_priority,
                           data->cancellable, send_sent_cb, g_steal_pointer (&task));
}

static void
send_authorize (GTask *task)
{
  SendData *data = g_task_get_task_data (task);

  grant_token_provider_authorize_message_async (g_task_get_source_object (task), data->message,
                                                g_task_get_cancellable (task),
                                                send_authorized_cb, g_object_ref (task));
}

/**
 * grant_token_provider_send_async:
 * @self: a provider
 * @session: (nullable): the session to send on, or `NULL` for the
 *   provider's
 * @message: the API request
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when the response
 *   headers are in
 * @user_data: data for @callback
 *
 * Authorizes @message with a valid token and sends it, like
 * soup_session_send_async(). As with
 * [method@Grant.TokenProvider.authorize_message_async], credentials the
 * session's #SoupAuthManager keeps do not replace the token.
 *
 * When the API answers 401 Unauthorized (with a `WWW-Authenticate: Bearer
 * error="invalid_token"` challenge or without one), the token is
 * invalidated, a new one is obtained and the request is sent once more;
 * the second answer is the result, whatever it is. A 401 to a token that
 * was itself fetched because of a 401, less than 30 seconds before, is
 * the result at once: an API that refuses every token gets no stream of
 * token requests from its callers. When no token can be
 * obtained, the request is not sent and the error is the result. The body
 * of @message must be one libsoup can send twice, such as one set with
 * soup_message_set_request_body_from_bytes().
 *
 * Call [method@Grant.TokenProvider.send_finish] in @callback.
 */
void
grant_token_provider_send_async (GrantTokenProvider  *self,
                                 SoupSession         *session,
                                 SoupMessage         *message,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SendData *data;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (session == NULL || SOUP_IS_SESSION (session));
  g_return_if_fail (SOUP_IS_MESSAGE (message));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (SendData, 1);
  data->session = g_object_ref (session ? session : grant_token_provider_get_session (self));
  data->caller_session = session ? g_object_ref (session) : NULL;
  data->message = g_object_ref (message);
  data->io_priority = io_priority;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_send_async);
  g_task_set_priority (task, io_priority);
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  send_authorize (task);
}

/**
 * grant_token_provider_send_finish:
 * @self: a provider
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenProvider.send_async].
 *
 * As with soup_session_send_finish(), the status and headers are on the
 * message, and an HTTP error status is not an error here.
 *
 * Returns: (transfer full): the response body, or `NULL` with @error set
 */
GInputStream *
grant_token_provider_send_finish (GrantTokenProvider  *self,
                                  GAsyncResult        *result,
                                  GError             **error)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == grant_token_provider_send_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
send_and_read_spliced_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (object), result, &error) < 0)
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (object)),
                         (GDestroyNotify) g_bytes_unref);
}

static void
send_and_read_sent_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GOutputStream) body = NULL;
  GCancellable *cancellable;
  GError *error = NULL;
  int priority;

  stream = grant_token_provider_send_finish (GRANT_TOKEN_PROVIDER (object), result, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  body = g_memory_output_stream_new_resizable ();
  priority = g_task_get_priority (task);
  cancellable = g_task_get_cancellable (task);
  g_output_stream_splice_async (body, stream,
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                priority, cancellable, send_and_read_spliced_cb, g_steal_pointer (&task));
}

/**
 * grant_token_provider_send_and_read_async:
 * @self: a provider
 * @session: (nullable): the session to send on, or `NULL` for the
 *   provider's
 * @message: the API request
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when the whole
 *   response body is in
 * @user_data: data for @callback
 *
 * Authorizes @message with a valid token, sends it and reads the whole
 * response body, like soup_session_send_and_read_async(): the same as
 * [method@Grant.TokenProvider.send_async], with the same rule for a 401
 * Unauthorized answer (a new token and one more try), then the body read
 * into memory.
 *
 * Call [method@Grant.TokenProvider.send_and_read_finish] in @callback.
 */
void
grant_token_provider_send_and_read_async (GrantTokenProvider  *self,
                                          SoupSession         *session,
                                          SoupMessage         *message,
                                          int                  io_priority,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (session == NULL || SOUP_IS_SESSION (session));
  g_return_if_fail (SOUP_IS_MESSAGE (message));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_send_and_read_async);
  g_task_set_priority (task, io_priority);

  grant_token_provider_send_async (self, session, message, io_priority, cancellable,
                                   send_and_read_sent_cb, task);
}

/**
 * grant_token_provider_send_and_read_finish:
 * @self: a provider
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenProvider.send_and_read_async].
 *
 * As with soup_session_send_and_read_finish(), the status and headers are
 * on the message, and an HTTP error status is not an error here.
 *
 * Returns: (transfer full): the whole response body, or `NULL` with
 *   @error set
 */
GBytes *
grant_token_provider_send_and_read_finish (GrantTokenProvider  *self,
                                           GAsyncResult        *result,
                                           GError             **error)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == grant_token_provider_send_and_read_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
