/* test-utils.h: helpers shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <grant.h>

#include "grant-clock-private.h"
#include "grant-token-provider-private.h"
#include "local-endpoint.h"

G_BEGIN_DECLS

/* A local endpoint for a test; fails the test if it cannot listen. */
LocalEndpoint *test_endpoint_new      (gboolean  threaded);

/* Retries after a few milliseconds, without jitter; @max_attempts of 1
 * turns them off. */
void           test_fast_retries      (GrantTokenProvider *provider,
                                       guint               max_attempts);

/* Gives @session's auth manager Basic credentials of someone else's for
 * @url and below, as an application's own HTTP authentication would. */
void           test_session_use_other_credentials (SoupSession *session,
                                                   const char  *url);

/* Removes @path and everything below it. */
void           test_remove_tree       (const char *path);

/* Runs the default main context until *@done is TRUE. */
void           test_wait_until        (gboolean *done);

/* What a provider's get-token or refresh call gave: exactly one of @token
 * and @error, once @done. */
typedef struct {
  gboolean done;
  GrantToken *token;
  GError *error;
} TestResult;

void           test_result_clear          (TestResult *result);

/* Callbacks for grant_token_provider_get_token_async() and
 * grant_token_provider_refresh_async(); @user_data is a TestResult. */
void           test_provider_get_token_cb (GObject      *object,
                                           GAsyncResult *res,
                                           gpointer      user_data);
void           test_provider_refresh_cb   (GObject      *object,
                                           GAsyncResult *res,
                                           gpointer      user_data);

/* Each starts the call and runs the thread-default main context until it
 * is done, as libsoup's soup_test_session_async_send() does; with
 * GRANT_TEST_BLOCKING set in the environment, or after
 * test_use_blocking_calls (TRUE), test_provider_get_token() makes the
 * blocking call instead (test_provider_get_token_blocking()). */
void           test_use_blocking_calls    (gboolean             blocking);
GrantToken    *test_provider_get_token    (GrantTokenProvider  *provider,
                                           GCancellable        *cancellable,
                                           GError             **error);
GrantToken    *test_provider_refresh      (GrantTokenProvider  *provider,
                                           GCancellable        *cancellable,
                                           GError             **error);

/* The blocking grant_token_provider_get_token(), made on a thread of its
 * own while this one runs its thread-default main context (where an
 * in-process server answers) until the call returns. */
GrantToken    *test_provider_get_token_blocking (GrantTokenProvider  *provider,
                                                 GCancellable        *cancellable,
                                                 GError             **error);

/* What a token store's load, save or clear call gave, once @done: a load
 * gives a token or not, with no error then; a save or clear is @ok exactly
 * when it gives no error (the callbacks check both). */
typedef struct {
  gboolean done;
  gboolean ok;
  GrantToken *token;
  GError *error;
} TestStoreResult;

void           test_store_load_cb     (GObject      *object,
                                       GAsyncResult *res,
                                       gpointer      user_data);
void           test_store_save_cb     (GObject      *object,
                                       GAsyncResult *res,
                                       gpointer      user_data);
void           test_store_clear_cb    (GObject      *object,
                                       GAsyncResult *res,
                                       gpointer      user_data);

/* Each runs one call on @store (any GrantTokenStore) to its end. */
GrantToken    *test_store_load        (gpointer       store,
                                       GrantTokenKey *key,
                                       GError       **error);
gboolean       test_store_save        (gpointer       store,
                                       GrantTokenKey *key,
                                       GrantToken    *token,
                                       GError       **error);
gboolean       test_store_clear       (gpointer       store,
                                       GrantTokenKey *key,
                                       GError       **error);

/* Log capture: everything libgrant logs, at every level, for secret checks. */
void           test_capture_logs      (void);
char          *test_dup_captured_logs (void);

/* A wall clock the test moves by hand; its alarms fire when it reaches
 * them, as a real one does after a suspend. */
#define TEST_TYPE_CLOCK (test_clock_get_type ())
G_DECLARE_FINAL_TYPE (TestClock, test_clock, TEST, CLOCK, GrantClock)

TestClock     *test_clock_new         (gint64     start);
void           test_clock_set         (TestClock *self,
                                       gint64     now);
void           test_clock_advance     (TestClock *self,
                                       gint64     seconds);
gint64         test_clock_get_alarm   (TestClock *self);
guint          test_clock_get_armed   (TestClock *self);
guint          test_clock_get_fired   (TestClock *self);

/* Lets the time pass during which @provider answers callers with its last
 * transient failure instead of a new request: moves @clock past it, or
 * sleeps (a few milliseconds with test_fast_retries()) without one. */
void           test_provider_wait_quiet (GrantTokenProvider *provider,
                                         TestClock          *clock);

/* A GNetworkMonitor whose network comes and goes when the test says. */
#define TEST_TYPE_NETWORK_MONITOR (test_network_monitor_get_type ())
G_DECLARE_FINAL_TYPE (TestNetworkMonitor, test_network_monitor, TEST, NETWORK_MONITOR, GObject)

TestNetworkMonitor *test_network_monitor_new           (gboolean            available);
void                test_network_monitor_set_available (TestNetworkMonitor *self,
                                                        gboolean            available);

G_END_DECLS
