/* test-redis-store.c: GrantRedisStore against a real redis-server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>

#include "grant-redis-store-private.h"
#include "grant-token-store-private.h"
#include "test-utils.h"

#define PASSWORD "s3cret-redis-pass"

/* A redis-server of the test's own, on 127.0.0.1, without persistence. */
typedef struct {
  GSubprocess *process;
  guint16 port;
  char *password;
  char *url;
} TestRedis;

static gboolean
require_redis (void)
{
  g_autofree char *path = g_find_program_in_path ("redis-server");

  if (path == NULL)
    {
      g_test_skip ("redis-server is not installed");
      return FALSE;
    }

  return TRUE;
}

static guint16
free_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  g_socket_close (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static char *
redis_url (guint16     port,
           const char *userinfo)
{
  return g_strdup_printf ("redis://%s%s127.0.0.1:%u", userinfo != NULL ? userinfo : "",
                          userinfo != NULL ? "@" : "", port);
}

/* The server dies with the test, even when an assertion aborts it, and
 * holds none of the test's output open. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts (or, with a port, starts again) a server and waits until it
 * answers PING. */
static void
test_redis_run (TestRedis   *redis,
                const char  *const *extra)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GrantRedisStore) probe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *userinfo = NULL;
  g_autofree char *url = NULL;
  gint64 deadline;

  g_ptr_array_add (args, g_strdup ("redis-server"));
  g_ptr_array_add (args, g_strdup ("--port"));
  g_ptr_array_add (args, g_strdup_printf ("%u", redis->port));
  g_ptr_array_add (args, g_strdup ("--bind"));
  g_ptr_array_add (args, g_strdup ("127.0.0.1"));
  g_ptr_array_add (args, g_strdup ("--save"));
  g_ptr_array_add (args, g_strdup (""));
  g_ptr_array_add (args, g_strdup ("--appendonly"));
  g_ptr_array_add (args, g_strdup ("no"));
  if (redis->password != NULL)
    {
      g_ptr_array_add (args, g_strdup ("--requirepass"));
      g_ptr_array_add (args, g_strdup (redis->password));
    }
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (extra[i]));
  g_ptr_array_add (args, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  redis->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) args->pdata, &error);
  g_assert_no_error (error);

  if (redis->password != NULL)
    userinfo = g_strdup_printf (":%s", redis->password);
  url = redis_url (redis->port, userinfo);
  probe = grant_redis_store_new (url, &error);
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;)
    {
      const char *ping[] = { "PING", NULL };
      g_autoptr(GrantRespValue) reply = grant_redis_store_command (probe, ping, NULL, NULL);

      if (reply != NULL && reply->type == GRANT_RESP_SIMPLE)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * G_TIME_SPAN_MILLISECOND);
    }
}

static TestRedis *
test_redis_start (const char         *password,
                  const char * const *extra)
{
  TestRedis *redis = g_new0 (TestRedis, 1);
  g_autofree char *userinfo = password != NULL ? g_strdup_printf (":%s", password) : NULL;

  redis->port = free_port ();
  redis->password = g_strdup (password);
  redis->url = redis_url (redis->port, userinfo);
  test_redis_run (redis, extra);

  return redis;
}

static void
test_redis_kill (TestRedis *redis)
{
  g_autoptr(GError) error = NULL;

  if (redis->process == NULL)
    return;

  g_subprocess_force_exit (redis->process);
  g_subprocess_wait (redis->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&redis->process);
}

static void
test_redis_free (TestRedis *redis)
{
  test_redis_kill (redis);
  g_free (redis->password);
  g_free (redis->url);
  g_free (redis);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestRedis, test_redis_free)

static GBytes *
make_key (guint8 fill)
{
  guint8 key[32];

  for (guint i = 0; i < sizeof key; i++)
    key[i] = fill + i;

  return g_bytes_new (key, sizeof key);
}

static GrantRedisStore *
store_for (const char *url,
           guint8      key_fill)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key = make_key (key_fill);
  GrantRedisStore *store = grant_redis_store_new (url, &error);

  g_assert_no_error (error);
  g_object_set (store, "encryption-key", key, NULL);

  return store;
}

static GrantTokenKey *
test_key (void)
{
  return grant_token_key_new ("https://a.example/token", "test-client",
                              GRANT_AUTH_METHOD_CLIENT_SECRET_POST, NULL, NULL);
}

static GrantToken *
token_expiring_in (const char *access_token,
                   int         seconds)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) expires = g_date_time_add_seconds (now, seconds);

  return grant_token_new (access_token, "Bearer", "read", now, expires);
}

static GrantRespValue *
raw (GrantRedisStore *store,
     const char      *first,
     ...) G_GNUC_NULL_TERMINATED;

static GrantRespValue *
raw (GrantRedisStore *store,
     const char      *first,
     ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GrantRespValue *reply;
  const char *arg;
  va_list ap;

  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  reply = grant_redis_store_command (store, (const char * const *) args->pdata, NULL, &error);
  g_assert_no_error (error);

  return reply;
}

/* The tests */

static void
test_url (void)
{
  static const struct {
    const char *url;
    const char *shown;
  } good[] = {
    { "redis://localhost", "redis://localhost:6379/0" },
    { "redis://h:6380/2", "redis://h:6380/2" },
    { "redis://:" PASSWORD "@h:6380/2", "redis://:***@h:6380/2" },
    { "rediss://alice:" PASSWORD "@cache.example/", "rediss://alice:***@cache.example:6379/0" },
    { "redis://[::1]:7000", "redis://[::1]:7000/0" },
    { "redis://:p%40ss" PASSWORD "@h", "redis://:***@h:6379/0" },
  };
  static const char *bad[] = {
    "",
    "http://:" PASSWORD "@h",
    "redis://",
    "redis://:" PASSWORD "@",
    "redis://alice@h",
    "redis://:@h",
    "redis://:" PASSWORD "@h/db",
    "redis://:" PASSWORD "@h/-1",
    "redis://:" PASSWORD "@h:0",
    "redis://:" PASSWORD "@h:99999",
    "redis://:" PASSWORD "@h/0?db=1",
    "redis://:" PASSWORD "@h/0#x",
    "redis://:" PASSWORD "@h:12ab",
    "redis://:" PASSWORD "@[::1",
    "redis:" PASSWORD "@h",
    "not a url " PASSWORD,
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantRedisStore) store = grant_redis_store_new (good[i].url, &error);
      g_autofree char *url = NULL;
      g_autofree char *prefix = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (grant_redis_store_get_url (store), ==, good[i].shown);
      g_object_get (store, "url", &url, "key-prefix", &prefix, NULL);
      g_assert_cmpstr (url, ==, good[i].shown);
      g_assert_cmpstr (prefix, ==, "grant:");
      g_assert_null (grant_redis_store_get_tls_database (store));
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantRedisStore) store = grant_redis_store_new (bad[i], &error);

      g_test_message ("%s: %s", bad[i], error != NULL ? error->message : "(no error)");
      g_assert_null (store);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
      g_assert_nonnull (strstr (error->message, "Redis URL"));
      g_assert_null (strstr (error->message, PASSWORD));
    }
}

static void
test_properties (void)
{
  g_autoptr(GrantRedisStore) store = store_for ("redis://127.0.0.1", 1);
  g_autoptr(GTlsDatabase) database = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  guint notified = 0;

  g_signal_connect_swapped (store, "notify::key-prefix", G_CALLBACK (g_atomic_int_inc), &notified);

  grant_redis_store_set_key_prefix (store, "staging:");
  grant_redis_store_set_key_prefix (store, "staging:");
  g_assert_cmpstr (grant_redis_store_get_key_prefix (store), ==, "staging:");
  g_assert_cmpuint (notified, ==, 1);
  grant_redis_store_set_key_prefix (store, NULL);
  g_assert_cmpstr (grant_redis_store_get_key_prefix (store), ==, "grant:");
  g_assert_cmpuint (notified, ==, 2);

  grant_redis_store_set_tls_database (store, database);
  g_assert_true (grant_redis_store_get_tls_database (store) == database);
  grant_redis_store_set_tls_database (store, NULL);
  g_assert_null (grant_redis_store_get_tls_database (store));

  g_assert_finalize_object (g_steal_pointer (&store));
}

/* Making a store does no I/O, and without a key it keeps nothing. */
static void
test_no_key (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantRedisStore) store = grant_redis_store_new ("redis://127.0.0.1:1", &error);
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("no-key-token", 3600);
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GBytes) short_key = g_bytes_new_static ("short", 5);

  g_assert_no_error (error);
  g_assert_false (test_store_save (store, key, token, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "encryption-key"));
  g_clear_error (&error);

  loaded = test_store_load (store, key, &error);
  g_assert_null (loaded);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*must have 32 bytes, not 5*");
  g_object_set (store, "encryption-key", short_key, NULL);
  g_test_assert_expected_messages ();
  g_assert_false (test_store_save (store, key, token, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "5 bytes"));
}

static gboolean
has_readable_run (const char *data,
                  gsize       length,
                  gsize       run)
{
  gsize current = 0;

  for (gsize i = 0; i < length; i++)
    {
      current = g_ascii_isprint (data[i]) ? current + 1 : 0;
      if (current >= run)
        return TRUE;
    }

  return FALSE;
}

static void
test_round_trip (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("redis-access-token-0123456789", 3600);
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GrantToken) cleared = NULL;
  g_autoptr(GrantRespValue) value = NULL;
  g_autoptr(GrantRespValue) pttl = NULL;
  g_autoptr(GrantRespValue) gone = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *redis_key = NULL;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  store = store_for (redis->url, 1);
  redis_key = grant_redis_store_dup_key_name (store, key, NULL);

  /* Nothing stored yet: no token, no error. */
  loaded = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_null (loaded);

  g_assert_true (test_store_save (store, key, token, &error));
  g_assert_no_error (error);
  loaded = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "redis-access-token-0123456789");
  g_assert_cmpstr (grant_token_get_scope (loaded), ==, "read");
  g_assert_true (g_date_time_equal (grant_token_get_expires_at (loaded), grant_token_get_expires_at (token)));

  /* What Redis holds is sealed: nothing of the token can be read. */
  value = raw (store, "GET", redis_key, NULL);
  g_assert_cmpint (value->type, ==, GRANT_RESP_BULK);
  g_assert_cmpuint (value->length, >, 1 + 12 + 16);
  g_assert_null (g_strstr_len (value->data, value->length, "redis-access-token"));
  g_assert_null (g_strstr_len (value->data, value->length, "Bearer"));
  g_assert_false (has_readable_run (value->data, value->length, 16));

  /* It expires a minute before the token does. */
  pttl = raw (store, "PTTL", redis_key, NULL);
  g_assert_cmpint (pttl->type, ==, GRANT_RESP_INTEGER);
  g_assert_cmpint (pttl->integer, >, 3500 * 1000);
  g_assert_cmpint (pttl->integer, <=, 3540 * 1000);

  g_assert_true (test_store_clear (store, key, &error));
  g_assert_no_error (error);
  gone = raw (store, "EXISTS", redis_key, NULL);
  g_assert_cmpint (gone->integer, ==, 0);
  cleared = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_null (cleared);
}

/* Every key written expires, never after its token. */
static void
test_expiry (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) short_lived = token_expiring_in ("short-lived", 30);
  g_autoptr(GrantToken) expired = token_expiring_in ("expired", -10);
  g_autoptr(GrantToken) no_expiry = grant_token_new ("forever", NULL, NULL, NULL, NULL);
  g_autoptr(GrantRespValue) pttl = NULL;
  g_autoptr(GrantRespValue) exists = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *redis_key = NULL;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  store = store_for (redis->url, 1);
  grant_redis_store_set_key_prefix (store, "test:");
  redis_key = grant_redis_store_dup_key_name (store, key, NULL);

  g_assert_true (test_store_save (store, key, short_lived, &error));
  g_assert_no_error (error);
  pttl = raw (store, "PTTL", redis_key, NULL);
  g_assert_cmpint (pttl->integer, >, 0);
  g_assert_cmpint (pttl->integer, <=, 30 * 1000);
  g_clear_pointer (&pttl, grant_resp_value_free);

  g_assert_true (test_store_save (store, key, no_expiry, &error));
  g_assert_no_error (error);
  pttl = raw (store, "PTTL", redis_key, NULL);
  g_assert_cmpint (pttl->integer, >, 0);
  g_assert_cmpint (pttl->integer, <=, 3600 * 1000);

  /* An expired token is not written; it removes the one stored. */
  g_assert_true (test_store_save (store, key, expired, &error));
  g_assert_no_error (error);
  exists = raw (store, "EXISTS", redis_key, NULL);
  g_assert_cmpint (exists->integer, ==, 0);
}

static void
test_garbage (void)
{
  static const char *planted[] = { "garbage", "", "\x01" "0123456789abcdefghijklmnopqrstuvwxyz" };
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autofree char *redis_key = NULL;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  store = store_for (redis->url, 1);
  redis_key = grant_redis_store_dup_key_name (store, key, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (planted); i++)
    {
      g_autoptr(GrantRespValue) set = raw (store, "SET", redis_key, planted[i], NULL);
      g_autoptr(GrantToken) loaded = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (set->type, ==, GRANT_RESP_SIMPLE);
      loaded = test_store_load (store, key, &error);
      g_assert_null (loaded);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, redis_key));
      g_assert_nonnull (strstr (error->message, "not used"));
    }

  /* Not a string at all. */
  {
    g_autoptr(GrantRespValue) del = raw (store, "DEL", redis_key, NULL);
    g_autoptr(GrantRespValue) push = raw (store, "RPUSH", redis_key, "x", NULL);
    g_autoptr(GrantToken) loaded = NULL;
    g_autoptr(GError) error = NULL;

    loaded = test_store_load (store, key, &error);
    g_assert_null (loaded);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "WRONGTYPE"));
  }
}

static void
test_wrong_key (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantRedisStore) other = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("sealed-token", 3600);
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GError) error = NULL;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  store = store_for (redis->url, 1);
  other = store_for (redis->url, 2);

  g_assert_true (test_store_save (store, key, token, &error));
  g_assert_no_error (error);

  /* Another key looks under another name, and finds nothing. */
  loaded = test_store_load (other, key, &error);
  g_assert_no_error (error);
  g_assert_null (loaded);

  /* The value copied there does not open with it. */
  {
    g_autofree char *mine = grant_redis_store_dup_key_name (store, key, NULL);
    g_autofree char *theirs = grant_redis_store_dup_key_name (other, key, NULL);
    const char *copy[] = { "COPY", mine, theirs, NULL };
    g_autoptr(GrantRespValue) copied = grant_redis_store_command (store, copy, NULL, NULL);

    g_assert_cmpstr (mine, !=, theirs);
    g_assert_nonnull (copied);
    g_assert_cmpint (copied->integer, ==, 1);
  }
  loaded = test_store_load (other, key, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "encryption-key"));
  g_clear_error (&error);

  /* The right key still opens it. */
  loaded = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "sealed-token");
}

static void
test_auth (void)
{
  static const char *acl[] = { "--user", "alice", "on", ">alice-" PASSWORD, "~*", "+@all", NULL };
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("auth-token", 3600);
  g_autofree char *wrong_url = NULL;
  g_autofree char *none_url = NULL;
  g_autofree char *alice_url = NULL;
  g_autofree char *alice_wrong_url = NULL;

  if (!require_redis ())
    return;

  redis = test_redis_start (PASSWORD, acl);
  wrong_url = g_strdup_printf ("redis://:not-the-password@127.0.0.1:%u", redis->port);
  none_url = redis_url (redis->port, NULL);
  alice_url = g_strdup_printf ("redis://alice:alice-" PASSWORD "@127.0.0.1:%u/1", redis->port);
  alice_wrong_url = g_strdup_printf ("redis://alice:" PASSWORD "@127.0.0.1:%u", redis->port);

  /* The password, then an ACL user with its own (and another database). */
  {
    g_autoptr(GrantRedisStore) store = store_for (redis->url, 1);
    g_autoptr(GrantRedisStore) alice = store_for (alice_url, 1);
    g_autoptr(GrantToken) loaded = NULL;
    g_autoptr(GrantToken) elsewhere = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true (test_store_save (store, key, token, &error));
    g_assert_no_error (error);
    loaded = test_store_load (store, key, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "auth-token");

    /* Database 1 is another: nothing there. */
    elsewhere = test_store_load (alice, key, &error);
    g_assert_no_error (error);
    g_assert_null (elsewhere);
    g_assert_true (test_store_save (alice, key, token, &error));
    g_assert_no_error (error);
  }

  /* A wrong password, a wrong user's, or none: clear errors, no password. */
  {
    const char *urls[] = { wrong_url, alice_wrong_url, none_url };

    for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
      {
        g_autoptr(GrantRedisStore) store = store_for (urls[i], 1);
        g_autoptr(GrantToken) loaded = NULL;
        g_autoptr(GError) error = NULL;

        loaded = test_store_load (store, key, &error);
        g_test_message ("%s", error != NULL ? error->message : "(no error)");
        g_assert_null (loaded);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
        g_assert_null (strstr (error->message, PASSWORD));
        g_assert_null (strstr (error->message, "not-the-password"));
        g_clear_error (&error);

        g_assert_false (test_store_save (store, key, token, &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      }
  }
}

static void
test_down_and_back (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("down-token", 3600);
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  store = store_for (redis->url, 1);
  g_assert_true (test_store_save (store, key, token, &error));
  g_assert_no_error (error);

  /* Stopped: the store's connection is dead, and nobody listens. */
  test_redis_kill (redis);
  start = g_get_monotonic_time ();
  loaded = test_store_load (store, key, &error);
  g_assert_null (loaded);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Redis at redis://127.0.0.1:"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&error);

  g_assert_false (test_store_save (store, key, token, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Back (empty: it keeps nothing on disk): used again at once. */
  test_redis_run (redis, NULL);
  loaded = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_null (loaded);
  g_assert_true (test_store_save (store, key, token, &error));
  g_assert_no_error (error);
  loaded = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "down-token");
}

/* A server that accepts and never answers: the call ends with
 * G_IO_ERROR_TIMED_OUT after the store's 5 seconds, not never. */
static gpointer
silent_server_thread (gpointer user_data)
{
  GSocket *listener = user_data;
  g_autoptr(GSocket) accepted = g_socket_accept (listener, NULL, NULL);
  char buffer[256];

  /* Reads until the store gives up and closes. */
  while (accepted != NULL && g_socket_receive (accepted, buffer, sizeof buffer, NULL, NULL) > 0)
    ;

  return NULL;
}

static void
test_timeout (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) loaded = NULL;
  g_autofree char *url = NULL;
  GThread *thread;
  gint64 start;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (listener, address, FALSE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  url = redis_url (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)), NULL);
  thread = g_thread_new ("silent-redis", silent_server_thread, listener);

  /* Each step may take a second here (5 by default). */
  store = store_for (url, 1);
  grant_redis_store_set_step_timeout (store, 1);
  start = g_get_monotonic_time ();
  loaded = test_store_load (store, key, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "Redis at redis://127.0.0.1:"));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC - 100 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);

  /* The store dropped the connection: the server sees it close. */
  g_thread_join (thread);
}

static void
test_cancelled (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TestStoreResult result = { 0 };

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  store = store_for (redis->url, 1);

  g_cancellable_cancel (cancellable);
  grant_token_store_load_async (GRANT_TOKEN_STORE (store), key, cancellable, test_store_load_cb, &result);
  test_wait_until (&result.done);
  g_assert_null (result.token);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&result.error);
}

/* rediss://: a server certified by a private CA */
static gboolean
make_certificates (const char *dir)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *script = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (openssl == NULL)
    return FALSE;

  script = g_strdup_printf (
    "cd '%s' && "
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
    "  -out ca.pem -days 1 -subj /CN=grant-test-ca && "
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
    "  -out server.csr -subj /CN=127.0.0.1 && "
    "printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
    "  -out server.pem -days 1 -extfile ext", dir);
  {
    const char *argv[] = { "/bin/sh", "-c", script, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, NULL, NULL, &status, &error);
  }
  g_assert_no_error (error);

  return g_spawn_check_wait_status (status, NULL);
}

static void
test_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("grant-redis-XXXXXX", &error);
  g_autofree char *ca = g_build_filename (dir, "ca.pem", NULL);
  g_autofree char *cert = g_build_filename (dir, "server.pem", NULL);
  g_autofree char *server_key = g_build_filename (dir, "server.key", NULL);
  g_autofree char *url = NULL;
  g_autofree char *plain_url = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantRedisStore) system_trust = NULL;
  g_autoptr(GrantRedisStore) plain = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("tls-token", 3600);
  g_autoptr(GrantToken) loaded = NULL;
  g_autofree char *port = NULL;
  guint16 tls_port;
  gint64 deadline;

  g_assert_no_error (error);
  if (!require_redis ())
    goto out;
  if (!make_certificates (dir))
    {
      g_test_skip ("openssl cannot make the test certificates");
      goto out;
    }

  tls_port = free_port ();
  port = g_strdup_printf ("%u", tls_port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawn (launcher, &error, "redis-server", "--port", "0",
                                         "--tls-port", port, "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no",
                                         "--tls-cert-file", cert, "--tls-key-file", server_key,
                                         "--tls-ca-cert-file", ca, "--tls-auth-clients", "no", NULL);
  g_assert_no_error (error);

  url = g_strdup_printf ("rediss://127.0.0.1:%u", tls_port);
  database = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);
  store = store_for (url, 1);
  grant_redis_store_set_tls_database (store, database);

  /* Until it listens (a redis-server built without TLS never does). */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;)
    {
      const char *ping[] = { "PING", NULL };
      g_autoptr(GError) ping_error = NULL;
      g_autoptr(GrantRespValue) reply = grant_redis_store_command (store, ping, NULL, &ping_error);

      if (reply != NULL)
        break;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (g_subprocess_get_identifier (process) == NULL || g_get_monotonic_time () > deadline)
        {
          g_test_skip ("redis-server does not serve TLS");
          goto out;
        }
      g_usleep (20 * G_TIME_SPAN_MILLISECOND);
    }

  g_assert_true (test_store_save (store, key, token, &error));
  g_assert_no_error (error);
  loaded = test_store_load (store, key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "tls-token");
  g_clear_object (&loaded);

  /* The system's trust does not know the private CA. */
  system_trust = store_for (url, 1);
  loaded = test_store_load (system_trust, key, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "rediss://127.0.0.1:"));
  g_clear_error (&error);

  /* Nor does plain RESP reach a TLS port. */
  plain_url = redis_url (tls_port, NULL);
  plain = store_for (plain_url, 1);
  loaded = test_store_load (plain, key, &error);
  g_assert_null (loaded);
  g_assert_nonnull (error);

out:
  if (process != NULL)
    {
      g_subprocess_force_exit (process);
      g_subprocess_wait (process, NULL, NULL);
    }
  test_remove_tree (dir);
}

static GrantTokenProvider *
provider_with_store (LocalEndpoint   *endpoint,
                     GrantRedisStore *store)
{
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, endpoint->client_id,
                                                           endpoint->client_secret);

  grant_token_provider_set_auto_refresh (provider, FALSE);
  grant_token_provider_set_store (provider, GRANT_TOKEN_STORE (store));

  return provider;
}

static void
test_provider (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(LocalEndpoint) endpoint = NULL;
  g_autoptr(GrantRedisStore) store = NULL;
  g_autoptr(GrantRedisStore) other_host = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  GrantTokenProvider *first;
  GrantTokenProvider *second;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  endpoint = test_endpoint_new (FALSE);
  store = store_for (redis->url, 1);

  first = provider_with_store (endpoint, store);
  token = test_provider_get_token (first, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_finalize_object (first);

  /* Another "host": its own store object, connection and provider. */
  other_host = store_for (redis->url, 1);
  second = provider_with_store (endpoint, other_host);
  reloaded = test_provider_get_token (second, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (reloaded), ==, grant_token_get_access_token (token));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_finalize_object (second);
}

/* A provider whose Redis at @url fails warns once, with @warning, and
 * fetches from the network. */
static void
assert_provider_falls_back (const char *url,
                            const char *warning)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(GrantRedisStore) store = store_for (url, 1);
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  GrantTokenProvider *provider = provider_with_store (endpoint, store);

  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, warning);
  token = test_provider_get_token (provider, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_finalize_object (provider);
}

static void
test_provider_redis_down (void)
{
  g_autofree char *url = redis_url (free_port (), NULL);

  assert_provider_falls_back (url, "*token store failed*Cannot connect to Redis*");
}

static void
test_provider_wrong_password (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autofree char *url = NULL;

  if (!require_redis ())
    return;

  redis = test_redis_start (PASSWORD, NULL);
  url = redis_url (redis->port, ":not-the-password");
  assert_provider_falls_back (url, "*token store failed*refused the password*");
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("grant-redis-XXXXXX", &error);

  g_assert_no_error (error);

  return dir;
}

/* The lock, one store call at a time */

typedef struct {
  gboolean done;
  GObject *lock;
  GError *error;
} LockResult;

static void
lock_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  LockResult *res = user_data;

  res->lock = grant_token_store_lock_finish (GRANT_TOKEN_STORE (object), result, &res->error);
  res->done = TRUE;
}

static GObject *
store_lock (GrantRedisStore *store,
            GrantTokenKey   *key)
{
  LockResult result = { 0 };

  grant_token_store_lock_async (GRANT_TOKEN_STORE (store), key, NULL, lock_cb, &result);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_nonnull (result.lock);

  return result.lock;
}

static gint64
integer_command (GrantRedisStore    *store,
                 const char * const *args)
{
  g_autoptr(GrantRespValue) reply = grant_redis_store_command (store, args, NULL, NULL);

  g_assert_nonnull (reply);
  g_assert_cmpint (reply->type, ==, GRANT_RESP_INTEGER);

  return reply->integer;
}

static void
test_lock (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(GrantRedisStore) mine = NULL;
  g_autoptr(GrantRedisStore) theirs = NULL;
  g_autoptr(GrantTokenKey) key = test_key ();
  g_autoptr(GrantToken) token = token_expiring_in ("locked-token", 3600);
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GObject) lock = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *redis_key = NULL;
  g_autofree char *lock_key = NULL;
  const char *exists[] = { "EXISTS", NULL, NULL };
  const char *pttl[] = { "PTTL", NULL, NULL };
  gint64 left;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, NULL);
  mine = store_for (redis->url, 1);
  theirs = store_for (redis->url, 1);
  redis_key = grant_redis_store_dup_key_name (mine, key, NULL);
  lock_key = g_strconcat (redis_key, ":lock", NULL);
  exists[1] = pttl[1] = lock_key;
  grant_token_key_set_lock_timeout (key, 10);

  /* A miss, then the lock: held for a second less than the timeout. */
  loaded = test_store_load (mine, key, &error);
  g_assert_no_error (error);
  g_assert_null (loaded);
  lock = store_lock (mine, key);
  left = integer_command (mine, pttl);
  g_assert_cmpint (left, >, 8000);
  g_assert_cmpint (left, <=, 9000);

  /* Its save releases it, before the save returns. */
  g_assert_true (test_store_save (mine, key, token, &error));
  g_assert_no_error (error);
  g_assert_cmpint (integer_command (mine, exists), ==, 0);
  g_clear_object (&lock);

  /* Another process's save between a miss and the lock: the lock is not
   * taken, since the token is there to load. */
  g_assert_true (test_store_clear (mine, key, &error));
  loaded = test_store_load (mine, key, &error);
  g_assert_no_error (error);
  g_assert_null (loaded);
  g_assert_true (test_store_save (theirs, key, token, &error));
  lock = store_lock (mine, key);
  g_assert_cmpint (integer_command (mine, exists), ==, 0);
  g_clear_object (&lock);

  /* A lock let go without a save is released too, in a thread. */
  g_assert_true (test_store_clear (mine, key, &error));
  loaded = test_store_load (mine, key, &error);
  g_assert_null (loaded);
  lock = store_lock (mine, key);
  g_assert_cmpint (integer_command (mine, exists), ==, 1);
  g_clear_object (&lock);
  {
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (integer_command (mine, exists) == 1)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, FALSE);
        g_usleep (G_TIME_SPAN_MILLISECOND);
      }
  }
}

/* The fleet: processes of their own, each with its own store and cache,
 * as on separate hosts */

#define FLEET_HOSTS 4
#define FLEET_PROCESSES_PER_HOST 3

typedef struct {
  GSubprocess *process;
  gboolean done;
  gboolean ok;
  char *output;
  char *errors;
} Member;

static void
member_communicated_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Member *member = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_finish (G_SUBPROCESS (object), result, &out, &err, &error);
  g_assert_no_error (error);
  member->output = g_strstrip (g_strndup (g_bytes_get_data (out, NULL) ?: "", g_bytes_get_size (out)));
  member->errors = g_strndup (g_bytes_get_data (err, NULL) ?: "", g_bytes_get_size (err));
  member->ok = g_subprocess_get_if_exited (G_SUBPROCESS (object)) &&
               g_subprocess_get_exit_status (G_SUBPROCESS (object)) == 0;
  member->done = TRUE;
}

/* Starts store-helper for the endpoint's client on @host (a directory for
 * its caches), sharing @redis under @prefix. */
static void
member_start (Member        *member,
              LocalEndpoint *endpoint,
              TestRedis     *redis,
              const char    *prefix,
              const char    *host,
              const char    *secret,
              guint          timeout)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "store-helper", NULL);
  g_autofree char *seconds = g_strdup_printf ("%u", timeout);
  g_autoptr(GError) error = NULL;

  memset (member, 0, sizeof *member);
  g_subprocess_launcher_setenv (launcher, "GRANT_CLIENT_SECRET", secret, TRUE);
  g_subprocess_launcher_setenv (launcher, "GRANT_TEST_KEY_PREFIX", prefix, TRUE);
  g_subprocess_launcher_setenv (launcher, "GRANT_TEST_TIMEOUT", seconds, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", host, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", host, TRUE);
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  member->process = g_subprocess_launcher_spawn (launcher, &error, helper, endpoint->token_url,
                                                 endpoint->client_id, "--redis", redis->url, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_async (member->process, NULL, NULL, member_communicated_cb, member);
}

static void
member_clear (Member *member)
{
  g_clear_object (&member->process);
  g_clear_pointer (&member->output, g_free);
  g_clear_pointer (&member->errors, g_free);
}

/* How many processes wait on the channel of a token under @prefix (the
 * one token of the test: its name holds a check of the sealing key, which
 * only the fleet's processes derive). */
static gint64
count_waiters (GrantRedisStore *probe,
               const char      *prefix)
{
  g_autofree char *pattern = g_strconcat (prefix, "*:saved", NULL);
  const char *channels[] = { "PUBSUB", "CHANNELS", pattern, NULL };
  g_autoptr(GrantRespValue) names = grant_redis_store_command (probe, channels, NULL, NULL);
  g_autoptr(GrantRespValue) reply = NULL;
  const char *numsub[] = { "PUBSUB", "NUMSUB", NULL, NULL };
  GrantRespValue *count;

  g_assert_nonnull (names);
  g_assert_cmpint (names->type, ==, GRANT_RESP_ARRAY);
  g_assert_cmpuint (names->elements->len, <=, 1);
  if (names->elements->len == 0)
    return 0;

  numsub[2] = ((GrantRespValue *) g_ptr_array_index (names->elements, 0))->data;
  reply = grant_redis_store_command (probe, numsub, NULL, NULL);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->type, ==, GRANT_RESP_ARRAY);
  g_assert_cmpuint (reply->elements->len, ==, 2);
  count = g_ptr_array_index (reply->elements, 1);
  g_assert_cmpint (count->type, ==, GRANT_RESP_INTEGER);

  return count->integer;
}

/* The one token key under @prefix. */
static char *
find_token_key (GrantRedisStore *probe,
                const char      *prefix)
{
  g_autofree char *pattern = g_strconcat (prefix, "*", NULL);
  const char *keys[] = { "KEYS", pattern, NULL };
  g_autoptr(GrantRespValue) names = grant_redis_store_command (probe, keys, NULL, NULL);
  char *found = NULL;

  g_assert_nonnull (names);
  g_assert_cmpint (names->type, ==, GRANT_RESP_ARRAY);
  for (guint i = 0; i < names->elements->len; i++)
    {
      GrantRespValue *name = g_ptr_array_index (names->elements, i);

      if (g_str_has_suffix (name->data, ":lock"))
        continue;
      g_assert_null (found);
      found = g_strdup (name->data);
    }
  g_assert_nonnull (found);

  return found;
}

static void
wait_for_waiters (GrantRedisStore *probe,
                  const char      *prefix,
                  gint64           n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (count_waiters (probe, prefix) < n)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5 * G_TIME_SPAN_MILLISECOND);
    }
}

static void
wait_for_held (LocalEndpoint *endpoint,
               guint          n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (local_endpoint_get_held (endpoint) < n)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5 * G_TIME_SPAN_MILLISECOND);
    }
}

static void
members_wait (Member *members,
              guint   n)
{
  for (guint i = 0; i < n; i++)
    {
      test_wait_until (&members[i].done);
      if (!members[i].ok)
        g_error ("A fleet member failed: %s", members[i].errors);
    }
}

/* Starts the fleet: FLEET_HOSTS hosts of FLEET_PROCESSES_PER_HOST. */
static void
fleet_start (Member        *members,
             LocalEndpoint *endpoint,
             TestRedis     *redis,
             const char    *prefix,
             char         **hosts)
{
  for (guint i = 0; i < FLEET_HOSTS * FLEET_PROCESSES_PER_HOST; i++)
    member_start (&members[i], endpoint, redis, prefix, hosts[i / FLEET_PROCESSES_PER_HOST],
                  endpoint->client_secret, 30);
}

/* What the fleet tests share: a redis-server, an endpoint, a store to look
 * into Redis with, and a directory for the members' hosts. */
typedef struct {
  TestRedis *redis;
  LocalEndpoint *endpoint;
  GrantRedisStore *probe;
  char *base;
} Fleet;

/* FALSE (the test skipped) without a redis-server. */
static gboolean
fleet_init (Fleet *fleet)
{
  if (!require_redis ())
    return FALSE;

  fleet->redis = test_redis_start (NULL, NULL);
  fleet->endpoint = test_endpoint_new (TRUE);
  fleet->probe = store_for (fleet->redis->url, 1);
  fleet->base = make_temp_dir ();

  return TRUE;
}

static void
fleet_clear (Fleet *fleet)
{
  if (fleet->base != NULL)
    test_remove_tree (fleet->base);
  g_clear_pointer (&fleet->base, g_free);
  g_clear_object (&fleet->probe);
  g_clear_pointer (&fleet->endpoint, local_endpoint_free);
  g_clear_pointer (&fleet->redis, test_redis_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Fleet, fleet_clear)

static void
test_fleet (void)
{
  g_auto(Fleet) fleet = { 0 };
  char *hosts[FLEET_HOSTS + 1] = { NULL };
  Member members[FLEET_HOSTS * FLEET_PROCESSES_PER_HOST];
  const guint n = G_N_ELEMENTS (members);
  g_autofree char *token = NULL;
  gint64 released;

  if (!fleet_init (&fleet))
    return;

  for (guint h = 0; h < FLEET_HOSTS; h++)
    {
      hosts[h] = g_strdup_printf ("%s/host-%u", fleet.base, h);
      g_assert_cmpint (g_mkdir (hosts[h], 0700), ==, 0);
    }

  /* A cold store, and every process at once: the first request is held
   * until all the others wait on the lock, so that they surely meet. */
  local_endpoint_hold (fleet.endpoint, TRUE);
  fleet_start (members, fleet.endpoint, fleet.redis, "fleet:", hosts);
  wait_for_held (fleet.endpoint, 1);
  wait_for_waiters (fleet.probe, "fleet:", n - 1);
  released = g_get_monotonic_time ();
  local_endpoint_hold (fleet.endpoint, FALSE);
  local_endpoint_release (fleet.endpoint);
  members_wait (members, n);
  /* Woken by the holder's message, not by the end of its lock (29 s). */
  g_assert_cmpint (g_get_monotonic_time () - released, <, 10 * G_USEC_PER_SEC);

  g_assert_cmpuint (local_endpoint_get_requests (fleet.endpoint), ==, 1);
  token = g_strdup (members[0].output);
  g_assert_cmpuint (strlen (token), >, 0);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (members[i].output, ==, token);
      member_clear (&members[i]);
    }

  /* Restarts, all at once again: the token is in Redis, nobody fetches. */
  fleet_start (members, fleet.endpoint, fleet.redis, "fleet:", hosts);
  members_wait (members, n);
  g_assert_cmpuint (local_endpoint_get_requests (fleet.endpoint), ==, 1);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (members[i].output, ==, token);
      member_clear (&members[i]);
    }

  /* Another environment, under its own prefix, has tokens of its own. */
  member_start (&members[0], fleet.endpoint, fleet.redis, "staging:", hosts[0], fleet.endpoint->client_secret, 30);
  members_wait (members, 1);
  g_assert_cmpuint (local_endpoint_get_requests (fleet.endpoint), ==, 2);
  g_assert_cmpstr (members[0].output, !=, token);
  member_clear (&members[0]);

  for (guint h = 0; h < FLEET_HOSTS; h++)
    g_free (hosts[h]);
}

/* The holder dies mid-fetch: its lock runs out a second before the
 * timeout, and one of the waiters fetches for the others. */
static void
test_fleet_holder_killed (void)
{
  g_auto(Fleet) fleet = { 0 };
  Member holder, waiters[2];
  gint64 killed;

  if (!fleet_init (&fleet))
    return;

  local_endpoint_hold (fleet.endpoint, TRUE);
  member_start (&holder, fleet.endpoint, fleet.redis, "fleet:", fleet.base,
                fleet.endpoint->client_secret, 4);
  wait_for_held (fleet.endpoint, 1);
  for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
    member_start (&waiters[i], fleet.endpoint, fleet.redis, "fleet:", fleet.base,
                  fleet.endpoint->client_secret, 4);
  wait_for_waiters (fleet.probe, "fleet:", G_N_ELEMENTS (waiters));

  g_subprocess_send_signal (holder.process, SIGKILL);
  test_wait_until (&holder.done);
  g_assert_false (holder.ok);
  killed = g_get_monotonic_time ();
  local_endpoint_hold (fleet.endpoint, FALSE);
  local_endpoint_release (fleet.endpoint);

  members_wait (waiters, G_N_ELEMENTS (waiters));
  g_assert_cmpuint (local_endpoint_get_requests (fleet.endpoint), ==, 2);
  g_assert_cmpstr (waiters[0].output, ==, waiters[1].output);
  /* Within the lock's life (3 s), not after each waited it out. */
  g_assert_cmpint (g_get_monotonic_time () - killed, <, 4 * G_USEC_PER_SEC);

  member_clear (&holder);
  for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
    member_clear (&waiters[i]);
}

/* A process with the client's id but another secret cannot open what the
 * others stored, and gets nothing from the endpoint either. */
static void
test_fleet_wrong_secret (void)
{
  g_auto(Fleet) fleet = { 0 };
  g_autofree char *redis_key = NULL;
  g_autoptr(GrantRespValue) raw = NULL;
  Member right, wrong;

  if (!fleet_init (&fleet))
    return;

  member_start (&right, fleet.endpoint, fleet.redis, "fleet:", fleet.base, fleet.endpoint->client_secret, 30);
  members_wait (&right, 1);
  g_assert_cmpuint (local_endpoint_get_requests (fleet.endpoint), ==, 1);

  /* What Redis holds shows neither the token nor the secret. */
  redis_key = find_token_key (fleet.probe, "fleet:");
  {
    const char *get[] = { "GET", redis_key, NULL };

    raw = grant_redis_store_command (fleet.probe, get, NULL, NULL);
  }
  g_assert_nonnull (raw);
  g_assert_cmpint (raw->type, ==, GRANT_RESP_BULK);
  g_assert_null (g_strstr_len (raw->data, raw->length, right.output));
  g_assert_null (g_strstr_len (raw->data, raw->length, fleet.endpoint->client_secret));

  /* Another secret seals under another name: the process finds nothing,
   * asks the fleet.endpoint, is refused, and leaves the others' token alone (as
   * during a secret's rotation, when both secrets are valid). */
  member_start (&wrong, fleet.endpoint, fleet.redis, "fleet:", fleet.base, "not-the-secret", 30);
  test_wait_until (&wrong.done);
  g_assert_false (wrong.ok);
  g_assert_cmpstr (wrong.output, ==, "");
  g_assert_nonnull (strstr (wrong.errors, "invalid_client"));
  g_assert_null (strstr (wrong.errors, "token store failed"));
  g_assert_null (strstr (wrong.errors, right.output));
  g_assert_null (strstr (wrong.errors, "not-the-secret"));
  g_assert_cmpuint (local_endpoint_get_requests (fleet.endpoint), ==, 2);
  {
    g_autofree char *still = find_token_key (fleet.probe, "fleet:");
    const char *get[] = { "GET", redis_key, NULL };
    g_autoptr(GrantRespValue) again = grant_redis_store_command (fleet.probe, get, NULL, NULL);

    g_assert_cmpstr (still, ==, redis_key);
    g_assert_cmpmem (again->data, again->length, raw->data, raw->length);
  }

  member_clear (&right);
  member_clear (&wrong);
}

/* An ACL user with only what docs/stores.md lists can do all of it: the
 * lock included (a refused command would be a warning, fatal here). */
static void
test_documented_acl (void)
{
  static const char *acl[] = { "--user", "fleet", "on", ">fleet-" PASSWORD,
                               "~prod:grant:*", "&prod:grant:*", "resetchannels", "&prod:grant:*",
                               "+get", "+set", "+del", "+pttl", "+eval", "+publish", "+subscribe",
                               "+select", NULL };
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(LocalEndpoint) endpoint = NULL;
  g_autoptr(GrantRedisStore) first = NULL;
  g_autoptr(GrantRedisStore) second = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  GrantTokenProvider *provider;

  if (!require_redis ())
    return;

  redis = test_redis_start (NULL, acl);
  endpoint = test_endpoint_new (FALSE);
  url = g_strdup_printf ("redis://fleet:fleet-" PASSWORD "@127.0.0.1:%u/0", redis->port);

  first = store_for (url, 1);
  grant_redis_store_set_key_prefix (first, "prod:grant:");
  provider = provider_with_store (endpoint, first);
  token = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (provider);

  second = store_for (url, 1);
  grant_redis_store_set_key_prefix (second, "prod:grant:");
  provider = provider_with_store (endpoint, second);
  again = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (again), ==, grant_token_get_access_token (token));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_finalize_object (provider);

  /* A wait for another's lock, and the wake-up by its save. */
  {
    g_autoptr(GrantTokenKey) key = test_key ();
    g_autoptr(GrantToken) saved = token_expiring_in ("acl-token", 3600);
    g_autoptr(GrantToken) loaded = NULL;
    g_autoptr(GObject) held = NULL;
    LockResult waiting = { 0 };
    g_autoptr(GrantRedisStore) probe = NULL;

    loaded = test_store_load (first, key, &error);
    g_assert_no_error (error);
    loaded = test_store_load (second, key, &error);
    g_assert_no_error (error);
    held = store_lock (first, key);
    grant_token_store_lock_async (GRANT_TOKEN_STORE (second), key, NULL, lock_cb, &waiting);
    probe = store_for (redis->url, 1);
    while (count_waiters (probe, "prod:grant:") < 1)
      g_main_context_iteration (NULL, FALSE);
    g_assert_true (test_store_save (first, key, saved, &error));
    test_wait_until (&waiting.done);
    g_assert_no_error (waiting.error);
    g_clear_object (&waiting.lock);
    loaded = test_store_load (second, key, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "acl-token");
  }
}

/* grant-token --store redis, the URL from GRANT_REDIS_URL */
static void
cli_run (Member        *member,
         LocalEndpoint *endpoint,
         const char    *redis_url)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "grant-token", NULL);
  g_autoptr(GError) error = NULL;

  memset (member, 0, sizeof *member);
  g_subprocess_launcher_setenv (launcher, "GRANT_CLIENT_SECRET", endpoint->client_secret, TRUE);
  if (redis_url != NULL)
    g_subprocess_launcher_setenv (launcher, "GRANT_REDIS_URL", redis_url, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "GRANT_REDIS_URL");
  g_subprocess_launcher_setenv (launcher, "GRANT_REDIS_KEY_PREFIX", "cli:", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  member->process = g_subprocess_launcher_spawn (launcher, &error, tool, "-v", "-c", endpoint->client_id,
                                                 "-u", endpoint->token_url, "--store", "redis", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_async (member->process, NULL, NULL, member_communicated_cb, member);
  test_wait_until (&member->done);
}

static void
test_cli (void)
{
  g_autoptr(TestRedis) redis = NULL;
  g_autoptr(LocalEndpoint) endpoint = NULL;
  Member unset, one, two;

  if (!require_redis ())
    return;

  redis = test_redis_start (PASSWORD, NULL);
  endpoint = test_endpoint_new (TRUE);

  /* The URL (with its password) comes from the environment only. */
  cli_run (&unset, endpoint, NULL);
  g_assert_false (unset.ok);
  g_assert_nonnull (strstr (unset.errors, "GRANT_REDIS_URL"));

  cli_run (&one, endpoint, redis->url);
  cli_run (&two, endpoint, redis->url);
  g_assert_true (one.ok);
  g_assert_true (two.ok);
  g_assert_cmpstr (one.output, ==, two.output);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_nonnull (strstr (two.errors, "redis store"));
  g_assert_null (strstr (one.errors, PASSWORD));
  g_assert_null (strstr (two.errors, PASSWORD));

  member_clear (&unset);
  member_clear (&one);
  member_clear (&two);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/redis/url", test_url);
  g_test_add_func ("/redis/properties", test_properties);
  g_test_add_func ("/redis/no-key", test_no_key);
  g_test_add_func ("/redis/round-trip", test_round_trip);
  g_test_add_func ("/redis/expiry", test_expiry);
  g_test_add_func ("/redis/garbage", test_garbage);
  g_test_add_func ("/redis/wrong-key", test_wrong_key);
  g_test_add_func ("/redis/auth", test_auth);
  g_test_add_func ("/redis/down-and-back", test_down_and_back);
  g_test_add_func ("/redis/tls", test_tls);
  g_test_add_func ("/redis/timeout", test_timeout);
  g_test_add_func ("/redis/cancelled", test_cancelled);
  g_test_add_func ("/redis/provider/shared", test_provider);
  g_test_add_func ("/redis/provider/redis-down", test_provider_redis_down);
  g_test_add_func ("/redis/provider/wrong-password", test_provider_wrong_password);
  g_test_add_func ("/redis/lock", test_lock);
  g_test_add_func ("/redis/documented-acl", test_documented_acl);
  g_test_add_func ("/redis/fleet/one-request", test_fleet);
  g_test_add_func ("/redis/fleet/holder-killed", test_fleet_holder_killed);
  g_test_add_func ("/redis/fleet/wrong-secret", test_fleet_wrong_secret);
  g_test_add_func ("/redis/cli", test_cli);

  return g_test_run ();
}
