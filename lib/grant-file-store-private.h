/* grant-file-store-private.h: the cross-process lock of a file store
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-file-store.h"

G_BEGIN_DECLS

/* Takes an exclusive lock on @key that other processes see; dropping the
 * returned object releases it, and so does the process dying. */
void     grant_file_store_lock_async  (GrantFileStore       *self,
                                       GrantTokenKey        *key,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
GObject *grant_file_store_lock_finish (GrantFileStore       *self,
                                       GAsyncResult         *result,
                                       GError              **error);

G_END_DECLS
