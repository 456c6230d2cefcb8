/* grant-fetch.c: one token acquisition, from start to end
 *
 * A fetch gets one token for every caller (a waiter) that asks while it is
 * in flight. It starts from a snapshot of the request (GrantFetchConfig)
 * and reads nothing else: it takes the store's lock, loads the stored
 * token, reads the issuer's discovery document if it must, sends the token
 * request (again after a transient failure; with the other method when
 * AUTO's first is refused), saves the new token, reports once to its owner
 * and completes every waiter. When the last waiter cancels, the operation
 * in flight is cancelled too, unless it is a background refresh.
 *
 * Its state is explicit and fetch_process() alone moves it on: a step
 * either goes on to the next state at once, or starts one asynchronous
 * operation and waits in a state of its own; the operation's callback
 * records the outcome, sets the next state and calls fetch_process()
 * again. libsoup drives a SoupMessageQueueItem the same way.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "grant-error.h"
#include "grant-fetch-private.h"
#include "grant-request-private.h"
#include "grant-response-private.h"
#include "grant-token-private.h"
#include "grant-utils-private.h"

typedef enum {
  FETCH_STARTING,     /* check the client; take the store's lock */
  FETCH_LOCKING,      /* waiting for the store's lock */
  FETCH_LOAD,         /* load the stored token */
  FETCH_LOADING,      /* waiting for the stored token */
  FETCH_RESOLVE,      /* find the token endpoint: given, known or to discover */
  FETCH_DISCOVER,     /* send the discovery request */
  FETCH_DISCOVERING,  /* waiting for the discovery document */
  FETCH_READY,        /* the token endpoint is known: choose the first method */
  FETCH_REQUEST,      /* send the token request */
  FETCH_REQUESTING,   /* waiting for the token response */
  FETCH_BACKING_OFF,  /* waiting to try again after a transient failure */
  FETCH_SAVE,         /* save the new token */
  FETCH_SAVING,       /* waiting for the store */
  FETCH_FINISHING,    /* report, then complete every waiter */
  FETCH_FINISHED,
} FetchState;

typedef struct {
  GList link;                    /* in fetch->waiters; data is the waiter */
  GrantFetch *fetch;
  GTask *task;
  GSource *cancel_source;
  gboolean accepts_valid_token;  /* a still-valid token beats an error */
} Waiter;

struct _GrantFetch {
  GrantFetchConfig *config;
  GMainContext *context;
  GrantFetchDoneFunc done;
  gpointer done_data;

  FetchState state;
  GQueue waiters;
  gboolean abandoned;          /* every caller cancelled, or the owner left */

  /* The outcome. */
  GrantToken *token;
  GError *error;
  GrantDiscovery *discovery;   /* the document this fetch read */
  GError *store_error;

  GObject *lock;

  /* The endpoint and the token request. */
  char *token_url;             /* the configured one, or the document's */
  GrantDiscoveryKind discovery_kind;
  guint auto_candidates;       /* AUTO: the methods it may try */
  guint auto_tried;
  GrantAuthMethod attempt_method;
  GError *first_error;         /* AUTO: the first method's answer */

  /* Retries of transient failures. */
  guint attempts;
  FetchState retry_state;      /* FETCH_DISCOVER or FETCH_REQUEST */
  GSource *retry_source;

  /* The operation in flight; for an HTTP exchange, all of it. */
  GCancellable *cancellable;
  const char *what;            /* "token request" or "discovery request" */
  SoupMessage *message;
  GInputStream *stream;
  GByteArray *body;
  GSource *timeout_source;
  gboolean timed_out;
};

static void fetch_process (GrantFetch *fetch);

void
grant_fetch_config_free (GrantFetchConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->token_url);
  g_free (config->issuer);
  g_free (config->client_id);
  grant_secret_free (config->client_secret);
  g_free (config->scope);
  g_clear_pointer (&config->parameters, g_ptr_array_unref);
  g_clear_object (&config->dialect);
  g_clear_object (&config->session);
  g_clear_object (&config->clock);
  g_clear_object (&config->store);
  g_clear_pointer (&config->key, grant_token_key_unref);
  g_clear_object (&config->held);
  g_clear_pointer (&config->discovery, grant_discovery_free);
  g_clear_object (&config->monitor);
  g_free (config);
}

gint64
grant_backoff_ms (guint    n,
                  guint    base_ms,
                  guint    max_ms,
                  gboolean jitter)
{
  gint64 delay = MIN ((gint64) base_ms << MIN (n, 20), (gint64) max_ms);

  /* Many clients do not come back at the same instant. */
  if (jitter)
    delay = delay / 2 + (gint64) (g_random_double () * (delay / 2));

  return delay;
}

static gboolean
is_set (const char *str)
{
  return str != NULL && *str != '\0';
}

/* Ends the fetch with @error (taking it). */
static void
fetch_fail (GrantFetch *fetch,
            GError     *error)
{
  g_assert (fetch->error == NULL);

  g_clear_object (&fetch->token);
  fetch->error = error;
  fetch->state = FETCH_FINISHING;
}

static void
fetch_fail_cancelled (GrantFetch *fetch,
                      const char *why)
{
  fetch_fail (fetch, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, why));
}

/* A store that fails is no error for callers: the owner hears of the first
 * failure, and the fetch goes on without the store. */
static void
store_failed (GrantFetch   *fetch,
              const GError *error)
{
  g_debug ("The token store failed: %s", error->message);
  if (fetch->store_error == NULL)
    fetch->store_error = g_error_copy (error);
}

/* The authentication method that worked, per token URL and client id, for
 * GRANT_AUTH_METHOD_AUTO; shared by every fetch in the process. */
G_LOCK_DEFINE_STATIC (auto_methods);
static GHashTable *auto_methods;

static char *
auto_method_key (const char *token_url,
                 const char *client_id)
{
  return g_strconcat (token_url, "\n", client_id, NULL);
}

static GrantAuthMethod
auto_method_lookup (const char *token_url,
                    const char *client_id)
{
  g_autofree char *key = auto_method_key (token_url, client_id);
  gpointer method = NULL;

  G_LOCK (auto_methods);
  if (auto_methods != NULL)
    method = g_hash_table_lookup (auto_methods, key);
  G_UNLOCK (auto_methods);

  return method != NULL ? (GrantAuthMethod) GPOINTER_TO_INT (method)
                        : GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC;
}

static void
auto_method_remember (const char      *token_url,
                      const char      *client_id,
                      GrantAuthMethod  method)
{
  G_LOCK (auto_methods);
  if (auto_methods == NULL)
    auto_methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (auto_methods, auto_method_key (token_url, client_id),
                       GINT_TO_POINTER (method));
  G_UNLOCK (auto_methods);
}

static gboolean
is_authentication_refusal (const GError *error)
{
  return g_error_matches (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_INVALID_REQUEST) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_UNAUTHORIZED_CLIENT);
}

static const char *
describe_auth_method (GrantAuthMethod method)
{
  return method == GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC
         ? "with HTTP Basic authentication"
         : "with the credentials in the request body";
}

/* The next method AUTO tries: what worked before for this endpoint and
 * client, then Basic, then the body, among the candidates not yet tried. */
static gboolean
next_auto_method (GrantFetch      *fetch,
                  GrantAuthMethod *method)
{
  GrantAuthMethod order[] = {
    auto_method_lookup (fetch->token_url, fetch->config->client_id),
    GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
    GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
  };

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      guint bit = GRANT_DISCOVERY_METHOD (order[i]);

      if ((fetch->auto_candidates & bit) && !(fetch->auto_tried & bit))
        {
          *method = order[i];
          return TRUE;
        }
    }

  return FALSE;
}

/* Destroys and drops *@source, if there is one. */
static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Waiters */

static void
waiter_free (Waiter *waiter)
{
  clear_source (&waiter->cancel_source);
  g_object_unref (waiter->task);
  g_free (waiter);
}

/* Nobody waits any more, or the owner went away: stop what is in flight. */
static void
fetch_abandon (GrantFetch *fetch,
               const char *why)
{
  fetch->abandoned = TRUE;

  if (fetch->cancellable != NULL)
    g_cancellable_cancel (fetch->cancellable);
  else if (fetch->state == FETCH_BACKING_OFF)
    {
      clear_source (&fetch->retry_source);
      fetch_fail_cancelled (fetch, why);
      fetch_process (fetch);
    }
}

static gboolean
waiter_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = user_data;
  GrantFetch *fetch = waiter->fetch;
  /* The task may hold the last reference to the fetch's owner, which
   * detaches its fetches when it goes: not before this one is left
   * alone. */
  g_autoptr(GTask) task = g_object_ref (waiter->task);

  g_queue_unlink (&fetch->waiters, &waiter->link);
  g_task_return_error_if_cancelled (task);
  waiter_free (waiter);

  /* Nobody wants this token any more: stop the request, unless it is a
   * background refresh. New callers start a fetch of their own rather
   * than join a dying one. */
  if (g_queue_is_empty (&fetch->waiters) && !fetch->config->background && !fetch->abandoned)
    {
      g_debug ("Every caller cancelled; stopping the fetch");
      fetch_abandon (fetch, "Every caller cancelled");
    }

  return G_SOURCE_REMOVE;
}

gboolean
grant_fetch_add_waiter (GrantFetch *fetch,
                        GTask      *task,
                        gboolean    accepts_valid_token)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Waiter *waiter;

  if (!grant_fetch_is_joinable (fetch))
    return FALSE;

  waiter = g_new0 (Waiter, 1);
  waiter->link.data = waiter;
  waiter->fetch = fetch;
  waiter->task = g_object_ref (task);
  waiter->accepts_valid_token = accepts_valid_token;

  if (cancellable != NULL)
    {
      waiter->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (waiter->cancel_source,
                             G_SOURCE_FUNC (waiter_cancelled_cb), waiter, NULL);
      g_source_set_priority (waiter->cancel_source, G_PRIORITY_DEFAULT);
      g_source_attach (waiter->cancel_source, fetch->context);
    }

  g_queue_push_tail_link (&fetch->waiters, &waiter->link);

  return TRUE;
}

/* One HTTP exchange: send, read at most GRANT_MAX_BODY_SIZE bytes of body
 * within the timeout, then hand the body or the error (transport, timeout,
 * cancellation, a body too large) to the state waiting for it. */

static void discovery_response (GrantFetch *fetch,
                                GBytes     *body,
                                GError     *error);
static void token_response     (GrantFetch *fetch,
                                GBytes     *body,
                                GError     *error);

static void
fetch_clear_exchange (GrantFetch *fetch)
{
  clear_source (&fetch->timeout_source);
  g_clear_object (&fetch->cancellable);
  g_clear_object (&fetch->stream);
  g_clear_pointer (&fetch->body, g_byte_array_unref);
}

static void
exchange_done (GrantFetch *fetch,
               GError     *error)
{
  g_autoptr(GBytes) body = NULL;

  if (error == NULL)
    body = g_byte_array_free_to_bytes (g_steal_pointer (&fetch->body));
  else if (fetch->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

      g_clear_error (&error);
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "The %s to %s timed out after %u seconds",
                   fetch->what, where, fetch->config->timeout);
    }
  else if (error->domain != GRANT_ERROR &&
           !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

      g_prefix_error (&error, "The %s to %s failed: ", fetch->what, where);
    }

  /* The message stays for its status and headers until the next exchange
   * or the end of the fetch. */
  fetch_clear_exchange (fetch);

  if (fetch->state == FETCH_DISCOVERING)
    discovery_response (fetch, body, error);
  else
    token_response (fetch, body, error);

  fetch_process (fetch);
}

static GError *
body_too_large_error (GrantFetch *fetch,
                      gint64      announced)
{
  g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

  if (announced >= 0)
    return g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                        "The answer to the %s to %s announced a body of %"
                        G_GINT64_FORMAT " bytes, more than the %d bytes libgrant "
                        "reads", fetch->what, where, announced, GRANT_MAX_BODY_SIZE);

  return g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                      "The answer to the %s to %s has a body larger than the %d "
                      "bytes libgrant reads", fetch->what, where, GRANT_MAX_BODY_SIZE);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GrantFetch *fetch = user_data;
  g_autoptr(GBytes) bytes = NULL;
  GError *error = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (bytes == NULL)
    {
      exchange_done (fetch, error);
      return;
    }

  if (g_bytes_get_size (bytes) == 0)
    {
      SoupMessageHeaders *headers = soup_message_get_response_headers (fetch->message);
      gint64 announced = soup_message_headers_get_content_length (headers);

      /* libsoup 3.2 takes an early end of the connection for the end of
       * the body; a truncated answer that happens to parse is not one to
       * trust. */
      if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
          (gint64) fetch->body->len < announced)
        {
          exchange_done (fetch, g_error_new (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                                             "The answer ended after %u of the %" G_GINT64_FORMAT
                                             " bytes it announced", fetch->body->len, announced));
          return;
        }

      exchange_done (fetch, NULL);
      return;
    }

  if (fetch->body->len + g_bytes_get_size (bytes) > GRANT_MAX_BODY_SIZE)
    {
      exchange_done (fetch, body_too_large_error (fetch, -1));
      return;
    }

  g_byte_array_append (fetch->body, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_input_stream_read_bytes_async (fetch->stream, 16 * 1024, G_PRIORITY_DEFAULT,
                                   fetch->cancellable, read_cb, fetch);
}

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GrantFetch *fetch = user_data;
  SoupMessageHeaders *headers;
  GError *error = NULL;

  fetch->stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (fetch->stream == NULL)
    {
      exchange_done (fetch, error);
      return;
    }

  headers = soup_message_get_response_headers (fetch->message);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > GRANT_MAX_BODY_SIZE)
    {
      exchange_done (fetch, body_too_large_error (fetch, soup_message_headers_get_content_length (headers)));
      return;
    }

  fetch->body = g_byte_array_new ();
  g_input_stream_read_bytes_async (fetch->stream, 16 * 1024, G_PRIORITY_DEFAULT,
                                   fetch->cancellable, read_cb, fetch);
}

static gboolean
timeout_cb (gpointer user_data)
{
  GrantFetch *fetch = user_data;

  /* Cancelling may end the fetch at once. */
  fetch->timed_out = TRUE;
  g_clear_pointer (&fetch->timeout_source, g_source_unref);
  g_cancellable_cancel (fetch->cancellable);

  return G_SOURCE_REMOVE;
}

/* Sends @message (taking it); the answer goes to the current state. */
static void
fetch_send (GrantFetch  *fetch,
            const char  *what,
            SoupMessage *message)
{
  guint timeout = fetch->config->timeout;

  fetch_clear_exchange (fetch);
  g_clear_object (&fetch->message);
  fetch->message = message;
  fetch->what = what;
  fetch->timed_out = FALSE;

  /* Credentials must not follow a redirect anywhere. */
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  /* The request carries the client's own credentials (or none): the
   * session's auth manager, which may hold the application's credentials
   * for the same server, must neither replace them nor answer a 401. */
  soup_message_disable_feature (message, SOUP_TYPE_AUTH_MANAGER);
  soup_message_headers_replace (soup_message_get_request_headers (message),
                                "Accept", "application/json");

  fetch->cancellable = g_cancellable_new ();
  if (timeout > 0)
    {
      /* Milliseconds: a seconds source may fire up to a second early. */
      fetch->timeout_source = timeout < G_MAXUINT / 1000
                              ? g_timeout_source_new (timeout * 1000)
                              : g_timeout_source_new_seconds (timeout);
      g_source_set_callback (fetch->timeout_source, timeout_cb, fetch, NULL);
      g_source_attach (fetch->timeout_source, fetch->context);
    }

  soup_session_send_async (fetch->config->session, message, G_PRIORITY_DEFAULT,
                           fetch->cancellable, send_cb, fetch);
}

/* Retries of transient failures */

#define RETRY_AFTER_CAP_MS 60000

/* Worth trying again: the network, a timeout, a server that failed or asked
 * to slow down. Protocol errors such as invalid_client never are. */
static gboolean
is_transient (const GError *error)
{
  if (error->domain == G_IO_ERROR)
    return error->code != G_IO_ERROR_CANCELLED;

  if (error->domain == G_RESOLVER_ERROR)
    return error->code == G_RESOLVER_ERROR_TEMPORARY_FAILURE;

  return g_error_matches (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_TEMPORARILY_UNAVAILABLE) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_RATE_LIMITED);
}

static gboolean
retry_cb (gpointer user_data)
{
  GrantFetch *fetch = user_data;

  g_clear_pointer (&fetch->retry_source, g_source_unref);
  fetch->state = fetch->retry_state;
  fetch_process (fetch);

  return G_SOURCE_REMOVE;
}

/* Goes back to @state after a jittered backoff, or what the server's
 * Retry-After asks (at most a minute), when @error is transient and
 * attempts are left. Takes @error when it returns TRUE. */
static gboolean
fetch_retry_later (GrantFetch *fetch,
                   GError     *error,
                   FetchState  state)
{
  const GrantFetchConfig *config = fetch->config;
  gint64 delay_ms, retry_after = -1;

  if (fetch->abandoned || !is_transient (error) || fetch->attempts >= config->max_attempts)
    return FALSE;

  delay_ms = grant_backoff_ms (fetch->attempts - 1, config->retry_base_ms, config->retry_max_ms,
                               config->jitter);
  if (fetch->message != NULL)
    retry_after = grant_response_retry_after (soup_message_get_response_headers (fetch->message),
                                              grant_clock_now (config->clock));
  if (retry_after >= 0)
    delay_ms = MAX (delay_ms, MIN (retry_after / 1000, RETRY_AFTER_CAP_MS));

  g_debug ("%s; trying again in %" G_GINT64_FORMAT " ms (attempt %u of %u)",
           error->message, delay_ms, fetch->attempts + 1, config->max_attempts);
  g_error_free (error);

  fetch->state = FETCH_BACKING_OFF;
  fetch->retry_state = state;
  fetch->retry_source = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (fetch->retry_source, retry_cb, fetch, NULL);
  g_source_attach (fetch->retry_source, fetch->context);

  return TRUE;
}

/* The store */

static void
store_locked_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GrantFetch *fetch = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_object (&fetch->cancellable);
  fetch->lock = grant_token_store_lock_finish (GRANT_TOKEN_STORE (object), result, &error);
  if (fetch->lock == NULL && error == NULL)
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "%s gave no lock and no error",
                         G_OBJECT_TYPE_NAME (object));
  if (fetch->lock == NULL && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || fetch->abandoned))
    fetch_fail_cancelled (fetch, "Every caller cancelled");
  else
    {
      if (fetch->lock == NULL)
        store_failed (fetch, error);
      fetch->state = FETCH_LOAD;
    }

  fetch_process (fetch);
}

/* Whether a token from the store is worth using: one the owner does not
 * hold already, and still fresh. */
static gboolean
stored_token_usable (GrantFetch *fetch,
                     GrantToken *token)
{
  const GrantFetchConfig *config = fetch->config;
  gint64 expires, stale;

  if (config->held != NULL &&
      g_strcmp0 (grant_token_get_access_token (config->held), grant_token_get_access_token (token)) == 0)
    return FALSE;

  grant_token_get_times (token, config->default_lifetime, config->expiry_margin, &expires, &stale);

  return grant_clock_now (config->clock) < stale;
}

static void
store_loaded_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GrantFetch *fetch = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantToken) token = NULL;

  g_clear_object (&fetch->cancellable);
  token = grant_token_store_load_finish (GRANT_TOKEN_STORE (object), result, &error);
  if (error != NULL && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || fetch->abandoned))
    fetch_fail_cancelled (fetch, "Every caller cancelled");
  else if (error != NULL)
    {
      store_failed (fetch, error);
      fetch->state = FETCH_RESOLVE;
    }
  else if (token != NULL && stored_token_usable (fetch, token))
    {
      g_debug ("Using the token from the store");
      fetch->token = g_steal_pointer (&token);
      fetch->state = FETCH_FINISHING;
    }
  else
    fetch->state = FETCH_RESOLVE;

  fetch_process (fetch);
}

static void
store_saved_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GrantFetch *fetch = user_data;
  g_autoptr(GError) error = NULL;

  if (!grant_token_store_save_finish (GRANT_TOKEN_STORE (object), result, &error))
    store_failed (fetch, error);
  fetch->state = FETCH_FINISHING;

  fetch_process (fetch);
}

/* Discovery */

/* Takes what the document says: the token endpoint and, for AUTO, which
 * methods to try. */
static gboolean
use_discovery (GrantFetch            *fetch,
               const GrantDiscovery  *discovery,
               GError               **error)
{
  guint usable = GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC) |
                 GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_CLIENT_SECRET_POST);

  grant_set_str (&fetch->token_url, discovery->token_endpoint);

  if (fetch->config->auth_method != GRANT_AUTH_METHOD_AUTO)
    return TRUE;

  /* RFC 8414 section 2: client_secret_basic when the document lists none. */
  if (discovery->auth_methods == 0)
    fetch->auto_candidates = GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC);
  else
    fetch->auto_candidates = discovery->auth_methods & usable;

  if (fetch->auto_candidates == 0)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The authorization server %s supports neither client_secret_basic "
                   "nor client_secret_post; set the auth-method property", fetch->config->issuer);
      return FALSE;
    }

  return TRUE;
}

/* Takes @error. */
static void
discovery_response (GrantFetch *fetch,
                    GBytes     *body,
                    GError     *error)
{
  const GrantFetchConfig *config = fetch->config;
  g_autoptr(GrantDiscovery) discovery = NULL;
  guint status;

  if (error != NULL)
    {
      if (!fetch_retry_later (fetch, error, FETCH_DISCOVER))
        fetch_fail (fetch, error);
      return;
    }

  status = soup_message_get_status (fetch->message);
  if (status == SOUP_STATUS_NOT_FOUND && fetch->discovery_kind + 1 < GRANT_DISCOVERY_N_KINDS)
    {
      if (grant_debug_enabled ())
        {
          g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

          g_debug ("No authorization server metadata at %s; trying the next well-known location",
                   where);
        }
      fetch->discovery_kind++;
      fetch->state = FETCH_DISCOVER;
      return;
    }

  discovery = grant_discovery_parse (config->issuer, fetch->discovery_kind, status,
                                     soup_message_get_response_headers (fetch->message),
                                     body, config->allow_insecure_http, &error);
  if (discovery == NULL)
    {
      if (!fetch_retry_later (fetch, error, FETCH_DISCOVER))
        fetch_fail (fetch, error);
      return;
    }

  g_debug ("The issuer %s has its token endpoint at %s", config->issuer, discovery->token_endpoint);
  fetch->discovery = g_steal_pointer (&discovery);

  if (use_discovery (fetch, fetch->discovery, &error))
    fetch->state = FETCH_READY;
  else
    fetch_fail (fetch, error);
}

/* The token request */

/* The end of one token request: a retry, or for AUTO the other method, or
 * the end of the exchanges. Takes @token and @error. */
static void
token_attempt_done (GrantFetch *fetch,
                    GrantToken *token,
                    GError     *error)
{
  const GrantFetchConfig *config = fetch->config;
  GrantAuthMethod next;

  if (error != NULL && fetch_retry_later (fetch, error, FETCH_REQUEST))
    return;

  if (config->auth_method == GRANT_AUTH_METHOD_AUTO && !fetch->abandoned)
    {
      if (token != NULL)
        auto_method_remember (fetch->token_url, config->client_id, fetch->attempt_method);
      else if (fetch->first_error == NULL && is_authentication_refusal (error) &&
               next_auto_method (fetch, &next))
        {
          g_debug ("The token endpoint refused client authentication %s; trying %s",
                   describe_auth_method (fetch->attempt_method), describe_auth_method (next));
          fetch->first_error = error;
          fetch->attempt_method = next;
          fetch->state = FETCH_REQUEST;
          return;
        }
      else if (fetch->first_error != NULL)
        {
          /* Report both answers, Basic first, with the second one's code. */
          gboolean basic_last = fetch->attempt_method == GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC;
          GError *basic = basic_last ? error : fetch->first_error;
          GError *post = basic_last ? fetch->first_error : error;
          GError *both = g_error_new (error->domain, error->code,
                                      "Both client authentication methods failed: "
                                      "with HTTP Basic authentication, %s; with the "
                                      "credentials in the request body, %s",
                                      basic->message, post->message);

          g_clear_error (&error);
          error = both;
        }
    }

  if (token != NULL)
    {
      fetch->token = token;
      fetch->state = FETCH_SAVE;
    }
  else
    fetch_fail (fetch, error);
}

/* Takes @error. */
static void
token_response (GrantFetch *fetch,
                GBytes     *body,
                GError     *error)
{
  const GrantFetchConfig *config = fetch->config;
  GrantParseContext context = {
    .now = grant_clock_now (config->clock),
    .requested_scope = config->scope,
    .client_secret = config->client_secret,
    .dialect = config->dialect,
  };
  GrantToken *token;

  if (error != NULL)
    {
      token_attempt_done (fetch, NULL, error);
      return;
    }

  token = grant_response_parse (&context,
                                soup_message_get_status (fetch->message),
                                soup_message_get_response_headers (fetch->message),
                                body,
                                &error);
  token_attempt_done (fetch, token, error);
}

/* Sends the token request with fetch->attempt_method; FALSE when it
 * cannot be made, with the fetch moved on. */
static gboolean
send_token_request (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  GrantAuthMethod method = fetch->attempt_method;
  g_autoptr(GrantRequest) request = NULL;
  GrantRequestSpec spec = {
    .client_id = config->client_id,
    .client_secret = config->client_secret,
    .scope = config->scope,
    .parameters = config->parameters,
    .auth_method = method,
    .format = config->format,
  };
  SoupMessage *message;

  fetch->auto_tried |= GRANT_DISCOVERY_METHOD (method);
  fetch->attempts++;

  message = soup_message_new ("POST", fetch->token_url);
  if (message == NULL)
    {
      g_autofree char *where = grant_describe_url (fetch->token_url);

      token_attempt_done (fetch, NULL,
                          g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                       "The token URL %s cannot be requested", where));
      return FALSE;
    }

  /* A client credentials token request may be sent twice without harm (at
   * worst a second token is issued), so libsoup may send it on an idle
   * keep-alive connection. Without this flag it opens a new connection,
   * with its handshakes, for every POST. */
  soup_message_add_flags (message, SOUP_MESSAGE_IDEMPOTENT);

  request = grant_request_build (&spec);
  if (request->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message),
                                  "Authorization", request->authorization);
  soup_message_set_request_body_from_bytes (message, request->content_type, request->body);

  if (grant_debug_enabled ())
    {
      g_autofree char *where = grant_describe_uri (soup_message_get_uri (message));

      g_debug ("Requesting a token from %s, client authentication %s, %s body",
               where, grant_auth_method_to_string (method),
               config->format == GRANT_REQUEST_FORMAT_JSON ? "JSON" : "form");
    }

  fetch->state = FETCH_REQUESTING;
  fetch_send (fetch, "token request", message);

  return TRUE;
}

/* The token endpoint is known: resets the attempts and picks the first
 * method. */
static void
prepare_token_request (GrantFetch *fetch)
{
  GError *error = NULL;

  if (!grant_check_url (fetch->token_url, fetch->config->allow_insecure_http, &error))
    {
      fetch_fail (fetch, error);
      return;
    }

  fetch->attempts = 0;
  fetch->attempt_method = fetch->config->auth_method;
  if (fetch->attempt_method == GRANT_AUTH_METHOD_AUTO)
    {
      /* Without a discovery document, both methods are candidates. */
      if (fetch->auto_candidates == 0)
        fetch->auto_candidates = GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC) |
                                 GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_CLIENT_SECRET_POST);
      if (!next_auto_method (fetch, &fetch->attempt_method))
        g_assert_not_reached ();
    }

  fetch->state = FETCH_REQUEST;
}

/* Where the token endpoint is: the token URL, a discovery document known
 * already, or one to read. */
static void
resolve_endpoint (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  GrantDialect *dialect = config->dialect;
  GError *error = NULL;

  if (fetch->abandoned)
    fetch_fail_cancelled (fetch, "Every caller cancelled");
  else if (config->monitor != NULL &&
           !grant_network_reaches (g_network_monitor_get_network_available (config->monitor),
                                   config->monitor_covers_loopback,
                                   is_set (config->token_url) ? config->token_url : config->issuer))
    fetch_fail (fetch, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                                            "No network is available to reach the token endpoint"));
  else if (is_set (config->token_url))
    {
      grant_set_str (&fetch->token_url, config->token_url);
      fetch->state = FETCH_READY;
    }
  else if (is_set (config->issuer))
    {
      if (!grant_check_url (config->issuer, config->allow_insecure_http, &error))
        {
          g_prefix_error (&error, "The issuer cannot be used: ");
          fetch_fail (fetch, error);
        }
      else if (config->discovery != NULL && g_strcmp0 (config->discovery->issuer, config->issuer) == 0)
        {
          if (use_discovery (fetch, config->discovery, &error))
            fetch->state = FETCH_READY;
          else
            fetch_fail (fetch, error);
        }
      else
        fetch->state = FETCH_DISCOVER;
    }
  else if (grant_dialect_get_token_url_hint (dialect) != NULL)
    fetch_fail (fetch, g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                    "The %s preset has no token URL: set the token-url property "
                                    "to your service's, %s",
                                    grant_dialect_get_display_name (dialect),
                                    grant_dialect_get_token_url_hint (dialect)));
  else
    fetch_fail (fetch, g_error_new_literal (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                            "No token URL is set: set the token-url or the issuer property"));
}

/* Sends the discovery request for fetch->discovery_kind; FALSE when it
 * cannot be made, with the fetch moved on. */
static gboolean
send_discovery_request (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  g_autofree char *url = grant_discovery_url (config->issuer, fetch->discovery_kind);
  SoupMessage *message = url ? soup_message_new ("GET", url) : NULL;

  if (message == NULL)
    {
      fetch_fail (fetch, g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                      "The issuer “%s” is not a URL without a query or "
                                      "fragment", config->issuer));
      return FALSE;
    }

  g_debug ("Reading the discovery document %s", url);
  fetch->attempts++;
  fetch->state = FETCH_DISCOVERING;
  fetch_send (fetch, "discovery request", message);

  return TRUE;
}

/* The end */

static void
fetch_free (GrantFetch *fetch)
{
  g_assert (g_queue_is_empty (&fetch->waiters));
  g_assert (fetch->retry_source == NULL);

  fetch_clear_exchange (fetch);
  g_clear_object (&fetch->message);
  g_clear_object (&fetch->lock);
  g_clear_object (&fetch->token);
  g_clear_error (&fetch->error);
  g_clear_error (&fetch->store_error);
  g_clear_error (&fetch->first_error);
  g_clear_pointer (&fetch->discovery, grant_discovery_free);
  g_free (fetch->token_url);
  g_main_context_unref (fetch->context);
  grant_fetch_config_free (fetch->config);
  g_free (fetch);
}

/* Reports to the owner, completes every waiter and frees the fetch. The
 * owner hears first, so that its signal handlers see the new state before
 * any caller's callback runs. */
static void
fetch_finish (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  GrantFetchResult result = {
    .token = fetch->token,
    .error = fetch->error,
    .discovery = fetch->discovery,
    .store_error = fetch->store_error,
  };
  g_autoptr(GrantToken) fallback = NULL;

  g_assert ((fetch->token == NULL) != (fetch->error == NULL));

  /* Other processes may go on. */
  g_clear_object (&fetch->lock);

  if (grant_debug_enabled ())
    {
      const char *url = is_set (fetch->token_url) ? fetch->token_url
                        : is_set (config->token_url) ? config->token_url
                        : config->issuer;
      g_autofree char *where = grant_describe_url (url);

      if (fetch->token != NULL)
        g_debug ("Got a token from %s, valid for %s", where,
                 grant_token_get_expires_at (fetch->token) ? "the time the server gave"
                                                          : "the default lifetime");
      else
        g_debug ("Getting a token from %s failed: %s", where, fetch->error->message);
    }

  if (fetch->done != NULL)
    fallback = fetch->done (fetch, &result, fetch->done_data);
  fetch->state = FETCH_FINISHED;

  while (!g_queue_is_empty (&fetch->waiters))
    {
      Waiter *waiter = g_queue_pop_head_link (&fetch->waiters)->data;

      if (fetch->token != NULL)
        g_task_return_pointer (waiter->task, g_object_ref (fetch->token), g_object_unref);
      else if (fallback != NULL && waiter->accepts_valid_token)
        g_task_return_pointer (waiter->task, g_object_ref (fallback), g_object_unref);
      else
        g_task_return_error (waiter->task, g_error_copy (fetch->error));
      waiter_free (waiter);
    }

  fetch_free (fetch);
}

/* The one function that moves a fetch on, until it waits for something or
 * has finished (and is freed). */
static void
fetch_process (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;

  for (;;)
    {
      switch (fetch->state)
        {
        case FETCH_STARTING:
          if (!is_set (config->client_id))
            {
              fetch_fail (fetch, g_error_new_literal (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                                      "No client id is set: set the client-id property"));
              break;
            }
          /* With a store that locks, one process fetches while the others
           * wait for the token it saves. */
          fetch->state = FETCH_LOAD;
          if (config->key != NULL && grant_token_store_can_lock (config->store))
            {
              fetch->state = FETCH_LOCKING;
              fetch->cancellable = g_cancellable_new ();
              grant_token_store_lock_async (config->store, config->key, fetch->cancellable,
                                            store_locked_cb, fetch);
              return;
            }
          break;

        case FETCH_LOAD:
          fetch->state = FETCH_RESOLVE;
          if (fetch->abandoned)
            fetch_fail_cancelled (fetch, "Every caller cancelled");
          else if (config->key != NULL && config->load_stored)
            {
              fetch->state = FETCH_LOADING;
              fetch->cancellable = g_cancellable_new ();
              grant_token_store_load_async (config->store, config->key, fetch->cancellable,
                                            store_loaded_cb, fetch);
              return;
            }
          break;

        case FETCH_RESOLVE:
          resolve_endpoint (fetch);
          break;

        case FETCH_DISCOVER:
          if (send_discovery_request (fetch))
            return;
          break;

        case FETCH_READY:
          prepare_token_request (fetch);
          break;

        case FETCH_REQUEST:
          if (send_token_request (fetch))
            return;
          break;

        case FETCH_SAVE:
          fetch->state = FETCH_FINISHING;
          if (config->key != NULL)
            {
              fetch->state = FETCH_SAVING;
              /* Not cancellable: a token fetched is worth keeping. */
              grant_token_store_save_async (config->store, config->key, fetch->token, NULL,
                                            store_saved_cb, fetch);
              return;
            }
          break;

        case FETCH_FINISHING:
          fetch_finish (fetch);
          return;

        case FETCH_LOCKING:
        case FETCH_LOADING:
        case FETCH_DISCOVERING:
        case FETCH_REQUESTING:
        case FETCH_BACKING_OFF:
        case FETCH_SAVING:
          /* A callback moves on. */
          return;

        case FETCH_FINISHED:
        default:
          g_assert_not_reached ();
        }
    }
}

/* The owner's side */

GrantFetch *
grant_fetch_new (GrantFetchConfig   *config,
                 GMainContext       *context,
                 GrantFetchDoneFunc  done,
                 gpointer            user_data)
{
  GrantFetch *fetch;

  g_return_val_if_fail (config->key == NULL || config->store != NULL, NULL);
  g_return_val_if_fail (config->max_attempts > 0, NULL);

  fetch = g_new0 (GrantFetch, 1);
  fetch->config = config;
  fetch->context = g_main_context_ref (context);
  fetch->done = done;
  fetch->done_data = user_data;
  fetch->state = FETCH_STARTING;
  g_queue_init (&fetch->waiters);

  return fetch;
}

/* Starts the fetch; it may finish before this returns. */
void
grant_fetch_start (GrantFetch *fetch)
{
  g_return_if_fail (fetch->state == FETCH_STARTING);

  fetch_process (fetch);
}

/* Whether a caller can still join: neither finishing nor abandoned. */
gboolean
grant_fetch_is_joinable (GrantFetch *fetch)
{
  return !fetch->abandoned && fetch->state < FETCH_FINISHING;
}

const GrantFetchConfig *
grant_fetch_get_config (GrantFetch *fetch)
{
  return fetch->config;
}

GMainContext *
grant_fetch_get_context (GrantFetch *fetch)
{
  return fetch->context;
}

/* The owner is going away: it hears nothing more, and what is in flight
 * stops. The fetch frees itself when its last operation returns. */
void
grant_fetch_detach (GrantFetch *fetch)
{
  fetch->done = NULL;
  fetch->done_data = NULL;
  if (!fetch->abandoned)
    fetch_abandon (fetch, "The provider went away");
}
