/* grant-fetch-private.h: one token acquisition, from start to end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "grant-clock-private.h"
#include "grant-client-key.h"
#include "grant-dialect.h"
#include "grant-discovery-private.h"
#include "grant-enums.h"
#include "grant-token.h"
#include "grant-token-store.h"

G_BEGIN_DECLS

/* What the network monitor said last: a provider keeps it up to date from
 * the monitor's signals, its fetches read it when they are about to send.
 * Both fields are atomic. */
typedef struct {
  gatomicrefcount ref_count;
  gint available;
  gint covers_loopback;        /* the monitor decides for loopback hosts too */
} GrantNetworkState;

GrantNetworkState *grant_network_state_new   (void);
GrantNetworkState *grant_network_state_ref   (GrantNetworkState *state);
void               grant_network_state_unref (GrantNetworkState *state);

/* What a fetch asks for, filled once by its owner and never changed: the
 * fetch reads nothing else. grant_fetch_new() takes it. */
typedef struct {
  /* The request. */
  char *token_url;              /* NULL or empty: found through the issuer */
  char *issuer;                 /* NULL or empty: none */
  char *client_id;
  char *client_secret;          /* wiped when freed */
  char *scope;
  GPtrArray *parameters;        /* of GrantParameter, in the order sent */
  GrantAuthMethod auth_method;
  GrantRequestFormat format;
  GrantDialect *dialect;
  gboolean allow_insecure_http;

  /* How: one exchange lasts at most @timeout seconds (0: no limit);
   * transient failures are tried @max_attempts times in all, backing off
   * from @retry_base_ms doubling to @retry_max_ms. */
  SoupSession *session;
  gboolean private_session;         /* @session carries libgrant's exchanges only */
  GTlsCertificate *tls_certificate; /* presented for mutual TLS, or NULL */
  GrantClientKey *client_key;       /* signs private_key_jwt assertions */
  GrantClientKey *dpop_key;         /* signs DPoP proofs, or NULL */
  char *dpop_nonce;                 /* the token endpoint's last, or NULL */
  char *assertion_audience;         /* NULL: the token URL */
  char *signing_algorithm;          /* of assertions; NULL: the key's own */
  GrantClock *clock;
  guint timeout;
  guint max_attempts;
  guint retry_base_ms;
  guint retry_max_ms;
  gboolean jitter;

  /* The store: locked (when it can be) around loading, fetching and
   * saving under @key. With @load_stored unset, a new token is fetched
   * even if one is stored. A stored token is taken if it is fresh by
   * @default_lifetime and @expiry_margin and is not @held, the token the
   * owner already has. */
  GrantTokenStore *store;       /* nullable */
  GMainContext *store_context;  /* where the store is called */
  GrantTokenKey *key;           /* NULL: nothing is stored */
  gboolean load_stored;
  GrantToken *held;             /* nullable */
  guint default_lifetime;
  guint expiry_margin;

  /* What the owner knows. */
  GrantDiscovery *discovery;    /* a document read before, or NULL */
  GrantNetworkState *network;   /* read once stored tokens are ruled out */
  gboolean background;          /* cancelling every caller does not stop it */
  guint generation;             /* the owner's, not used by the fetch */
} GrantFetchConfig;

void grant_fetch_config_free (GrantFetchConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantFetchConfig, grant_fetch_config_free)

typedef struct _GrantFetch GrantFetch;
typedef struct _GrantFetchWaiter GrantFetchWaiter;

/* How a fetch ended: a token or an error, and what it learnt on the way. */
typedef struct {
  GrantToken *token;                /* the token, or NULL */
  const GError *error;              /* why there is none, or NULL */
  const GrantDiscovery *discovery;  /* a document this fetch read, or NULL */
  const GError *store_error;        /* the store's first failure, or NULL */
  gboolean transient;               /* @error may go away if tried later */
  const char *dpop_nonce;           /* the token endpoint's last DPoP nonce */
  const char *dpop_url;             /* ...and its URL */
  gint64 retry_after_ms;            /* the last answer's Retry-After (at
                                     * most a minute), or -1 */

  /* Set by the done callback, if it wants, when callers wait in
   * @home_context (a reference; see grant_fetch_has_waiters_in()):
   * @home_func (@home_data) runs there before they complete, in the same
   * dispatch (one wake-up of that context for both). */
  GMainContext *home_context;
  GSourceFunc home_func;
  gpointer home_data;
  GDestroyNotify home_destroy;
} GrantFetchResult;

/* Called once when the fetch ends, on the worker thread (or the thread
 * that runs it: grant_fetch_run()), unless the owner detached the fetch
 * first; before any waiter completes. The fetch holds
 * no reference to @owner: an owner going away must detach its fetches
 * (without holding a lock the callback takes), which waits for a callback
 * in progress. On an error, returns a token
 * (transfer full) that waiters accepting a valid token get instead, or
 * NULL. */
typedef GrantToken *(*GrantFetchDoneFunc) (GrantFetch             *fetch,
                                           GrantFetchResult       *result,
                                           gpointer                owner);

GMainContext           *grant_fetch_worker_context   (void);

GrantFetch             *grant_fetch_new              (GrantFetchConfig   *config,
                                                      GrantFetchDoneFunc  done,
                                                      gpointer            owner);
GrantFetch             *grant_fetch_ref              (GrantFetch         *fetch);
void                    grant_fetch_unref            (GrantFetch         *fetch);
void                    grant_fetch_start            (GrantFetch         *fetch);
gboolean                grant_fetch_is_joinable      (GrantFetch         *fetch);
const GrantFetchConfig *grant_fetch_get_config       (GrantFetch         *fetch);
void                    grant_fetch_detach           (GrantFetch         *fetch);
gboolean                grant_fetch_has_waiters_in   (GrantFetch         *fetch,
                                                      GMainContext       *context);

/* An asynchronous caller: @task completes in its own context. FALSE when
 * the fetch takes no more callers. */
gboolean                grant_fetch_add_task         (GrantFetch         *fetch,
                                                      GTask              *task,
                                                      gboolean            accepts_valid_token);

/* A blocking caller: add, then wait (which frees it) until the fetch ends,
 * @cancellable is cancelled or the monotonic @deadline passes (-1: none).
 * NULL when the fetch takes no more callers. */
GrantFetchWaiter       *grant_fetch_add_waiter       (GrantFetch         *fetch,
                                                      gboolean            accepts_valid_token);
GrantToken             *grant_fetch_waiter_wait      (GrantFetchWaiter   *waiter,
                                                      GCancellable       *cancellable,
                                                      gint64              deadline,
                                                      GError            **error);

/* A blocking caller that made the fetch and its waiter runs it on its own
 * thread instead of starting it, then waits (which frees @waiter), when
 * grant_fetch_config_can_run() says it may. */
gboolean                grant_fetch_config_can_run (const GrantFetchConfig *config);
GrantToken             *grant_fetch_run          (GrantFetch         *fetch,
                                                  GrantFetchWaiter   *waiter,
                                                  GCancellable       *cancellable,
                                                  gint64              deadline,
                                                  GError            **error);

guint                   grant_fetch_count_runs   (void);

/* The longest a fetch of @config takes, in microseconds; -1: no limit. */
gint64                  grant_fetch_config_get_budget (const GrantFetchConfig *config);

/* A delay of @base_ms doubled @n times, at most @max_ms, of which the last
 * half is random with @jitter. */
gint64                  grant_backoff_ms         (guint               n,
                                                  guint               base_ms,
                                                  guint               max_ms,
                                                  gboolean            jitter);

G_END_DECLS
