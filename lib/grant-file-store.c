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
#include "grant-token-store-private.h"
#include "grant-utils-private.h"

/**
 * GrantFileStore:
 *
 * A [iface@Grant.TokenStore] that keeps each token in a file of its own.
 *
 * The store makes its directory when it first needs it, with mode 0700,
 * and makes private (0700) a directory of the user's that others can read.
 * Each file is written to a new temporary file of mode 0600 that is then
 * renamed over the old one, so that a reader never sees half a token. A
 * file that is corrupt or truncated is ignored (with a debug message) and
 * replaced by the next token saved.
 *
 * The store trusts neither its directory nor what it finds there. It uses
 * the directory only if it is a directory (not a symbolic link) of the
 * user's (the effective uid) that nobody else can write to; otherwise
 * every call fails with `G_IO_ERROR_PERMISSION_DENIED`
 * (`G_IO_ERROR_NOT_DIRECTORY` for a link or a file), nothing is read from
 * it or written to it, the store logs one warning saying why, and a
 * provider fetches its tokens from the network. Only the directory itself
 * is checked, not its parents.
 *
 * A token file must be a regular file (not a symbolic link, a FIFO, a
 * socket or a device) of the user's that nobody else can read or write,
 * since it holds a token; a lock file, a regular file of the user's that
 * nobody else can write. Anything else fails the call at once, with
 * `G_IO_ERROR_NOT_REGULAR_FILE` or `G_IO_ERROR_PERMISSION_DENIED` and an
 * error naming the path and what is wrong with it; a token file is left
 * for the next save to replace. No call waits on what it finds at a path:
 * files are opened with `O_NOFOLLOW | O_NONBLOCK`.
 *
 * Processes that share the directory share tokens, and the store offers a
 * lock ([method@Grant.TokenStore.lock_async]) that a provider holds around
 * each fetch, so that when several processes need a token at once, one
 * fetches it and the others read what it saved. The lock is an advisory
 * `flock()` on a file beside the token's, and dies with the process that
 * holds it. Waiting for it ends as soon as the call's cancellable is
 * cancelled (a provider cancels it when its
 * [property@Grant.TokenProvider:timeout] has passed), and after 90 seconds
 * in any case, with `G_IO_ERROR_TIMED_OUT`.
 */

struct _GrantFileStore
{
  GObject parent_instance;

  char *directory;
  int warned;   /* atomic: the directory was refused, and a warning said so */
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

/* How long to wait for another process's lock before fetching anyway,
 * when the caller does not give up first (a provider does, when its
 * timeout passes). */
#define LOCK_WAIT_LIMIT (90 * G_USEC_PER_SEC)

/* How often to try for a lock that another process holds, and to see
 * whether the caller gave up. */
#define LOCK_POLL_INTERVAL (5 * G_TIME_SPAN_MILLISECOND)

static char *
token_name (GrantTokenKey *key,
            const char    *suffix)
{
  return g_strconcat (grant_token_key_get_id (key), suffix, NULL);
}

static char *
token_path (GrantFileStore *self,
            GrantTokenKey  *key,
            const char     *suffix)
{
  g_autofree char *name = token_name (key, suffix);

  return g_build_filename (self->directory, name, NULL);
}

static const char *
describe_file_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISLNK (mode))
    return "a symbolic link";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";

  return "of an unknown type";
}

/* Refuses the directory: @error says why, and so does a warning, once per
 * store, since callers (a provider) carry on without the store. */
static void
refuse_directory (GrantFileStore  *self,
                  GError         **error,
                  int              code,
                  const char      *format,
                  ...) G_GNUC_PRINTF (4, 5);

static void
refuse_directory (GrantFileStore  *self,
                  GError         **error,
                  int              code,
                  const char      *format,
                  ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  if (g_atomic_int_compare_and_exchange (&self->warned, FALSE, TRUE))
    g_warning ("The token directory %s is not used, and no token is kept in it: %s",
               self->directory, reason);

  g_set_error (error, G_IO_ERROR, code, "The token directory %s is not used: %s",
               self->directory, reason);
}

/* Opens the store's directory, making it (mode 0700) if @create, and
 * checks that it can hold tokens: a directory, not a symbolic link, of
 * this user's, that nobody else can write to; one that others can only
 * read is made private. Returns a descriptor to open its files at, or -1
 * with @error set, or -1 alone if the directory does not exist and
 * @create is FALSE. */
static int
open_directory (GrantFileStore  *self,
                gboolean         create,
                GError         **error)
{
  struct stat st;
  int fd;

  /* Made only when nothing is there: whatever is there is checked. */
  if (create && g_lstat (self->directory, &st) < 0 && g_mkdir_with_parents (self->directory, 0700) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create the token directory %s: %s",
                   self->directory, g_strerror (saved_errno));
      return -1;
    }

  fd = open (self->directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT && !create)
        return -1;

      /* A symbolic link (ELOOP) or something else (ENOTDIR) in its place,
       * or a parent that is not a directory. */
      if ((saved_errno == ELOOP || saved_errno == ENOTDIR) &&
          g_lstat (self->directory, &st) == 0 && !S_ISDIR (st.st_mode))
        {
          refuse_directory (self, error, G_IO_ERROR_NOT_DIRECTORY,
                            "it is %s, not a directory", S_ISREG (st.st_mode)
                                                         ? "a file"
                                                         : describe_file_type (st.st_mode));
          return -1;
        }

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot open the token directory %s: %s",
                   self->directory, g_strerror (saved_errno));
      return -1;
    }

  if (fstat (fd, &st) < 0)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot examine the token directory %s: %s",
                   self->directory, g_strerror (saved_errno));
      return -1;
    }

  /* Another user could read, replace or plant token files in it. */
  if (st.st_uid != geteuid ())
    {
      close (fd);
      refuse_directory (self, error, G_IO_ERROR_PERMISSION_DENIED,
                        "it belongs to uid %u, not to this user (uid %u)",
                        (guint) st.st_uid, (guint) geteuid ());
      return -1;
    }

  /* Others could have planted or replaced files in it: it is not
   * tightened, since what it holds cannot be trusted. */
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      close (fd);
      refuse_directory (self, error, G_IO_ERROR_PERMISSION_DENIED,
                        "it can be written by other users (mode %04o)",
                        (guint) (st.st_mode & 07777));
      return -1;
    }

  /* Tighten a directory of ours that others could only read. */
  if ((st.st_mode & 0077) != 0 && fchmod (fd, 0700) < 0)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot make the token directory %s private: %s",
                   self->directory, g_strerror (saved_errno));
      return -1;
    }

  return fd;
}

/* Opens @name in @dir_fd without following a symbolic link or waiting (a
 * FIFO would wait for a writer), and checks what it opened: a regular file
 * of this user's that nobody else can write to, nor read if @secret. @what
 * and @path name it in errors; @st gets its status. */
static int
open_file (int          dir_fd,
           const char  *name,
           int          flags,
           const char  *what,
           const char  *path,
           gboolean     secret,
           struct stat *st,
           GError     **error)
{
  int fd;

  fd = openat (dir_fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      /* ELOOP: O_NOFOLLOW met a symbolic link (the name has no slash).
       * A socket (ENXIO) or a directory (EISDIR) does not open either. */
      if (saved_errno == ELOOP)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                     "The %s %s is a symbolic link, which is not followed", what, path);
      else if (saved_errno != ENOENT && fstatat (dir_fd, name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
               !S_ISREG (st->st_mode))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                     "The %s %s is %s, not a regular file", what, path, describe_file_type (st->st_mode));
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                     "Cannot open the %s %s: %s", what, path, g_strerror (saved_errno));
      return -1;
    }

  if (fstat (fd, st) < 0)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot examine the %s %s: %s", what, path, g_strerror (saved_errno));
      return -1;
    }

  if (!S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "The %s %s is %s, not a regular file", what, path, describe_file_type (st->st_mode));
      return -1;
    }

  if (st->st_uid != geteuid ())
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "The %s %s belongs to uid %u, not to this user (uid %u)",
                   what, path, (guint) st->st_uid, (guint) geteuid ());
      return -1;
    }

  if ((st->st_mode & (secret ? 0077 : (S_IWGRP | S_IWOTH))) != 0)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "The %s %s can be %s by other users (mode %04o)", what, path,
                   (st->st_mode & (S_IWGRP | S_IWOTH)) != 0 ? "written" : "read",
                   (guint) (st->st_mode & 07777));
      return -1;
    }

  return fd;
}

/* Reads a token file, or says why it will not: G_IO_ERROR_NOT_FOUND when
 * there is none, a GRANT_ERROR when it is too large to be a token, and
 * another G_IO_ERROR when it cannot be read or is refused. */
static char *
read_token_file (int          dir_fd,
                 const char  *name,
                 const char  *path,
                 gsize       *length,
                 GError     **error)
{
  g_autoptr(GString) data = NULL;
  struct stat st;
  char buffer[4096];
  int fd;

  fd = open_file (dir_fd, name, O_RDONLY, "token file", path, TRUE, &st, error);
  if (fd < 0)
    return NULL;

  if (st.st_size > GRANT_MAX_BODY_SIZE)
    {
      close (fd);
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE, "it is too large");
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
          grant_memory_wipe (data->str, data->len);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Cannot read the token file %s: %s", path, g_strerror (saved_errno));
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
  GrantStoreCall *call = task_data;
  g_autofree char *name = token_name (call->key, ".token");
  g_autofree char *path = token_path (self, call->key, ".token");
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantSecret) data = NULL;
  GrantToken *token;
  gsize length = 0;
  int dir_fd;

  dir_fd = open_directory (self, FALSE, &error);
  if (dir_fd < 0)
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_pointer (task, NULL, NULL);
      return;
    }

  data = read_token_file (dir_fd, name, path, &length, &error);
  if (data == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_task_return_pointer (task, NULL, NULL);
      else if (error->domain == G_IO_ERROR)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        {
          g_debug ("Ignoring the token file %s: %s", path, error->message);
          unlinkat (dir_fd, name, 0);
          g_task_return_pointer (task, NULL, NULL);
        }
      close (dir_fd);
      return;
    }

  token = grant_token_new_from_serialized (data, length, NULL);
  if (token == NULL)
    {
      g_debug ("Ignoring the token file %s: it is corrupt or truncated", path);
      unlinkat (dir_fd, name, 0);
      close (dir_fd);
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  close (dir_fd);
  g_task_return_pointer (task, token, g_object_unref);
}

static void
grant_file_store_load_async (GrantTokenStore     *store,
                             GrantTokenKey       *key,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  grant_store_call_in_thread (store, grant_file_store_load_async, key, NULL, cancellable,
                              callback, user_data, load_in_thread);
}

static void
save_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GrantFileStore *self = source_object;
  GrantStoreCall *data = task_data;
  g_autofree char *path = token_path (self, data->key, ".token");
  g_autoptr(GrantSecret) serialized = grant_token_serialize (data->token);
  g_autoptr(GError) error = NULL;
  int dir_fd;

  dir_fd = open_directory (self, TRUE, &error);
  if (dir_fd < 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  close (dir_fd);

  /* Written to a new temporary file of mode 0600 (O_CREAT | O_EXCL), then
   * renamed over whatever is at the path: a symbolic link or a FIFO there
   * is replaced, never followed or opened. */
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
  grant_store_call_in_thread (store, grant_file_store_save_async, key, token, cancellable,
                              callback, user_data, save_in_thread);
}

static void
clear_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GrantFileStore *self = source_object;
  GrantStoreCall *call = task_data;
  g_autofree char *name = token_name (call->key, ".token");
  g_autoptr(GError) error = NULL;
  int dir_fd;

  dir_fd = open_directory (self, FALSE, &error);
  if (dir_fd < 0)
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }

  if (unlinkat (dir_fd, name, 0) < 0 && errno != ENOENT)
    {
      int saved_errno = errno;
      g_autofree char *path = token_path (self, call->key, ".token");

      close (dir_fd);
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               "Cannot remove the token file %s: %s", path, g_strerror (saved_errno));
      return;
    }

  close (dir_fd);
  g_task_return_boolean (task, TRUE);
}

static void
grant_file_store_clear_async (GrantTokenStore     *store,
                              GrantTokenKey       *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  grant_store_call_in_thread (store, grant_file_store_clear_async, key, NULL, cancellable,
                              callback, user_data, clear_in_thread);
}

static void     grant_file_store_lock_async  (GrantTokenStore      *self,
                                              GrantTokenKey        *key,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);

static void
grant_file_store_iface_init (GrantTokenStoreInterface *iface)
{
  iface->load_async = grant_file_store_load_async;
  iface->load_finish = grant_store_call_token_finish;
  iface->save_async = grant_file_store_save_async;
  iface->save_finish = grant_store_call_boolean_finish;
  iface->clear_async = grant_file_store_clear_async;
  iface->clear_finish = grant_store_call_boolean_finish;
  iface->lock_async = grant_file_store_lock_async;
  iface->lock_finish = grant_store_call_object_finish;
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
  GrantStoreCall *call = task_data;
  g_autofree char *name = token_name (call->key, ".lock");
  g_autofree char *path = token_path (self, call->key, ".lock");
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + LOCK_WAIT_LIMIT;
  GrantFileLock *lock;
  struct stat st;
  int dir_fd;
  int fd;

  dir_fd = open_directory (self, TRUE, &error);
  if (dir_fd < 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  fd = open_file (dir_fd, name, O_RDWR | O_CREAT, "lock file", path, FALSE, &st, &error);
  close (dir_fd);
  if (fd < 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* A non-blocking attempt every few milliseconds, so that the wait ends
   * as soon as the caller gives up; the holder is another process
   * fetching a token. */
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
                                   "Another process has held %s for more than %d seconds",
                                   path, (int) (LOCK_WAIT_LIMIT / G_USEC_PER_SEC));
          return;
        }

      g_usleep (LOCK_POLL_INTERVAL);
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
  grant_store_call_in_thread (self, grant_file_store_lock_async, key, NULL, cancellable,
                              callback, user_data, lock_in_thread);
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
 * Creates a store that keeps tokens in files. The directory is created
 * (mode 0700) when the first token is saved or locked; it must be the
 * user's alone, see [class@Grant.FileStore].
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
