/* grant-redis-store-private.h: the Redis store's own client, for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "grant-redis-store.h"
#include "grant-resp-private.h"

G_BEGIN_DECLS

/* Sends one command on the store's connection and waits for its reply,
 * blocking: for tests, which look at what the store wrote. */
GrantRespValue *grant_redis_store_command (GrantRedisStore     *self,
                                           const char * const  *args,
                                           GCancellable        *cancellable,
                                           GError             **error);

/* How long each step of a command may take (5 seconds): tests shorten
 * it. Set before the store is used. */
void grant_redis_store_set_step_timeout (GrantRedisStore *self,
                                         guint            seconds);

/* The Redis key the token under @key is kept at, or NULL when the store
 * has no key to seal it with: for tests. */
char *grant_redis_store_dup_key_name (GrantRedisStore  *self,
                                      GrantTokenKey    *key,
                                      GError          **error);

G_END_DECLS
