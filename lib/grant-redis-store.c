/* grant-redis-store.c: tokens in Redis, shared across machines
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "grant-error.h"
#include "grant-redis-store-private.h"
#include "grant-utils-private.h"

/**
 * GrantRedisStore:
 *
 * A [iface@Grant.TokenStore] in Redis, so that the processes of many
 * machines that share the same client credentials share their tokens.
 *
 * The store speaks RESP2 to Redis itself, over one connection that it
 * opens when first used (a #GSocketClient: TLS for `rediss://` URLs,
 * with the system's trust unless [property@Grant.RedisStore:tls-database]
 * is set) and opens again after an error. Its calls run in a worker
 * thread and return on the caller's thread-default main context; each
 * step of a command (connecting, sending, each read) gives up after 5
 * seconds, and when the call's cancellable is cancelled.
 *
 * A token is kept under the key made of
 * [property@Grant.RedisStore:key-prefix] and [method@Grant.TokenKey.get_id],
 * with an expiry 60 seconds before the token's (or the token's own expiry
 * when less than a minute is left; one hour for a token that does not say
 * when it expires), so that every key the store writes goes away by
 * itself. The value is the serialized token sealed with AES-256-GCM under
 * [property@Grant.RedisStore:encryption-key], with the Redis key as
 * associated data: a reader of Redis without that key learns nothing of
 * the token, and a value moved to another key does not open. Without an
 * encryption key the store writes nothing: saving fails, and so does
 * loading, with `GRANT_ERROR_INVALID_CONFIGURATION`.
 *
 * When Redis cannot be reached, refuses the password, takes too long, or
 * holds a value that does not open with the key, the call fails with an
 * error saying so, and a provider then fetches its token from the network.
 *
 * This version does not yet lock across machines: several hosts that need
 * a token at once each fetch one.
 */

/* How long each step of a command may take. */
#define COMMAND_TIMEOUT_SECONDS 5

/* Written keys expire this long before their tokens. */
#define EXPIRY_MARGIN_MS (60 * 1000)

/* The expiry of a token that has none. */
#define DEFAULT_LIFETIME_MS (3600 * 1000)

#define DEFAULT_PORT 6379
#define KEY_SIZE 32
#define NONCE_SIZE 12
#define TAG_SIZE 16
#define VALUE_VERSION 1

struct _GrantRedisStore
{
  GObject parent_instance;

  /* Set once, at construction. */
  char *url;         /* with the password redacted */
  GError *url_error; /* why the URL cannot be used, or NULL */
  gboolean tls;
  char *host;
  guint16 port;
  char *user;
  char *password;
  guint db;

  GMutex lock;       /* guards the settings below */
  char *key_prefix;
  GTlsDatabase *tls_database;
  guint8 key[KEY_SIZE];
  gsize key_length;  /* 0 when unset; KEY_SIZE when usable */

  GMutex io_lock;    /* guards the connection; held for a whole command */
  GIOStream *connection;
  GByteArray *input;
};

static void grant_redis_store_iface_init (GrantTokenStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GrantRedisStore, grant_redis_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GRANT_TYPE_TOKEN_STORE, grant_redis_store_iface_init))

enum {
  PROP_0,
  PROP_URL,
  PROP_KEY_PREFIX,
  PROP_TLS_DATABASE,
  PROP_ENCRYPTION_KEY,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

/* The URL */

/* @url with anything between the scheme and the last '@' of its
 * authority hidden: for messages about a URL that does not parse. */
static char *
redact_url_text (const char *url)
{
  const char *authority;
  const char *end;
  const char *at = NULL;

  authority = strstr (url, "://");
  if (authority == NULL)
    return g_strdup ("(not shown: it may hold a password)");
  authority += 3;

  end = authority + strcspn (authority, "/?#");
  for (const char *p = authority; p < end; p++)
    if (*p == '@')
      at = p;

  if (at == NULL)
    return g_strdup (url);

  return g_strdup_printf ("%.*s***%s", (int) (authority - url), url, at);
}

static gboolean
parse_url (GrantRedisStore  *self,
           const char       *url,
           GError          **error)
{
  g_autofree char *scheme = NULL;
  g_autofree char *user = NULL;
  g_autoptr(GrantSecret) password = NULL;
  g_autofree char *host = NULL;
  g_autofree char *path = NULL;
  g_autofree char *query = NULL;
  g_autofree char *fragment = NULL;
  g_autofree char *shown = redact_url_text (url);
  GString *redacted;
  int port = -1;
  guint64 db = 0;

  /* GLib's own error would quote the URL, password and all. */
  if (!g_uri_split_with_user (url, G_URI_FLAGS_HAS_PASSWORD, &scheme, &user, &password, NULL,
                              &host, &port, &path, &query, &fragment, NULL) ||
      scheme == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s is not a URL", shown);
      return FALSE;
    }

  if (g_ascii_strcasecmp (scheme, "redis") != 0 && g_ascii_strcasecmp (scheme, "rediss") != 0)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s is not a redis:// or rediss:// URL", shown);
      return FALSE;
    }

  if (host == NULL || *host == '\0')
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s names no host", shown);
      return FALSE;
    }

  if (port == 0)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s has port 0", shown);
      return FALSE;
    }

  if (user != NULL && *user != '\0' && password == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s names a user without a password "
                   "(redis://user:password@host)", shown);
      return FALSE;
    }

  if (password != NULL && *password == '\0')
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s has an empty password", shown);
      return FALSE;
    }

  if (path != NULL && *path != '\0' && strcmp (path, "/") != 0 &&
      !g_ascii_string_to_unsigned (path + 1, 10, 0, G_MAXINT32, &db, NULL))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s names a database that is not a number (redis://host/0)", shown);
      return FALSE;
    }

  if (query != NULL || fragment != NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The Redis URL %s has a query or a fragment, which are not understood", shown);
      return FALSE;
    }

  self->tls = g_ascii_strcasecmp (scheme, "rediss") == 0;
  self->host = g_steal_pointer (&host);
  self->port = port > 0 ? port : DEFAULT_PORT;
  self->user = user != NULL && *user != '\0' ? g_steal_pointer (&user) : NULL;
  self->password = g_steal_pointer (&password);
  self->db = db;

  /* What the url property and every message show. */
  redacted = g_string_new (self->tls ? "rediss://" : "redis://");
  if (self->password != NULL)
    g_string_append_printf (redacted, "%s:***@", self->user != NULL ? self->user : "");
  if (strchr (self->host, ':') != NULL)
    g_string_append_printf (redacted, "[%s]", self->host);
  else
    g_string_append (redacted, self->host);
  g_string_append_printf (redacted, ":%u/%u", self->port, self->db);
  g_free (self->url);
  self->url = g_string_free (redacted, FALSE);

  return TRUE;
}

/* The connection */

static void
drop_connection_locked (GrantRedisStore *self)
{
  if (self->connection != NULL)
    g_io_stream_close (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  g_byte_array_set_size (self->input, 0);
}

static GrantRespValue *
exchange_locked (GrantRedisStore  *self,
                 GBytes           *request,
                 GCancellable     *cancellable,
                 GError          **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->connection);
  GInputStream *in = g_io_stream_get_input_stream (self->connection);
  g_autoptr(GError) local_error = NULL;
  guint8 buffer[16384];
  gsize size;
  gconstpointer data = g_bytes_get_data (request, &size);

  if (!g_output_stream_write_all (out, data, size, NULL, cancellable, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "Cannot send a command to Redis at %s: %s", self->url, local_error->message);
      return NULL;
    }

  for (;;)
    {
      GrantRespValue *value = NULL;
      gsize consumed = 0;
      gssize n;

      switch (grant_resp_parse (self->input->data, self->input->len, &consumed, &value, &local_error))
        {
        case GRANT_RESP_PARSE_DONE:
          g_byte_array_remove_range (self->input, 0, consumed);
          return value;

        case GRANT_RESP_PARSE_INVALID:
          g_set_error (error, local_error->domain, local_error->code,
                       "Redis at %s answered with something that is not RESP2: %s",
                       self->url, local_error->message);
          return NULL;

        case GRANT_RESP_PARSE_INCOMPLETE:
        default:
          break;
        }

      n = g_input_stream_read (in, buffer, sizeof buffer, cancellable, &local_error);
      if (n < 0)
        {
          g_set_error (error, local_error->domain, local_error->code,
                       "Cannot read a reply from Redis at %s: %s", self->url, local_error->message);
          return NULL;
        }
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "Redis at %s closed the connection", self->url);
          return NULL;
        }
      g_byte_array_append (self->input, buffer, n);
    }
}

static void
client_event_cb (GSocketClient      *client,
                 GSocketClientEvent  event,
                 GSocketConnectable *connectable,
                 GIOStream          *connection,
                 gpointer            user_data)
{
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CONNECTION (connection))
    g_tls_connection_set_database (G_TLS_CONNECTION (connection), user_data);
}

/* Sends a setup command (AUTH, SELECT) and checks that Redis said OK. */
static gboolean
setup_command_locked (GrantRedisStore     *self,
                      guint                n_args,
                      const char * const  *args,
                      const char          *what,
                      int                  refused_code,
                      GCancellable        *cancellable,
                      GError             **error)
{
  g_autoptr(GBytes) request = grant_resp_encode (n_args, args, NULL);
  g_autoptr(GrantRespValue) reply = exchange_locked (self, request, cancellable, error);

  if (reply == NULL)
    return FALSE;

  if (reply->type == GRANT_RESP_ERROR)
    {
      g_autofree char *message = grant_sanitize_text (reply->data, 200);

      g_set_error (error, G_IO_ERROR, refused_code, "Redis at %s refused %s: %s",
                   self->url, what, message);
      return FALSE;
    }

  if (reply->type != GRANT_RESP_SIMPLE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Redis at %s answered %s with something other than OK", self->url, what);
      return FALSE;
    }

  return TRUE;
}

static gboolean
connect_locked (GrantRedisStore  *self,
                GCancellable     *cancellable,
                GError          **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) address = g_network_address_new (self->host, self->port);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) local_error = NULL;

  g_socket_client_set_timeout (client, COMMAND_TIMEOUT_SECONDS);
  if (self->tls)
    {
      g_socket_client_set_tls (client, TRUE);
      g_mutex_lock (&self->lock);
      database = self->tls_database != NULL ? g_object_ref (self->tls_database) : NULL;
      g_mutex_unlock (&self->lock);
      if (database != NULL)
        g_signal_connect (client, "event", G_CALLBACK (client_event_cb), database);
    }

  connection = g_socket_client_connect (client, address, cancellable, &local_error);
  if (connection == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "Cannot connect to Redis at %s: %s", self->url, local_error->message);
      return FALSE;
    }

  g_socket_set_timeout (g_socket_connection_get_socket (connection), COMMAND_TIMEOUT_SECONDS);
  self->connection = G_IO_STREAM (g_steal_pointer (&connection));
  g_byte_array_set_size (self->input, 0);

  if (self->password != NULL)
    {
      const char *args[] = { "AUTH", self->user, self->password };
      const char *no_user[] = { "AUTH", self->password };
      gboolean ok;

      if (self->user != NULL)
        ok = setup_command_locked (self, 3, args, "the password", G_IO_ERROR_PERMISSION_DENIED,
                                   cancellable, error);
      else
        ok = setup_command_locked (self, 2, no_user, "the password", G_IO_ERROR_PERMISSION_DENIED,
                                   cancellable, error);
      if (!ok)
        {
          drop_connection_locked (self);
          return FALSE;
        }
    }

  if (self->db != 0)
    {
      g_autofree char *db = g_strdup_printf ("%u", self->db);
      const char *args[] = { "SELECT", db };

      if (!setup_command_locked (self, 2, args, "to select the database", G_IO_ERROR_FAILED,
                                 cancellable, error))
        {
          drop_connection_locked (self);
          return FALSE;
        }
    }

  return TRUE;
}

/* Runs one command, connecting first if need be; a connection that Redis
 * closed while it was idle is opened again once. */
static GrantRespValue *
run_command (GrantRedisStore     *self,
             guint                n_args,
             const char * const  *args,
             const gsize         *lengths,
             GCancellable        *cancellable,
             GError             **error)
{
  g_autoptr(GBytes) request = NULL;
  GrantRespValue *reply = NULL;

  if (self->url_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->url_error));
      return NULL;
    }

  request = grant_resp_encode (n_args, args, lengths);

  g_mutex_lock (&self->io_lock);
  for (guint attempt = 0; reply == NULL; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      gboolean fresh = self->connection == NULL;

      if (fresh && !connect_locked (self, cancellable, error))
        break;

      reply = exchange_locked (self, request, cancellable, &local_error);
      if (reply != NULL)
        break;

      drop_connection_locked (self);
      if (fresh || attempt > 0 ||
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }
    }
  g_mutex_unlock (&self->io_lock);

  return reply;
}

GrantRespValue *
grant_redis_store_command (GrantRedisStore     *self,
                           const char * const  *args,
                           GCancellable        *cancellable,
                           GError             **error)
{
  g_return_val_if_fail (GRANT_IS_REDIS_STORE (self), NULL);

  return run_command (self, g_strv_length ((char **) args), args, NULL, cancellable, error);
}

/* An error reply to a store command, as a GError. */
static gboolean
check_reply (GrantRedisStore  *self,
             GrantRespValue   *reply,
             const char       *command,
             GError          **error)
{
  g_autofree char *message = NULL;

  if (reply->type != GRANT_RESP_ERROR)
    return TRUE;

  message = grant_sanitize_text (reply->data, 200);
  g_set_error (error, G_IO_ERROR,
               g_str_has_prefix (reply->data, "NOAUTH") || g_str_has_prefix (reply->data, "NOPERM")
               ? G_IO_ERROR_PERMISSION_DENIED : G_IO_ERROR_FAILED,
               "Redis at %s refused %s: %s", self->url, command, message);

  return FALSE;
}

/* Sealing */

static char *
dup_redis_key (GrantRedisStore *self,
               GrantTokenKey   *key)
{
  char *redis_key;

  g_mutex_lock (&self->lock);
  redis_key = g_strconcat (self->key_prefix, grant_token_key_get_id (key), NULL);
  g_mutex_unlock (&self->lock);

  return redis_key;
}

/* Copies the encryption key into @key, or says why there is none. */
static gboolean
get_encryption_key (GrantRedisStore  *self,
                    guint8           *key,
                    GError          **error)
{
  gsize length;

  g_mutex_lock (&self->lock);
  length = self->key_length;
  if (length == KEY_SIZE)
    memcpy (key, self->key, KEY_SIZE);
  g_mutex_unlock (&self->lock);

  if (length == KEY_SIZE)
    return TRUE;

  if (length == 0)
    g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                 "The Redis store at %s has no encryption-key, and keeps no token without one", self->url);
  else
    g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                 "The encryption-key of the Redis store at %s has %" G_GSIZE_FORMAT " bytes, not %d: "
                 "the store keeps no token", self->url, length, KEY_SIZE);

  return FALSE;
}

static gboolean
cipher_init (gnutls_aead_cipher_hd_t *handle,
             guint8                  *key,
             GError                 **error)
{
  gnutls_datum_t datum = { key, KEY_SIZE };
  int ret = gnutls_aead_cipher_init (handle, GNUTLS_CIPHER_AES_256_GCM, &datum);

  if (ret < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot use AES-256-GCM: %s", gnutls_strerror (ret));
      return FALSE;
    }

  return TRUE;
}

/* version (1 byte) || nonce (12) || ciphertext || tag (16) */
static guint8 *
seal (guint8      *key,
      const char  *redis_key,
      const char  *plain,
      gsize        plain_length,
      gsize       *sealed_length,
      GError     **error)
{
  gnutls_aead_cipher_hd_t handle;
  g_autofree guint8 *out = NULL;
  gsize out_length = plain_length + TAG_SIZE;
  int ret;

  if (!cipher_init (&handle, key, error))
    return NULL;

  out = g_malloc (1 + NONCE_SIZE + out_length);
  out[0] = VALUE_VERSION;
  ret = gnutls_rnd (GNUTLS_RND_NONCE, out + 1, NONCE_SIZE);
  if (ret >= 0)
    ret = gnutls_aead_cipher_encrypt (handle, out + 1, NONCE_SIZE, redis_key, strlen (redis_key),
                                      TAG_SIZE, plain, plain_length, out + 1 + NONCE_SIZE, &out_length);
  gnutls_aead_cipher_deinit (handle);
  if (ret < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot encrypt the token: %s", gnutls_strerror (ret));
      return NULL;
    }

  *sealed_length = 1 + NONCE_SIZE + out_length;

  return g_steal_pointer (&out);
}

/* Opens what seal() made; a NUL-terminated string the caller wipes. */
static char *
unseal (guint8      *key,
        const char  *redis_key,
        const char  *sealed,
        gsize        sealed_length,
        gsize       *plain_length,
        GError     **error)
{
  gnutls_aead_cipher_hd_t handle;
  char *plain;
  gsize length;
  int ret;

  if (sealed_length < 1 + NONCE_SIZE + TAG_SIZE || sealed[0] != VALUE_VERSION)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "it is not a token sealed by libgrant");
      return NULL;
    }

  if (!cipher_init (&handle, key, error))
    return NULL;

  length = sealed_length - 1 - NONCE_SIZE;
  plain = g_malloc0 (length + 1);
  ret = gnutls_aead_cipher_decrypt (handle, sealed + 1, NONCE_SIZE, redis_key, strlen (redis_key),
                                    TAG_SIZE, sealed + 1 + NONCE_SIZE, length, plain, &length);
  gnutls_aead_cipher_deinit (handle);
  if (ret < 0)
    {
      grant_memory_wipe (plain, sealed_length - 1 - NONCE_SIZE);
      g_free (plain);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "it does not open with this store's encryption-key "
                           "(another key sealed it, or it was altered)");
      return NULL;
    }

  plain[length] = '\0';
  *plain_length = length;

  return plain;
}

/* Load, save, clear */

static void
load_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantRedisStore *self = source_object;
  g_autofree char *redis_key = dup_redis_key (self, task_data);
  g_autoptr(GrantRespValue) reply = NULL;
  g_autoptr(GrantSecret) plain = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[2];
  guint8 key[KEY_SIZE];
  GrantToken *token;
  gsize length = 0;

  if (!get_encryption_key (self, key, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  args[0] = "GET";
  args[1] = redis_key;
  reply = run_command (self, 2, args, NULL, cancellable, &error);
  if (reply == NULL || !check_reply (self, reply, "GET", &error))
    {
      grant_memory_wipe (key, sizeof key);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (reply->type == GRANT_RESP_NULL)
    {
      grant_memory_wipe (key, sizeof key);
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  if (reply->type != GRANT_RESP_BULK)
    {
      grant_memory_wipe (key, sizeof key);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "Redis at %s answered GET %s with something other than a string",
                               self->url, redis_key);
      return;
    }

  plain = unseal (key, redis_key, reply->data, reply->length, &length, &error);
  grant_memory_wipe (key, sizeof key);
  if (plain == NULL)
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "The value under %s in Redis at %s is not used: %s",
                               redis_key, self->url, error->message);
      return;
    }

  token = grant_token_new_from_serialized (plain, length, NULL);
  if (token == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "The value under %s in Redis at %s is not used: it is not a token",
                               redis_key, self->url);
      return;
    }

  g_task_return_pointer (task, token, g_object_unref);
}

static void
grant_redis_store_load_async (GrantTokenStore     *store,
                              GrantTokenKey       *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_redis_store_load_async);
  g_task_set_task_data (task, grant_token_key_ref (key), (GDestroyNotify) grant_token_key_unref);
  g_task_run_in_thread (task, load_in_thread);
}

static GrantToken *
grant_redis_store_load_finish (GrantTokenStore  *store,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  GrantTokenKey *key;
  GrantToken *token;
} SaveData;

static void
save_data_free (SaveData *data)
{
  grant_token_key_unref (data->key);
  g_clear_object (&data->token);
  g_free (data);
}

static void
save_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantRedisStore *self = source_object;
  SaveData *data = task_data;
  g_autofree char *redis_key = dup_redis_key (self, data->key);
  g_autoptr(GrantSecret) serialized = NULL;
  g_autoptr(GrantRespValue) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *sealed = NULL;
  g_autofree char *expiry = NULL;
  GDateTime *expires_at = grant_token_get_expires_at (data->token);
  gint64 now_ms = g_get_real_time () / 1000;
  const char *args[5];
  gsize lengths[5];
  gsize sealed_length = 0;
  guint8 key[KEY_SIZE];

  if (!get_encryption_key (self, key, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (expires_at != NULL)
    {
      gint64 expires_ms = grant_date_time_to_usec (expires_at) / 1000;
      gint64 at = expires_ms - EXPIRY_MARGIN_MS;

      /* Less than the margin left: kept until the token expires, never
       * longer; an expired token only removes the one stored. */
      if (at <= now_ms)
        at = expires_ms;
      if (at <= now_ms)
        {
          args[0] = "DEL";
          args[1] = redis_key;
          grant_memory_wipe (key, sizeof key);
          reply = run_command (self, 2, args, NULL, cancellable, &error);
          if (reply == NULL || !check_reply (self, reply, "DEL", &error))
            g_task_return_error (task, g_steal_pointer (&error));
          else
            g_task_return_boolean (task, TRUE);
          return;
        }
      expiry = g_strdup_printf ("%" G_GINT64_FORMAT, at);
      args[3] = "PXAT";
    }
  else
    {
      expiry = g_strdup_printf ("%d", DEFAULT_LIFETIME_MS);
      args[3] = "PX";
    }

  serialized = grant_token_serialize (data->token);
  sealed = seal (key, redis_key, serialized, strlen (serialized), &sealed_length, &error);
  grant_memory_wipe (key, sizeof key);
  if (sealed == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  args[0] = "SET";
  args[1] = redis_key;
  args[2] = (const char *) sealed;
  args[4] = expiry;
  for (guint i = 0; i < G_N_ELEMENTS (args); i++)
    lengths[i] = i == 2 ? sealed_length : strlen (args[i]);

  reply = run_command (self, G_N_ELEMENTS (args), args, lengths, cancellable, &error);
  if (reply == NULL || !check_reply (self, reply, "SET", &error))
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "Cannot save the token: %s", error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
grant_redis_store_save_async (GrantTokenStore     *store,
                              GrantTokenKey       *key,
                              GrantToken          *token,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);
  SaveData *data = g_new0 (SaveData, 1);

  data->key = grant_token_key_ref (key);
  data->token = g_object_ref (token);
  g_task_set_source_tag (task, grant_redis_store_save_async);
  g_task_set_task_data (task, data, (GDestroyNotify) save_data_free);
  g_task_run_in_thread (task, save_in_thread);
}

static gboolean
grant_redis_store_boolean_finish (GrantTokenStore  *store,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
clear_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GrantRedisStore *self = source_object;
  g_autofree char *redis_key = dup_redis_key (self, task_data);
  g_autoptr(GrantRespValue) reply = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { "DEL", redis_key };

  reply = run_command (self, 2, args, NULL, cancellable, &error);
  if (reply == NULL || !check_reply (self, reply, "DEL", &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
grant_redis_store_clear_async (GrantTokenStore     *store,
                               GrantTokenKey       *key,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_redis_store_clear_async);
  g_task_set_task_data (task, grant_token_key_ref (key), (GDestroyNotify) grant_token_key_unref);
  g_task_run_in_thread (task, clear_in_thread);
}

static void
grant_redis_store_iface_init (GrantTokenStoreInterface *iface)
{
  iface->load_async = grant_redis_store_load_async;
  iface->load_finish = grant_redis_store_load_finish;
  iface->save_async = grant_redis_store_save_async;
  iface->save_finish = grant_redis_store_boolean_finish;
  iface->clear_async = grant_redis_store_clear_async;
  iface->clear_finish = grant_redis_store_boolean_finish;
}

/* The object */

static void
grant_redis_store_dispose (GObject *object)
{
  GrantRedisStore *self = GRANT_REDIS_STORE (object);

  g_mutex_lock (&self->io_lock);
  drop_connection_locked (self);
  g_mutex_unlock (&self->io_lock);
  g_clear_object (&self->tls_database);

  G_OBJECT_CLASS (grant_redis_store_parent_class)->dispose (object);
}

static void
grant_redis_store_finalize (GObject *object)
{
  GrantRedisStore *self = GRANT_REDIS_STORE (object);

  g_free (self->url);
  g_clear_error (&self->url_error);
  g_free (self->host);
  g_free (self->user);
  grant_secret_free (self->password);
  g_free (self->key_prefix);
  grant_memory_wipe (self->key, sizeof self->key);
  g_byte_array_unref (self->input);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->io_lock);

  G_OBJECT_CLASS (grant_redis_store_parent_class)->finalize (object);
}

static void
grant_redis_store_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  GrantRedisStore *self = GRANT_REDIS_STORE (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;

    case PROP_KEY_PREFIX:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->key_prefix);
      g_mutex_unlock (&self->lock);
      break;

    case PROP_TLS_DATABASE:
      g_mutex_lock (&self->lock);
      g_value_set_object (value, self->tls_database);
      g_mutex_unlock (&self->lock);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_redis_store_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  GrantRedisStore *self = GRANT_REDIS_STORE (object);

  switch (prop_id)
    {
    case PROP_URL:
      {
        const char *url = g_value_get_string (value);

        g_clear_error (&self->url_error);
        if (url == NULL)
          g_set_error_literal (&self->url_error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                               "The Redis store has no URL");
        else
          parse_url (self, url, &self->url_error);
      }
      break;

    case PROP_KEY_PREFIX:
      grant_redis_store_set_key_prefix (self, g_value_get_string (value));
      break;

    case PROP_TLS_DATABASE:
      grant_redis_store_set_tls_database (self, g_value_get_object (value));
      break;

    case PROP_ENCRYPTION_KEY:
      grant_redis_store_set_encryption_key (self, g_value_get_boxed (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_redis_store_constructed (GObject *object)
{
  G_OBJECT_CLASS (grant_redis_store_parent_class)->constructed (object);

#ifndef ENABLE_REDIS
  GrantRedisStore *self = GRANT_REDIS_STORE (object);

  g_clear_error (&self->url_error);
  g_set_error_literal (&self->url_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "libgrant was built without the Redis store (-Dredis=disabled)");
#endif
}

static void
grant_redis_store_class_init (GrantRedisStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = grant_redis_store_constructed;
  object_class->dispose = grant_redis_store_dispose;
  object_class->finalize = grant_redis_store_finalize;
  object_class->get_property = grant_redis_store_get_property;
  object_class->set_property = grant_redis_store_set_property;

  /**
   * GrantRedisStore:url:
   *
   * The Redis server: `redis://[[user]:password@]host[:port][/db]`, or
   * `rediss://` for TLS. Port 6379 and database 0 when none is given.
   *
   * Read back, it never shows the password: it is replaced by `***`.
   */
  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantRedisStore:key-prefix:
   *
   * What the Redis key of every token starts with, before its
   * [method@Grant.TokenKey.get_id]: one per deployment or environment.
   */
  properties[PROP_KEY_PREFIX] =
    g_param_spec_string ("key-prefix", NULL, NULL,
                         "grant:",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantRedisStore:tls-database:
   *
   * The certificate authorities that a `rediss://` server's certificate
   * must come from, or `NULL` for the system's trust.
   */
  properties[PROP_TLS_DATABASE] =
    g_param_spec_object ("tls-database", NULL, NULL,
                         G_TYPE_TLS_DATABASE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantRedisStore:encryption-key:
   *
   * The 32-byte key that seals every stored token (AES-256-GCM); without
   * it, the store keeps nothing. It is write-only, and every process that
   * shares the tokens must have the same one.
   */
  properties[PROP_ENCRYPTION_KEY] =
    g_param_spec_boxed ("encryption-key", NULL, NULL,
                        G_TYPE_BYTES,
                        G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
grant_redis_store_init (GrantRedisStore *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->io_lock);
  self->key_prefix = g_strdup ("grant:");
  self->input = g_byte_array_new ();
  self->url = g_strdup ("");
}

/**
 * grant_redis_store_new:
 * @url: the Redis server, `redis://[[user]:password@]host[:port][/db]`
 *   or `rediss://...` for TLS
 * @error: return location for a #GError
 *
 * Creates a store that keeps tokens in Redis. It does not connect until
 * it is first used; set [property@Grant.RedisStore:encryption-key] before
 * then, or it keeps nothing.
 *
 * Returns: (transfer full): a new Redis store, or `NULL` with @error set
 *   (`GRANT_ERROR_INVALID_CONFIGURATION`) when @url is malformed; the
 *   error never shows its password
 */
GrantRedisStore *
grant_redis_store_new (const char  *url,
                       GError     **error)
{
  g_autoptr(GrantRedisStore) self = NULL;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (GRANT_TYPE_REDIS_STORE, "url", url, NULL);
  if (self->url_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->url_error));
      return NULL;
    }

  return g_steal_pointer (&self);
}

/**
 * grant_redis_store_get_url:
 * @self: a Redis store
 *
 * Gets the URL of the Redis server, with its password replaced by `***`.
 *
 * Returns: the URL
 */
const char *
grant_redis_store_get_url (GrantRedisStore *self)
{
  g_return_val_if_fail (GRANT_IS_REDIS_STORE (self), NULL);

  return self->url;
}

/**
 * grant_redis_store_get_key_prefix:
 * @self: a Redis store
 *
 * Gets what the Redis key of every token starts with.
 *
 * Returns: the prefix
 */
const char *
grant_redis_store_get_key_prefix (GrantRedisStore *self)
{
  const char *prefix;

  g_return_val_if_fail (GRANT_IS_REDIS_STORE (self), NULL);

  /* Valid until the prefix is set again. */
  g_mutex_lock (&self->lock);
  prefix = self->key_prefix;
  g_mutex_unlock (&self->lock);

  return prefix;
}

/**
 * grant_redis_store_set_key_prefix:
 * @self: a Redis store
 * @key_prefix: (nullable): what every Redis key starts with, or `NULL`
 *   for `grant:`
 *
 * Sets what the Redis key of every token starts with: give each deployment
 * or environment its own, so that they do not share tokens.
 */
void
grant_redis_store_set_key_prefix (GrantRedisStore *self,
                                  const char      *key_prefix)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_REDIS_STORE (self));

  if (key_prefix == NULL)
    key_prefix = "grant:";

  g_mutex_lock (&self->lock);
  changed = grant_set_str (&self->key_prefix, key_prefix);
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEY_PREFIX]);
}

/**
 * grant_redis_store_get_tls_database:
 * @self: a Redis store
 *
 * Gets the certificate authorities a `rediss://` server must be certified
 * by.
 *
 * Returns: (nullable) (transfer none): the database, or `NULL` for the
 *   system's trust
 */
GTlsDatabase *
grant_redis_store_get_tls_database (GrantRedisStore *self)
{
  GTlsDatabase *database;

  g_return_val_if_fail (GRANT_IS_REDIS_STORE (self), NULL);

  g_mutex_lock (&self->lock);
  database = self->tls_database;
  g_mutex_unlock (&self->lock);

  return database;
}

/**
 * grant_redis_store_set_tls_database:
 * @self: a Redis store
 * @database: (nullable): the certificate authorities, or `NULL` for the
 *   system's trust
 *
 * Sets the certificate authorities a `rediss://` server must be certified
 * by, for a private CA. It applies from the next connection.
 */
void
grant_redis_store_set_tls_database (GrantRedisStore *self,
                                    GTlsDatabase    *database)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_REDIS_STORE (self));
  g_return_if_fail (database == NULL || G_IS_TLS_DATABASE (database));

  g_mutex_lock (&self->lock);
  changed = g_set_object (&self->tls_database, database);
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TLS_DATABASE]);
}

/**
 * grant_redis_store_set_encryption_key:
 * @self: a Redis store
 * @key: (nullable): 32 bytes, or `NULL` to keep nothing
 *
 * Sets the key that seals every stored token with AES-256-GCM. Every
 * process that shares the tokens needs the same key; a reader of Redis
 * without it cannot use them. Keep it as you keep the client secret,
 * for example beside it in a secret manager, and make it with
 * `head -c 32 /dev/urandom`.
 *
 * A key of another length is refused: the store then keeps nothing, and
 * its calls fail saying so.
 */
void
grant_redis_store_set_encryption_key (GrantRedisStore *self,
                                      GBytes          *key)
{
  gconstpointer data = NULL;
  gsize length = 0;

  g_return_if_fail (GRANT_IS_REDIS_STORE (self));

  if (key != NULL)
    data = g_bytes_get_data (key, &length);

  g_mutex_lock (&self->lock);
  grant_memory_wipe (self->key, sizeof self->key);
  self->key_length = length;
  if (length == KEY_SIZE)
    memcpy (self->key, data, KEY_SIZE);
  g_mutex_unlock (&self->lock);

  if (key != NULL && length != KEY_SIZE)
    g_warning ("The encryption-key of a Redis store must have %d bytes, not %" G_GSIZE_FORMAT
               ": the store keeps no token", KEY_SIZE, length);
}
