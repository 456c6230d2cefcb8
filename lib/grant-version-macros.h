/* grant-version-macros.h: symbol visibility and availability
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include <glib.h>

#include "grant-version.h"

#ifndef _GRANT_EXTERN
# if defined(__GNUC__) && (__GNUC__ >= 4)
#  define _GRANT_EXTERN __attribute__((visibility("default"))) extern
# else
#  define _GRANT_EXTERN extern
# endif
#endif

/**
 * GRANT_VERSION_0_1:
 *
 * The encoded version of libgrant 0.1, for use with
 * `GRANT_VERSION_MIN_REQUIRED`.
 */
#define GRANT_VERSION_0_1 (GRANT_ENCODE_VERSION (0, 1, 0))

#ifndef GRANT_VERSION_MIN_REQUIRED
# define GRANT_VERSION_MIN_REQUIRED GRANT_VERSION_0_1
#endif

#ifndef GRANT_VERSION_MAX_ALLOWED
# define GRANT_VERSION_MAX_ALLOWED GRANT_VERSION_0_1
#endif

#define GRANT_AVAILABLE_IN_ALL _GRANT_EXTERN

#if GRANT_VERSION_MAX_ALLOWED < GRANT_VERSION_0_1
# define GRANT_AVAILABLE_IN_0_1 G_UNAVAILABLE (0, 1) _GRANT_EXTERN
#else
# define GRANT_AVAILABLE_IN_0_1 _GRANT_EXTERN
#endif

#define GRANT_DEPRECATED G_DEPRECATED _GRANT_EXTERN
#define GRANT_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _GRANT_EXTERN
