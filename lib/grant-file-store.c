/* grant-file-store.c: tokens in files, shared between processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "grant-error.h"
#include "grant-file-store.h"
#include "grant-utils-private.h"

/**
 * GrantFileStore:
 *
 * A [iface@Grant.TokenStore] that keeps each token in a file of its own.
 *
 * The directory is made readable by its owner alone (mode 0700), each file
 * too (0600), and files are replaced atomically. A file that is corrupt,
 * truncated, not a regular file or not the user's is ignored (with a debug
 * message) and replaced by the next token saved.
 *
 * Processes that share the directory share tokens, and the store offers a
 * lock ([method@Grant.TokenStore.lock_async]) that a provider holds around
 * each fetch, so that when several processes need a token at once, one
 * fetches it and the others read what it saved. The lock is an advisory
 * `flock()` on a file beside the token's, and dies with the process that
 * holds it.
 */

struct _GrantFileStore
{
  GObject parent_instance;

  char *directory;
};

static void grant_file_store_iface_init (GrantTokenStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GrantFileStore, grant_file_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GRANT_TYPE_TOKEN_STORE, grant_file_store_iface_init))

enum {
  PROP_0,
  PROP_DIRECTORY,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

/* How long to wait for another process's lock before fetching anyway. */
#define LOCK_WAIT_LIMIT (90 * G_USEC_PER_SEC)

static char *
token_path (GrantFileStore *self,
            GrantTokenKey  *key,
            const char     *suffix)
{
  g_autofree char *name = g_strconcat (grant_token_key_get_id (key), suffix, NULL);

  return g_build_filename (self->directory, name, NULL);
}

static gboolean
ensure_directory (GrantFileStore  *self,
                  GError         **error)
{
  struct stat st;

  if (g_mkdir_with_parents (self->directory, 0700) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create the token directory %s: %s",
                   self->directory, g_strerror (saved_errno));
      return FALSE;
    }

  if (g_lstat (self->directory, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   "The token directory %s is not a directory", self->directory);
      return FALSE;
    }

  /* Tighten a directory of ours that others could read. */
  if (st.st_uid == getuid () && (st.st_mode & 0077) != 0 && g_chmod (self->directory, 0700) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot make the token directory %s private: %s",
                   self->directory, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/* Reads a token file, or says why it will not: no symbolic links, only a
 * regular file of the user's, of a sane size. */
static char *
read_token_file (const char  *path,
                 gsize       *length,
                 GError     **error)
{
  g_autoptr(GString) data = NULL;
  struct stat st;
  char buffer[4096];
  int fd;

  fd = g_open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s", g_strerror (saved_errno));
      return NULL;
    }

  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != getuid () ||
      st.st_size > GRANT_MAX_BODY_SIZE)
    {
      close (fd);
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                           "not a token file of this user's");
      return NULL;
    }

  data = g_string_sized_new (st.st_size + 1);
  while (TRUE)
    {
      gssize n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          grant_memory_wipe (buffer, sizeof buffer);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "%s", g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      g_string_append_len (data, buffer, n);
      if (data->len > GRANT_MAX_BODY_SIZE)
        break;
    }
  grant_memory_wipe (buffer, sizeof buffer);
  close (fd);

  *length = data->len;

  return g_string_free (g_steal_pointer (&data), FALSE);
}

static void
load_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantFileStore *self = source_object;
  g_autofree char *path = token_path (self, task_data, ".token");
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantSecret) data = NULL;
  GrantToken *token;
  gsize length = 0;

  data = read_token_file (path, &length, &error);
  if (data == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_task_return_pointer (task, NULL, NULL);
      else if (error->domain == G_IO_ERROR && error->code != G_IO_ERROR_TOO_MANY_LINKS)
        g_task_return_new_error (task, G_IO_ERROR, error->code,
                                 "Cannot read the token file %s: %s", path, error->message);
      else
        {
          /* ELOOP: a symbolic link; or a foreign file. */
          g_debug ("Ignoring the token file %s: %s", path, error->message);
          g_unlink (path);
          g_task_return_pointer (task, NULL, NULL);
        }
      return;
    }

  token = grant_token_new_from_serialized (data, length, NULL);
  if (token == NULL)
    {
      g_debug ("Ignoring the token file %s: it is corrupt or truncated", path);
      g_unlink (path);
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  g_task_return_pointer (task, token, g_object_unref);
}

static void
grant_file_store_load_async (GrantTokenStore     *store,
                             GrantTokenKey       *key,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_file_store_load_async);
  g_task_set_task_data (task, grant_token_key_ref (key), (GDestroyNotify) grant_token_key_unref);
  g_task_run_in_thread (task, load_in_thread);
}

static GrantToken *
grant_file_store_load_finish (GrantTokenStore  *store,
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
  GrantFileStore *self = source_object;
  SaveData *data = task_data;
  g_autofree char *path = token_path (self, data->key, ".token");
  g_autoptr(GrantSecret) serialized = grant_token_serialize (data->token);
  g_autoptr(GError) error = NULL;

  if (!ensure_directory (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Written to a temporary file of mode 0600, then renamed over. */
  if (!g_file_set_contents_full (path, serialized, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "Cannot save the token: %s", error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
grant_file_store_save_async (GrantTokenStore     *store,
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
  g_task_set_source_tag (task, grant_file_store_save_async);
  g_task_set_task_data (task, data, (GDestroyNotify) save_data_free);
  g_task_run_in_thread (task, save_in_thread);
}

static gboolean
grant_file_store_boolean_finish (GrantTokenStore  *store,
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
  GrantFileStore *self = source_object;
  g_autofree char *path = token_path (self, task_data, ".token");

  if (g_unlink (path) < 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               "Cannot remove the token file %s: %s", path, g_strerror (saved_errno));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
grant_file_store_clear_async (GrantTokenStore     *store,
                              GrantTokenKey       *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_file_store_clear_async);
  g_task_set_task_data (task, grant_token_key_ref (key), (GDestroyNotify) grant_token_key_unref);
  g_task_run_in_thread (task, clear_in_thread);
}

static void     grant_file_store_lock_async  (GrantTokenStore      *self,
                                              GrantTokenKey        *key,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
static GObject *grant_file_store_lock_finish (GrantTokenStore      *self,
                                              GAsyncResult         *result,
                                              GError              **error);

static void
grant_file_store_iface_init (GrantTokenStoreInterface *iface)
{
  iface->load_async = grant_file_store_load_async;
  iface->load_finish = grant_file_store_load_finish;
  iface->save_async = grant_file_store_save_async;
  iface->save_finish = grant_file_store_boolean_finish;
  iface->clear_async = grant_file_store_clear_async;
  iface->clear_finish = grant_file_store_boolean_finish;
  iface->lock_async = grant_file_store_lock_async;
  iface->lock_finish = grant_file_store_lock_finish;
}

/* The lock */

#define GRANT_TYPE_FILE_LOCK (grant_file_lock_get_type ())
G_DECLARE_FINAL_TYPE (GrantFileLock, grant_file_lock, GRANT, FILE_LOCK, GObject)

struct _GrantFileLock
{
  GObject parent_instance;

  int fd;
};

G_DEFINE_FINAL_TYPE (GrantFileLock, grant_file_lock, G_TYPE_OBJECT)

static void
grant_file_lock_finalize (GObject *object)
{
  GrantFileLock *self = GRANT_FILE_LOCK (object);

  /* Closing the descriptor releases the flock. */
  if (self->fd >= 0)
    close (self->fd);

  G_OBJECT_CLASS (grant_file_lock_parent_class)->finalize (object);
}

static void
grant_file_lock_class_init (GrantFileLockClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = grant_file_lock_finalize;
}

static void
grant_file_lock_init (GrantFileLock *self)
{
  self->fd = -1;
}

static void
lock_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantFileStore *self = source_object;
  g_autofree char *path = token_path (self, task_data, ".lock");
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + LOCK_WAIT_LIMIT;
  GrantFileLock *lock;
  int fd;

  if (!ensure_directory (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  fd = g_open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               "Cannot open the lock file %s: %s", path, g_strerror (saved_errno));
      return;
    }

  /* A non-blocking attempt every few milliseconds, so that cancelling
   * works; the holder is another process fetching a token. */
  while (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno != EWOULDBLOCK && errno != EINTR)
        {
          int saved_errno = errno;

          close (fd);
          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                                   "Cannot lock %s: %s", path, g_strerror (saved_errno));
          return;
        }

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        {
          close (fd);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      if (g_get_monotonic_time () > deadline)
        {
          close (fd);
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                   "Another process has held %s for too long", path);
          return;
        }

      g_usleep (5000);
    }

  lock = g_object_new (GRANT_TYPE_FILE_LOCK, NULL);
  lock->fd = fd;
  g_task_return_pointer (task, lock, g_object_unref);
}

static void
grant_file_store_lock_async (GrantTokenStore     *self,
                             GrantTokenKey       *key,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, grant_file_store_lock_async);
  g_task_set_task_data (task, grant_token_key_ref (key), (GDestroyNotify) grant_token_key_unref);
  g_task_run_in_thread (task, lock_in_thread);
}

static GObject *
grant_file_store_lock_finish (GrantTokenStore  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The object */

static void
grant_file_store_finalize (GObject *object)
{
  GrantFileStore *self = GRANT_FILE_STORE (object);

  g_free (self->directory);

  G_OBJECT_CLASS (grant_file_store_parent_class)->finalize (object);
}

static void
grant_file_store_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  GrantFileStore *self = GRANT_FILE_STORE (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_value_set_string (value, self->directory);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_file_store_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  GrantFileStore *self = GRANT_FILE_STORE (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_free (self->directory);
      self->directory = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_file_store_constructed (GObject *object)
{
  GrantFileStore *self = GRANT_FILE_STORE (object);

  G_OBJECT_CLASS (grant_file_store_parent_class)->constructed (object);

  if (self->directory == NULL)
    self->directory = g_build_filename (g_get_user_cache_dir (), "grant", NULL);
}

static void
grant_file_store_class_init (GrantFileStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = grant_file_store_constructed;
  object_class->finalize = grant_file_store_finalize;
  object_class->get_property = grant_file_store_get_property;
  object_class->set_property = grant_file_store_set_property;

  /**
   * GrantFileStore:directory:
   *
   * The directory the token files are in; a `grant` folder in the user's
   * cache directory when none is given.
   */
  properties[PROP_DIRECTORY] =
    g_param_spec_string ("directory", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
grant_file_store_init (GrantFileStore *self)
{
}

/**
 * grant_file_store_new:
 * @directory: (nullable) (type filename): the directory to keep tokens in,
 *   or `NULL` for a `grant` folder in the user's cache directory
 *
 * Creates a store that keeps tokens in files. The directory is created when
 * the first token is saved.
 *
 * Returns: (transfer full): a new file store
 */
GrantFileStore *
grant_file_store_new (const char *directory)
{
  return g_object_new (GRANT_TYPE_FILE_STORE, "directory", directory, NULL);
}

/**
 * grant_file_store_get_directory:
 * @self: a file store
 *
 * Gets the directory the token files are in.
 *
 * Returns: (type filename): the directory
 */
const char *
grant_file_store_get_directory (GrantFileStore *self)
{
  g_return_val_if_fail (GRANT_IS_FILE_STORE (self), NULL);

  return self->directory;
}
