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
#include "grant-token-store-private.h"
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
 * [property@Grant.RedisStore:key-prefix], [method@Grant.TokenKey.get_id]
 * and a check of the sealing key (so that clients with other credentials
 * keep other tokens), with an expiry 60 seconds before the token's (or the token's own expiry
 * when less than a minute is left; one hour for a token that does not say
 * when it expires), so that every key the store writes goes away by
 * itself. The value is the serialized token sealed with AES-256-GCM, with
 * the Redis key as associated data, under
 * [property@Grant.RedisStore:encryption-key] when the application sets
 * one, else under the key the provider derives from the client's
 * credentials ([method@Grant.TokenKey.dup_sealing_key]): a reader of
 * Redis without them learns nothing of the token, a process with the
 * right client id but another secret cannot open it, and a value moved
 * to another key does not open. A client with neither (no secret, and a
 * key that never leaves its PKCS#11 token) keeps nothing: saving and
 * loading fail with `GRANT_ERROR_INVALID_CONFIGURATION`.
 *
 * The store locks across machines ([method@Grant.TokenStore.lock_async]):
 * of all the processes, on every host, that need the same token at once,
 * one fetches it and the others wait for its save, woken by a message
 * on a Redis channel. The lock expires a second before the provider's
 * [property@Grant.TokenProvider:timeout], so that one held by a process
 * that died is taken over; a wait lasts a little less than that timeout,
 * then the waiter fetches alone.
 *
 * When Redis cannot be reached, refuses the password, takes too long, or
 * holds a value that does not open with the key, the call fails with an
 * error saying so, and a provider then fetches its token from the network;
 * every call tries Redis again, so it is used as soon as it is back.
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

/* One connection to Redis and what it read but did not parse yet. */
typedef struct {
  GIOStream *stream;
  GByteArray *input;
} Connection;

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

  guint step_timeout; /* seconds; COMMAND_TIMEOUT_SECONDS but in tests */

  GMutex io_lock;    /* guards the connection; held for a whole command */
  Connection main;

  GHashTable *held;  /* Redis key -> GrantRedisLock held, unowned; under lock */
  GHashTable *seen;  /* Redis key -> SHA-1 of the value last loaded ("": none);
                      * under lock */
};

/* The most keys whose last loaded value the store remembers. */
#define MAX_SEEN 64

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
connection_drop (Connection *connection)
{
  if (connection->stream != NULL)
    g_io_stream_close (connection->stream, NULL, NULL);
  g_clear_object (&connection->stream);
  if (connection->input != NULL)
    g_byte_array_set_size (connection->input, 0);
}

static void
connection_clear (Connection *connection)
{
  connection_drop (connection);
  g_clear_pointer (&connection->input, g_byte_array_unref);
}

/* Reads one reply: parsed from what was read before if it is there, else
 * read with a blocking read (the socket's timeout bounds it). */
static GrantRespValue *
read_reply (GrantRedisStore  *self,
            Connection       *connection,
            GCancellable     *cancellable,
            GError          **error)
{
  GInputStream *in = g_io_stream_get_input_stream (connection->stream);
  g_autoptr(GError) local_error = NULL;
  guint8 buffer[16384];

  for (;;)
    {
      GrantRespValue *value = NULL;
      gsize consumed = 0;
      gssize n;

      switch (grant_resp_parse (connection->input->data, connection->input->len,
                                &consumed, &value, &local_error))
        {
        case GRANT_RESP_PARSE_DONE:
          g_byte_array_remove_range (connection->input, 0, consumed);
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
      g_byte_array_append (connection->input, buffer, n);
    }
}

static GrantRespValue *
exchange (GrantRedisStore  *self,
          Connection       *connection,
          GBytes           *request,
          GCancellable     *cancellable,
          GError          **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (connection->stream);
  g_autoptr(GError) local_error = NULL;
  gsize size;
  gconstpointer data = g_bytes_get_data (request, &size);

  if (!g_output_stream_write_all (out, data, size, NULL, cancellable, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "Cannot send a command to Redis at %s: %s", self->url, local_error->message);
      return NULL;
    }

  return read_reply (self, connection, cancellable, error);
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
setup_command (GrantRedisStore     *self,
               Connection          *connection,
               guint                n_args,
               const char * const  *args,
               const char          *what,
               int                  refused_code,
               GCancellable        *cancellable,
               GError             **error)
{
  g_autoptr(GBytes) request = grant_resp_encode (n_args, args, NULL);
  g_autoptr(GrantRespValue) reply = exchange (self, connection, request, cancellable, error);

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

/* Opens @connection: connects, then AUTH and SELECT as the URL says. */
static gboolean
connection_open (GrantRedisStore  *self,
                 Connection       *connection_out,
                 GCancellable     *cancellable,
                 GError          **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) address = g_network_address_new (self->host, self->port);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) local_error = NULL;

  g_socket_client_set_timeout (client, self->step_timeout);
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

  g_socket_set_timeout (g_socket_connection_get_socket (connection), self->step_timeout);
  connection_drop (connection_out);
  if (connection_out->input == NULL)
    connection_out->input = g_byte_array_new ();
  connection_out->stream = G_IO_STREAM (g_steal_pointer (&connection));

  if (self->password != NULL)
    {
      const char *args[] = { "AUTH", self->user, self->password };
      const char *no_user[] = { "AUTH", self->password };
      gboolean ok;

      if (self->user != NULL)
        ok = setup_command (self, connection_out, 3, args, "the password", G_IO_ERROR_PERMISSION_DENIED,
                            cancellable, error);
      else
        ok = setup_command (self, connection_out, 2, no_user, "the password",
                            G_IO_ERROR_PERMISSION_DENIED, cancellable, error);
      if (!ok)
        {
          connection_drop (connection_out);
          return FALSE;
        }
    }

  if (self->db != 0)
    {
      g_autofree char *db = g_strdup_printf ("%u", self->db);
      const char *args[] = { "SELECT", db };

      if (!setup_command (self, connection_out, 2, args, "to select the database", G_IO_ERROR_FAILED,
                          cancellable, error))
        {
          connection_drop (connection_out);
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
      gboolean fresh = self->main.stream == NULL;

      if (fresh && !connection_open (self, &self->main, cancellable, error))
        break;

      reply = exchange (self, &self->main, request, cancellable, &local_error);
      if (reply != NULL)
        break;

      connection_drop (&self->main);
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

void
grant_redis_store_set_step_timeout (GrantRedisStore *self,
                                    guint            seconds)
{
  g_return_if_fail (GRANT_IS_REDIS_STORE (self));
  g_return_if_fail (seconds > 0);

  self->step_timeout = seconds;
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

/* The Redis key of the token under @key, sealed with @seal_key: the
 * prefix, the key's id, and 8 bytes of HMAC-SHA256 under the sealing key,
 * so that clients whose credentials differ (a secret being rotated, two
 * valid secrets) keep tokens apart instead of overwriting each other's.
 * It tells a reader of Redis no more than the sealed value's tag does. */
static char *
dup_redis_key (GrantRedisStore *self,
               GrantTokenKey   *key,
               const guint8    *seal_key)
{
  static const char label[] = "libgrant redis key 1";
  guint8 mac[32];
  char check[17];
  char *redis_key;

  if (gnutls_hmac_fast (GNUTLS_MAC_SHA256, seal_key, KEY_SIZE, label, strlen (label), mac) < 0)
    memset (mac, 0, sizeof mac);
  for (guint i = 0; i < 8; i++)
    g_snprintf (check + 2 * i, 3, "%02x", mac[i]);

  g_mutex_lock (&self->lock);
  redis_key = g_strconcat (self->key_prefix, grant_token_key_get_id (key), ":", check, NULL);
  g_mutex_unlock (&self->lock);

  return redis_key;
}

/* Copies the key that seals tokens under @token_key into @key: the
 * application's encryption-key, else the one derived from the client's
 * credentials; or says why there is none. */
static gboolean
get_encryption_key (GrantRedisStore  *self,
                    GrantTokenKey    *token_key,
                    guint8           *key,
                    GError          **error)
{
  g_autoptr(GBytes) derived = NULL;
  gsize length;

  g_mutex_lock (&self->lock);
  length = self->key_length;
  if (length == KEY_SIZE)
    memcpy (key, self->key, KEY_SIZE);
  g_mutex_unlock (&self->lock);

  if (length == KEY_SIZE)
    return TRUE;

  if (length != 0)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The encryption-key of the Redis store at %s has %" G_GSIZE_FORMAT " bytes, not %d: "
                   "the store keeps no token", self->url, length, KEY_SIZE);
      return FALSE;
    }

  derived = grant_token_key_dup_sealing_key (token_key);
  if (derived != NULL && g_bytes_get_size (derived) == KEY_SIZE)
    {
      memcpy (key, g_bytes_get_data (derived, NULL), KEY_SIZE);
      return TRUE;
    }

  g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
               "The Redis store at %s keeps no token: the client has no secret and no exportable "
               "private key to seal tokens with, and the store has no encryption-key", self->url);

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
                           "it does not open with this client's sealing key (it was sealed "
                           "with other client credentials or another encryption-key, or altered)");
      return NULL;
    }

  plain[length] = '\0';
  *plain_length = length;

  return plain;
}

/* The lock, across machines
 *
 * A process that finds no token subscribes to the key's channel, then
 * tries `SET <key>:lock <random> NX PX <ttl>`, unless the token's value
 * changed since its load (another process saved one). The one that gets it
 * fetches; its save of the token releases the lock (compare-and-delete,
 * in a script) and publishes "saved" on the channel, in one round trip,
 * before the save returns; a holder that saves nothing releases when its
 * lock object goes, publishing "released". The others wait for a
 * message, polling meanwhile (jittered, 50 ms growing to 500 ms) for the
 * lock to come free and for the token's value to change; a "saved"
 * message or a new value sends them to the store, where the token now
 * is. A lock lives a second less than the provider's timeout, so that a
 * holder that died loses it before its waiters give up (a little less
 * than the timeout; then they fetch alone). */

#define DEFAULT_LOCK_SECONDS 30
#define MAX_LOCK_SECONDS (24 * 3600)
#define LOCK_POLL_MIN_MS 50
#define LOCK_POLL_MAX_MS 500

/* In one round trip: 2 if a token other than the one last seen is there
 * (ARGV[3], its SHA-1, or "-" when unknown; a token removed is no news),
 * else 1 if it took the
 * lock, else 0 and how long the lock has left; and the value's SHA-1 ("":
 * none). */
static const char take_script[] =
  "local value = redis.call('get', KEYS[2]) "
  "local digest = value and redis.sha1hex(value) or '' "
  "if ARGV[3] ~= '-' and digest ~= '' and digest ~= ARGV[3] then return {2, 0, digest} end "
  "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0, digest} end "
  "return {0, redis.call('pttl', KEYS[1]), digest}";

static const char release_script[] =
  "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end "
  "redis.call('publish', ARGV[2], ARGV[3]) "
  "return 1";

#define GRANT_TYPE_REDIS_LOCK (grant_redis_lock_get_type ())
G_DECLARE_FINAL_TYPE (GrantRedisLock, grant_redis_lock, GRANT, REDIS_LOCK, GObject)

struct _GrantRedisLock
{
  GObject parent_instance;

  GrantRedisStore *store;
  char *redis_key;   /* the token's */
  char *lock_key;
  char *channel;
  char *owner;       /* the random value in the lock key */
  gboolean held;     /* under store->lock; in store->held while TRUE */
};

G_DEFINE_FINAL_TYPE (GrantRedisLock, grant_redis_lock, G_TYPE_OBJECT)

typedef struct {
  GrantRedisStore *store;  /* for release_thread() */
  char *lock_key;
  char *owner;
  char *channel;
  const char *payload;
} Release;

static void
release_free (Release *release)
{
  g_clear_object (&release->store);
  g_free (release->lock_key);
  g_free (release->owner);
  g_free (release->channel);
  g_free (release);
}

/* Takes @lock out of the held ones: what releasing it needs, or NULL if
 * it is not held (any more). With store->lock held. */
static Release *
lock_take_locked (GrantRedisLock *lock,
                  const char     *payload)
{
  GrantRedisStore *store = lock->store;
  Release *release;

  if (!lock->held)
    return NULL;

  lock->held = FALSE;
  if (g_hash_table_lookup (store->held, lock->redis_key) == lock)
    g_hash_table_remove (store->held, lock->redis_key);

  release = g_new0 (Release, 1);
  release->lock_key = g_strdup (lock->lock_key);
  release->owner = g_strdup (lock->owner);
  release->channel = g_strdup (lock->channel);
  release->payload = payload;

  return release;
}

/* Blocking. A release that fails costs only time: the lock expires. */
static void
release_run (GrantRedisStore *self,
             Release         *release)
{
  const char *args[] = { "EVAL", release_script, "1", release->lock_key, release->owner,
                         release->channel, release->payload };
  g_autoptr(GrantRespValue) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = run_command (self, G_N_ELEMENTS (args), args, NULL, NULL, &error);
  if (reply != NULL)
    check_reply (self, reply, "to release the lock", &error);
  if (error != NULL)
    g_debug ("Cannot release the lock %s (it expires by itself): %s", release->lock_key, error->message);
}

static gpointer
release_thread (gpointer user_data)
{
  Release *release = user_data;

  release_run (release->store, release);
  release_free (release);

  return NULL;
}

static void
grant_redis_lock_dispose (GObject *object)
{
  GrantRedisLock *self = GRANT_REDIS_LOCK (object);
  Release *release = NULL;

  if (self->store != NULL)
    {
      g_mutex_lock (&self->store->lock);
      release = lock_take_locked (self, "released");
      g_mutex_unlock (&self->store->lock);
    }

  /* Let go of without a save: in a thread of its own, never on the
   * caller's, and tied to no main context. */
  if (release != NULL)
    {
      GThread *thread;

      release->store = g_object_ref (self->store);
      thread = g_thread_try_new ("grant-redis-release", release_thread, release, NULL);
      if (thread != NULL)
        g_thread_unref (thread);
      else
        release_free (release);  /* it expires by itself */
    }

  g_clear_object (&self->store);

  G_OBJECT_CLASS (grant_redis_lock_parent_class)->dispose (object);
}

static void
grant_redis_lock_finalize (GObject *object)
{
  GrantRedisLock *self = GRANT_REDIS_LOCK (object);

  g_free (self->redis_key);
  g_free (self->lock_key);
  g_free (self->channel);
  g_free (self->owner);

  G_OBJECT_CLASS (grant_redis_lock_parent_class)->finalize (object);
}

static void
grant_redis_lock_class_init (GrantRedisLockClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = grant_redis_lock_dispose;
  G_OBJECT_CLASS (klass)->finalize = grant_redis_lock_finalize;
}

static void
grant_redis_lock_init (GrantRedisLock *self)
{
}

/* After a save under @redis_key: the lock this process holds on it is
 * released now, telling the waiters the token is there. */
static void
release_after_save (GrantRedisStore *self,
                    const char      *redis_key)
{
  GrantRedisLock *lock;
  Release *release = NULL;

  g_mutex_lock (&self->lock);
  lock = g_hash_table_lookup (self->held, redis_key);
  if (lock != NULL)
    release = lock_take_locked (lock, "saved");
  g_mutex_unlock (&self->lock);

  if (release != NULL)
    {
      release_run (self, release);
      release_free (release);
    }
}

typedef struct {
  GMainContext *context;
  gboolean ready;
} Wake;

static gboolean
wake_cb (gpointer user_data)
{
  Wake *wake = user_data;

  wake->ready = TRUE;

  return G_SOURCE_REMOVE;
}

static gboolean
pollable_wake_cb (GObject  *stream,
                  gpointer  user_data)
{
  return wake_cb (user_data);
}

/* Waits at most @timeout_ms for a message on the subscription @sub: TRUE
 * with the message's payload in @payload, or NULL when none came. */
static gboolean
wait_for_message (GrantRedisStore  *self,
                  Connection       *sub,
                  gint64            timeout_ms,
                  GCancellable     *cancellable,
                  char            **payload,
                  GError          **error)
{
  GInputStream *in = g_io_stream_get_input_stream (sub->stream);
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  g_autoptr(GMainContext) context = NULL;
  guint8 buffer[4096];

  *payload = NULL;

  if (!G_IS_POLLABLE_INPUT_STREAM (in) || !g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Cannot wait on the connection to Redis at %s", self->url);
      return FALSE;
    }

  for (;;)
    {
      g_autoptr(GrantRespValue) value = NULL;
      g_autoptr(GError) local_error = NULL;
      gsize consumed = 0;
      gint64 remaining;
      gssize n;

      switch (grant_resp_parse (sub->input->data, sub->input->len, &consumed, &value, &local_error))
        {
        case GRANT_RESP_PARSE_DONE:
          g_byte_array_remove_range (sub->input, 0, consumed);
          /* ["message", channel, payload]; anything else is skipped. */
          if (value->type == GRANT_RESP_ARRAY && value->elements->len == 3)
            {
              GrantRespValue *kind = g_ptr_array_index (value->elements, 0);
              GrantRespValue *data = g_ptr_array_index (value->elements, 2);

              if (kind->type == GRANT_RESP_BULK && strcmp (kind->data, "message") == 0 &&
                  data->type == GRANT_RESP_BULK)
                {
                  *payload = g_strdup (data->data);
                  return TRUE;
                }
            }
          continue;

        case GRANT_RESP_PARSE_INVALID:
          g_set_error (error, local_error->domain, local_error->code,
                       "Redis at %s sent something that is not RESP2: %s", self->url, local_error->message);
          return FALSE;

        case GRANT_RESP_PARSE_INCOMPLETE:
        default:
          break;
        }

      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buffer, sizeof buffer,
                                                    cancellable, &local_error);
      if (n > 0)
        {
          g_byte_array_append (sub->input, buffer, n);
          continue;
        }
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "Redis at %s closed the connection", self->url);
          return FALSE;
        }
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_set_error (error, local_error->domain, local_error->code,
                       "Cannot read from Redis at %s: %s", self->url, local_error->message);
          return FALSE;
        }

      remaining = end - g_get_monotonic_time ();
      if (remaining <= 0)
        return TRUE;

      /* Nothing to read yet: sleep until there is, or the time is up. */
      {
        g_autoptr(GSource) readable = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in),
                                                                              cancellable);
        g_autoptr(GSource) timer = g_timeout_source_new ((remaining + 999) / 1000);
        Wake wake = { NULL, FALSE };

        if (context == NULL)
          context = g_main_context_new ();
        g_source_set_callback (readable, G_SOURCE_FUNC (pollable_wake_cb), &wake, NULL);
        g_source_set_callback (timer, wake_cb, &wake, NULL);
        g_source_attach (readable, context);
        g_source_attach (timer, context);
        while (!wake.ready)
          g_main_context_iteration (context, TRUE);
        g_source_destroy (readable);
        g_source_destroy (timer);
      }
    }
}

static GrantRedisLock *
lock_new (GrantRedisStore *self,
          const char      *redis_key,
          const char      *lock_key,
          const char      *channel,
          const char      *owner)
{
  GrantRedisLock *lock = g_object_new (GRANT_TYPE_REDIS_LOCK, NULL);

  lock->store = g_object_ref (self);
  lock->redis_key = g_strdup (redis_key);
  lock->lock_key = g_strdup (lock_key);
  lock->channel = g_strdup (channel);
  lock->owner = g_strdup (owner);

  return lock;
}

static char *
random_owner (void)
{
  guint8 bytes[16];
  GString *owner = g_string_sized_new (2 * sizeof bytes);

  if (gnutls_rnd (GNUTLS_RND_NONCE, bytes, sizeof bytes) < 0)
    for (guint i = 0; i < sizeof bytes; i++)
      bytes[i] = g_random_int_range (0, 256);
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (owner, "%02x", bytes[i]);

  return g_string_free (owner, FALSE);
}

/* On a thread of its own: a wait may last a whole timeout, too long to
 * hold one of GTask's shared threads. */
static gpointer
lock_thread (gpointer user_data)
{
  GTask *task = user_data;
  GrantRedisStore *self = g_task_get_source_object (task);
  GrantStoreCall *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autofree char *redis_key = NULL;
  g_autofree char *lock_key = NULL;
  g_autofree char *channel = NULL;
  g_autofree char *owner = random_owner ();
  g_autofree char *first_digest = NULL;  /* of the token's value at first */
  g_autofree char *ttl = NULL;
  g_autoptr(GrantRespValue) subscribed = NULL;
  g_autoptr(GBytes) subscribe = NULL;
  g_autoptr(GError) error = NULL;
  gint64 seconds = grant_token_key_get_lock_timeout (data->key);
  Connection sub = { NULL, g_byte_array_new () };
  GrantRedisLock *lock = NULL;
  gint64 started = g_get_monotonic_time ();
  gint64 life_ms, deadline;
  guint8 key[KEY_SIZE];

  if (!get_encryption_key (self, data->key, key, &error))
    goto out;
  redis_key = dup_redis_key (self, data->key, key);
  grant_memory_wipe (key, sizeof key);
  lock_key = g_strconcat (redis_key, ":lock", NULL);
  channel = g_strconcat (redis_key, ":saved", NULL);

  /* The lock lives a little less than the timeout, and a wait a little
   * more than the lock: a lock whose holder died runs out before its
   * waiters give up. */
  if (seconds == 0)
    seconds = DEFAULT_LOCK_SECONDS;
  seconds = MIN (seconds, MAX_LOCK_SECONDS);
  life_ms = seconds * 1000 - MIN (1000, seconds * 1000 / 4);
  ttl = g_strdup_printf ("%" G_GINT64_FORMAT, life_ms);
  deadline = started + (seconds * 1000 - MIN (250, seconds * 1000 / 8)) * 1000;

  /* A value other than the one this process loaded last is a token saved
   * since: no need to wait for it. */
  g_mutex_lock (&self->lock);
  first_digest = g_strdup (g_hash_table_lookup (self->seen, redis_key));
  g_mutex_unlock (&self->lock);

  /* Subscribed first, so that no message between a look and the wait is
   * missed. */
  if (!connection_open (self, &sub, cancellable, &error))
    goto out;
  {
    const char *args[] = { "SUBSCRIBE", channel };

    subscribe = grant_resp_encode (2, args, NULL);
  }
  subscribed = exchange (self, &sub, subscribe, cancellable, &error);
  if (subscribed == NULL)
    goto out;
  if (subscribed->type != GRANT_RESP_ARRAY)
    {
      if (subscribed->type == GRANT_RESP_ERROR)
        check_reply (self, subscribed, "SUBSCRIBE", &error);
      else
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     "Redis at %s answered SUBSCRIBE with something other than a confirmation", self->url);
      goto out;
    }

  for (guint round = 0; ; round++)
    {
      const char *take[] = { "EVAL", take_script, "2", lock_key, redis_key, owner, ttl,
                             first_digest != NULL ? first_digest : "-" };
      g_autoptr(GrantRespValue) reply = NULL;
      g_autofree char *payload = NULL;
      GrantRespValue *taken, *left, *digest;
      gint64 wait_ms, remaining_ms;

      reply = run_command (self, G_N_ELEMENTS (take), take, NULL, cancellable, &error);
      if (reply == NULL || !check_reply (self, reply, "the script that takes the lock", &error))
        goto out;
      if (reply->type != GRANT_RESP_ARRAY || reply->elements->len != 3 ||
          (taken = g_ptr_array_index (reply->elements, 0))->type != GRANT_RESP_INTEGER ||
          (left = g_ptr_array_index (reply->elements, 1))->type != GRANT_RESP_INTEGER ||
          (digest = g_ptr_array_index (reply->elements, 2))->type != GRANT_RESP_BULK)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "Redis at %s answered the script that takes the lock with something unexpected",
                       self->url);
          goto out;
        }

      if (taken->integer == 1)
        {
          lock = lock_new (self, redis_key, lock_key, channel, owner);
          g_mutex_lock (&self->lock);
          lock->held = TRUE;
          g_hash_table_replace (self->held, g_strdup (redis_key), lock);
          g_mutex_unlock (&self->lock);
          break;
        }

      /* A token saved since this process looked: no lock needed. */
      if (taken->integer == 2)
        {
          lock = lock_new (self, redis_key, lock_key, channel, owner);
          break;
        }

      /* Another process holds it. */
      if (first_digest == NULL)
        first_digest = g_strdup (digest->data);

      remaining_ms = (deadline - g_get_monotonic_time ()) / 1000;
      if (remaining_ms <= 0)
        {
          g_debug ("Another process held the lock %s for %" G_GINT64_FORMAT " ms: going on without it",
                   lock_key, (g_get_monotonic_time () - started) / 1000);
          lock = lock_new (self, redis_key, lock_key, channel, owner);
          break;
        }

      /* Polled, jittered, and at the latest when the lock runs out. */
      wait_ms = MIN (LOCK_POLL_MAX_MS, LOCK_POLL_MIN_MS << MIN (round, 4));
      wait_ms = g_random_int_range (wait_ms / 2, wait_ms + 1);
      if (left->integer >= 0)
        wait_ms = MIN (wait_ms, left->integer + g_random_int_range (1, 10));
      if (!wait_for_message (self, &sub, MIN (wait_ms, remaining_ms), cancellable, &payload, &error))
        goto out;
      if (g_strcmp0 (payload, "saved") == 0)
        {
          lock = lock_new (self, redis_key, lock_key, channel, owner);
          break;
        }
    }

out:
  connection_clear (&sub);
  if (lock != NULL)
    g_task_return_pointer (task, lock, g_object_unref);
  else
    g_task_return_new_error (task, error->domain, error->code,
                             "Cannot take the lock on the token: %s", error->message);
  g_object_unref (task);

  return NULL;
}

static void
grant_redis_store_lock_async (GrantTokenStore     *store,
                              GrantTokenKey       *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task = grant_store_call_new (store, grant_redis_store_lock_async, key, NULL, cancellable,
                                      callback, user_data);
  g_autoptr(GError) error = NULL;
  GThread *thread;

  thread = g_thread_try_new ("grant-redis-lock", lock_thread, task, &error);
  if (thread == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "Cannot start a thread to wait for the lock: %s", error->message);
      g_object_unref (task);
      return;
    }
  g_thread_unref (thread);
}

/* Load, save, clear */

/* What a load found under @redis_key: a lock taken after it tells a token
 * saved since from the one the provider already turned down. */
static void
remember_seen (GrantRedisStore *self,
               const char      *redis_key,
               const char      *value,
               gsize            length)
{
  char *digest = value != NULL
                 ? g_compute_checksum_for_data (G_CHECKSUM_SHA1, (const guchar *) value, length)
                 : g_strdup ("");

  g_mutex_lock (&self->lock);
  if (g_hash_table_size (self->seen) >= MAX_SEEN && !g_hash_table_contains (self->seen, redis_key))
    g_hash_table_remove_all (self->seen);
  g_hash_table_replace (self->seen, g_strdup (redis_key), digest);
  g_mutex_unlock (&self->lock);
}

static void
load_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantRedisStore *self = source_object;
  GrantStoreCall *call = task_data;
  g_autofree char *redis_key = NULL;
  g_autoptr(GrantRespValue) reply = NULL;
  g_autoptr(GrantSecret) plain = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[2];
  guint8 key[KEY_SIZE];
  GrantToken *token;
  gsize length = 0;

  if (!get_encryption_key (self, call->key, key, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  redis_key = dup_redis_key (self, call->key, key);

  args[0] = "GET";
  args[1] = redis_key;
  reply = run_command (self, 2, args, NULL, cancellable, &error);
  if (reply == NULL || !check_reply (self, reply, "GET", &error))
    {
      grant_memory_wipe (key, sizeof key);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  remember_seen (self, redis_key, reply->type == GRANT_RESP_BULK ? reply->data : NULL, reply->length);

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
  grant_store_call_in_thread (store, grant_redis_store_load_async, key, NULL, cancellable,
                              callback, user_data, load_in_thread);
}

static void
save_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantRedisStore *self = source_object;
  GrantStoreCall *data = task_data;
  g_autofree char *redis_key = NULL;
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

  if (!get_encryption_key (self, data->key, key, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  redis_key = dup_redis_key (self, data->key, key);

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

  /* Before the save returns, so that a process that exits once it has
   * its token still tells the others. */
  remember_seen (self, redis_key, (const char *) sealed, sealed_length);
  release_after_save (self, redis_key);

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
  grant_store_call_in_thread (store, grant_redis_store_save_async, key, token, cancellable,
                              callback, user_data, save_in_thread);
}

static void
clear_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GrantRedisStore *self = source_object;
  GrantStoreCall *call = task_data;
  g_autofree char *redis_key = NULL;
  g_autoptr(GrantRespValue) reply = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[2];
  guint8 key[KEY_SIZE];

  /* Without a key, nothing was stored for this client. */
  if (!get_encryption_key (self, call->key, key, NULL))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  redis_key = dup_redis_key (self, call->key, key);
  grant_memory_wipe (key, sizeof key);
  args[0] = "DEL";
  args[1] = redis_key;

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
  grant_store_call_in_thread (store, grant_redis_store_clear_async, key, NULL, cancellable,
                              callback, user_data, clear_in_thread);
}

static void
grant_redis_store_iface_init (GrantTokenStoreInterface *iface)
{
  iface->load_async = grant_redis_store_load_async;
  iface->load_finish = grant_store_call_token_finish;
  iface->save_async = grant_redis_store_save_async;
  iface->save_finish = grant_store_call_boolean_finish;
  iface->clear_async = grant_redis_store_clear_async;
  iface->clear_finish = grant_store_call_boolean_finish;
  iface->lock_async = grant_redis_store_lock_async;
  iface->lock_finish = grant_store_call_object_finish;
}

/* The object */

static void
grant_redis_store_dispose (GObject *object)
{
  GrantRedisStore *self = GRANT_REDIS_STORE (object);

  g_mutex_lock (&self->io_lock);
  connection_drop (&self->main);
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
  connection_clear (&self->main);
  g_hash_table_unref (self->held);
  g_hash_table_unref (self->seen);
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
  self->main.input = g_byte_array_new ();
  self->held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->step_timeout = COMMAND_TIMEOUT_SECONDS;
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

char *
grant_redis_store_dup_key_name (GrantRedisStore  *self,
                                GrantTokenKey    *key,
                                GError          **error)
{
  guint8 seal_key[KEY_SIZE];
  char *name;

  g_return_val_if_fail (GRANT_IS_REDIS_STORE (self), NULL);

  if (!get_encryption_key (self, key, seal_key, error))
    return NULL;
  name = dup_redis_key (self, key, seal_key);
  grant_memory_wipe (seal_key, sizeof seal_key);

  return name;
}
