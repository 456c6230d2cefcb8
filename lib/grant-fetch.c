/* grant-fetch.c: one token acquisition, from start to end
 *
 * A fetch gets one token for every caller (a waiter) that asks while it is
 * in flight, from any thread: asynchronous callers with a GTask, blocking
 * ones waiting on a condition. It starts from a snapshot of the request
 * (GrantFetchConfig) and reads nothing else: it takes the store's lock,
 * loads the stored token, reads the issuer's discovery document if it
 * must, sends the token request (again after a transient failure; with the
 * other method when AUTO's first is refused), saves the new token, reports
 * once to its owner and completes every waiter. When the last waiter
 * leaves, what is in flight is given up, unless it is a background refresh.
 *
 * Every fetch runs on one worker thread of libgrant's, which does nothing
 * but iterate its own main context, as GDBus's worker does: so a fetch
 * moves on whether or not the callers' threads iterate anything, and
 * libsoup always gets its connections back. The store is called in its
 * own context instead (where the application set it), since a store may be
 * written in a language that runs on one thread only; a blocking caller
 * that can acquire that context runs it while the store works, as
 * GTlsInteraction does. Each waiter is completed in its own context.
 *
 * On the worker, the state is explicit and fetch_process() alone moves it
 * on: a step either goes on to the next state at once, or starts one
 * asynchronous operation and waits in a state of its own; the operation's
 * callback records the outcome, sets the next state and calls
 * fetch_process() again. libsoup drives a SoupMessageQueueItem the same
 * way. Every wait is bounded by the request's timeout, enforced here: an
 * operation that overstays is given up (its late callback finds it is no
 * longer the current one and only cleans up), since libsoup 3.2 does not
 * cancel a message still queued for a connection.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "grant-assertion-private.h"
#include "grant-deadline-private.h"
#include "grant-dpop-private.h"
#include "grant-error.h"
#include "grant-fetch-private.h"
#include "grant-request-private.h"
#include "grant-response-private.h"
#include "grant-token-private.h"
#include "grant-tls-private.h"
#include "grant-utils-private.h"

typedef enum {
  FETCH_STARTING,     /* check the client */
  FETCH_LOCK,         /* take the store's lock */
  FETCH_LOCKING,      /* waiting for the store's lock */
  FETCH_LOAD,         /* load the stored token */
  FETCH_LOADING,      /* waiting for the stored token */
  FETCH_RESOLVE,      /* find the token endpoint: given, known or to discover */
  FETCH_DISCOVER,     /* send the discovery request */
  FETCH_DISCOVERING,  /* waiting for the discovery document */
  FETCH_READY,        /* the token endpoint is known: choose the first method */
  FETCH_REQUEST,      /* send the token request */
  FETCH_REQUESTING,   /* waiting for the token response */
  FETCH_BACKING_OFF,  /* waiting to try again after a transient failure */
  FETCH_SAVE,         /* save the new token */
  FETCH_SAVING,       /* waiting for the store */
  FETCH_FINISHING,    /* report, then complete every waiter */
  FETCH_FINISHED,
} FetchState;

/* A caller. An asynchronous one is completed and freed in its task's
 * context; a blocking one belongs to its thread, which frees it. */
struct _GrantFetchWaiter {
  GList link;                    /* in its queue while linked */
  GrantFetch *fetch;             /* a reference */
  gboolean linked;               /* under fetch->lock */
  gboolean accepts_valid_token;  /* a still-valid token beats an error */

  /* Asynchronous. */
  GTask *task;
  GSource *cancel_source;        /* in the task's context */

  /* Blocking: the rest, under @mutex. */
  GMutex mutex;
  GCond cond;
  gboolean done;
  gboolean cancelled;
  GrantToken *token;
  GError *error;
};

typedef GrantFetchWaiter Waiter;

struct _GrantFetch {
  gatomicrefcount ref_count;
  GrantFetchConfig *config;
  GrantFetchDoneFunc done;
  gpointer owner;              /* not a reference: see grant_fetch_detach() */
  GMutex done_lock;            /* held while @done runs */
  gboolean detached;           /* under @done_lock */

  /* Shared with the callers' threads, under @lock. */
  GMutex lock;
  GHashTable *task_waiters;    /* GMainContext -> GQueue of asynchronous waiters */
  GQueue blocking_waiters;
  guint n_waiters;
  gint abandoned;              /* atomic: every caller left, or the owner did */
  gint owner_left;             /* atomic: ...the owner did */
  gint finished;               /* atomic, set under @lock */
  int store_busy;              /* atomic: store calls waiting for its context */

  /* The rest is the worker's alone. */
  FetchState state;
  guint op;                    /* the operation in flight; older ones are late */
  GCancellable *cancellable;   /* the operation's */
  GSource *op_deadline;        /* a store call's time limit */

  /* The outcome. */
  GrantToken *token;
  GError *error;
  GrantDiscovery *discovery;   /* the document this fetch read */
  GError *store_error;

  GObject *lock_held;          /* the store's lock */
  gboolean lock_on_miss;       /* loaded before locking: lock if nothing fit */
  gboolean missed;             /* loaded and found nothing, before locking */

  /* The endpoint and the token request. */
  char *token_url;             /* the configured one, or the document's */
  GrantDiscoveryKind discovery_kind;
  char *discovery_redirect;    /* where the last discovery GET was sent on */
  guint discovery_hops;
  gboolean discovery_hop_pending; /* the next GET follows a redirect */
  char *dpop_nonce;            /* the token endpoint's last DPoP nonce */
  gboolean dpop_nonce_retried; /* a use_dpop_nonce answer was retried */
  guint auto_candidates;       /* AUTO: the methods it may try */
  guint auto_tried;
  GrantAuthMethod first_method; /* AUTO: the one that gave first_error */
  GrantAuthMethod attempt_method;
  GError *first_error;         /* AUTO: the first method's answer */

  /* Retries of transient failures. */
  guint attempts;
  FetchState retry_state;      /* FETCH_DISCOVER or FETCH_REQUEST */
  GSource *retry_source;

  /* The HTTP exchange in flight. */
  const char *what;            /* "token request" or "discovery request" */
  SoupMessage *message;
  GInputStream *stream;
  GByteArray *body;
  GSource *timeout_source;

  /* Run on a blocking caller's thread (grant_fetch_run()) until it ends or
   * must wait: the runner owns the state as the worker does otherwise. */
  GThread *runner;             /* atomic: set and cleared by it, under @lock */
  Waiter *runner_waiter;       /* its caller's */
  GCancellable *runner_cancellable; /* under @lock: its exchange in flight */
  gint runner_caller_left;     /* atomic: the runner's caller cancelled */
  gboolean runner_stopped;     /* its exchange cancelled because its caller left */
  GError *runner_error;        /* its exchange's, or NULL with a body */
};

static void fetch_process (GrantFetch *fetch);

/* The worker */

static gpointer
worker_main (gpointer data)
{
  GMainContext *context = data;

  g_main_context_push_thread_default (context);
  for (;;)
    g_main_context_iteration (context, TRUE);

  return NULL;
}

/* The main context every fetch runs in, on a thread of libgrant's that
 * lives as long as the process. */
GMainContext *
grant_fetch_worker_context (void)
{
  static GMainContext *context;

  if (g_once_init_enter (&context))
    {
      GMainContext *worker = g_main_context_new ();

      g_thread_unref (g_thread_new ("libgrant", worker_main, worker));
      g_once_init_leave (&context, worker);
    }

  return context;
}

/* Runs @func (fetch) on the worker. */
static void
post_to_worker (GrantFetch  *fetch,
                GSourceFunc  func)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, grant_fetch_ref (fetch), (GDestroyNotify) grant_fetch_unref);
  g_source_set_static_name (source, "[libgrant] fetch");
  g_source_attach (source, grant_fetch_worker_context ());
  g_source_unref (source);
}

/* Whether this thread runs @fetch: the blocking caller that made it,
 * until it hands the fetch to the worker. */
static gboolean
runs_here (GrantFetch *fetch)
{
  /* Only the runner sets and clears it: it needs no lock to look for
   * itself, and any other thread sees "not me". */
  return g_atomic_pointer_get (&fetch->runner) == g_thread_self ();
}

/* A source on the worker calling @func (fetch); attached and returned.
 * On the runner's thread it is attached when the worker takes the fetch
 * over (the runner waits for nothing itself). */
static GSource *
worker_timeout (GrantFetch  *fetch,
                guint        ms,
                GSourceFunc  func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, fetch, NULL);
  g_source_set_static_name (source, "[libgrant] fetch timer");
  if (!runs_here (fetch))
    g_source_attach (source, grant_fetch_worker_context ());

  return source;
}

/* Destroys and drops *@source, if there is one. */
static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

void
grant_fetch_config_free (GrantFetchConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->token_url);
  g_free (config->issuer);
  g_free (config->client_id);
  grant_secret_free (config->client_secret);
  g_free (config->scope);
  g_clear_pointer (&config->parameters, g_ptr_array_unref);
  g_clear_object (&config->dialect);
  g_clear_object (&config->session);
  g_clear_object (&config->clock);
  g_clear_object (&config->tls_certificate);
  g_clear_object (&config->client_key);
  g_clear_object (&config->dpop_key);
  g_free (config->dpop_nonce);
  g_free (config->assertion_audience);
  g_free (config->signing_algorithm);
  g_clear_object (&config->store);
  g_clear_pointer (&config->store_context, g_main_context_unref);
  g_clear_pointer (&config->key, grant_token_key_unref);
  g_clear_object (&config->held);
  g_clear_pointer (&config->discovery, grant_discovery_free);
  g_clear_pointer (&config->network, grant_network_state_unref);
  g_free (config);
}

GrantNetworkState *
grant_network_state_new (void)
{
  GrantNetworkState *state = g_new0 (GrantNetworkState, 1);

  g_atomic_ref_count_init (&state->ref_count);
  state->available = TRUE;

  return state;
}

GrantNetworkState *
grant_network_state_ref (GrantNetworkState *state)
{
  g_atomic_ref_count_inc (&state->ref_count);

  return state;
}

void
grant_network_state_unref (GrantNetworkState *state)
{
  if (g_atomic_ref_count_dec (&state->ref_count))
    g_free (state);
}

#define RETRY_AFTER_CAP_MS 60000

/* The longest a fetch of @config can take, in microseconds, or -1 when it
 * has no time limit: every wait in it is bounded by the timeout. */
gint64
grant_fetch_config_get_budget (const GrantFetchConfig *config)
{
  gint64 timeout = (gint64) config->timeout * G_USEC_PER_SEC;
  gint64 pause = (gint64) MAX (config->retry_max_ms, RETRY_AFTER_CAP_MS) * 1000;
  /* AUTO's second method is one more request; discovery may ask twice
   * (two well-known locations), each with retries. */
  gint64 requests = config->max_attempts + 1;
  gint64 exchanges = requests * timeout + (requests - 1) * pause;

  if (config->timeout == 0)
    return -1;

  if (config->token_url == NULL || *config->token_url == '\0')
    exchanges *= 3;

  return exchanges + (config->key != NULL ? 3 * timeout : 0);
}

gint64
grant_backoff_ms (guint    n,
                  guint    base_ms,
                  guint    max_ms,
                  gboolean jitter)
{
  gint64 delay = MIN ((gint64) base_ms << MIN (n, 20), (gint64) max_ms);

  /* Many clients do not come back at the same instant. */
  if (jitter)
    delay = delay / 2 + (gint64) (g_random_double () * (delay / 2));

  return delay;
}

/* Set under @lock, read anywhere. */
static gboolean
is_abandoned (GrantFetch *fetch)
{
  return g_atomic_int_get (&fetch->abandoned);
}

/* Why an abandoned fetch stops, for its error. */
static const char *
abandoned_why (GrantFetch *fetch)
{
  return g_atomic_int_get (&fetch->owner_left) ? "The provider went away" : "Every caller cancelled";
}

static gboolean
is_set (const char *str)
{
  return str != NULL && *str != '\0';
}

/* Ends the fetch with @error (taking it). */
static void
fetch_fail (GrantFetch *fetch,
            GError     *error)
{
  g_assert (fetch->error == NULL);

  g_clear_object (&fetch->token);
  fetch->error = error;
  fetch->state = FETCH_FINISHING;
}

static void
fetch_fail_cancelled (GrantFetch *fetch,
                      const char *why)
{
  fetch_fail (fetch, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, why));
}

/* A store that fails is no error for callers: the owner hears of the first
 * failure, and the fetch goes on without the store. */
static void
store_failed (GrantFetch   *fetch,
              const GError *error)
{
  g_debug ("The token store failed: %s", error->message);
  if (fetch->store_error == NULL)
    fetch->store_error = g_error_copy (error);
}

/* Operations. One is in flight at a time; giving it up (its time ran out,
 * or nobody waits any more) makes it late, and its callback then only
 * cleans up. */

typedef struct {
  GrantFetch *fetch;  /* a reference */
  guint op;
} Op;

static Op *
op_begin (GrantFetch *fetch)
{
  Op *op = g_new (Op, 1);

  op->fetch = grant_fetch_ref (fetch);
  op->op = ++fetch->op;
  g_clear_object (&fetch->cancellable);
  fetch->cancellable = g_cancellable_new ();

  return op;
}

static void
op_free (Op *op)
{
  grant_fetch_unref (op->fetch);
  g_free (op);
}

/* Whether @op is still the one in flight; on the worker. */
static gboolean
op_is_current (Op *op)
{
  return op->op == op->fetch->op;
}

static void fetch_clear_exchange (GrantFetch *fetch);

/* Gives up the operation in flight, whatever it is. */
static void
fetch_give_up_op (GrantFetch *fetch)
{
  fetch->op++;
  if (fetch->cancellable != NULL)
    g_cancellable_cancel (fetch->cancellable);
  g_clear_object (&fetch->cancellable);
  clear_source (&fetch->op_deadline);
  clear_source (&fetch->retry_source);
  fetch_clear_exchange (fetch);
}

/* Waiters */

static Waiter *
waiter_new (GrantFetch *fetch,
            gboolean    accepts_valid_token)
{
  Waiter *waiter = g_new0 (Waiter, 1);

  waiter->link.data = waiter;
  waiter->fetch = grant_fetch_ref (fetch);
  waiter->accepts_valid_token = accepts_valid_token;
  g_mutex_init (&waiter->mutex);
  g_cond_init (&waiter->cond);

  return waiter;
}

static void
waiter_free (Waiter *waiter)
{
  clear_source (&waiter->cancel_source);
  g_clear_object (&waiter->task);
  g_clear_object (&waiter->token);
  g_clear_error (&waiter->error);
  g_mutex_clear (&waiter->mutex);
  g_cond_clear (&waiter->cond);
  grant_fetch_unref (waiter->fetch);
  g_free (waiter);
}

/* The queue @waiter is in: its context's, or the blocking ones'. With
 * the lock held. */
static GQueue *
waiter_queue (GrantFetch *fetch,
              Waiter     *waiter)
{
  GMainContext *context;
  GQueue *queue;

  if (waiter->task == NULL)
    return &fetch->blocking_waiters;

  context = g_task_get_context (waiter->task);
  queue = g_hash_table_lookup (fetch->task_waiters, context);
  if (queue == NULL)
    {
      queue = g_queue_new ();
      g_hash_table_insert (fetch->task_waiters, context, queue);
    }

  return queue;
}

/* Unlinks @waiter if it is still waiting. Returns FALSE when the fetch has
 * taken it to complete it. Sets *@nobody_left when it was the last waiter
 * of a fetch that stops without waiters: from then on nobody can join it,
 * and new callers start a fetch of their own rather than join a dying
 * one. */
static gboolean
waiter_unlink (Waiter   *waiter,
               gboolean *nobody_left)
{
  GrantFetch *fetch = waiter->fetch;
  gboolean was_linked;

  g_mutex_lock (&fetch->lock);
  /* Once the fetch has finished, its queues are the deliveries'. */
  was_linked = waiter->linked && !g_atomic_int_get (&fetch->finished);
  if (was_linked)
    {
      g_queue_unlink (waiter_queue (fetch, waiter), &waiter->link);
      waiter->linked = FALSE;
      fetch->n_waiters--;
    }
  *nobody_left = was_linked && fetch->n_waiters == 0 && !fetch->config->background &&
                 !is_abandoned (fetch);
  if (*nobody_left)
    g_atomic_int_set (&fetch->abandoned, TRUE);
  g_mutex_unlock (&fetch->lock);

  return was_linked;
}

static void fetch_stop (GrantFetch *fetch,
                        const char *why);

static gboolean
abandoned_cb (gpointer user_data)
{
  g_debug ("Every caller left; stopping the fetch");
  fetch_stop (user_data, "Every caller cancelled");

  return G_SOURCE_REMOVE;
}

/* In the task's context. */
static gboolean
waiter_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = user_data;
  gboolean nobody_left;

  /* Taken by the fetch already: its delivery completes and frees it. */
  if (!waiter_unlink (waiter, &nobody_left))
    return G_SOURCE_REMOVE;

  g_task_return_error_if_cancelled (waiter->task);
  /* Nobody wants this token any more: stop the request, unless it is a
   * background refresh. */
  if (nobody_left)
    post_to_worker (waiter->fetch, abandoned_cb);
  waiter_free (waiter);

  return G_SOURCE_REMOVE;
}

gboolean
grant_fetch_add_task (GrantFetch *fetch,
                      GTask      *task,
                      gboolean    accepts_valid_token)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Waiter *waiter;

  g_mutex_lock (&fetch->lock);
  if (is_abandoned (fetch) || g_atomic_int_get (&fetch->finished))
    {
      g_mutex_unlock (&fetch->lock);
      return FALSE;
    }

  waiter = waiter_new (fetch, accepts_valid_token);
  waiter->task = g_object_ref (task);
  if (cancellable != NULL)
    {
      waiter->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (waiter->cancel_source,
                             G_SOURCE_FUNC (waiter_cancelled_cb), waiter, NULL);
      g_source_set_priority (waiter->cancel_source, G_PRIORITY_DEFAULT);
      g_source_attach (waiter->cancel_source, g_task_get_context (task));
    }
  waiter->linked = TRUE;
  g_queue_push_tail_link (waiter_queue (fetch, waiter), &waiter->link);
  fetch->n_waiters++;
  g_mutex_unlock (&fetch->lock);

  return TRUE;
}

GrantFetchWaiter *
grant_fetch_add_waiter (GrantFetch *fetch,
                        gboolean    accepts_valid_token)
{
  Waiter *waiter;

  g_mutex_lock (&fetch->lock);
  if (is_abandoned (fetch) || g_atomic_int_get (&fetch->finished))
    {
      g_mutex_unlock (&fetch->lock);
      return NULL;
    }

  waiter = waiter_new (fetch, accepts_valid_token);
  waiter->linked = TRUE;
  g_queue_push_tail_link (&fetch->blocking_waiters, &waiter->link);
  fetch->n_waiters++;
  g_mutex_unlock (&fetch->lock);

  return waiter;
}

static void
blocking_cancelled_cb (GCancellable *cancellable,
                       Waiter       *waiter)
{
  GMainContext *store_context = waiter->fetch->config->store_context;

  g_mutex_lock (&waiter->mutex);
  waiter->cancelled = TRUE;
  g_cond_signal (&waiter->cond);
  g_mutex_unlock (&waiter->mutex);
  if (store_context != NULL)
    g_main_context_wakeup (store_context);
}

static gboolean
deadline_passed_cb (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

GrantToken *
grant_fetch_waiter_wait (GrantFetchWaiter  *waiter,
                         GCancellable      *cancellable,
                         gint64             deadline,
                         GError           **error)
{
  GrantFetch *fetch = waiter->fetch;
  GMainContext *store_context = fetch->config->store_context;
  GSource *deadline_source = NULL;
  GrantToken *token = NULL;
  gulong handler = 0;
  gboolean nobody_left = FALSE;
  gboolean timed_out = FALSE;
  gboolean done;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (blocking_cancelled_cb), waiter, NULL);

  g_mutex_lock (&waiter->mutex);
  while (!waiter->cancelled)
    {
      gboolean store_busy = store_context != NULL && g_atomic_int_get (&fetch->store_busy) > 0;
      gint64 now = g_get_monotonic_time ();

      /* Done, unless the store still has work in its context: the fetch
       * lets the store's lock go there, and a script that runs nothing
       * else must let it go before it carries on. */
      if (waiter->done && !store_busy)
        break;

      if (deadline >= 0 && now >= deadline)
        {
          timed_out = !waiter->done;
          break;
        }

      /* The store works in its own context: run it if nobody else does
       * (a script that only makes blocking calls), as GTlsInteraction
       * runs an interaction. */
      if (store_busy && g_main_context_acquire (store_context))
        {
          /* Another thread may have run the work between the look and the
           * acquire: with nothing left, a blocking iteration would sleep
           * until the deadline. Nobody else runs it while this thread
           * holds it. */
          if (g_atomic_int_get (&fetch->store_busy) == 0)
            {
              g_main_context_release (store_context);
              continue;
            }
          g_mutex_unlock (&waiter->mutex);
          if (deadline >= 0 && deadline_source == NULL)
            {
              deadline_source = g_timeout_source_new ((guint) CLAMP ((deadline - now) / 1000 + 1, 1, G_MAXUINT));
              g_source_set_callback (deadline_source, deadline_passed_cb, NULL, NULL);
              g_source_attach (deadline_source, store_context);
            }
          g_main_context_iteration (store_context, TRUE);
          g_main_context_release (store_context);
          g_mutex_lock (&waiter->mutex);
          continue;
        }

      /* Someone else runs the store's context; done, it is theirs to
       * finish. */
      if (waiter->done)
        break;

      /* When another thread runs the store's context, it may let it go
       * with this fetch's store work still to do there: look again soon. */
      if (store_busy)
        g_cond_wait_until (&waiter->cond, &waiter->mutex,
                           deadline >= 0 ? MIN (deadline, now + 10 * G_TIME_SPAN_MILLISECOND)
                                         : now + 10 * G_TIME_SPAN_MILLISECOND);
      else if (deadline >= 0)
        g_cond_wait_until (&waiter->cond, &waiter->mutex, deadline);
      else
        g_cond_wait (&waiter->cond, &waiter->mutex);
    }
  done = waiter->done;
  g_mutex_unlock (&waiter->mutex);

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  clear_source (&deadline_source);

  if (!done && !waiter_unlink (waiter, &nobody_left))
    {
      /* The fetch took it meanwhile: it is writing the result. */
      g_mutex_lock (&waiter->mutex);
      while (!waiter->done)
        g_cond_wait (&waiter->cond, &waiter->mutex);
      g_mutex_unlock (&waiter->mutex);
      done = TRUE;
    }

  if (nobody_left)
    post_to_worker (fetch, abandoned_cb);

  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    g_cancellable_set_error_if_cancelled (cancellable, error);
  else if (done && waiter->token != NULL)
    token = g_steal_pointer (&waiter->token);
  else if (done)
    g_propagate_error (error, g_steal_pointer (&waiter->error));
  else if (timed_out)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "No token came within %" G_GINT64_FORMAT " seconds",
                 grant_fetch_config_get_budget (fetch->config) / G_USEC_PER_SEC);
  else
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled");

  waiter_free (waiter);

  return token;
}

/* The fetch ended: what each waiter gets, in its own context. */
typedef struct {
  GQueue *waiters;             /* the fetch's queue for this context */
  GrantToken *token;
  GrantToken *fallback;
  GError *error;
  /* The owner's, first. */
  GSourceFunc home_func;
  gpointer home_data;
  GDestroyNotify home_destroy;
} Delivery;

static void
delivery_free (Delivery *delivery)
{
  if (delivery->home_destroy != NULL)
    delivery->home_destroy (delivery->home_data);
  /* Left only when the context went away without running the delivery. */
  while (delivery->waiters != NULL && !g_queue_is_empty (delivery->waiters))
    waiter_free (g_queue_pop_head_link (delivery->waiters)->data);
  g_clear_pointer (&delivery->waiters, g_queue_free);
  g_clear_object (&delivery->token);
  g_clear_object (&delivery->fallback);
  g_clear_error (&delivery->error);
  g_free (delivery);
}

static gboolean
deliver_cb (gpointer user_data)
{
  Delivery *delivery = user_data;

  if (delivery->home_func != NULL)
    delivery->home_func (delivery->home_data);

  while (delivery->waiters != NULL && !g_queue_is_empty (delivery->waiters))
    {
      Waiter *waiter = g_queue_pop_head_link (delivery->waiters)->data;

      clear_source (&waiter->cancel_source);
      if (delivery->token != NULL)
        g_task_return_pointer (waiter->task, g_object_ref (delivery->token), g_object_unref);
      else if (delivery->fallback != NULL && waiter->accepts_valid_token)
        g_task_return_pointer (waiter->task, g_object_ref (delivery->fallback), g_object_unref);
      else
        g_task_return_error (waiter->task, g_error_copy (delivery->error));
      waiter_free (waiter);
    }

  return G_SOURCE_REMOVE;
}

static Delivery *
delivery_new (GrantFetch *fetch,
              GrantToken *fallback)
{
  Delivery *delivery = g_new0 (Delivery, 1);

  delivery->token = fetch->token ? g_object_ref (fetch->token) : NULL;
  delivery->fallback = fallback ? g_object_ref (fallback) : NULL;
  delivery->error = fetch->error ? g_error_copy (fetch->error) : NULL;

  return delivery;
}

/* Completes the waiters (taken from the fetch, which no longer touches
 * them), each in its own context: one delivery per context, however many
 * wait there, the owner's @result function first in its home context.
 * The asynchronous waiters are not even looked at here: they are
 * completed in the thread that made them, whose cache holds them. */
static void
deliver (GrantFetch       *fetch,
         GHashTable       *task_waiters,
         GQueue           *blocking_waiters,
         GrantToken       *fallback,
         GrantFetchResult *result)
{
  g_autoptr(GHashTable) deliveries = g_hash_table_new (NULL, NULL);
  GMainContext *store_context = fetch->config->store_context;
  GHashTableIter iter;
  gpointer context, value;

  g_hash_table_iter_init (&iter, task_waiters);
  while (g_hash_table_iter_next (&iter, &context, &value))
    {
      Delivery *delivery;

      if (g_queue_is_empty (value))
        continue;
      delivery = delivery_new (fetch, fallback);
      delivery->waiters = value;
      g_hash_table_iter_steal (&iter);
      g_hash_table_insert (deliveries, context, delivery);
    }

  for (GList *l = blocking_waiters->head, *next; l != NULL; l = next)
    {
      Waiter *waiter = l->data;

      next = l->next;
        {
          /* Blocking: the thread waiting frees it once done is seen. */
          g_mutex_lock (&waiter->mutex);
          if (fetch->token != NULL)
            waiter->token = g_object_ref (fetch->token);
          else if (fallback != NULL && waiter->accepts_valid_token)
            waiter->token = g_object_ref (fallback);
          else
            waiter->error = g_error_copy (fetch->error);
          waiter->done = TRUE;
          /* The runner's caller is this thread: nobody waits to wake. */
          if (!(runs_here (fetch) && waiter == fetch->runner_waiter))
            g_cond_signal (&waiter->cond);
          g_mutex_unlock (&waiter->mutex);
        }
    }

  if (store_context != NULL)
    g_main_context_wakeup (store_context);

  if (result->home_func != NULL)
    {
      Delivery *delivery = g_hash_table_lookup (deliveries, result->home_context);

      /* The callers there may all have cancelled since the owner looked. */
      if (delivery == NULL)
        {
          delivery = g_new0 (Delivery, 1);
          g_hash_table_insert (deliveries, result->home_context, delivery);
        }
      delivery->home_func = result->home_func;
      delivery->home_data = g_steal_pointer (&result->home_data);
      delivery->home_destroy = result->home_destroy;
    }

  g_hash_table_iter_init (&iter, deliveries);
  while (g_hash_table_iter_next (&iter, &context, &value))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, deliver_cb, value, (GDestroyNotify) delivery_free);
      g_source_set_static_name (source, "[libgrant] token for callers");
      g_source_attach (source, context);
      g_source_unref (source);
    }
}

/* Wakes the blocking waiters: the store has work for its context. */
static void
wake_blocking_waiters (GrantFetch *fetch)
{
  g_mutex_lock (&fetch->lock);
  for (GList *l = fetch->blocking_waiters.head; l != NULL; l = l->next)
    {
      Waiter *waiter = l->data;

      g_mutex_lock (&waiter->mutex);
      g_cond_signal (&waiter->cond);
      g_mutex_unlock (&waiter->mutex);
    }
  g_mutex_unlock (&fetch->lock);
}

/* One HTTP exchange: send, read at most GRANT_MAX_BODY_SIZE bytes of body
 * within the timeout, then hand the body or the error (transport, timeout,
 * cancellation, a body too large) to the state waiting for it. */

static void discovery_response (GrantFetch *fetch,
                                GBytes     *body,
                                GError     *error);
static void token_response     (GrantFetch *fetch,
                                GBytes     *body,
                                GError     *error);

static void
fetch_clear_exchange (GrantFetch *fetch)
{
  clear_source (&fetch->timeout_source);
  g_clear_object (&fetch->stream);
  g_clear_pointer (&fetch->body, g_byte_array_unref);
}

/* Takes @error. */
static void
exchange_done (GrantFetch *fetch,
               GError     *error)
{
  g_autoptr(GBytes) body = NULL;

  if (error == NULL)
    body = g_byte_array_free_to_bytes (g_steal_pointer (&fetch->body));
  else if (error->domain != GRANT_ERROR &&
           !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

      g_prefix_error (&error, "The %s to %s failed: ", fetch->what, where);
    }

  /* The message stays for its status and headers until the next exchange
   * or the end of the fetch. */
  fetch_clear_exchange (fetch);
  fetch->op++;
  g_clear_object (&fetch->cancellable);

  /* Abandoned while the answer came in: it was as good as cancelled. */
  if (is_abandoned (fetch))
    {
      g_clear_error (&error);
      fetch_fail_cancelled (fetch, abandoned_why (fetch));
    }
  else if (fetch->state == FETCH_DISCOVERING)
    discovery_response (fetch, body, error);
  else
    token_response (fetch, body, error);

  fetch_process (fetch);
}

static GError *
body_too_large_error (GrantFetch *fetch,
                      gint64      announced)
{
  g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

  if (announced >= 0)
    return g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                        "The answer to the %s to %s announced a body of %"
                        G_GINT64_FORMAT " bytes, more than the %d bytes libgrant "
                        "reads", fetch->what, where, announced, GRANT_MAX_BODY_SIZE);

  return g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                      "The answer to the %s to %s has a body larger than the %d "
                      "bytes libgrant reads", fetch->what, where, GRANT_MAX_BODY_SIZE);
}

/* The answer's headers came with @stream (taken): FALSE, with @error set,
 * when the body it announces is larger than libgrant reads. */
static gboolean
body_begin (GrantFetch    *fetch,
            GInputStream  *stream,
            GError       **error)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (fetch->message);

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > GRANT_MAX_BODY_SIZE)
    {
      g_object_unref (stream);
      *error = body_too_large_error (fetch, soup_message_headers_get_content_length (headers));
      return FALSE;
    }

  fetch->stream = stream;
  fetch->body = g_byte_array_new ();

  return TRUE;
}

/* One read of the body, @size bytes (0: its end). TRUE to read on; FALSE
 * when the body is whole, or wrong (with @error set). */
static gboolean
body_add (GrantFetch    *fetch,
          const void    *data,
          gsize          size,
          GError       **error)
{
  if (size == 0)
    {
      SoupMessageHeaders *headers = soup_message_get_response_headers (fetch->message);
      gint64 announced = soup_message_headers_get_content_length (headers);

      /* libsoup 3.2 takes an early end of the connection for the end of
       * the body; a truncated answer that happens to parse is not one to
       * trust. */
      if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
          (gint64) fetch->body->len < announced)
        *error = g_error_new (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                              "The answer ended after %u of the %" G_GINT64_FORMAT
                              " bytes it announced", fetch->body->len, announced);
      return FALSE;
    }

  if (fetch->body->len + size > GRANT_MAX_BODY_SIZE)
    {
      *error = body_too_large_error (fetch, -1);
      return FALSE;
    }

  g_byte_array_append (fetch->body, data, size);

  return TRUE;
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Op *op = user_data;
  GrantFetch *fetch = op->fetch;
  g_autoptr(GBytes) bytes = NULL;
  GError *error = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (!op_is_current (op))
    {
      g_clear_error (&error);
      op_free (op);
      return;
    }

  if (bytes == NULL ||
      !body_add (fetch, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error))
    {
      op_free (op);
      exchange_done (fetch, error);
      return;
    }

  g_input_stream_read_bytes_async (fetch->stream, 16 * 1024, G_PRIORITY_DEFAULT,
                                   fetch->cancellable, read_cb, op);
}

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Op *op = user_data;
  GrantFetch *fetch = op->fetch;
  GInputStream *stream;
  GError *error = NULL;

  stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (!op_is_current (op))
    {
      g_clear_object (&stream);
      g_clear_error (&error);
      op_free (op);
      return;
    }

  if (stream == NULL)
    {
      op_free (op);
      exchange_done (fetch, grant_tls_explain_error (fetch->message, error));
      return;
    }

  if (!body_begin (fetch, stream, &error))
    {
      op_free (op);
      exchange_done (fetch, error);
      return;
    }

  g_input_stream_read_bytes_async (fetch->stream, 16 * 1024, G_PRIORITY_DEFAULT,
                                   fetch->cancellable, read_cb, op);
}

static GError *
timed_out_error (GrantFetch *fetch)
{
  g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

  return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "The %s to %s timed out after %u seconds",
                      fetch->what, where, fetch->config->timeout);
}

/* The exchange took too long. It is given up here rather than left to
 * cancellation, which libsoup 3.2 ignores while the message waits for a
 * connection. */
static gboolean
timeout_cb (gpointer user_data)
{
  GrantFetch *fetch = user_data;
  GError *error = timed_out_error (fetch);

  g_clear_pointer (&fetch->timeout_source, g_source_unref);
  fetch_give_up_op (fetch);
  exchange_done (fetch, error);

  return G_SOURCE_REMOVE;
}

/* The exchange in flight on the runner's thread, cancelled from any
 * thread: its time ran out, its caller left, or the owner did. */
static void
runner_interrupt (GrantFetch *fetch)
{
  g_autoptr(GCancellable) cancellable = NULL;

  g_mutex_lock (&fetch->lock);
  if (fetch->runner_cancellable != NULL)
    cancellable = g_object_ref (fetch->runner_cancellable);
  g_mutex_unlock (&fetch->lock);

  /* Not under the lock: libsoup's handlers run in here. */
  if (cancellable != NULL)
    g_cancellable_cancel (cancellable);
}

/* Whether the runner must send nothing more: the owner went away, or the
 * runner's own caller left. */
static gboolean
runner_must_stop (GrantFetch *fetch)
{
  return is_abandoned (fetch) || g_atomic_int_get (&fetch->runner_caller_left);
}

/* The cancellable of this thread's blocking exchanges. GSocket waits on
 * the socket and on the cancellable's file descriptor (an eventfd): kept
 * from one exchange to the next, it is not made and closed for each. */
static void
runner_cancellable_free (gpointer data)
{
  g_cancellable_release_fd (data);
  g_object_unref (data);
}

static GPrivate runner_cancellables = G_PRIVATE_INIT (runner_cancellable_free);

static GCancellable *
runner_cancellable_take (void)
{
  GCancellable *cancellable = g_private_get (&runner_cancellables);

  /* Reused only once nothing else holds it (libsoup, a deadline firing, a
   * caller cancelling: none can take it after the exchange), and only if
   * it was never cancelled. */
  if (cancellable != NULL &&
      (g_atomic_int_get (&G_OBJECT (cancellable)->ref_count) != 1 || g_cancellable_is_cancelled (cancellable)))
    {
      g_private_replace (&runner_cancellables, NULL);
      cancellable = NULL;
    }

  if (cancellable == NULL)
    {
      GPollFD pollfd;

      cancellable = g_cancellable_new ();
      g_cancellable_make_pollfd (cancellable, &pollfd);
      g_private_set (&runner_cancellables, cancellable);
    }

  return g_object_ref (cancellable);
}

/* The exchange on the runner's thread, with libsoup's blocking API: no
 * main context of libgrant's is woken, and the time limit is a deadline
 * that cancels it (grant-deadline.c). The outcome waits in the fetch for
 * grant_fetch_run(), which hands it to exchange_done(). */
static void
runner_send (GrantFetch  *fetch,
             SoupMessage *message)
{
  guint timeout = fetch->config->timeout;
  GrantDeadline deadline;
  GInputStream *stream;
  GCancellable *cancellable;
  GError *error = NULL;

  g_clear_object (&fetch->cancellable);
  fetch->cancellable = cancellable = runner_cancellable_take ();
  grant_tls_guard_message (message, fetch->config->session, cancellable, FALSE);

  g_mutex_lock (&fetch->lock);
  g_set_object (&fetch->runner_cancellable, cancellable);
  g_mutex_unlock (&fetch->lock);
  /* Looked at once it can be interrupted: nothing is lost in between. */
  if (runner_must_stop (fetch))
    g_cancellable_cancel (cancellable);

  /* grant_fetch_config_can_run(): there is a timeout. */
  grant_deadline_arm (&deadline, g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC, cancellable);

  stream = soup_session_send (fetch->config->session, message, cancellable, &error);
  if (stream == NULL)
    error = grant_tls_explain_error (message, error);
  else if (body_begin (fetch, stream, &error))
    {
      char buffer[16 * 1024];
      gssize size;

      do
        size = g_input_stream_read (fetch->stream, buffer, sizeof buffer, cancellable, &error);
      while (size >= 0 && body_add (fetch, buffer, (gsize) size, &error));
    }

  grant_deadline_disarm (&deadline);
  g_mutex_lock (&fetch->lock);
  g_clear_object (&fetch->runner_cancellable);
  g_mutex_unlock (&fetch->lock);

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !is_abandoned (fetch))
    {
      if (g_atomic_int_get (&fetch->runner_caller_left))
        /* Not an answer: the worker sends the request again for the
         * callers left, or nobody is left (grant_fetch_run()). */
        fetch->runner_stopped = TRUE;
      else if (deadline.fired)
        {
          g_clear_error (&error);
          error = timed_out_error (fetch);
        }
    }

  fetch->runner_error = error;
}

/* Sends @message (taking it); the answer goes to the current state. */
static void
fetch_send (GrantFetch  *fetch,
            const char  *what,
            SoupMessage *message)
{
  guint timeout = fetch->config->timeout;
  Op *op;

  fetch_clear_exchange (fetch);
  g_clear_object (&fetch->message);
  fetch->message = message;
  fetch->what = what;

  /* Credentials must not follow a redirect anywhere. */
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  /* The request carries the client's own credentials (or none): the
   * session's auth manager, which may hold the application's credentials
   * for the same server, must neither replace them nor answer a 401. */
  soup_message_disable_feature (message, SOUP_TYPE_AUTH_MANAGER);
  soup_message_headers_replace (soup_message_get_request_headers (message),
                                "Accept", "application/json");
  /* A few hundred bytes gain nothing from compression: the session's
   * content decoder stays out, and the server is told so. */
  soup_message_disable_feature (message, SOUP_TYPE_CONTENT_DECODER);
  soup_message_headers_replace (soup_message_get_request_headers (message),
                                "Accept-Encoding", "identity");

  if (runs_here (fetch))
    {
      runner_send (fetch, message);
      return;
    }

  op = op_begin (fetch);
  /* Nothing is written to a server the session would not trust, though
   * GnuTLS may resume a session another one verified. */
  grant_tls_guard_message (message, fetch->config->session, fetch->cancellable, FALSE);
  if (timeout > 0)
    /* Milliseconds: a seconds source may fire up to a second early. */
    fetch->timeout_source = worker_timeout (fetch, timeout < G_MAXUINT / 1000 ? timeout * 1000 : G_MAXUINT,
                                            timeout_cb);

  soup_session_send_async (fetch->config->session, message, G_PRIORITY_DEFAULT,
                           fetch->cancellable, send_cb, op);
}

/* Retries of transient failures */

/* Worth trying again: the network, a timeout, a server that failed or asked
 * to slow down. Protocol errors such as invalid_client never are. */
static gboolean
is_transient (const GError *error)
{
  if (error->domain == G_IO_ERROR)
    return error->code != G_IO_ERROR_CANCELLED;

  if (error->domain == G_RESOLVER_ERROR)
    return error->code == G_RESOLVER_ERROR_TEMPORARY_FAILURE;

  return g_error_matches (error, GRANT_ERROR, GRANT_ERROR_SERVER_ERROR) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_TEMPORARILY_UNAVAILABLE) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_RATE_LIMITED);
}

static gboolean
retry_cb (gpointer user_data)
{
  GrantFetch *fetch = user_data;

  g_clear_pointer (&fetch->retry_source, g_source_unref);
  fetch->state = fetch->retry_state;
  fetch_process (fetch);

  return G_SOURCE_REMOVE;
}

/* Goes back to @state after a jittered backoff, or what the server's
 * Retry-After asks (at most a minute), when @error is transient and
 * attempts are left. Takes @error when it returns TRUE. */
static gboolean
fetch_retry_later (GrantFetch *fetch,
                   GError     *error,
                   FetchState  state)
{
  const GrantFetchConfig *config = fetch->config;
  gint64 delay_ms, retry_after = -1;

  if (is_abandoned (fetch) || !is_transient (error) || fetch->attempts >= config->max_attempts)
    return FALSE;

  delay_ms = grant_backoff_ms (fetch->attempts - 1, config->retry_base_ms, config->retry_max_ms,
                               config->jitter);
  if (fetch->message != NULL)
    retry_after = grant_response_retry_after (soup_message_get_response_headers (fetch->message),
                                              grant_clock_now (config->clock));
  if (retry_after >= 0)
    delay_ms = MAX (delay_ms, MIN (retry_after / 1000, RETRY_AFTER_CAP_MS));

  g_debug ("%s; trying again in %" G_GINT64_FORMAT " ms (attempt %u of %u)",
           error->message, delay_ms, fetch->attempts + 1, config->max_attempts);
  g_error_free (error);

  fetch->state = FETCH_BACKING_OFF;
  fetch->retry_state = state;
  fetch->retry_source = worker_timeout (fetch, (guint) delay_ms, retry_cb);

  return TRUE;
}

/* The store, called in its own context: the call goes there, its result
 * comes back to the worker. */

typedef enum {
  STORE_LOCK,
  STORE_LOAD,
  STORE_SAVE,
} StoreCallKind;

typedef struct {
  Op *op;
  StoreCallKind kind;
  GrantTokenStore *store;
  GrantTokenKey *key;
  GrantToken *token;           /* saved, or loaded */
  GCancellable *cancellable;
  GObject *lock;
  gboolean saved;
  GError *error;
} StoreCall;

static void
store_call_free (StoreCall *call)
{
  op_free (call->op);
  g_object_unref (call->store);
  grant_token_key_unref (call->key);
  g_clear_object (&call->token);
  g_clear_object (&call->cancellable);
  g_clear_object (&call->lock);
  g_clear_error (&call->error);
  g_free (call);
}

/* A lock a late call got, or the fetch is done with, is let go in the
 * store's context, where it was taken; a blocking caller that runs that
 * context waits for it (store_busy). */
typedef struct {
  GrantFetch *fetch;
  GObject *lock;
} Release;

static gboolean
release_lock_cb (gpointer user_data)
{
  Release *release = user_data;

  g_object_unref (release->lock);
  g_atomic_int_add (&release->fetch->store_busy, -1);
  grant_fetch_unref (release->fetch);
  g_free (release);

  return G_SOURCE_REMOVE;
}

static void
release_lock (GrantFetch *fetch,
              GObject    *lock)
{
  Release *release;

  if (lock == NULL)
    return;

  release = g_new (Release, 1);
  release->fetch = grant_fetch_ref (fetch);
  release->lock = lock;
  g_atomic_int_inc (&fetch->store_busy);
  g_main_context_invoke_full (fetch->config->store_context, G_PRIORITY_DEFAULT,
                              release_lock_cb, release, NULL);
}

static gboolean store_call_returned_cb (gpointer user_data);

static void
store_call_done_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  StoreCall *call = user_data;
  GrantFetch *fetch = call->op->fetch;
  GrantTokenStore *store = GRANT_TOKEN_STORE (object);

  switch (call->kind)
    {
    case STORE_LOCK:
      call->lock = grant_token_store_lock_finish (store, result, &call->error);
      if (call->lock == NULL && call->error == NULL)
        call->error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "%s gave no lock and no error",
                                   G_OBJECT_TYPE_NAME (object));
      break;

    case STORE_LOAD:
      call->token = grant_token_store_load_finish (store, result, &call->error);
      break;

    case STORE_SAVE:
      call->saved = grant_token_store_save_finish (store, result, &call->error);
      if (!call->saved && call->error == NULL)
        call->error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "%s did not save the token",
                                   G_OBJECT_TYPE_NAME (object));
      break;
    }

  g_atomic_int_add (&fetch->store_busy, -1);
  g_main_context_invoke_full (grant_fetch_worker_context (), G_PRIORITY_DEFAULT,
                              store_call_returned_cb, call, NULL);
}

static gboolean
store_call_start_cb (gpointer user_data)
{
  StoreCall *call = user_data;

  switch (call->kind)
    {
    case STORE_LOCK:
      grant_token_store_lock_async (call->store, call->key, call->cancellable, store_call_done_cb, call);
      break;

    case STORE_LOAD:
      grant_token_store_load_async (call->store, call->key, call->cancellable, store_call_done_cb, call);
      break;

    case STORE_SAVE:
      /* Not cancellable: a token fetched is worth keeping. */
      grant_token_store_save_async (call->store, call->key, call->token, NULL, store_call_done_cb, call);
      break;
    }

  return G_SOURCE_REMOVE;
}

static gboolean
store_deadline_cb (gpointer user_data)
{
  GrantFetch *fetch = user_data;
  g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                         "The token store did not answer within %u seconds",
                                         fetch->config->timeout);

  g_clear_pointer (&fetch->op_deadline, g_source_unref);
  fetch_give_up_op (fetch);
  store_failed (fetch, error);
  /* Without the lock, the fetch goes on alone; without the stored token,
   * to the network; without the save, to the callers. */
  if (fetch->state == FETCH_LOCKING)
    fetch->state = fetch->missed ? FETCH_RESOLVE : FETCH_LOAD;
  else if (fetch->state == FETCH_LOADING)
    fetch->state = FETCH_RESOLVE;
  else
    fetch->state = FETCH_FINISHING;
  fetch_process (fetch);

  return G_SOURCE_REMOVE;
}

static void
store_call (GrantFetch    *fetch,
            StoreCallKind  kind)
{
  const GrantFetchConfig *config = fetch->config;
  StoreCall *call = g_new0 (StoreCall, 1);

  call->op = op_begin (fetch);
  call->kind = kind;
  call->store = g_object_ref (config->store);
  call->key = grant_token_key_ref (config->key);
  call->cancellable = g_object_ref (fetch->cancellable);
  if (kind == STORE_SAVE)
    call->token = g_object_ref (fetch->token);

  if (config->timeout > 0)
    fetch->op_deadline = worker_timeout (fetch, config->timeout < G_MAXUINT / 1000
                                                ? config->timeout * 1000 : G_MAXUINT,
                                         store_deadline_cb);

  g_atomic_int_inc (&fetch->store_busy);
  g_main_context_invoke_full (config->store_context, G_PRIORITY_DEFAULT, store_call_start_cb, call, NULL);
  wake_blocking_waiters (fetch);
}

/* Whether a token from the store is worth using: one the owner does not
 * hold already, and still fresh. */
static gboolean
stored_token_usable (GrantFetch *fetch,
                     GrantToken *token)
{
  const GrantFetchConfig *config = fetch->config;
  gint64 expires, stale;

  if (config->held != NULL &&
      g_strcmp0 (grant_token_get_access_token (config->held), grant_token_get_access_token (token)) == 0)
    return FALSE;

  grant_token_get_times (token, config->default_lifetime, config->expiry_margin, &expires, &stale);

  return grant_clock_now (config->clock) < stale;
}

/* On the worker, with the store's answer. */
static gboolean
store_call_returned_cb (gpointer user_data)
{
  StoreCall *call = user_data;
  GrantFetch *fetch = call->op->fetch;
  gboolean cancelled = g_error_matches (call->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  if (!op_is_current (call->op))
    {
      /* Given up on: a lock that came late is let go at once. */
      release_lock (fetch, g_steal_pointer (&call->lock));
      store_call_free (call);
      return G_SOURCE_REMOVE;
    }

  fetch->op++;
  clear_source (&fetch->op_deadline);
  g_clear_object (&fetch->cancellable);

  switch (call->kind)
    {
    case STORE_LOCK:
      fetch->lock_held = g_steal_pointer (&call->lock);
      if (fetch->lock_held == NULL && (cancelled || is_abandoned (fetch)))
        fetch_fail_cancelled (fetch, abandoned_why (fetch));
      else
        {
          fetch->state = FETCH_LOAD;
          if (fetch->lock_held == NULL)
            {
              store_failed (fetch, call->error);
              /* Without the lock, nothing will have changed in the store. */
              if (fetch->missed)
                fetch->state = FETCH_RESOLVE;
            }
        }
      break;

    case STORE_LOAD:
      if (call->error != NULL && (cancelled || is_abandoned (fetch)))
        fetch_fail_cancelled (fetch, abandoned_why (fetch));
      else if (call->error != NULL)
        {
          /* A store that cannot load is not asked for its lock either. */
          store_failed (fetch, call->error);
          fetch->state = FETCH_RESOLVE;
        }
      else if (call->token != NULL && stored_token_usable (fetch, call->token))
        {
          g_debug ("Using the token from the store");
          fetch->token = g_steal_pointer (&call->token);
          fetch->state = FETCH_FINISHING;
        }
      else if (fetch->lock_on_miss)
        {
          fetch->missed = TRUE;
          fetch->state = FETCH_LOCK;
        }
      else
        fetch->state = FETCH_RESOLVE;
      fetch->lock_on_miss = FALSE;
      break;

    case STORE_SAVE:
      if (!call->saved)
        store_failed (fetch, call->error);
      fetch->state = FETCH_FINISHING;
      break;
    }

  store_call_free (call);
  fetch_process (fetch);

  return G_SOURCE_REMOVE;
}

/* The authentication method that worked, per token URL and client id, for
 * GRANT_AUTH_METHOD_AUTO; shared by every fetch in the process. */
G_LOCK_DEFINE_STATIC (auto_methods);
static GHashTable *auto_methods;

static char *
auto_method_key (const char *token_url,
                 const char *client_id)
{
  return g_strconcat (token_url, "\n", client_id, NULL);
}

static GrantAuthMethod
auto_method_lookup (const char *token_url,
                    const char *client_id)
{
  g_autofree char *key = auto_method_key (token_url, client_id);
  gpointer method = NULL;

  G_LOCK (auto_methods);
  if (auto_methods != NULL)
    method = g_hash_table_lookup (auto_methods, key);
  G_UNLOCK (auto_methods);

  /* AUTO: nothing remembered (it is never a candidate). */
  return method != NULL ? (GrantAuthMethod) GPOINTER_TO_INT (method)
                        : GRANT_AUTH_METHOD_AUTO;
}

static void
auto_method_remember (const char      *token_url,
                      const char      *client_id,
                      GrantAuthMethod  method)
{
  G_LOCK (auto_methods);
  if (auto_methods == NULL)
    auto_methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (auto_methods, auto_method_key (token_url, client_id),
                       GINT_TO_POINTER (method));
  G_UNLOCK (auto_methods);
}

/* @message as a clause inside a sentence: "The token endpoint refused"
 * becomes "the token endpoint refused"; "HTTP 500" stays. */
static char *
as_clause (const char *message)
{
  char *clause = g_strdup (message);

  if (g_ascii_isupper (clause[0]) && g_ascii_islower (clause[1]))
    clause[0] = g_ascii_tolower (clause[0]);

  return clause;
}

static gboolean
is_authentication_refusal (const GError *error)
{
  return g_error_matches (error, GRANT_ERROR, GRANT_ERROR_INVALID_CLIENT) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_INVALID_REQUEST) ||
         g_error_matches (error, GRANT_ERROR, GRANT_ERROR_UNAUTHORIZED_CLIENT);
}

static const char *
describe_auth_method (GrantAuthMethod method)
{
  switch (method)
    {
    case GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC:
      return "with HTTP Basic authentication";
    case GRANT_AUTH_METHOD_CLIENT_SECRET_POST:
      return "with the credentials in the request body";
    case GRANT_AUTH_METHOD_PRIVATE_KEY_JWT:
      return "with a private_key_jwt assertion";
    case GRANT_AUTH_METHOD_CLIENT_SECRET_JWT:
      return "with a client_secret_jwt assertion";
    case GRANT_AUTH_METHOD_TLS_CLIENT_AUTH:
      return "with the client certificate (tls_client_auth)";
    case GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH:
      return "with the client certificate (self_signed_tls_client_auth)";
    default:
      return "without client authentication";
    }
}

#define METHOD_BIT(method) GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_##method)

/* What AUTO may use, by what the client has: a key, a certificate, a
 * secret. */
static guint
auto_allowed (const GrantFetchConfig *config)
{
  guint allowed = 0;

  if (config->client_key != NULL)
    allowed |= METHOD_BIT (PRIVATE_KEY_JWT);
  if (config->tls_certificate != NULL)
    allowed |= METHOD_BIT (TLS_CLIENT_AUTH) | METHOD_BIT (SELF_SIGNED_TLS_CLIENT_AUTH);
  if (is_set (config->client_secret))
    allowed |= METHOD_BIT (CLIENT_SECRET_BASIC) | METHOD_BIT (CLIENT_SECRET_POST) |
               METHOD_BIT (CLIENT_SECRET_JWT);

  return allowed;
}

/* What AUTO tries when no document says what the server takes: the key;
 * else the certificate of a client without a secret; else Basic, then the
 * body. */
static guint
auto_default (const GrantFetchConfig *config)
{
  if (config->client_key != NULL)
    return METHOD_BIT (PRIVATE_KEY_JWT);
  if (config->tls_certificate != NULL && !is_set (config->client_secret))
    return METHOD_BIT (TLS_CLIENT_AUTH);

  return METHOD_BIT (CLIENT_SECRET_BASIC) | METHOD_BIT (CLIENT_SECRET_POST);
}

/* The names of the methods in @bits, for a message. */
static char *
describe_methods (guint bits)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (GrantAuthMethod m = GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC; m <= GRANT_AUTH_METHOD_LAST; m++)
    if (bits & GRANT_DISCOVERY_METHOD (m))
      g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", grant_auth_method_to_string (m));

  return names->len > 0 ? g_string_free (g_steal_pointer (&names), FALSE) : g_strdup ("none libgrant knows");
}

/* The next method AUTO tries: what worked before for this endpoint and
 * client, then Basic, then the body, among the candidates not yet tried. */
static gboolean
next_auto_method (GrantFetch      *fetch,
                  GrantAuthMethod *method)
{
  GrantAuthMethod order[] = {
    auto_method_lookup (fetch->token_url, fetch->config->client_id),
    GRANT_AUTH_METHOD_PRIVATE_KEY_JWT,
    GRANT_AUTH_METHOD_TLS_CLIENT_AUTH,
    GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH,
    GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC,
    GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
    GRANT_AUTH_METHOD_CLIENT_SECRET_JWT,
  };

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      guint bit = GRANT_DISCOVERY_METHOD (order[i]);

      if ((fetch->auto_candidates & bit) && !(fetch->auto_tried & bit))
        {
          *method = order[i];
          return TRUE;
        }
    }

  return FALSE;
}

/* Discovery */

/* Takes what the document says: the token endpoint and, for AUTO, which
 * methods to try. */
static gboolean
use_discovery (GrantFetch            *fetch,
               const GrantDiscovery  *discovery,
               GError               **error)
{
  const GrantFetchConfig *config = fetch->config;
  guint allowed = auto_allowed (config);
  gboolean alg_refused = FALSE;
  /* What the assertions would be signed with. */
  const char *key_alg = config->client_key == NULL ? NULL
                        : config->signing_algorithm ? config->signing_algorithm
                        : grant_client_key_get_algorithm (config->client_key);

  /* A client that presents a certificate uses the mutual TLS alias. */
  grant_set_str (&fetch->token_url, fetch->config->tls_certificate != NULL && discovery->mtls_token_endpoint
                                    ? discovery->mtls_token_endpoint : discovery->token_endpoint);

  if (fetch->config->auth_method != GRANT_AUTH_METHOD_AUTO)
    return TRUE;

  /* RFC 8414 section 2: client_secret_basic when the document lists none
   * (unless the client has a key or only a certificate to offer). */
  if (discovery->auth_methods == 0)
    {
      fetch->auto_candidates = auto_default (config) & ~METHOD_BIT (CLIENT_SECRET_POST);
      return TRUE;
    }

  fetch->auto_candidates = discovery->auth_methods & allowed;

  /* A signed assertion only with an algorithm the server takes. */
  if (discovery->signing_algs != NULL)
    {
      if ((fetch->auto_candidates & METHOD_BIT (PRIVATE_KEY_JWT)) &&
          !g_strv_contains ((const char * const *) discovery->signing_algs, key_alg))
        {
          fetch->auto_candidates &= ~METHOD_BIT (PRIVATE_KEY_JWT);
          alg_refused = TRUE;
        }
      if ((fetch->auto_candidates & METHOD_BIT (CLIENT_SECRET_JWT)) &&
          !g_strv_contains ((const char * const *) discovery->signing_algs, "HS256"))
        fetch->auto_candidates &= ~METHOD_BIT (CLIENT_SECRET_JWT);
    }

  if (fetch->auto_candidates == 0)
    {
      g_autofree char *offered = describe_methods (discovery->auth_methods);
      g_autofree char *usable = describe_methods (allowed);
      g_autofree char *algs = discovery->signing_algs ? g_strjoinv (", ", discovery->signing_algs) : NULL;
      g_autofree char *why = alg_refused ? g_strdup_printf (" (its key signs %s; the server takes %s)",
                                                            key_alg, algs)
                                         : g_strdup ("");

      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The authorization server %s takes %s; this client can use %s%s: "
                   "give it what the server takes, or set the auth-method property",
                   config->issuer, offered, usable, why);
      return FALSE;
    }

  return TRUE;
}

/* The discovery GET carries no credentials: a redirect on the same
 * origin (a server that adds a trailing slash, say) is followed, a few
 * hops at most. Anything else is reported as the answer it is. */
#define MAX_DISCOVERY_HOPS 3

static gboolean
same_origin (GUri *a,
             GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0 &&
         g_uri_get_port (a) == g_uri_get_port (b);
}

static gboolean
follow_discovery_redirect (GrantFetch *fetch)
{
  GUri *from = soup_message_get_uri (fetch->message);
  const char *location = soup_message_headers_get_one (soup_message_get_response_headers (fetch->message),
                                                       "Location");
  g_autoptr(GUri) to = NULL;

  if (location == NULL || fetch->discovery_hops >= MAX_DISCOVERY_HOPS)
    return FALSE;

  to = g_uri_parse_relative (from, location, SOUP_HTTP_URI_FLAGS, NULL);
  if (to == NULL || !same_origin (from, to))
    return FALSE;

  g_clear_pointer (&fetch->discovery_redirect, g_free);
  fetch->discovery_redirect = g_uri_to_string_partial (to, G_URI_HIDE_FRAGMENT);
  fetch->discovery_hops++;
  fetch->discovery_hop_pending = TRUE;
  if (grant_debug_enabled ())
    {
      g_autofree char *where = grant_describe_uri (to);

      g_debug ("The discovery document moved to %s", where);
    }
  fetch->state = FETCH_DISCOVER;

  return TRUE;
}

/* Takes @error. */
static void
discovery_response (GrantFetch *fetch,
                    GBytes     *body,
                    GError     *error)
{
  const GrantFetchConfig *config = fetch->config;
  g_autoptr(GrantDiscovery) discovery = NULL;
  guint status;

  if (error != NULL)
    {
      if (!fetch_retry_later (fetch, error, FETCH_DISCOVER))
        fetch_fail (fetch, error);
      return;
    }

  status = soup_message_get_status (fetch->message);
  if (SOUP_STATUS_IS_REDIRECTION (status) && follow_discovery_redirect (fetch))
    return;

  if (status == SOUP_STATUS_NOT_FOUND && fetch->discovery_kind + 1 < GRANT_DISCOVERY_N_KINDS)
    {
      if (grant_debug_enabled ())
        {
          g_autofree char *where = grant_describe_uri (soup_message_get_uri (fetch->message));

          g_debug ("No authorization server metadata at %s; trying the next well-known location",
                   where);
        }
      fetch->discovery_kind++;
      g_clear_pointer (&fetch->discovery_redirect, g_free);
      fetch->state = FETCH_DISCOVER;
      return;
    }

  discovery = grant_discovery_parse (config->issuer, fetch->discovery_kind, status,
                                     soup_message_get_response_headers (fetch->message),
                                     body, config->allow_insecure_http, &error);
  if (discovery == NULL)
    {
      if (!fetch_retry_later (fetch, error, FETCH_DISCOVER))
        fetch_fail (fetch, error);
      return;
    }

  g_debug ("The issuer %s has its token endpoint at %s", config->issuer, discovery->token_endpoint);
  fetch->discovery = g_steal_pointer (&discovery);

  if (use_discovery (fetch, fetch->discovery, &error))
    fetch->state = FETCH_READY;
  else
    fetch_fail (fetch, error);
}

/* The token request */

/* The end of one token request: a retry, or for AUTO the other method, or
 * the end of the exchanges. Takes @token and @error. */
static void
token_attempt_done (GrantFetch *fetch,
                    GrantToken *token,
                    GError     *error)
{
  const GrantFetchConfig *config = fetch->config;
  GrantAuthMethod next;

  if (error != NULL && fetch_retry_later (fetch, error, FETCH_REQUEST))
    return;

  if (config->auth_method == GRANT_AUTH_METHOD_AUTO && !is_abandoned (fetch))
    {
      if (token != NULL)
        auto_method_remember (fetch->token_url, config->client_id, fetch->attempt_method);
      else if (fetch->first_error == NULL && is_authentication_refusal (error) &&
               next_auto_method (fetch, &next))
        {
          g_debug ("The token endpoint refused client authentication %s; trying %s",
                   describe_auth_method (fetch->attempt_method), describe_auth_method (next));
          fetch->first_error = error;
          fetch->first_method = fetch->attempt_method;
          fetch->attempt_method = next;
          fetch->state = FETCH_REQUEST;
          return;
        }
      else if (fetch->first_error != NULL)
        {
          /* Report both answers, Basic before the body, otherwise in the
           * order tried, with the second one's code. */
          gboolean swap = fetch->attempt_method == GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC &&
                          fetch->first_method == GRANT_AUTH_METHOD_CLIENT_SECRET_POST;
          GError *one = swap ? error : fetch->first_error;
          GError *two = swap ? fetch->first_error : error;
          GrantAuthMethod one_method = swap ? fetch->attempt_method : fetch->first_method;
          GrantAuthMethod two_method = swap ? fetch->first_method : fetch->attempt_method;
          g_autofree char *one_text = as_clause (one->message);
          g_autofree char *two_text = as_clause (two->message);
          GError *both = g_error_new (error->domain, error->code,
                                      "Both client authentication methods failed: %s, %s; %s, %s",
                                      describe_auth_method (one_method), one_text,
                                      describe_auth_method (two_method), two_text);

          g_clear_error (&error);
          error = both;
        }
    }

  if (token != NULL)
    {
      fetch->token = token;
      fetch->state = FETCH_SAVE;
    }
  else
    fetch_fail (fetch, error);
}

/* Takes @error. */
static void
token_response (GrantFetch *fetch,
                GBytes     *body,
                GError     *error)
{
  const GrantFetchConfig *config = fetch->config;
  GrantParseContext context = {
    .now = grant_clock_now (config->clock),
    .requested_scope = config->scope,
    .client_secret = config->client_secret,
    .dialect = config->dialect,
    .client_id = config->client_id,
    .request_url = fetch->token_url,
  };
  GrantToken *token;

  if (error != NULL)
    {
      token_attempt_done (fetch, NULL, error);
      return;
    }

  token = grant_response_parse (&context,
                                soup_message_get_status (fetch->message),
                                soup_message_get_response_headers (fetch->message),
                                body,
                                &error);

  if (config->dpop_key != NULL)
    {
      const char *nonce = soup_message_headers_get_one (soup_message_get_response_headers (fetch->message),
                                                        "DPoP-Nonce");

      /* Every answer may renew the nonce (RFC 9449 section 8). */
      if (nonce != NULL && *nonce != '\0' && strlen (nonce) < 1024)
        grant_set_str (&fetch->dpop_nonce, nonce);

      /* The server wants a nonce it just gave: one more request, with it,
       * which is not another attempt. */
      if (token == NULL && nonce != NULL && !fetch->dpop_nonce_retried &&
          soup_message_get_status (fetch->message) == SOUP_STATUS_BAD_REQUEST &&
          strstr (error->message, "use_dpop_nonce") != NULL)
        {
          g_debug ("The token endpoint asked for a DPoP nonce; sending the request again with it");
          g_clear_error (&error);
          fetch->dpop_nonce_retried = TRUE;
          fetch->attempts--;
          fetch->state = FETCH_REQUEST;
          return;
        }
    }

  token_attempt_done (fetch, token, error);
}

/* A new JWT client assertion for this request: a replay cache on the
 * server refuses one sent twice, so each attempt makes its own. */
static char *
make_assertion (GrantFetch       *fetch,
                GrantAuthMethod   method,
                GError          **error)
{
  const GrantFetchConfig *config = fetch->config;
  g_autofree char *jti = grant_assertion_new_jti ();
  GrantAssertionClaims claims = {
    .client_id = config->client_id,
    .audience = is_set (config->assertion_audience) ? config->assertion_audience : fetch->token_url,
    .jti = jti,
    .issued_at = grant_clock_now (config->clock) / G_USEC_PER_SEC,
  };

  if (method == GRANT_AUTH_METHOD_CLIENT_SECRET_JWT)
    {
      if (!is_set (config->client_secret))
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "Client authentication client_secret_jwt needs the client secret");
          return NULL;
        }
      return grant_assertion_hs256 (config->client_secret, &claims);
    }

  if (config->client_key == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "Client authentication private_key_jwt needs a key: set the client-key property");
      return NULL;
    }

  return grant_assertion_sign (config->client_key, config->signing_algorithm, &claims, error);
}

/* Sends the token request with fetch->attempt_method; FALSE when it
 * cannot be made, with the fetch moved on. */
static gboolean
send_token_request (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  GrantAuthMethod method = fetch->attempt_method;
  g_autoptr(GrantRequest) request = NULL;
  GrantRequestSpec spec = {
    .client_id = config->client_id,
    .client_secret = config->client_secret,
    .scope = config->scope,
    .parameters = config->parameters,
    .auth_method = method,
    .format = config->format,
  };
  g_autoptr(GrantSecret) assertion = NULL;
  SoupMessage *message;

  fetch->auto_tried |= GRANT_DISCOVERY_METHOD (method);
  fetch->attempts++;

  message = soup_message_new ("POST", fetch->token_url);
  if (message == NULL)
    {
      g_autofree char *where = grant_describe_url (fetch->token_url);

      token_attempt_done (fetch, NULL,
                          g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                       "The token URL %s cannot be requested", where));
      return FALSE;
    }

  /* A client credentials token request may be sent twice without harm (at
   * worst a second token is issued), so libsoup may send it on an idle
   * keep-alive connection. Without this flag it opens a new connection,
   * with its handshakes, for every POST. */
  soup_message_add_flags (message, SOUP_MESSAGE_IDEMPOTENT);

  /* A key or a certificate, no secret, and a method that sends the secret:
   * the method was left at its default (client_secret_post). */
  if ((method == GRANT_AUTH_METHOD_CLIENT_SECRET_POST || method == GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC) &&
      !is_set (config->client_secret) && (config->client_key != NULL || config->tls_certificate != NULL))
    {
      g_object_unref (message);
      token_attempt_done (fetch, NULL,
                          g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                       "Client authentication %s needs the client secret, and there is "
                                       "none; to prove the client with its %s, set auth-method to AUTO "
                                       "or %s", grant_auth_method_to_string (method),
                                       config->client_key ? "key" : "certificate",
                                       config->client_key ? "private_key_jwt" : "tls_client_auth"));
      return FALSE;
    }
  if (grant_auth_method_is_mutual_tls (method) && config->tls_certificate == NULL)
    {
      g_object_unref (message);
      token_attempt_done (fetch, NULL,
                          g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                       "Client authentication %s needs a client certificate: "
                                       "set the tls-certificate property",
                                       grant_auth_method_to_string (method)));
      return FALSE;
    }
  if (config->dpop_key != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *jti = grant_assertion_new_jti ();
      GrantDpopClaims claims = {
        .method = "POST",
        .url = fetch->token_url,
        .nonce = fetch->dpop_nonce,
        .jti = jti,
        .issued_at = grant_clock_now (config->clock) / G_USEC_PER_SEC,
      };
      g_autofree char *proof = grant_dpop_proof_build (config->dpop_key, &claims, &error);

      if (proof == NULL)
        {
          g_object_unref (message);
          token_attempt_done (fetch, NULL, g_steal_pointer (&error));
          return FALSE;
        }
      soup_message_headers_replace (soup_message_get_request_headers (message), "DPoP", proof);
    }
  if (config->tls_certificate != NULL)
    {
      grant_tls_present_certificate (message, config->tls_certificate, TRUE);
      /* The connection, which carries the client's certificate, is not
       * left for the session's other requests. */
      soup_message_headers_replace (soup_message_get_request_headers (message), "Connection", "close");
    }

  if (method == GRANT_AUTH_METHOD_PRIVATE_KEY_JWT || method == GRANT_AUTH_METHOD_CLIENT_SECRET_JWT)
    {
      g_autoptr(GError) error = NULL;

      assertion = make_assertion (fetch, method, &error);
      if (assertion == NULL)
        {
          g_object_unref (message);
          token_attempt_done (fetch, NULL, g_steal_pointer (&error));
          return FALSE;
        }
      spec.client_assertion = assertion;
    }

  request = grant_request_build (&spec);
  if (request->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message),
                                  "Authorization", request->authorization);
  soup_message_set_request_body_from_bytes (message, request->content_type, request->body);

  if (grant_debug_enabled ())
    {
      g_autofree char *where = grant_describe_uri (soup_message_get_uri (message));

      g_debug ("Requesting a token from %s, client authentication %s, %s body",
               where, grant_auth_method_to_string (method),
               config->format == GRANT_REQUEST_FORMAT_JSON ? "JSON" : "form");
    }

  fetch->state = FETCH_REQUESTING;
  fetch_send (fetch, "token request", message);

  return TRUE;
}

/* The token endpoint is known: resets the attempts and picks the first
 * method. */
static void
prepare_token_request (GrantFetch *fetch)
{
  GError *error = NULL;

  if (!grant_check_url (fetch->token_url, fetch->config->allow_insecure_http, &error))
    {
      fetch_fail (fetch, error);
      return;
    }

  fetch->attempts = 0;
  fetch->attempt_method = fetch->config->auth_method;
  if (fetch->attempt_method == GRANT_AUTH_METHOD_AUTO)
    {
      /* Without a discovery document, what the client has decides. */
      if (fetch->auto_candidates == 0)
        fetch->auto_candidates = auto_default (fetch->config);
      if (!next_auto_method (fetch, &fetch->attempt_method))
        g_assert_not_reached ();
    }

  fetch->state = FETCH_REQUEST;
}

/* Where the token endpoint is: the token URL, a discovery document known
 * already, or one to read. */
static void
resolve_endpoint (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  GrantDialect *dialect = config->dialect;
  GError *error = NULL;

  if (is_abandoned (fetch))
    fetch_fail_cancelled (fetch, abandoned_why (fetch));
  else if (config->network != NULL &&
           !grant_network_reaches (g_atomic_int_get (&config->network->available),
                                   g_atomic_int_get (&config->network->covers_loopback),
                                   is_set (config->token_url) ? config->token_url : config->issuer))
    fetch_fail (fetch, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                                            "No network is available to reach the token endpoint"));
  else if (is_set (config->token_url))
    {
      grant_set_str (&fetch->token_url, config->token_url);
      fetch->state = FETCH_READY;
    }
  else if (is_set (config->issuer))
    {
      if (!grant_check_url (config->issuer, config->allow_insecure_http, &error))
        {
          g_prefix_error (&error, "The issuer cannot be used: ");
          fetch_fail (fetch, error);
        }
      else if (config->discovery != NULL && g_strcmp0 (config->discovery->issuer, config->issuer) == 0)
        {
          if (use_discovery (fetch, config->discovery, &error))
            fetch->state = FETCH_READY;
          else
            fetch_fail (fetch, error);
        }
      else
        fetch->state = FETCH_DISCOVER;
    }
  else if (grant_dialect_get_variables (dialect) != NULL && grant_dialect_get_token_url_hint (dialect) != NULL)
    {
      g_autofree char *names = g_strjoinv (", ", (char **) grant_dialect_get_variables (dialect));

      fetch_fail (fetch, g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                      "The %s preset has no token URL: give it its variables (%s), "
                                      "as grant_token_provider_new_from_preset_with_variables() or "
                                      "grant-token --preset-var take them, or set the token-url "
                                      "property to %s",
                                      grant_dialect_get_display_name (dialect), names,
                                      grant_dialect_get_token_url_hint (dialect)));
    }
  else if (grant_dialect_get_token_url_hint (dialect) != NULL)
    fetch_fail (fetch, g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                    "The %s preset has no token URL: set the token-url property "
                                    "to your service's, %s",
                                    grant_dialect_get_display_name (dialect),
                                    grant_dialect_get_token_url_hint (dialect)));
  else
    fetch_fail (fetch, g_error_new_literal (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                            "No token URL is set: set the token-url or the issuer property"));
}

/* Sends the discovery request for fetch->discovery_kind; FALSE when it
 * cannot be made, with the fetch moved on. */
static gboolean
send_discovery_request (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  g_autofree char *url = fetch->discovery_redirect ? g_strdup (fetch->discovery_redirect)
                                                   : grant_discovery_url (config->issuer, fetch->discovery_kind);
  SoupMessage *message = url ? soup_message_new ("GET", url) : NULL;

  if (message == NULL)
    {
      fetch_fail (fetch, g_error_new (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                      "The issuer “%s” is not a URL without a query or "
                                      "fragment", config->issuer));
      return FALSE;
    }

  g_debug ("Reading the discovery document %s", url);
  /* Following a redirect is not another attempt; a retry of the GET
   * after a failure is, wherever it goes. */
  if (fetch->discovery_hop_pending)
    fetch->discovery_hop_pending = FALSE;
  else
    fetch->attempts++;
  fetch->state = FETCH_DISCOVERING;
  fetch_send (fetch, "discovery request", message);

  return TRUE;
}

/* The end */

/* Reports to the owner, then completes every waiter, each in its own
 * context. The owner hears first, so that what it does (cache the token,
 * queue its signals) is done before any caller's callback runs. */
static void
fetch_finish (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;
  GrantFetchResult result = { 0 };
  g_autoptr(GrantToken) fallback = NULL;
  g_autoptr(GHashTable) task_waiters = NULL;
  GQueue blocking_waiters;

  g_assert ((fetch->token == NULL) != (fetch->error == NULL));

  /* Abandoned while its last answer was being read: nobody was left to
   * fail, so it is cancelled, not failed. */
  if (fetch->error != NULL && is_abandoned (fetch) &&
      !g_error_matches (fetch->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&fetch->error);
      fetch->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, abandoned_why (fetch));
    }

  /* Other processes may go on. */
  release_lock (fetch, g_steal_pointer (&fetch->lock_held));

  if (grant_debug_enabled ())
    {
      const char *url = is_set (fetch->token_url) ? fetch->token_url
                        : is_set (config->token_url) ? config->token_url
                        : config->issuer;
      g_autofree char *where = grant_describe_url (url);

      if (fetch->token != NULL)
        g_debug ("Got a token from %s, valid for %s", where,
                 grant_token_get_expires_at (fetch->token) ? "the time the server gave"
                                                          : "the default lifetime");
      else
        g_debug ("Getting a token from %s failed: %s", where, fetch->error->message);
    }

  result.token = fetch->token;
  result.error = fetch->error;
  result.discovery = fetch->discovery;
  result.store_error = fetch->store_error;
  result.transient = fetch->error != NULL && is_transient (fetch->error);
  result.dpop_nonce = fetch->dpop_nonce;
  result.dpop_url = fetch->token_url;
  result.retry_after_ms = -1;
  if (fetch->error != NULL && fetch->message != NULL)
    {
      gint64 retry_after = grant_response_retry_after (soup_message_get_response_headers (fetch->message),
                                                       grant_clock_now (config->clock));

      if (retry_after >= 0)
        result.retry_after_ms = MIN (retry_after / 1000, RETRY_AFTER_CAP_MS);
    }

  /* The owner is alive while it has not detached the fetch, and cannot
   * detach it while it hears. */
  g_mutex_lock (&fetch->done_lock);
  if (!fetch->detached)
    fallback = fetch->done (fetch, &result, fetch->owner);
  g_mutex_unlock (&fetch->done_lock);

  g_mutex_lock (&fetch->lock);
  g_atomic_int_set (&fetch->finished, TRUE);
  task_waiters = g_steal_pointer (&fetch->task_waiters);
  blocking_waiters = fetch->blocking_waiters;
  g_queue_init (&fetch->blocking_waiters);
  fetch->n_waiters = 0;
  g_mutex_unlock (&fetch->lock);

  deliver (fetch, task_waiters, &blocking_waiters, fallback, &result);
  g_clear_pointer (&result.home_context, g_main_context_unref);
  if (result.home_data != NULL && result.home_destroy != NULL)
    result.home_destroy (result.home_data);
  fetch->state = FETCH_FINISHED;

  /* The reference grant_fetch_start() took. */
  grant_fetch_unref (fetch);
}

/* On the worker, once abandoned: nobody waits any more, or the owner went
 * away. What is in flight is given up, except a save: a token fetched is
 * worth keeping. */
static void
fetch_stop (GrantFetch *fetch,
            const char *why)
{
  switch (fetch->state)
    {
    case FETCH_LOCKING:
    case FETCH_LOADING:
    case FETCH_DISCOVERING:
    case FETCH_REQUESTING:
    case FETCH_BACKING_OFF:
      fetch_give_up_op (fetch);
      fetch_fail_cancelled (fetch, why);
      fetch_process (fetch);
      break;

    default:
      /* Not started yet (it stops at the start), saving, or done. */
      break;
    }
}

/* The one function that moves a fetch on, until it waits for something or
 * has finished. On the worker. */
static void
fetch_process (GrantFetch *fetch)
{
  const GrantFetchConfig *config = fetch->config;

  for (;;)
    {
      switch (fetch->state)
        {
        case FETCH_STARTING:
          if (is_abandoned (fetch))
            {
              fetch_fail_cancelled (fetch, abandoned_why (fetch));
              break;
            }
          if (!is_set (config->client_id))
            {
              fetch_fail (fetch, g_error_new_literal (GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                                                      "No client id is set: set the client-id property"));
              break;
            }
          /* With a store that locks, one process fetches while the others
           * wait for the token it saves. A token already stored is taken
           * without the lock; only a miss locks, then loads again. A fetch
           * that wants a new token whatever is stored (a refresh) takes
           * no lock: it would only wait for a token it will not use. */
          fetch->state = FETCH_LOAD;
          if (config->key != NULL && config->load_stored && grant_token_store_can_lock (config->store))
            fetch->lock_on_miss = TRUE;
          break;

        case FETCH_LOCK:
          if (is_abandoned (fetch))
            {
              fetch_fail_cancelled (fetch, abandoned_why (fetch));
              break;
            }
          fetch->state = FETCH_LOCKING;
          store_call (fetch, STORE_LOCK);
          return;

        case FETCH_LOAD:
          fetch->state = FETCH_RESOLVE;
          if (is_abandoned (fetch))
            fetch_fail_cancelled (fetch, abandoned_why (fetch));
          else if (config->key != NULL && config->load_stored)
            {
              fetch->state = FETCH_LOADING;
              store_call (fetch, STORE_LOAD);
              return;
            }
          break;

        case FETCH_RESOLVE:
          resolve_endpoint (fetch);
          break;

        case FETCH_DISCOVER:
          if (is_abandoned (fetch))
            fetch_fail_cancelled (fetch, abandoned_why (fetch));
          else if (send_discovery_request (fetch))
            return;
          break;

        case FETCH_READY:
          prepare_token_request (fetch);
          break;

        case FETCH_REQUEST:
          if (is_abandoned (fetch))
            fetch_fail_cancelled (fetch, abandoned_why (fetch));
          else if (send_token_request (fetch))
            return;
          break;

        case FETCH_SAVE:
          fetch->state = FETCH_FINISHING;
          if (config->key != NULL)
            {
              fetch->state = FETCH_SAVING;
              store_call (fetch, STORE_SAVE);
              return;
            }
          break;

        case FETCH_FINISHING:
          fetch_finish (fetch);
          return;

        case FETCH_LOCKING:
        case FETCH_LOADING:
        case FETCH_DISCOVERING:
        case FETCH_REQUESTING:
        case FETCH_BACKING_OFF:
        case FETCH_SAVING:
          /* A callback moves on. */
          return;

        case FETCH_FINISHED:
        default:
          g_assert_not_reached ();
        }
    }
}

/* The owner's side: from any thread. */

GrantFetch *
grant_fetch_new (GrantFetchConfig   *config,
                 GrantFetchDoneFunc  done,
                 gpointer            owner)
{
  GrantFetch *fetch;

  g_return_val_if_fail (config->key == NULL || (config->store != NULL && config->store_context != NULL), NULL);
  g_return_val_if_fail (config->max_attempts > 0, NULL);

  fetch = g_new0 (GrantFetch, 1);
  g_atomic_ref_count_init (&fetch->ref_count);
  fetch->config = config;
  fetch->dpop_nonce = g_strdup (config->dpop_nonce);
  fetch->done = done;
  fetch->owner = owner;
  g_mutex_init (&fetch->done_lock);
  g_mutex_init (&fetch->lock);
  fetch->task_waiters = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_queue_free);
  g_queue_init (&fetch->blocking_waiters);
  fetch->state = FETCH_STARTING;

  return fetch;
}

GrantFetch *
grant_fetch_ref (GrantFetch *fetch)
{
  g_atomic_ref_count_inc (&fetch->ref_count);

  return fetch;
}

void
grant_fetch_unref (GrantFetch *fetch)
{
  if (!g_atomic_ref_count_dec (&fetch->ref_count))
    return;

  g_assert (fetch->n_waiters == 0);
  g_clear_pointer (&fetch->task_waiters, g_hash_table_unref);
  g_assert (fetch->lock_held == NULL);

  clear_source (&fetch->op_deadline);
  clear_source (&fetch->retry_source);
  fetch_clear_exchange (fetch);
  g_clear_object (&fetch->cancellable);
  g_clear_object (&fetch->runner_cancellable);
  g_clear_error (&fetch->runner_error);
  g_clear_object (&fetch->message);
  g_clear_object (&fetch->token);
  g_clear_error (&fetch->error);
  g_clear_error (&fetch->store_error);
  g_clear_error (&fetch->first_error);
  g_clear_pointer (&fetch->discovery, grant_discovery_free);
  g_free (fetch->token_url);
  g_free (fetch->discovery_redirect);
  g_free (fetch->dpop_nonce);
  g_mutex_clear (&fetch->done_lock);
  g_mutex_clear (&fetch->lock);
  grant_fetch_config_free (fetch->config);
  g_free (fetch);
}

static gboolean
start_cb (gpointer user_data)
{
  fetch_process (user_data);

  return G_SOURCE_REMOVE;
}

/* Starts the fetch on the worker; it lives until it has finished. */
void
grant_fetch_start (GrantFetch *fetch)
{
  g_return_if_fail (fetch->state == FETCH_STARTING);

  grant_fetch_ref (fetch);
  post_to_worker (fetch, start_cb);
}

static gboolean detached_cb (gpointer user_data);

/* The runner's caller cancelled; in the cancelling thread. */
static void
runner_cancelled_cb (GCancellable *cancellable,
                     GrantFetch   *fetch)
{
  g_atomic_int_set (&fetch->runner_caller_left, TRUE);
  runner_interrupt (fetch);
}

/* The runner stops running @fetch: it has finished, it waits (a backoff,
 * which the worker waits out), or the runner's caller left in the middle
 * of an exchange (the worker sends it again for the other callers). The
 * runner is cleared only once the worker has the fetch: until then a
 * detaching owner only marks it abandoned, and the worker finds that at
 * its next step (the retry, or the request sent again). */
static void
runner_leave (GrantFetch *fetch)
{
  gboolean abandoned, others;

  g_mutex_lock (&fetch->lock);
  abandoned = is_abandoned (fetch);
  /* Still linked, the runner's caller is one of them. */
  others = fetch->n_waiters > 1;
  if (fetch->runner_stopped && !others)
    g_atomic_int_set (&fetch->abandoned, TRUE);
  g_mutex_unlock (&fetch->lock);

  if (fetch->state != FETCH_FINISHED && fetch->runner_stopped)
    {
      fetch->runner_stopped = FALSE;
      g_clear_error (&fetch->runner_error);
      fetch_clear_exchange (fetch);
      if (abandoned || !others)
        {
          /* Nobody to send it for: it ends here. */
          fetch_fail_cancelled (fetch, abandoned_why (fetch));
          fetch_process (fetch);
        }
      else
        {
          /* Not an attempt: its answer was never read. The callers left
           * wait for the request sent again, a second one for the server. */
          if (fetch->attempts > 0)
            fetch->attempts--;
          fetch->state = fetch->state == FETCH_DISCOVERING ? FETCH_DISCOVER : FETCH_REQUEST;
          post_to_worker (fetch, start_cb);
        }
    }
  else if (fetch->state != FETCH_FINISHED)
    {
      g_assert (fetch->state == FETCH_BACKING_OFF && fetch->retry_source != NULL);
      if (abandoned)
        /* The owner left while it ran: it stops on the worker. */
        post_to_worker (fetch, detached_cb);
      else
        g_source_attach (fetch->retry_source, grant_fetch_worker_context ());
    }

  g_mutex_lock (&fetch->lock);
  g_atomic_pointer_set (&fetch->runner, NULL);
  g_mutex_unlock (&fetch->lock);
}

static gint n_runs;

/* How many fetches blocking callers ran themselves in this process; for
 * the tests. */
guint
grant_fetch_count_runs (void)
{
  return (guint) g_atomic_int_get (&n_runs);
}

/* Instead of grant_fetch_start(): the blocking caller that made @fetch,
 * whose @waiter it is, runs it on its own thread, with libsoup's blocking
 * API, until it ends or must wait (a backoff): the worker then goes on
 * with it. Then waits as grant_fetch_waiter_wait() does. Other callers may
 * join meanwhile, as they join any fetch. */
GrantToken *
grant_fetch_run (GrantFetch        *fetch,
                 GrantFetchWaiter  *waiter,
                 GCancellable      *cancellable,
                 gint64             deadline,
                 GError           **error)
{
  gulong handler = 0;

  g_return_val_if_fail (fetch->state == FETCH_STARTING, NULL);
  g_return_val_if_fail (grant_fetch_config_can_run (fetch->config), NULL);
  g_return_val_if_fail (waiter->fetch == fetch, NULL);

  if (grant_debug_enabled ())
    g_debug ("Fetching on the calling thread");
  /* As grant_fetch_start() takes: until it has finished. */
  grant_fetch_ref (fetch);
  g_atomic_int_inc (&n_runs);
  g_mutex_lock (&fetch->lock);
  g_atomic_pointer_set (&fetch->runner, g_thread_self ());
  fetch->runner_waiter = waiter;
  g_mutex_unlock (&fetch->lock);
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (runner_cancelled_cb), fetch, NULL);

  fetch_process (fetch);
  /* Waiting for an answer here means it is in: the exchange blocked. */
  while ((fetch->state == FETCH_REQUESTING || fetch->state == FETCH_DISCOVERING) && !fetch->runner_stopped)
    /* Moves on, up to the next answer or the end. */
    exchange_done (fetch, g_steal_pointer (&fetch->runner_error));

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  runner_leave (fetch);

  return grant_fetch_waiter_wait (waiter, cancellable, deadline, error);
}

/* Whether a blocking caller may run a fetch of @config itself: it needs no
 * store (which is called in its own context), and its session carries
 * only libgrant's exchanges, each bounded by its timeout: libsoup's
 * blocking API waits, without looking at cancellation, for a connection
 * when every one it may open to the host is busy. */
gboolean
grant_fetch_config_can_run (const GrantFetchConfig *config)
{
  return config->key == NULL && config->private_session && config->timeout > 0;
}

/* Whether a caller can still join: neither finished nor abandoned. */
gboolean
grant_fetch_is_joinable (GrantFetch *fetch)
{
  /* Both only ever go from FALSE to TRUE: a caller that finds the fetch
   * joinable here may still be turned away by grant_fetch_add_task(). */
  return !is_abandoned (fetch) && !g_atomic_int_get (&fetch->finished);
}

const GrantFetchConfig *
grant_fetch_get_config (GrantFetch *fetch)
{
  return fetch->config;
}

static gboolean
detached_cb (gpointer user_data)
{
  fetch_stop (user_data, "The provider went away");

  return G_SOURCE_REMOVE;
}

/* Whether asynchronous callers wait in @context; for the done callback. */
gboolean
grant_fetch_has_waiters_in (GrantFetch   *fetch,
                            GMainContext *context)
{
  GQueue *queue;
  gboolean has;

  g_mutex_lock (&fetch->lock);
  queue = fetch->task_waiters ? g_hash_table_lookup (fetch->task_waiters, context) : NULL;
  has = queue != NULL && !g_queue_is_empty (queue);
  g_mutex_unlock (&fetch->lock);

  return has;
}

/* The owner is going away: it hears nothing more (once this returns, not
 * even from a done callback that was running), and what is in flight
 * stops. Never call it with a lock the done callback takes. */
void
grant_fetch_detach (GrantFetch *fetch)
{
  gboolean stop, here;

  g_mutex_lock (&fetch->done_lock);
  fetch->detached = TRUE;
  g_mutex_unlock (&fetch->done_lock);

  g_mutex_lock (&fetch->lock);
  stop = !is_abandoned (fetch) && !g_atomic_int_get (&fetch->finished);
  g_atomic_int_set (&fetch->owner_left, TRUE);
  g_atomic_int_set (&fetch->abandoned, TRUE);
  here = g_atomic_pointer_get (&fetch->runner) != NULL;
  g_mutex_unlock (&fetch->lock);

  /* A runner sees the fetch abandoned once its exchange is cancelled, or
   * when it hands the fetch over. */
  if (stop && here)
    runner_interrupt (fetch);
  else if (stop)
    post_to_worker (fetch, detached_cb);
}
