/* grant-dialect-private.h: provider files, inside libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-dialect.h"

G_BEGIN_DECLS

/* grant_dialect_new_from_data() with @variables filled in, as
 * grant_dialect_new_for_preset_with_variables() does for a preset: every
 * variable must have a value. For tests and the fuzzer. */
GrantDialect *grant_dialect_new_from_data_with_variables (const char         *name,
                                                          const char         *data,
                                                          gssize              length,
                                                          const char * const *variables,
                                                          GError            **error);

G_END_DECLS
