/* grant-file-store.h: tokens in files, shared between processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include "grant-token-store.h"

G_BEGIN_DECLS

#define GRANT_TYPE_FILE_STORE (grant_file_store_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GrantFileStore, grant_file_store, GRANT, FILE_STORE, GObject)

GRANT_AVAILABLE_IN_ALL
GrantFileStore *grant_file_store_new           (const char     *directory) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
const char     *grant_file_store_get_directory (GrantFileStore *self);

G_END_DECLS
