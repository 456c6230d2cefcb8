/* fuzz-provider-file.c: provider file parsing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <grant.h>

#include "grant-dialect-private.h"

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

  /* With its variables given: a safe value, then a hostile one. */
  if (dialect != NULL && grant_dialect_get_variables (dialect) != NULL)
    {
      const char * const *names = grant_dialect_get_variables (dialect);
      const char *values[] = { "v-1.example:8443", "evil.example/x?" };

      for (guint v = 0; v < G_N_ELEMENTS (values); v++)
        {
          g_autoptr(GPtrArray) variables = g_ptr_array_new_with_free_func (g_free);
          g_autoptr(GrantDialect) filled = NULL;
          g_autoptr(GError) fill_error = NULL;

          for (guint i = 0; names[i] != NULL; i++)
            g_ptr_array_add (variables, g_strconcat (names[i], "=", values[v], NULL));
          g_ptr_array_add (variables, NULL);

          filled = grant_dialect_new_from_data_with_variables ("fuzz", (const char *) data, size,
                                                               (const char * const *) variables->pdata,
                                                               &fill_error);
          g_assert_true ((filled == NULL) != (fill_error == NULL));
          /* A hostile value never gets into a URL. */
          if (v == 1)
            g_assert_null (filled);
          else if (filled != NULL && grant_dialect_get_token_url (filled) != NULL)
            g_assert_null (strchr (grant_dialect_get_token_url (filled), '{'));
        }
    }

  return 0;
}
