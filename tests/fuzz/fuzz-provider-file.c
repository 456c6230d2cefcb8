/* fuzz-provider-file.c: provider file parsing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <grant.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GrantDialect) dialect = NULL;
  g_autoptr(GError) error = NULL;

  dialect = grant_dialect_new_from_data ("fuzz", (const char *) data, size, &error);
  g_assert_true ((dialect == NULL) != (error == NULL));
  if (dialect != NULL)
    g_assert_nonnull (grant_dialect_get_access_token_pointer (dialect));

  return 0;
}
