/* test-store.c: token keys, serialization, the file store, and providers
 * sharing tokens across restarts and processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

#define S G_GINT64_CONSTANT (1000000)

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("grant-store-XXXXXX", &error);

  g_assert_no_error (error);

  return dir;
}


/* Keys and serialization */

static void
test_key (void)
{
  const char *params[] = { "audience=a", NULL };
  const char *other_params[] = { "audience=b", NULL };
  g_autoptr(GrantTokenKey) key = grant_token_key_new ("https://a.example/token", "id",
                                                      GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", params);
  g_autoptr(GrantTokenKey) same = grant_token_key_new ("https://a.example/token", "id",
                                                       GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", params);
  GrantTokenKey *variants[] = {
    grant_token_key_new ("https://b.example/token", "id", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", params),
    grant_token_key_new ("https://a.example/token", "id2", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", params),
    grant_token_key_new ("https://a.example/token", "id", GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC, "read", params),
    grant_token_key_new ("https://a.example/token", "id", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "write", params),
    grant_token_key_new ("https://a.example/token", "id", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, NULL, params),
    grant_token_key_new ("https://a.example/token", "id", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", other_params),
    grant_token_key_new ("https://a.example/token", "id", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", NULL),
    /* Concatenations that would collide without length prefixes. */
    grant_token_key_new ("https://a.example/tokenid", "", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, "read", params),
  };

  g_assert_cmpuint (strlen (grant_token_key_get_id (key)), ==, 64);
  g_assert_cmpstr (grant_token_key_get_id (key), ==, grant_token_key_get_id (same));
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    g_assert_cmpstr (grant_token_key_get_id (key), !=, grant_token_key_get_id (variants[i]));

  g_assert_cmpstr (grant_token_key_get_token_url (key), ==, "https://a.example/token");
  g_assert_cmpstr (grant_token_key_get_client_id (key), ==, "id");
  g_assert_cmpstr (grant_token_key_get_scope (key), ==, "read");

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    g_clear_pointer (&variants[i], grant_token_key_unref);
}

static void
test_serialize (void)
{
  g_autoptr(GDateTime) issued = g_date_time_new_from_iso8601 ("2024-06-24T16:00:00.123456Z", NULL);
  g_autoptr(GDateTime) expires = g_date_time_add_hours (issued, 1);
  g_autoptr(JsonNode) response = json_from_string ("{\"data\":{\"user\":4242},\"success\":true}", NULL);
  g_autoptr(GrantToken) token = g_object_new (GRANT_TYPE_TOKEN,
                                              "access-token", "abc.def",
                                              "token-type", "DPoP",
                                              "scope", "read write",
                                              "issued-at", issued,
                                              "expires-at", expires,
                                              "response", response,
                                              NULL);
  g_autoptr(GrantToken) bare = grant_token_new ("x", NULL, NULL, issued, NULL);
  g_autofree char *data = grant_token_serialize (token);
  g_autofree char *bare_data = grant_token_serialize (bare);
  g_autoptr(GrantToken) back = NULL;
  g_autoptr(GrantToken) bare_back = NULL;
  g_autoptr(GError) error = NULL;

  back = grant_token_new_from_serialized (data, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (back), ==, "abc.def");
  g_assert_cmpstr (grant_token_get_token_type (back), ==, "DPoP");
  g_assert_cmpstr (grant_token_get_scope (back), ==, "read write");
  g_assert_true (g_date_time_equal (grant_token_get_issued_at (back), issued));
  g_assert_true (g_date_time_equal (grant_token_get_expires_at (back), expires));
  g_assert_true (json_node_equal (grant_token_get_response (back), response));

  bare_back = grant_token_new_from_serialized (bare_data, -1, &error);
  g_assert_no_error (error);
  g_assert_null (grant_token_get_scope (bare_back));
  g_assert_null (grant_token_get_expires_at (bare_back));
  g_assert_null (grant_token_get_response (bare_back));
}

static void
test_serialized_garbage (void)
{
  const char *cases[] = {
    "",
    "{",
    "[]",
    "{}",
    "{\"format\":\"libgrant-token\",\"version\":2,\"access_token\":\"a\",\"token_type\":\"Bearer\",\"issued_at\":\"2024-06-24T16:00:00Z\"}",
    "{\"format\":\"other\",\"version\":1,\"access_token\":\"a\",\"token_type\":\"Bearer\",\"issued_at\":\"2024-06-24T16:00:00Z\"}",
    "{\"format\":\"libgrant-token\",\"version\":1,\"token_type\":\"Bearer\",\"issued_at\":\"2024-06-24T16:00:00Z\"}",
    "{\"format\":\"libgrant-token\",\"version\":1,\"access_token\":\"a\\nb\",\"token_type\":\"Bearer\",\"issued_at\":\"2024-06-24T16:00:00Z\"}",
    "{\"format\":\"libgrant-token\",\"version\":1,\"access_token\":\"a\",\"token_type\":\"Bearer\",\"issued_at\":\"yesterday\"}",
    "{\"format\":\"libgrant-token\",\"version\":1,\"access_token\":\"a\",\"token_type\":\"Bearer\",\"issued_at\":\"2024-06-24T16:00:00Z\",\"expires_at\":7}",
    "{\"format\":\"libgrant-token\",\"version\":1,\"access_token\":\"a\",\"token_type\":\"Bearer\",\"issued_at\":\"2024-06-24T16:00:00Z\",\"scope\":true}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantToken) token = grant_token_new_from_serialized (cases[i], -1, &error);

      g_test_message ("case %u", i);
      g_assert_null (token);
      g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE);
    }
}

/* The file store */

static GrantTokenKey *
test_key_for (const char *url)
{
  return grant_token_key_new (url, "test-client", GRANT_AUTH_METHOD_CLIENT_SECRET_POST, NULL, NULL);
}

static void
test_file_store_round_trip (void)
{
  g_autofree char *base = make_temp_dir ();
  g_autofree char *dir = g_build_filename (base, "nested", "grant", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://a.example/token");
  g_autoptr(GDateTime) expires = g_date_time_new_now_utc ();
  g_autoptr(GrantToken) token = grant_token_new ("file-token", NULL, NULL, NULL, expires);
  g_autoptr(GrantToken) newer = grant_token_new ("newer-token", NULL, NULL, NULL, expires);
  g_autoptr(GrantToken) nothing = NULL;
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GrantToken) loaded_newer = NULL;
  g_autoptr(GrantToken) cleared = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *file_name = g_strconcat (grant_token_key_get_id (key), ".token", NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autoptr(GDir) listing = NULL;
  struct stat st;

  g_assert_cmpstr (grant_file_store_get_directory (store), ==, dir);

  nothing = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_no_error (error);
  g_assert_null (nothing);

  g_assert_true (test_store_save (GRANT_TOKEN_STORE (store), key, token, &error));
  g_assert_no_error (error);

  /* Readable by the owner alone. */
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  loaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (loaded), ==, "file-token");

  /* Replaced atomically: the new content, and no temporary file left. */
  g_assert_true (test_store_save (GRANT_TOKEN_STORE (store), key, newer, &error));
  loaded_newer = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_cmpstr (grant_token_get_access_token (loaded_newer), ==, "newer-token");
  listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, file_name);
  g_assert_null (g_dir_read_name (listing));

  g_assert_true (test_store_clear (GRANT_TOKEN_STORE (store), key, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  cleared = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_null (cleared);
  /* Clearing nothing is fine. */
  g_assert_true (test_store_clear (GRANT_TOKEN_STORE (store), key, &error));

  test_remove_tree (base);
}

static void
test_file_store_tightens_directory (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://a.example/token");
  g_autoptr(GrantToken) token = grant_token_new ("t", NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  struct stat st;

  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_assert_true (test_store_save (GRANT_TOKEN_STORE (store), key, token, &error));
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  test_remove_tree (dir);
}

static void
test_file_store_bad_files (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://a.example/token");
  g_autoptr(GrantToken) token = grant_token_new ("good-token", NULL, NULL, NULL, NULL);
  g_autofree char *file_name = g_strconcat (grant_token_key_get_id (key), ".token", NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  const char *contents[] = {
    "garbage",
    "",
    "{\"format\":\"libgrant-token\",\"version\":1,\"access_tok",   /* truncated */
    "\xff\xfe\x00\x01",
  };

  for (guint i = 0; i < G_N_ELEMENTS (contents); i++)
    {
      g_autoptr(GrantToken) loaded = NULL;
      g_autoptr(GrantToken) again = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (g_file_set_contents (path, contents[i], i == 3 ? 4 : -1, NULL));
      g_chmod (path, 0600);
      loaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
      g_assert_no_error (error);
      g_assert_null (loaded);
      /* Ignored, and out of the way of the next save. */
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      g_assert_true (test_store_save (GRANT_TOKEN_STORE (store), key, token, &error));
      again = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
      g_assert_cmpstr (grant_token_get_access_token (again), ==, "good-token");
    }

  test_remove_tree (dir);
}

static void
test_file_store_unwritable (void)
{
  g_autofree char *base = make_temp_dir ();
  g_autofree char *blocker = g_build_filename (base, "a-file", NULL);
  g_autofree char *dir = g_build_filename (blocker, "grant", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://a.example/token");
  g_autoptr(GrantToken) token = grant_token_new ("t", NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;

  /* A directory that cannot be made: its parent is a file. */
  g_assert_true (g_file_set_contents (blocker, "", -1, NULL));
  g_assert_false (test_store_save (GRANT_TOKEN_STORE (store), key, token, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, dir));

  test_remove_tree (base);
}

/* Providers with a store */

static GrantTokenProvider *
provider_with_store (LocalEndpoint   *endpoint,
                     GrantTokenStore *store)
{
  GrantTokenProvider *provider = grant_token_provider_new (endpoint->token_url, endpoint->client_id,
                                                           endpoint->client_secret);

  grant_token_provider_set_auto_refresh (provider, FALSE);
  grant_token_provider_set_store (provider, store);

  return provider;
}

static void
wait_for_file (const char *path,
               gboolean    exists)
{
  while (g_file_test (path, G_FILE_TEST_EXISTS) != exists)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_provider_restart (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  GrantTokenProvider *first = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  GrantTokenProvider *second = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantTokenKey) key = test_key_for (endpoint->token_url);
  g_autofree char *file_name = g_strconcat (grant_token_key_get_id (key), ".token", NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autofree char *contents = NULL;

  token = test_provider_get_token (first, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_finalize_object (first);

  /* What is stored holds the token, never the client secret. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, grant_token_get_access_token (token)));
  g_assert_null (strstr (contents, endpoint->client_secret));

  /* "Restart": a new provider takes the stored token, without a request. */
  second = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  reloaded = test_provider_get_token (second, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (reloaded), ==, grant_token_get_access_token (token));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  /* Invalidating it removes it from the store too. */
  grant_token_provider_invalidate (second, reloaded);
  wait_for_file (path, FALSE);

  g_assert_finalize_object (second);
  test_remove_tree (dir);
}

static void
test_stale_stored_token_not_served (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  gint64 start = g_get_real_time ();
  g_autoptr(TestClock) clock = test_clock_new (start);
  GrantTokenProvider *first = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  GrantTokenProvider *second = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) fetched = NULL;
  g_autoptr(GError) error = NULL;

  endpoint->expires_in = 100;
  grant_token_provider_set_clock (first, GRANT_CLOCK (clock));
  token = test_provider_get_token (first, NULL, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (first);

  /* Stale (the margin is 50 s of 100 s) by the time the next one starts. */
  test_clock_set (clock, start + 60 * S);
  second = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  grant_token_provider_set_clock (second, GRANT_CLOCK (clock));
  fetched = test_provider_get_token (second, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (fetched), !=, grant_token_get_access_token (token));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_assert_finalize_object (second);
  test_remove_tree (dir);
}

static void
test_picks_up_token_refreshed_elsewhere (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  gint64 start = g_get_real_time ();
  g_autoptr(TestClock) clock = test_clock_new (start);
  GrantTokenProvider *mine = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  GrantTokenProvider *theirs = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  g_autoptr(GrantToken) old = NULL;
  g_autoptr(GrantToken) refreshed = NULL;
  g_autoptr(GrantToken) picked = NULL;
  g_autoptr(GError) error = NULL;

  endpoint->expires_in = 100;
  grant_token_provider_set_clock (mine, GRANT_CLOCK (clock));
  grant_token_provider_set_clock (theirs, GRANT_CLOCK (clock));
  old = test_provider_get_token (mine, NULL, &error);
  g_assert_no_error (error);

  /* Another process refreshed the token (and saved it). */
  test_clock_set (clock, start + 60 * S);
  refreshed = test_provider_refresh (theirs, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  /* Mine is stale: it reads the store before fetching. */
  picked = test_provider_get_token (mine, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (picked), ==, grant_token_get_access_token (refreshed));
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_assert_finalize_object (mine);
  g_assert_finalize_object (theirs);
  test_remove_tree (dir);
}

static void
test_failing_store_degrades (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *base = make_temp_dir ();
  g_autofree char *blocker = g_build_filename (base, "a-file", NULL);
  g_autofree char *dir = g_build_filename (blocker, "grant", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) again = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (blocker, "", -1, NULL));
  provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));

  /* One warning, however often it fails; callers get their tokens. */
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*");
  token = test_provider_get_token (provider, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  grant_token_provider_invalidate (provider, NULL);
  again = test_provider_get_token (provider, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_assert_finalize_object (provider);
  test_remove_tree (base);
}

/* A store of the test's own, in memory, with a lock that records when it
 * is taken and released. */

#define TEST_TYPE_LOCK_STORE (test_lock_store_get_type ())
G_DECLARE_FINAL_TYPE (TestLockStore, test_lock_store, TEST, LOCK_STORE, GObject)

struct _TestLockStore
{
  GObject parent_instance;

  GString *events;
  char *stored;
  gboolean fail_lock;
  gboolean give_nothing;   /* lock_finish returns NULL without an error */
  gboolean hold_lock;      /* lock_async waits for test_lock_store_grant() */
  GTask *pending;
};

static void test_lock_store_iface_init (GrantTokenStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestLockStore, test_lock_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GRANT_TYPE_TOKEN_STORE, test_lock_store_iface_init))

static void
lock_released_cb (gpointer  data,
                  GObject  *where_the_object_was)
{
  TestLockStore *self = data;

  g_string_append (self->events, "unlock ");
}

static GrantToken *
test_lock_store_load (GrantTokenStore  *store,
                      GrantTokenKey    *key,
                      GCancellable     *cancellable,
                      GError          **error)
{
  TestLockStore *self = TEST_LOCK_STORE (store);

  g_string_append (self->events, "load ");

  return self->stored ? grant_token_new_from_serialized (self->stored, -1, error) : NULL;
}

static gboolean
test_lock_store_save (GrantTokenStore  *store,
                      GrantTokenKey    *key,
                      GrantToken       *token,
                      GCancellable     *cancellable,
                      GError          **error)
{
  TestLockStore *self = TEST_LOCK_STORE (store);

  g_string_append (self->events, "save ");
  g_free (self->stored);
  self->stored = grant_token_serialize (token);

  return TRUE;
}

static void
test_lock_store_lock_async (GrantTokenStore     *store,
                            GrantTokenKey       *key,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  TestLockStore *self = TEST_LOCK_STORE (store);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GObject *lock;

  if (self->fail_lock)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "No lock for you");
      return;
    }

  if (self->hold_lock)
    {
      self->pending = g_steal_pointer (&task);
      return;
    }

  g_string_append (self->events, "lock ");
  lock = g_object_new (G_TYPE_OBJECT, NULL);
  g_object_weak_ref (lock, lock_released_cb, self);
  g_task_return_pointer (task, lock, g_object_unref);
}

/* Another process let go: the lock waited for is granted. */
static void
test_lock_store_grant (TestLockStore *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->pending);
  GObject *lock = g_object_new (G_TYPE_OBJECT, NULL);

  g_string_append (self->events, "lock ");
  g_object_weak_ref (lock, lock_released_cb, self);
  g_task_return_pointer (task, lock, g_object_unref);
}

static GObject *
test_lock_store_lock_finish (GrantTokenStore  *store,
                             GAsyncResult     *result,
                             GError          **error)
{
  GObject *lock = g_task_propagate_pointer (G_TASK (result), error);

  /* A broken store: the provider must cope. */
  if (TEST_LOCK_STORE (store)->give_nothing)
    g_clear_object (&lock);

  return lock;
}

static void
test_lock_store_iface_init (GrantTokenStoreInterface *iface)
{
  iface->load = test_lock_store_load;
  iface->save = test_lock_store_save;
  iface->lock_async = test_lock_store_lock_async;
  iface->lock_finish = test_lock_store_lock_finish;
}

static void
test_lock_store_finalize (GObject *object)
{
  TestLockStore *self = TEST_LOCK_STORE (object);

  g_string_free (self->events, TRUE);
  g_free (self->stored);

  G_OBJECT_CLASS (test_lock_store_parent_class)->finalize (object);
}

static void
test_lock_store_class_init (TestLockStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_lock_store_finalize;
}

static void
test_lock_store_init (TestLockStore *self)
{
  self->events = g_string_new (NULL);
}

typedef struct {
  TestLockStore *store;
  char *events;     /* the store's events when the caller got its token */
  gboolean done;
} LockedResult;

static void
locked_get_token_cb (GObject      *object,
                     GAsyncResult *res,
                     gpointer      user_data)
{
  LockedResult *result = user_data;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  token = grant_token_provider_get_token_finish (GRANT_TOKEN_PROVIDER (object), res, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  result->events = g_strdup (result->store->events->str);
  result->done = TRUE;
}

static void
test_store_lock_held_around_fetch (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(TestLockStore) store = g_object_new (TEST_TYPE_LOCK_STORE, NULL);
  GrantTokenProvider *provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  GrantTokenProvider *second = NULL;
  LockedResult result = { store, NULL, FALSE };

  g_assert_true (grant_token_store_can_lock (GRANT_TOKEN_STORE (store)));

  /* A miss takes the lock, then loads again (another process may have
   * saved a token meanwhile); the lock is held until the token is saved,
   * and released before any caller hears of the token. */
  grant_token_provider_get_token_async (provider, NULL, locked_get_token_cb, &result);
  test_wait_until (&result.done);
  g_assert_cmpstr (result.events, ==, "load lock load save unlock ");
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_clear_pointer (&result.events, g_free);

  /* Another provider (another process, as far as the store knows) finds
   * the token: it neither locks nor fetches. */
  g_string_truncate (store->events, 0);
  second = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  result.done = FALSE;
  grant_token_provider_get_token_async (second, NULL, locked_get_token_cb, &result);
  test_wait_until (&result.done);
  g_assert_cmpstr (result.events, ==, "load ");
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_clear_pointer (&result.events, g_free);

  /* A refresh wants a new token whatever is stored: it neither loads nor
   * waits for the lock, and saves what it gets. */
  g_string_truncate (store->events, 0);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GrantToken) refreshed = test_provider_refresh (second, NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (refreshed);
  }
  g_assert_cmpstr (store->events->str, ==, "save ");
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  g_assert_finalize_object (provider);
  g_assert_finalize_object (second);
}

static void
test_store_lock_fails (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(TestLockStore) store = g_object_new (TEST_TYPE_LOCK_STORE, NULL);
  GrantTokenProvider *provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  /* A lock that cannot be taken is a store failure: one warning, and the
   * fetch goes on without it. */
  store->fail_lock = TRUE;
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*No lock for you*");
  token = test_provider_get_token (provider, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpstr (store->events->str, ==, "load save ");

  g_assert_finalize_object (provider);
}

static void
test_store_lock_gives_nothing (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(TestLockStore) store = g_object_new (TEST_TYPE_LOCK_STORE, NULL);
  GrantTokenProvider *provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;

  /* No lock and no error is a store failure like any other. */
  store->give_nothing = TRUE;
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*no lock and no error*");
  token = test_provider_get_token (provider, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (token);

  g_assert_finalize_object (provider);
}

static void
test_store_lock_then_network (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(TestLockStore) store = g_object_new (TEST_TYPE_LOCK_STORE, NULL);
  g_autoptr(TestNetworkMonitor) monitor = test_network_monitor_new (TRUE);
  GrantTokenProvider *provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  TestResult result = { 0 };

  /* The network goes while the fetch waits for another process's lock:
   * what counts is the network when the fetch would send, after the
   * lock and the store. */
  grant_token_provider_set_network_monitor (provider, G_NETWORK_MONITOR (monitor));
  store->hold_lock = TRUE;
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  while (store->pending == NULL)
    g_main_context_iteration (NULL, TRUE);
  test_network_monitor_set_available (monitor, FALSE);
  test_lock_store_grant (store);
  test_wait_until (&result.done);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 0);
  g_assert_cmpstr (store->events->str, ==, "load lock load unlock ");
  test_result_clear (&result);

  /* And back: the next fetch goes out. */
  test_network_monitor_set_available (monitor, TRUE);
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  while (store->pending == NULL)
    g_main_context_iteration (NULL, TRUE);
  test_lock_store_grant (store);
  test_wait_until (&result.done);
  g_assert_no_error (result.error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  test_result_clear (&result);

  g_assert_finalize_object (provider);
}

/* A lock that never comes, after a miss: the fetch gives up on it at its
 * timeout and goes to the network, without loading again; the lock that
 * comes late is let go at once. */
static void
test_store_lock_never_comes (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autoptr(TestLockStore) store = g_object_new (TEST_TYPE_LOCK_STORE, NULL);
  GrantTokenProvider *provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  TestResult result = { 0 };

  grant_token_provider_set_timeout (provider, 1);
  store->hold_lock = TRUE;
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store did not answer within 1 seconds*");
  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  test_wait_until (&result.done);
  g_test_assert_expected_messages ();
  g_assert_no_error (result.error);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_cmpstr (store->events->str, ==, "load save ");
  test_result_clear (&result);

  test_lock_store_grant (store);
  while (!g_str_has_suffix (store->events->str, "unlock "))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (store->events->str, ==, "load save lock unlock ");

  g_assert_finalize_object (provider);
}

static void
not_supported_cb (GObject      *object,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  GError **error = user_data;
  GObject *lock = grant_token_store_lock_finish (GRANT_TOKEN_STORE (object), res, error);

  g_assert_null (lock);
  g_assert_nonnull (*error);
}

static void
test_store_without_lock (void)
{
  g_autoptr(GrantSecretStore) keyring = NULL;
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) files = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://auth.example.com/token");
  g_autoptr(GError) error = NULL;

  g_assert_true (grant_token_store_can_lock (GRANT_TOKEN_STORE (files)));

  /* The keyring has no lock: asking for one says so, without I/O. */
  keyring = grant_secret_store_new ();
  g_assert_false (grant_token_store_can_lock (GRANT_TOKEN_STORE (keyring)));
  grant_token_store_lock_async (GRANT_TOKEN_STORE (keyring), key, NULL, not_supported_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  test_remove_tree (dir);
}

/* What the file store must not trust: things planted at a token file's
 * path, and directories that are not the user's alone. */

static gboolean
timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;

  return G_SOURCE_REMOVE;
}

/* Runs the default main context until *@done, or for @ms milliseconds at
 * most; returns *@done. A test of something that must not hang fails on
 * its own instead of waiting for the suite's timeout. */
static gboolean
wait_at_most (gboolean *done,
              guint     ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (ms, timed_out_cb, &timed_out);

  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);

  return *done;
}

static GrantToken *
store_load_within (GrantTokenStore  *store,
                   GrantTokenKey    *key,
                   guint             ms,
                   GError          **error)
{
  TestStoreResult result = { 0 };

  grant_token_store_load_async (store, key, NULL, test_store_load_cb, &result);
  g_assert_true (wait_at_most (&result.done, ms));
  if (result.error != NULL)
    g_propagate_error (error, result.error);

  return result.token;
}

typedef struct {
  gboolean done;
  GObject *lock;
  GError *error;
  gint64 when;
} LockResult;

static void
lock_cb (GObject      *object,
         GAsyncResult *res,
         gpointer      user_data)
{
  LockResult *result = user_data;

  result->lock = grant_token_store_lock_finish (GRANT_TOKEN_STORE (object), res, &result->error);
  result->when = g_get_monotonic_time ();
  result->done = TRUE;
}

static GObject *
store_lock (GrantTokenStore  *store,
            GrantTokenKey    *key,
            GError          **error)
{
  LockResult result = { 0 };

  grant_token_store_lock_async (store, key, NULL, lock_cb, &result);
  g_assert_true (wait_at_most (&result.done, 3000));
  if (result.error != NULL)
    g_propagate_error (error, result.error);

  return result.lock;
}

/* Gets a token within @ms milliseconds, or fails the test. */
static GrantToken *
provider_get_token_within (GrantTokenProvider *provider,
                           guint               ms)
{
  TestResult result = { 0 };

  grant_token_provider_get_token_async (provider, NULL, test_provider_get_token_cb, &result);
  g_assert_true (wait_at_most (&result.done, ms));
  g_assert_no_error (result.error);

  return result.token;
}

static char *
path_in (const char    *dir,
         GrantTokenKey *key,
         const char    *suffix)
{
  g_autofree char *name = g_strconcat (grant_token_key_get_id (key), suffix, NULL);

  return g_build_filename (dir, name, NULL);
}

/* A token file an attacker wrote, at @path. */
static void
plant_token (const char *path,
             const char *access_token)
{
  g_autoptr(GrantToken) token = grant_token_new (access_token, NULL, NULL, NULL, NULL);
  g_autofree char *serialized = grant_token_serialize (token);

  g_assert_true (g_file_set_contents_full (path, serialized, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* The names in @dir, sorted and joined with spaces. */
static char *
list_directory (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return g_strjoinv (" ", (char **) names->pdata);
}

static void
assert_token_file_ours (const char *path)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_uid, ==, geteuid ());
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
}

static void
test_file_store_planted_fifo (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for (endpoint->token_url);
  g_autofree char *path = path_in (dir, key, ".token");
  g_autofree char *lock_path = path_in (dir, key, ".lock");
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GrantToken) reloaded = NULL;
  g_autoptr(GObject) lock = NULL;
  g_autoptr(GError) error = NULL;

  /* Opening a FIFO for reading would wait for a writer for ever. */
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  loaded = store_load_within (GRANT_TOKEN_STORE (store), key, 3000, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "is a FIFO"));
  g_clear_error (&error);

  /* A provider goes to the network at once, well within its timeout, and
   * its save puts a token file in the FIFO's place. */
  provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  grant_token_provider_set_timeout (provider, 10);
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*is a FIFO*");
  token = provider_get_token_within (provider, 3000);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  assert_token_file_ours (path);
  reloaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_token_get_access_token (reloaded), ==, grant_token_get_access_token (token));

  /* A FIFO as the lock file is refused too. (The provider took no lock:
   * its store could not load.) */
  g_assert_false (g_file_test (lock_path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (mkfifo (lock_path, 0600), ==, 0);
  lock = store_lock (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_null (lock);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, lock_path));
  g_assert_nonnull (strstr (error->message, "is a FIFO"));

  g_assert_finalize_object (provider);
  test_remove_tree (dir);
}

static void
test_file_store_planted_symlink (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *base = make_temp_dir ();
  g_autofree char *dir = g_build_filename (base, "store", NULL);
  g_autofree char *planted = g_build_filename (base, "planted", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for (endpoint->token_url);
  g_autofree char *path = path_in (dir, key, ".token");
  g_autofree char *lock_path = path_in (dir, key, ".lock");
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) loaded = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GObject) lock = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  /* A link to a token someone else chose is not followed, and says so. */
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  plant_token (planted, "planted-token");
  g_assert_cmpint (symlink (planted, path), ==, 0);
  loaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "is a symbolic link"));
  g_clear_error (&error);

  /* A provider fetches its own, and the save replaces the link, not what
   * it points to. */
  provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*is a symbolic link*");
  token = provider_get_token_within (provider, 3000);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (grant_token_get_access_token (token), !=, "planted-token");
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  assert_token_file_ours (path);
  g_assert_true (g_file_get_contents (planted, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "planted-token"));

  /* Nor is a link as the lock file. (The provider took no lock: its
   * store could not load.) */
  g_assert_false (g_file_test (lock_path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (symlink (planted, lock_path), ==, 0);
  lock = store_lock (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_null (lock);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, lock_path));
  g_assert_nonnull (strstr (error->message, "is a symbolic link"));

  g_assert_finalize_object (provider);
  test_remove_tree (base);
}

static void
test_file_store_exposed_token_file (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for (endpoint->token_url);
  g_autofree char *path = path_in (dir, key, ".token");
  struct {
    guint mode;
    const char *why;
  } cases[] = {
    { 0644, "can be read by other users (mode 0644)" },
    { 0640, "can be read by other users (mode 0640)" },
    { 0620, "can be written by other users (mode 0620)" },
    { 0606, "can be written by other users (mode 0606)" },
  };
  GrantTokenProvider *provider = NULL;
  g_autoptr(GrantToken) token = NULL;

  /* A token others could read may have been read: it is not used. */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GrantToken) loaded = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("mode %04o", cases[i].mode);
      plant_token (path, "exposed-token");
      g_assert_cmpint (g_chmod (path, cases[i].mode), ==, 0);
      loaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
      g_assert_null (loaded);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, cases[i].why));
    }

  /* Nor is one of another user's (only root can make one). */
  if (geteuid () == 0)
    {
      g_autoptr(GrantToken) loaded = NULL;
      g_autoptr(GError) error = NULL;

      plant_token (path, "foreign-token");
      g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
      loaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
      g_assert_null (loaded);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, "belongs to uid 65534"));
    }

  /* A provider fetches, and saves a private file in its place. */
  provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*token file*");
  token = provider_get_token_within (provider, 3000);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (grant_token_get_access_token (token), !=, "exposed-token");
  g_assert_cmpstr (grant_token_get_access_token (token), !=, "foreign-token");
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  assert_token_file_ours (path);

  g_assert_finalize_object (provider);
  test_remove_tree (dir);
}

/* Makes base/store with a token planted in it, then gives it @mode and
 * @uid: the store must refuse it. No call uses it or writes to it, one
 * warning per store says why, and a provider gets its token from the
 * network. */
static void
check_refused_directory (const char *base,
                         guint       mode,
                         uid_t       uid,
                         const char *why)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = g_build_filename (base, "store", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantFileStore) other = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for (endpoint->token_url);
  g_autofree char *path = path_in (dir, key, ".token");
  g_autofree char *pattern = g_strdup_printf ("*token directory %s*%s*", dir, why);
  g_autofree char *provider_pattern = g_strdup_printf ("*token store failed*%s*", why);
  g_autoptr(GrantToken) token = grant_token_new ("mine", NULL, NULL, NULL, NULL);
  g_autoptr(GrantToken) fetched = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *contents_before = NULL;
  g_autofree char *contents_after = NULL;
  GrantTokenProvider *provider = NULL;
  struct stat st_before, st_after;

  g_test_message ("mode %04o, uid %d", mode, (int) uid);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  plant_token (path, "planted-token");
  g_assert_cmpint (chmod (dir, mode), ==, 0);
  if (uid != geteuid ())
    g_assert_cmpint (chown (dir, uid, uid), ==, 0);

  g_assert_cmpint (lstat (dir, &st_before), ==, 0);
  before = list_directory (dir);
  g_assert_true (g_file_get_contents (path, &contents_before, NULL, NULL));

  /* Every call fails with the reason; the first warns, once. */
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, pattern);
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GrantToken) loaded = NULL;
      g_autoptr(GObject) lock = NULL;
      g_autoptr(GError) error = NULL;

      loaded = test_store_load (GRANT_TOKEN_STORE (store), key, &error);
      g_assert_null (loaded);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, dir));
      g_assert_nonnull (strstr (error->message, why));
      g_clear_error (&error);

      g_assert_false (test_store_save (GRANT_TOKEN_STORE (store), key, token, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);

      lock = store_lock (GRANT_TOKEN_STORE (store), key, &error);
      g_assert_null (lock);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);

      g_assert_false (test_store_clear (GRANT_TOKEN_STORE (store), key, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
    }
  g_test_assert_expected_messages ();

  /* Another store of the same directory warns too; its provider fetches
   * from the network, and warns that it does. */
  provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (other));
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, pattern);
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, provider_pattern);
  fetched = provider_get_token_within (provider, 3000);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (grant_token_get_access_token (fetched), !=, "planted-token");
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  g_assert_finalize_object (provider);

  /* Nothing was written, removed or tightened. */
  after = list_directory (dir);
  g_assert_cmpstr (after, ==, before);
  g_assert_true (g_file_get_contents (path, &contents_after, NULL, NULL));
  g_assert_cmpstr (contents_after, ==, contents_before);
  g_assert_cmpint (lstat (dir, &st_after), ==, 0);
  g_assert_cmpint (st_after.st_mode, ==, st_before.st_mode);
  g_assert_cmpint (st_after.st_uid, ==, st_before.st_uid);

  test_remove_tree (dir);
}

static void
test_file_store_foreign_directory (void)
{
  g_autofree char *base = make_temp_dir ();

  if (geteuid () != 0)
    {
      g_test_skip ("Only root can make a directory of another user's");
      test_remove_tree (base);
      return;
    }

  /* Another user's, private to them, holding a token file this user can
   * read (as root can any). */
  check_refused_directory (base, 0700, 65534, "belongs to uid 65534");

  test_remove_tree (base);
}

static void
test_file_store_open_directory (void)
{
  g_autofree char *base = make_temp_dir ();
  struct {
    guint mode;
    const char *why;
  } cases[] = {
    { 0777, "can be written by other users (mode 0777)" },
    { 01777, "can be written by other users (mode 1777)" },
    { 0770, "can be written by other users (mode 0770)" },
    { 0722, "can be written by other users (mode 0722)" },
    { 0702, "can be written by other users (mode 0702)" },
  };

  /* The user's, but others could have planted or replaced its files. */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_refused_directory (base, cases[i].mode, geteuid (), cases[i].why);

  test_remove_tree (base);
}

static void
test_file_store_symlinked_directory (void)
{
  g_autofree char *base = make_temp_dir ();
  g_autofree char *real = g_build_filename (base, "real", NULL);
  g_autofree char *dir = g_build_filename (base, "link", NULL);
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://a.example/token");
  g_autoptr(GrantToken) token = grant_token_new ("t", NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *pattern = g_strdup_printf ("*token directory %s*is a symbolic link*", dir);
  g_autoptr(GDir) listing = NULL;

  /* Wherever it points, the store uses no directory through a link. */
  g_assert_cmpint (g_mkdir (real, 0700), ==, 0);
  g_assert_cmpint (symlink (real, dir), ==, 0);
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, pattern);
  g_assert_false (test_store_save (GRANT_TOKEN_STORE (store), key, token, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_assert_nonnull (strstr (error->message, "is a symbolic link"));
  listing = g_dir_open (real, 0, NULL);
  g_assert_null (g_dir_read_name (listing));

  test_remove_tree (base);
}

static void
test_file_store_lock_cancelled (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for ("https://a.example/token");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GObject) held = NULL;
  g_autoptr(GObject) again = NULL;
  g_autoptr(GError) error = NULL;
  LockResult waiting = { 0 };
  gint64 cancelled_at;

  /* Held, as by another process: an open file of its own. */
  held = store_lock (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (held);

  /* The wait goes on while the holder holds it... */
  grant_token_store_lock_async (GRANT_TOKEN_STORE (store), key, cancellable, lock_cb, &waiting);
  g_assert_false (wait_at_most (&waiting.done, 100));

  /* ...and ends at once when the caller gives up, as a provider does
   * when its timeout passes. */
  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  g_assert_true (wait_at_most (&waiting.done, 1000));
  g_assert_null (waiting.lock);
  g_assert_error (waiting.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (waiting.when - cancelled_at, <, 500 * G_TIME_SPAN_MILLISECOND);
  g_clear_error (&waiting.error);

  /* Released, it is anyone's. */
  g_clear_object (&held);
  again = store_lock (GRANT_TOKEN_STORE (store), key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);

  test_remove_tree (dir);
}

static void
test_provider_lock_wait_bounded (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GrantFileStore) store = grant_file_store_new (dir);
  g_autoptr(GrantFileStore) theirs = grant_file_store_new (dir);
  g_autoptr(GrantTokenKey) key = test_key_for (endpoint->token_url);
  GrantTokenProvider *provider = provider_with_store (endpoint, GRANT_TOKEN_STORE (store));
  g_autoptr(GObject) held = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  /* Another process holds the lock and does not let go: a provider waits
   * for it no longer than its timeout, then fetches. */
  held = store_lock (GRANT_TOKEN_STORE (theirs), key, &error);
  g_assert_no_error (error);
  grant_token_provider_set_timeout (provider, 1);
  start = g_get_monotonic_time ();
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*token store failed*");
  token = provider_get_token_within (provider, 5000);
  g_test_assert_expected_messages ();
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * S);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  g_assert_finalize_object (provider);
  test_remove_tree (dir);
}

/* Other processes */

static GSubprocess *
spawn_helper (LocalEndpoint *endpoint,
              const char    *dir,
              const char    *extra)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "store-helper", NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "GRANT_CLIENT_SECRET", endpoint->client_secret, TRUE);
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, helper, endpoint->token_url,
                                         endpoint->client_id, "--dir", dir, extra, NULL);
  g_assert_no_error (error);

  return process;
}

typedef struct {
  gboolean done;
  char *output;
  gboolean ok;
} Finished;

static void
communicated_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Finished *finished = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_finish (G_SUBPROCESS (object), result, &out, NULL, &error);
  g_assert_no_error (error);
  finished->output = g_strstrip (g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out)));
  finished->ok = g_subprocess_get_successful (G_SUBPROCESS (object));
  finished->done = TRUE;
}

static char *
run_helper (LocalEndpoint *endpoint,
            const char    *dir,
            const char    *extra)
{
  g_autoptr(GSubprocess) process = spawn_helper (endpoint, dir, extra);
  Finished finished = { 0 };

  g_subprocess_communicate_async (process, NULL, NULL, communicated_cb, &finished);
  test_wait_until (&finished.done);
  g_assert_true (finished.ok);

  return finished.output;
}

static void
test_two_processes (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *stored = NULL;

  first = run_helper (endpoint, dir, NULL);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  second = run_helper (endpoint, dir, NULL);
  g_assert_cmpstr (second, ==, first);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  stored = run_helper (endpoint, dir, "--load-only");
  g_assert_cmpstr (stored, ==, first);

  test_remove_tree (dir);
}

static void
test_eight_processes_one_request (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  GSubprocess *processes[8];
  Finished finished[8] = { { 0 } };
  gint64 deadline;

  /* The endpoint answers slowly: it holds the first answer while the
   * other processes pile up behind the lock. */
  endpoint->hold = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      processes[i] = spawn_helper (endpoint, dir, NULL);
      g_subprocess_communicate_async (processes[i], NULL, NULL, communicated_cb, &finished[i]);
    }

  while (local_endpoint_get_held (endpoint) < 1)
    g_main_context_iteration (NULL, TRUE);
  deadline = g_get_monotonic_time () + 500 * 1000;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);
  local_endpoint_release (endpoint);

  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      test_wait_until (&finished[i].done);
      g_assert_true (finished[i].ok);
      g_assert_cmpstr (finished[i].output, ==, finished[0].output);
    }
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      g_free (finished[i].output);
      g_object_unref (processes[i]);
    }
  test_remove_tree (dir);
}

static void
test_crashed_holder_leaves_no_lock (void)
{
  g_autoptr(LocalEndpoint) endpoint = test_endpoint_new (FALSE);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GSubprocess) crashing = NULL;
  g_autofree char *token = NULL;

  /* A process takes the lock and dies while fetching. */
  endpoint->hold = TRUE;
  crashing = spawn_helper (endpoint, dir, NULL);
  while (local_endpoint_get_held (endpoint) < 1)
    g_main_context_iteration (NULL, TRUE);
  g_subprocess_force_exit (crashing);
  g_assert_true (g_subprocess_wait (crashing, NULL, NULL));

  /* The next one is not blocked by it. */
  endpoint->hold = FALSE;
  token = run_helper (endpoint, dir, NULL);
  g_assert_nonnull (token);
  g_assert_cmpuint (local_endpoint_get_requests (endpoint), ==, 2);

  local_endpoint_release (endpoint);
  test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/store/key", test_key);
  g_test_add_func ("/store/serialize", test_serialize);
  g_test_add_func ("/store/serialized-garbage", test_serialized_garbage);
  g_test_add_func ("/store/file/round-trip", test_file_store_round_trip);
  g_test_add_func ("/store/file/tightens-directory", test_file_store_tightens_directory);
  g_test_add_func ("/store/file/bad-files", test_file_store_bad_files);
  g_test_add_func ("/store/file/unwritable", test_file_store_unwritable);
  g_test_add_func ("/store/file/planted-fifo", test_file_store_planted_fifo);
  g_test_add_func ("/store/file/planted-symlink", test_file_store_planted_symlink);
  g_test_add_func ("/store/file/exposed-token-file", test_file_store_exposed_token_file);
  g_test_add_func ("/store/file/foreign-directory", test_file_store_foreign_directory);
  g_test_add_func ("/store/file/open-directory", test_file_store_open_directory);
  g_test_add_func ("/store/file/symlinked-directory", test_file_store_symlinked_directory);
  g_test_add_func ("/store/file/lock-cancelled", test_file_store_lock_cancelled);
  g_test_add_func ("/store/provider/restart", test_provider_restart);
  g_test_add_func ("/store/provider/stale-stored-token", test_stale_stored_token_not_served);
  g_test_add_func ("/store/provider/picks-up-refreshed-token", test_picks_up_token_refreshed_elsewhere);
  g_test_add_func ("/store/provider/failing-store", test_failing_store_degrades);
  g_test_add_func ("/store/lock/held-around-fetch", test_store_lock_held_around_fetch);
  g_test_add_func ("/store/lock/fails", test_store_lock_fails);
  g_test_add_func ("/store/lock/not-offered", test_store_without_lock);
  g_test_add_func ("/store/lock/gives-nothing", test_store_lock_gives_nothing);
  g_test_add_func ("/store/lock/then-network", test_store_lock_then_network);
  g_test_add_func ("/store/lock/never-comes", test_store_lock_never_comes);
  g_test_add_func ("/store/lock/wait-bounded", test_provider_lock_wait_bounded);
  g_test_add_func ("/store/processes/two", test_two_processes);
  g_test_add_func ("/store/processes/eight-one-request", test_eight_processes_one_request);
  g_test_add_func ("/store/processes/crashed-holder", test_crashed_holder_leaves_no_lock);

  return g_test_run ();
}
