/* local-endpoint.c: an OAuth 2.0 token endpoint on 127.0.0.1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "local-endpoint.h"

/* The server side: decodes requests independently of the library, so that a
 * test passes only when the library sends what RFC 6749 asks for. */

static char *
form_decode_value (const char *encoded,
                   gssize      len)
{
  g_autofree char *copy = len < 0 ? g_strdup (encoded) : g_strndup (encoded, len);

  for (char *p = copy; *p; p++)
    if (*p == '+')
      *p = ' ';

  return g_uri_unescape_string (copy, NULL);
}

/* RFC 6749 section 2.3.1: base64 of form-encoded id ':' form-encoded secret. */
static gboolean
decode_basic (const char  *header,
              char       **id,
              char       **secret)
{
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  gsize len;
  const char *colon;

  if (header == NULL || g_ascii_strncasecmp (header, "Basic ", 6) != 0)
    return FALSE;

  decoded = g_base64_decode (header + 6, &len);
  text = g_strndup ((const char *) decoded, len);
  colon = strchr (text, ':');
  if (colon == NULL)
    return FALSE;

  *id = form_decode_value (text, colon - text);
  *secret = form_decode_value (colon + 1, -1);

  return *id != NULL && *secret != NULL;
}

static GHashTable *
decode_json_body (const char *data,
                  gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  GHashTable *params;
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (!json_parser_load_from_data (parser, data, len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;

  params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  object = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    g_hash_table_insert (params, g_strdup (l->data),
                         g_strdup (json_object_get_string_member_with_default (object, l->data, "")));

  return params;
}

static void
respond_json (SoupServerMessage *msg,
              guint              status,
              JsonBuilder       *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = json_to_string (root, FALSE);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    text, strlen (text));
}

/* An answer queued by local_endpoint_push_failure(). */
struct _Failure {
  guint status;
  char *header;
  char *value;
  char *body;
};

static void
failure_free (Failure *failure)
{
  g_free (failure->header);
  g_free (failure->value);
  g_free (failure->body);
  g_free (failure);
}

/* The next token request gets this answer instead, whatever it asks. */
void
local_endpoint_push_failure (LocalEndpoint *endpoint,
                             guint          status,
                             const char    *header,
                             const char    *value,
                             const char    *body)
{
  Failure *failure = g_new0 (Failure, 1);

  failure->status = status;
  failure->header = g_strdup (header);
  failure->value = g_strdup (value);
  failure->body = g_strdup (body ? body : "");

  g_mutex_lock (&endpoint->lock);
  g_queue_push_tail (&endpoint->failures, failure);
  g_mutex_unlock (&endpoint->lock);
}

/* An API protected by the tokens this endpoint hands out: 200 for a valid
 * one, 401 with a Bearer challenge for anything else. */
static void
api_handler (SoupServer        *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  LocalEndpoint *endpoint = user_data;
  const char *authorization = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                            "Authorization");
  gboolean valid;

  g_mutex_lock (&endpoint->lock);
  endpoint->n_api_requests++;
  valid = authorization != NULL && g_str_has_prefix (authorization, "Bearer ") &&
          g_hash_table_contains (endpoint->valid_tokens, authorization + strlen ("Bearer "));
  g_mutex_unlock (&endpoint->lock);

  if (!valid)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                    "Bearer error=\"invalid_token\", error_description=\"The token is not valid\"");
      soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                        "{\"error\":\"invalid_token\"}", 25);
      return;
    }

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, "{\"ok\":true}", 11);
}

/* What the endpoint has seen so far, for benchmarks and scripts that run
 * it as a separate process: GET /stats. */
static void
stats_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  LocalEndpoint *endpoint = user_data;
  char *body;

  g_mutex_lock (&endpoint->lock);
  body = g_strdup_printf ("{\"token_requests\":%u,\"tokens_issued\":%u,\"api_requests\":%u,"
                          "\"token_connections\":%u}",
                          endpoint->n_requests, endpoint->n_tokens, endpoint->n_api_requests,
                          g_hash_table_size (endpoint->client_ports));
  g_mutex_unlock (&endpoint->lock);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, strlen (body));
}

/* Every token handed out so far stops working at the API. */
void
local_endpoint_revoke_tokens (LocalEndpoint *endpoint)
{
  g_mutex_lock (&endpoint->lock);
  g_hash_table_remove_all (endpoint->valid_tokens);
  g_mutex_unlock (&endpoint->lock);
}

guint
local_endpoint_get_api_requests (LocalEndpoint *endpoint)
{
  guint n;

  g_mutex_lock (&endpoint->lock);
  n = endpoint->n_api_requests;
  g_mutex_unlock (&endpoint->lock);

  return n;
}

/* How each kind of endpoint answers, as its documentation shows. */
typedef struct {
  LocalEndpoint *endpoint;
  LocalEndpointStyle style;
} Route;

static void
respond_error (SoupServerMessage  *msg,
               LocalEndpointStyle  style,
               guint               status,
               const char         *code,
               const char         *description)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  switch (style)
    {
    case LOCAL_ENDPOINT_EXPERTFILE:
      /* Not documented; an Express-style answer. */
      json_builder_set_member_name (builder, "success");
      json_builder_add_boolean_value (builder, FALSE);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, description);
      break;

    case LOCAL_ENDPOINT_SMARTDOCUMENTOR:
      /* {"error": "invalid_client"}, and nothing else. */
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, code);
      break;

    case LOCAL_ENDPOINT_RFC6749:
    case LOCAL_ENDPOINT_JSON_BODY:
    case LOCAL_ENDPOINT_OFFICERND:
    default:
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, code);
      json_builder_set_member_name (builder, "error_description");
      json_builder_add_string_value (builder, description);
      break;
    }
  json_builder_end_object (builder);
  respond_json (msg, status, builder);
}

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
add_int (JsonBuilder *builder,
         const char  *name,
         gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

/* The server's clock: the real one, moved by @clock_offset seconds. */
static GDateTime *
server_now (LocalEndpoint *endpoint)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_add_seconds (now, (double) endpoint->clock_offset);
}

static void
respond_token (LocalEndpoint      *endpoint,
               LocalEndpointStyle  style,
               SoupServerMessage  *msg,
               GHashTable         *params,
               const char         *client_id,
               const char         *access_token)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char *scope = g_hash_table_lookup (params, "scope");
  gint64 expires_in = endpoint->expires_in;

  json_builder_begin_object (builder);
  switch (style)
    {
    case LOCAL_ENDPOINT_EXPERTFILE:
      {
        g_autoptr(GDateTime) now = server_now (endpoint);
        g_autoptr(GDateTime) expires = g_date_time_add_seconds (now, (double) (expires_in >= 0 ? expires_in : 30 * 24 * 3600));
        g_autofree char *expires_text = g_date_time_format (expires, "%Y-%m-%dT%H:%M:%S.%fZ");

        /* 2024-06-24T16:10:43.457Z: milliseconds, not microseconds. */
        expires_text[23] = 'Z';
        expires_text[24] = '\0';

        json_builder_set_member_name (builder, "data");
        json_builder_begin_object (builder);
        add_string (builder, "accessToken", access_token);
        add_string (builder, "accessTokenExpiresAt", expires_text);
        add_string (builder, "client", client_id);
        add_int (builder, "user", 4242);
        json_builder_set_member_name (builder, "scope");
        json_builder_add_boolean_value (builder, TRUE);
        json_builder_end_object (builder);
        json_builder_set_member_name (builder, "success");
        json_builder_add_boolean_value (builder, TRUE);
      }
      break;

    case LOCAL_ENDPOINT_JSON_BODY:
      /* No token_type. */
      add_string (builder, "access_token", access_token);
      if (expires_in >= 0)
        add_int (builder, "expires_in", expires_in);
      break;

    case LOCAL_ENDPOINT_SMARTDOCUMENTOR:
      add_string (builder, "access_token", access_token);
      add_int (builder, "expires_in", expires_in >= 0 ? expires_in : 3600);
      add_string (builder, "token_type", "Bearer");
      add_string (builder, "scope", "WebAPI");
      break;

    case LOCAL_ENDPOINT_OFFICERND:
      add_string (builder, "access_token", access_token);
      add_string (builder, "token_type", "Bearer");
      add_int (builder, "expires_in", expires_in >= 0 ? expires_in - 1 : 3599);
      add_string (builder, "scope", scope ? scope : "");
      break;

    case LOCAL_ENDPOINT_RFC6749:
    default:
      add_string (builder, "access_token", access_token);
      add_string (builder, "token_type", "Bearer");
      if (expires_in >= 0)
        add_int (builder, "expires_in", expires_in);
      if (scope != NULL)
        add_string (builder, "scope", scope);
      break;
    }
  json_builder_end_object (builder);
  respond_json (msg, SOUP_STATUS_OK, builder);
}

static gboolean
scope_allowed (const char *allowed,
               const char *requested)
{
  g_auto(GStrv) allowed_v = NULL;
  g_auto(GStrv) requested_v = NULL;

  if (allowed == NULL || requested == NULL)
    return TRUE;

  allowed_v = g_strsplit (allowed, " ", -1);
  requested_v = g_strsplit (requested, " ", -1);
  for (guint i = 0; requested_v[i] != NULL; i++)
    if (*requested_v[i] != '\0' && !g_strv_contains ((const char * const *) allowed_v, requested_v[i]))
      return FALSE;

  return TRUE;
}

static gboolean
send_delayed_cb (gpointer user_data)
{
  soup_server_message_unpause (user_data);

  return G_SOURCE_REMOVE;
}

static void
token_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  Route *route = user_data;
  LocalEndpoint *endpoint = route->endpoint;
  LocalEndpointStyle style = route->style;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  g_autoptr(GHashTable) params = NULL;
  GSocketAddress *remote;
  guint64 delay_ms;
  g_autofree char *basic_id = NULL;
  g_autofree char *basic_secret = NULL;
  g_autofree char *access_token = NULL;
  const char *id, *secret, *auth, *scope;
  gboolean has_basic, want_json;
  Failure *failure;

  if (strcmp (soup_server_message_get_method (msg), "POST") != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }

  if (endpoint->clock_offset != 0)
    {
      g_autoptr(GDateTime) now = server_now (endpoint);
      g_autofree char *date = soup_date_time_to_string (now, SOUP_DATE_HTTP);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Date", date);
    }

  if (g_strcmp0 (content_type, "application/json") == 0)
    params = decode_json_body (body->data, body->length);
  else if (g_strcmp0 (content_type, "application/x-www-form-urlencoded") == 0)
    {
      g_autofree char *text = g_strndup (body->data, body->length);

      params = soup_form_decode (text);
    }

  remote = soup_server_message_get_remote_address (msg);
  g_mutex_lock (&endpoint->lock);
  endpoint->n_requests++;
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    g_hash_table_add (endpoint->client_ports,
                      GUINT_TO_POINTER (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote))));
  g_free (endpoint->last_content_type);
  endpoint->last_content_type = g_strdup (content_type);
  g_clear_pointer (&endpoint->last_params, g_hash_table_unref);
  endpoint->last_params = params ? g_hash_table_ref (params) : NULL;
  failure = g_queue_pop_head (&endpoint->failures);
  g_mutex_unlock (&endpoint->lock);

  if (failure != NULL)
    {
      SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);

      soup_server_message_set_status (msg, failure->status, NULL);
      if (failure->header != NULL)
        soup_message_headers_replace (response_headers, failure->header, failure->value);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                        failure->body, strlen (failure->body));
      failure_free (failure);
      return;
    }

  if (params == NULL)
    {
      respond_error (msg, style, 400, "invalid_request", "The body is neither a form nor JSON");
      return;
    }

  /* The /token endpoint takes either body unless told to want JSON; the
   * others take what their documentation says. */
  want_json = endpoint->want_json || style == LOCAL_ENDPOINT_JSON_BODY;
  if ((want_json && g_strcmp0 (content_type, "application/json") != 0) ||
      (!want_json && style != LOCAL_ENDPOINT_RFC6749 &&
       g_strcmp0 (content_type, "application/json") == 0))
    {
      respond_error (msg, style, 400, "invalid_request",
                     want_json ? "This endpoint wants a JSON body" : "This endpoint wants a form body");
      return;
    }

  if (g_strcmp0 (g_hash_table_lookup (params, "grant_type"), "client_credentials") != 0)
    {
      respond_error (msg, style, 400, "unsupported_grant_type", "Only client_credentials is supported");
      return;
    }

  has_basic = soup_message_headers_get_one (headers, "Authorization") != NULL;
  if (has_basic &&
      !decode_basic (soup_message_headers_get_one (headers, "Authorization"), &basic_id, &basic_secret))
    {
      respond_error (msg, style, 400, "invalid_request", "Malformed Basic credentials");
      return;
    }

  if (has_basic && g_hash_table_contains (params, "client_secret"))
    {
      respond_error (msg, style, 400, "invalid_request", "More than one authentication method");
      return;
    }

  if (has_basic)
    {
      auth = "basic";
      id = basic_id;
      secret = basic_secret;
    }
  else if (g_hash_table_contains (params, "client_assertion"))
    {
      auth = "jwt";
      id = g_hash_table_lookup (params, "client_id");
      secret = endpoint->accept_assertions ? endpoint->client_secret : NULL;
    }
  else if (g_hash_table_contains (params, "client_secret"))
    {
      auth = "post";
      id = g_hash_table_lookup (params, "client_id");
      secret = g_hash_table_lookup (params, "client_secret");
    }
  else
    {
      auth = "none";
      id = g_hash_table_lookup (params, "client_id");
      secret = NULL;
    }

  g_mutex_lock (&endpoint->lock);
  g_free (endpoint->last_auth);
  endpoint->last_auth = g_strdup (auth);
  g_mutex_unlock (&endpoint->lock);

  if ((has_basic && !endpoint->accept_basic) ||
      (g_str_equal (auth, "post") && !endpoint->accept_post))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"test\"");
      respond_error (msg, style, 401, "invalid_client", "This authentication method is not accepted");
      return;
    }

  if (g_strcmp0 (id, endpoint->client_id) != 0 ||
      g_strcmp0 (secret, endpoint->client_secret) != 0)
    {
      respond_error (msg, style, style == LOCAL_ENDPOINT_SMARTDOCUMENTOR ? 400 : 401,
                     "invalid_client", "Client authentication failed");
      return;
    }

  scope = g_hash_table_lookup (params, "scope");
  if ((style == LOCAL_ENDPOINT_SMARTDOCUMENTOR && g_strcmp0 (scope, "WebAPI") != 0) ||
      !scope_allowed (endpoint->allowed_scope, scope))
    {
      respond_error (msg, style, 400, "invalid_scope", "The requested scope exceeds what this client may have");
      return;
    }

  g_mutex_lock (&endpoint->lock);
  access_token = g_strdup_printf ("at%08x.%u", endpoint->salt, ++endpoint->n_tokens);
  g_hash_table_add (endpoint->valid_tokens, g_strdup (access_token));
  g_mutex_unlock (&endpoint->lock);

  respond_token (endpoint, style, msg, params, id, access_token);

  /* ?delay_ms=N on the token URL: answer N ms late, as a distant server
   * would (benchmarks use it). */
  delay_ms = query != NULL ? g_ascii_strtoull (g_hash_table_lookup (query, "delay_ms") ?: "0", NULL, 10) : 0;
  if (delay_ms > 0)
    {
      g_autoptr(GSource) timeout = g_timeout_source_new ((guint) MIN (delay_ms, 60000));

      soup_server_message_pause (msg);
      g_source_set_callback (timeout, send_delayed_cb, g_object_ref (msg), g_object_unref);
      g_source_attach (timeout, g_main_context_get_thread_default ());
    }

  g_mutex_lock (&endpoint->lock);
  if (endpoint->hold)
    {
      soup_server_message_pause (msg);
      g_ptr_array_add (endpoint->held, g_object_ref (msg));
    }
  g_mutex_unlock (&endpoint->lock);
}

typedef struct {
  guint status;
  char *header;
  char *value;
  char *content_type;
  GBytes *body;
} Canned;

static void
canned_free (gpointer data)
{
  Canned *canned = data;

  g_free (canned->header);
  g_free (canned->value);
  g_free (canned->content_type);
  g_bytes_unref (canned->body);
  g_free (canned);
}

static void
canned_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Canned *canned = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gsize len;
  const char *data = g_bytes_get_data (canned->body, &len);

  soup_server_message_set_status (msg, canned->status, NULL);
  if (canned->header != NULL)
    soup_message_headers_replace (headers, canned->header, canned->value);
  soup_server_message_set_response (msg, canned->content_type, SOUP_MEMORY_COPY, data, len);
}

void
local_endpoint_add_canned_with_header (LocalEndpoint *endpoint,
                                      const char   *path,
                                      guint         status,
                                      const char   *header,
                                      const char   *value,
                                      const char   *content_type,
                                      const char   *body)
{
  Canned *canned = g_new0 (Canned, 1);

  canned->status = status;
  canned->header = g_strdup (header);
  canned->value = g_strdup (value);
  canned->content_type = g_strdup (content_type);
  canned->body = g_bytes_new (body, body ? strlen (body) : 0);
  soup_server_add_handler (endpoint->server, path, canned_handler, canned, canned_free);
}

void
local_endpoint_add_canned (LocalEndpoint *endpoint,
                          const char   *path,
                          guint         status,
                          const char   *content_type,
                          const char   *body,
                          gssize        body_len)
{
  Canned *canned = g_new0 (Canned, 1);

  canned->status = status;
  canned->content_type = g_strdup (content_type);
  canned->body = g_bytes_new (body, body_len < 0 ? strlen (body) : (gsize) body_len);
  soup_server_add_handler (endpoint->server, path, canned_handler, canned, canned_free);
}

static const struct {
  const char *path;
  LocalEndpointStyle style;
} routes[] = {
  { "/token", LOCAL_ENDPOINT_RFC6749 },
  { "/expertfile/v2/oauth/token", LOCAL_ENDPOINT_EXPERTFILE },
  { "/json-body/oauth/token", LOCAL_ENDPOINT_JSON_BODY },
  { "/smartdocumentor/connect/token", LOCAL_ENDPOINT_SMARTDOCUMENTOR },
  { "/officernd/oauth/token", LOCAL_ENDPOINT_OFFICERND },
};

/* The token URL of the endpoint that answers in @style. */
char *
local_endpoint_url_for (LocalEndpoint      *endpoint,
                        LocalEndpointStyle  style)
{
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    if (routes[i].style == style)
      return g_strconcat (endpoint->base_url, routes[i].path, NULL);

  g_return_val_if_reached (NULL);
}

static gboolean
endpoint_listen (LocalEndpoint  *endpoint,
                 GError        **error)
{
  GSList *uris;

  endpoint->server = soup_server_new ("server-header", "grant-local-endpoint ", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      Route *route = g_new0 (Route, 1);

      route->endpoint = endpoint;
      route->style = routes[i].style;
      soup_server_add_handler (endpoint->server, routes[i].path, token_handler, route, g_free);
    }
  soup_server_add_handler (endpoint->server, "/api", api_handler, endpoint, NULL);
  soup_server_add_handler (endpoint->server, "/stats", stats_handler, endpoint, NULL);
  if (!soup_server_listen_local (endpoint->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, error))
    return FALSE;

  uris = soup_server_get_uris (endpoint->server);
  endpoint->base_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  endpoint->token_url = g_strconcat (endpoint->base_url, "/token", NULL);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  return TRUE;
}

static gpointer
server_thread (gpointer data)
{
  LocalEndpoint *endpoint = data;
  g_autoptr(GError) error = NULL;
  gboolean listening;

  g_main_context_push_thread_default (endpoint->context);
  listening = endpoint_listen (endpoint, &error);

  g_mutex_lock (&endpoint->lock);
  endpoint->loop = g_main_loop_new (endpoint->context, FALSE);
  endpoint->listen_error = g_steal_pointer (&error);
  g_cond_signal (&endpoint->started);
  g_mutex_unlock (&endpoint->lock);

  if (listening)
    g_main_loop_run (endpoint->loop);

  soup_server_disconnect (endpoint->server);
  g_clear_object (&endpoint->server);
  while (g_main_context_pending (endpoint->context))
    g_main_context_iteration (endpoint->context, FALSE);
  g_main_context_pop_thread_default (endpoint->context);

  return NULL;
}

/* Starts an endpoint that knows one client, "test-client" with the secret
 * "test-secret", and hands out tokens valid for an hour. */
LocalEndpoint *
local_endpoint_new (gboolean   threaded,
                    GError   **error)
{
  LocalEndpoint *endpoint = g_new0 (LocalEndpoint, 1);
  GError *listen_error = NULL;

  g_mutex_init (&endpoint->lock);
  g_cond_init (&endpoint->started);
  endpoint->client_id = g_strdup ("test-client");
  endpoint->client_secret = g_strdup ("test-secret");
  endpoint->accept_basic = TRUE;
  endpoint->accept_post = TRUE;
  endpoint->expires_in = 3600;
  endpoint->held = g_ptr_array_new_with_free_func (g_object_unref);
  endpoint->salt = g_random_int ();
  endpoint->valid_tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  endpoint->client_ports = g_hash_table_new (NULL, NULL);
  g_queue_init (&endpoint->failures);

  if (threaded)
    {
      endpoint->context = g_main_context_new ();
      endpoint->thread = g_thread_new ("local-endpoint", server_thread, endpoint);
      g_mutex_lock (&endpoint->lock);
      while (endpoint->loop == NULL)
        g_cond_wait (&endpoint->started, &endpoint->lock);
      listen_error = g_steal_pointer (&endpoint->listen_error);
      g_mutex_unlock (&endpoint->lock);
    }
  else
    {
      endpoint->context = g_main_context_ref_thread_default ();
      endpoint_listen (endpoint, &listen_error);
    }

  if (listen_error != NULL)
    {
      g_propagate_prefixed_error (error, listen_error,
                                  "Cannot listen on 127.0.0.1: ");
      local_endpoint_free (endpoint);
      return NULL;
    }

  return endpoint;
}

static gboolean
release_in_server (gpointer data)
{
  LocalEndpoint *endpoint = data;
  g_autoptr(GPtrArray) held = NULL;

  g_mutex_lock (&endpoint->lock);
  held = g_steal_pointer (&endpoint->held);
  endpoint->held = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_unlock (&endpoint->lock);

  for (guint i = 0; i < held->len; i++)
    soup_server_message_unpause (g_ptr_array_index (held, i));

  return G_SOURCE_REMOVE;
}

/* Sends every answer held back so far, and stops holding. */
void
local_endpoint_release (LocalEndpoint *endpoint)
{
  local_endpoint_hold (endpoint, FALSE);
  g_main_context_invoke (endpoint->context, release_in_server, endpoint);
}

/* Holds token answers back from now on (or stops), from any thread. */
void
local_endpoint_hold (LocalEndpoint *endpoint,
                     gboolean       hold)
{
  g_mutex_lock (&endpoint->lock);
  endpoint->hold = hold;
  g_mutex_unlock (&endpoint->lock);
}

static gboolean
quit_in_server (gpointer data)
{
  LocalEndpoint *endpoint = data;

  g_main_loop_quit (endpoint->loop);

  return G_SOURCE_REMOVE;
}

void
local_endpoint_free (LocalEndpoint *endpoint)
{
  if (endpoint->thread != NULL)
    {
      g_main_context_invoke (endpoint->context, quit_in_server, endpoint);
      g_thread_join (endpoint->thread);
      g_main_loop_unref (endpoint->loop);
    }
  else if (endpoint->server != NULL)
    {
      g_ptr_array_set_size (endpoint->held, 0);
      soup_server_disconnect (endpoint->server);
      g_clear_object (&endpoint->server);
    }

  g_main_context_unref (endpoint->context);
  g_ptr_array_unref (endpoint->held);
  g_hash_table_unref (endpoint->valid_tokens);
  g_hash_table_unref (endpoint->client_ports);
  g_queue_clear_full (&endpoint->failures, (GDestroyNotify) failure_free);
  g_free (endpoint->base_url);
  g_free (endpoint->token_url);
  g_free (endpoint->client_id);
  g_free (endpoint->client_secret);
  g_free (endpoint->allowed_scope);
  g_free (endpoint->last_auth);
  g_free (endpoint->last_content_type);
  g_clear_pointer (&endpoint->last_params, g_hash_table_unref);
  g_mutex_clear (&endpoint->lock);
  g_cond_clear (&endpoint->started);
  g_free (endpoint);
}

guint
local_endpoint_get_requests (LocalEndpoint *endpoint)
{
  guint n;

  g_mutex_lock (&endpoint->lock);
  n = endpoint->n_requests;
  g_mutex_unlock (&endpoint->lock);

  return n;
}

/* How many client connections (told apart by port) token requests came on. */
guint
local_endpoint_get_token_connections (LocalEndpoint *endpoint)
{
  guint n;

  g_mutex_lock (&endpoint->lock);
  n = g_hash_table_size (endpoint->client_ports);
  g_mutex_unlock (&endpoint->lock);

  return n;
}

guint
local_endpoint_get_held (LocalEndpoint *endpoint)
{
  guint n;

  g_mutex_lock (&endpoint->lock);
  n = endpoint->held->len;
  g_mutex_unlock (&endpoint->lock);

  return n;
}

char *
local_endpoint_dup_param (LocalEndpoint *endpoint,
                         const char   *name)
{
  char *value = NULL;

  g_mutex_lock (&endpoint->lock);
  if (endpoint->last_params != NULL)
    value = g_strdup (g_hash_table_lookup (endpoint->last_params, name));
  g_mutex_unlock (&endpoint->lock);

  return value;
}

char *
local_endpoint_dup_auth (LocalEndpoint *endpoint)
{
  char *value;

  g_mutex_lock (&endpoint->lock);
  value = g_strdup (endpoint->last_auth);
  g_mutex_unlock (&endpoint->lock);

  return value;
}

/* The access token the endpoint hands out the @n-th time, from 1. */
char *
local_endpoint_token (LocalEndpoint *endpoint,
                     guint         n)
{
  return g_strdup_printf ("at%08x.%u", endpoint->salt, n);
}

char *
local_endpoint_url (LocalEndpoint *endpoint,
                   const char   *path)
{
  return g_strconcat (endpoint->base_url, path, NULL);
}

