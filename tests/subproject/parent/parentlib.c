/* parentlib.c: a library of the parent project whose API uses Grant types
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "parentlib.h"

/**
 * parent_make_provider:
 * @token_url: the token endpoint
 *
 * Returns: (transfer full): a provider for the parent's client
 */
GrantTokenProvider *
parent_make_provider (const char *token_url)
{
  return grant_token_provider_new (token_url, "parent-client", "parent-secret");
}
