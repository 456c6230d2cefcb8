/* parentlib.h: a library of the parent project whose API uses Grant types
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <grant.h>

GrantTokenProvider *parent_make_provider (const char *token_url);
