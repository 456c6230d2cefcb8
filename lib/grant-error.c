/* grant-error.c: the Grant error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "grant-error.h"

/**
 * grant_error_quark:
 *
 * Returns the quark of the `GRANT_ERROR` error domain.
 *
 * Returns: the error domain of libgrant
 */
G_DEFINE_QUARK (grant-error-quark, grant_error)
