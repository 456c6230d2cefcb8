/* grant-redis-store.h: tokens in Redis, shared across machines
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(GRANT_INSIDE) && !defined(GRANT_COMPILATION)
#error "Only <grant.h> can be included directly."
#endif

#include "grant-token-store.h"

G_BEGIN_DECLS

#define GRANT_TYPE_REDIS_STORE (grant_redis_store_get_type ())

GRANT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GrantRedisStore, grant_redis_store, GRANT, REDIS_STORE, GObject)

GRANT_AVAILABLE_IN_ALL
GrantRedisStore *grant_redis_store_new                (const char       *url,
                                                       GError          **error) G_GNUC_WARN_UNUSED_RESULT;

GRANT_AVAILABLE_IN_ALL
const char      *grant_redis_store_get_url            (GrantRedisStore  *self);
GRANT_AVAILABLE_IN_ALL
const char      *grant_redis_store_get_key_prefix     (GrantRedisStore  *self);
GRANT_AVAILABLE_IN_ALL
void             grant_redis_store_set_key_prefix     (GrantRedisStore  *self,
                                                       const char       *key_prefix);
GRANT_AVAILABLE_IN_ALL
GTlsDatabase    *grant_redis_store_get_tls_database   (GrantRedisStore  *self);
GRANT_AVAILABLE_IN_ALL
void             grant_redis_store_set_tls_database   (GrantRedisStore  *self,
                                                       GTlsDatabase     *database);
GRANT_AVAILABLE_IN_ALL
void             grant_redis_store_set_encryption_key (GrantRedisStore  *self,
                                                       GBytes           *key);

G_END_DECLS
