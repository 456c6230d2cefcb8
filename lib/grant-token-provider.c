/* grant-token-provider.c: gets, caches and shares client credentials tokens
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-clock-private.h"
#include "grant-discovery-private.h"
#include "grant-enum-types.h"
#include "grant-error.h"
#include "grant-fetch-private.h"
#include "grant-request-private.h"
#include "grant-dpop-private.h"
#include "grant-assertion-private.h"

/* At most this many origins' DPoP nonces are kept (oauth4webapi keeps 100). */
#define MAX_DPOP_NONCES 100
#include "grant-token-store-private.h"
#include "grant-token-private.h"
#include "grant-token-provider-private.h"
#include "grant-utils-private.h"

/**
 * GrantTokenProvider:
 *
 * Gets OAuth 2.0 access tokens with the client credentials grant
 * (RFC 6749, section 4.4), caches them and shares them.
 *
 * A provider stands for one client at one token endpoint. Ask it for a token
 * whenever one is needed: it answers from its cache while the cached token
 * is fresh, and otherwise fetches one. Any number of concurrent callers share
 * a single request.
 *
 * ```c
 * g_autoptr(GrantTokenProvider) provider =
 *   grant_token_provider_new ("https://auth.example.com/oauth/token",
 *                             "my-client-id", secret);
 *
 * grant_token_provider_get_token_async (provider, cancellable,
 *                                       on_token_cb, user_data);
 * ```
 *
 * A cached token counts as fresh until
 * [property@Grant.TokenProvider:expiry-margin] seconds before it expires
 * (at most half its lifetime before); a token is never handed out after its
 * expiry. When the server names no expiry, the provider assumes
 * [property@Grant.TokenProvider:default-lifetime].
 *
 * Changing a property that alters the request (the token URL, the client,
 * the scope, the authentication method, the request format or a parameter)
 * drops the cached token; a request already in flight still completes its
 * callers but its token is not cached.
 *
 * Requests only go to `https://` URLs, or to `http://` URLs whose host is a
 * loopback address, unless [property@Grant.TokenProvider:allow-insecure-http]
 * is set. Token requests never follow redirects, and the response body read
 * is limited to 1 MiB.
 *
 * A provider may be used from any thread, as a #GDBusConnection can. All
 * callers of all threads share one cache and one request in flight. Its
 * requests run on a thread of libgrant's own, so a blocking
 * [method@Grant.TokenProvider.get_token] needs no main loop, and
 * [method@Grant.TokenProvider.get_token_async] completes in the caller's
 * thread-default main context. The signals and the `token` property's
 * notifications are emitted in the provider's home context: the
 * thread-default main context of the thread that made it. A
 * [iface@Grant.TokenStore] is called in the thread-default context of the
 * thread that set it. See the [Threads and main contexts](threads.html)
 * guide.
 */

struct _GrantTokenProvider
{
  GObject parent_instance;

  /* Everything below that changes after construction. */
  GMutex lock;

  char *token_url;
  char *client_id;
  char *client_secret;
  GrantSealer *sealer;         /* the stores' key, from the credentials */
  char *scope;
  GrantAuthMethod auth_method;
  GrantRequestFormat request_format;
  guint expiry_margin;
  guint default_lifetime;
  guint timeout;
  gboolean allow_insecure_http;
  char *issuer;
  GrantDialect *dialect;
  SoupSession *session;
  gint session_private;               /* atomic: @session is the provider's
                                       * own and nobody else has it yet */
  GTlsCertificate *tls_certificate;   /* for mutual TLS, under @lock */
  GrantClientKey *client_key;         /* for private_key_jwt, under @lock */
  GrantClientKey *dpop_key;           /* for DPoP, under @lock */
  GHashTable *dpop_nonces;            /* origin -> the server's last nonce, under @lock */
  SoupSession *certificate_session;   /* API requests with @tls_certificate */
  GTlsCertificate *certificate_session_for;
  char *assertion_audience;           /* under @lock */
  GPtrArray *parameters;

  /* The issuer's discovery document, read once. */
  GrantDiscovery *discovery;

  /* The cached token, and when it expires and goes stale, in wall-clock
   * microseconds. */
  GrantToken *token;            /* written atomically, under the lock */
  GrantToken *rejected;         /* the token invalidated last: the store may still hold it */
  gint64 token_expires;
  gint64 token_stale;
  gint cache_generation;        /* atomic: bumped when any of the three change */

  /* Bumped by every change to what a request is; a fetch started before
   * the change does not fill the cache. */
  guint generation;

  /* The fetch callers join, and every fetch still running (references),
   * so that dispose can let go of them. */
  GrantFetch *fetch;
  GList *fetches;

  /* The home context: the thread-default one when the provider was made.
   * Signals are emitted there, through @events. */
  GMainContext *context;
  GThread *home_thread;          /* the thread that made it */
  GQueue events;
  GSource *events_source;

  /* Background refresh: one alarm on the wall clock, in the home
   * context. */
  gboolean auto_refresh;
  gboolean refresh_due;          /* the alarm is to be armed in the home context */
  gboolean disposed;
  GrantClock *clock;
  GSource *alarm;
  gint64 alarm_at;
  guint refresh_failures;     /* in a row; backs off the next attempt */
  gint64 last_failure;

  /* After fetches failed with a transient error, callers without a token
   * get that error again until @quiet_until rather than a new request:
   * the backoff goes on across calls. For the request of @quiet_generation
   * only. */
  guint quiet_failures;
  gint64 quiet_until;
  GError *quiet_error;
  guint quiet_generation;

  GNetworkMonitor *monitor;
  gulong monitor_handler;
  gulong monitor_notify_handler;
  GrantNetworkState *network;  /* the monitor's last word, shared with fetches */

  GrantTokenStore *store;
  GMainContext *store_context;   /* where the store was set: it is called there */
  gboolean store_warned;

  /* Retries inside a fetch, and jitter; changed only by tests. */
  guint retry_base_ms;
  guint retry_max_ms;
  guint max_attempts;
  gboolean jitter;
};

G_DEFINE_FINAL_TYPE (GrantTokenProvider, grant_token_provider, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TOKEN_URL,
  PROP_CLIENT_ID,
  PROP_CLIENT_SECRET,
  PROP_SCOPE,
  PROP_AUTH_METHOD,
  PROP_REQUEST_FORMAT,
  PROP_EXPIRY_MARGIN,
  PROP_DEFAULT_LIFETIME,
  PROP_TIMEOUT,
  PROP_MAX_ATTEMPTS,
  PROP_ALLOW_INSECURE_HTTP,
  PROP_ISSUER,
  PROP_AUTO_REFRESH,
  PROP_STORE,
  PROP_DIALECT,
  PROP_SESSION,
  PROP_TLS_CERTIFICATE,
  PROP_CLIENT_KEY,
  PROP_DPOP_KEY,
  PROP_ASSERTION_AUDIENCE,
  PROP_TOKEN,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_TOKEN_REFRESHED,
  SIGNAL_REFRESH_FAILED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

#define DEFAULT_EXPIRY_MARGIN    60
#define DEFAULT_DEFAULT_LIFETIME 600
#define DEFAULT_TIMEOUT          30

#define DEFAULT_RETRY_BASE_MS 1000
#define DEFAULT_RETRY_MAX_MS  60000
#define DEFAULT_MAX_ATTEMPTS  3
#define MAX_MAX_ATTEMPTS      10

/* Locking: @lock guards every field that changes after construction. It
 * is never held while a signal is emitted or a callback runs. Signals and
 * notify::token go through a queue drained in the home context. */

static const char *request_url (GrantTokenProvider *self);

static void
update_token_times (GrantTokenProvider *self)
{
  if (self->token == NULL)
    self->token_expires = self->token_stale = 0;
  else
    grant_token_get_times (self->token, self->default_lifetime, self->expiry_margin,
                           &self->token_expires, &self->token_stale);
  g_atomic_int_inc (&self->cache_generation);
}

/* The cached path without the lock. Each thread remembers the token it
 * last took from a provider's cache, with a reference: while the provider
 * still holds that token at the same generation, the thread gets it
 * again with two atomic loads, and the reference keeps it alive whatever
 * other threads do meanwhile. */
typedef struct {
  gconstpointer provider;   /* compared, never dereferenced */
  GrantToken *token;
  gint generation;
  gint64 stale;
} Taken;

static void
taken_free (Taken *taken)
{
  g_object_unref (taken->token);
  g_free (taken);
}

static GPrivate taken_key = G_PRIVATE_INIT ((GDestroyNotify) taken_free);

static GrantToken *
taken_fresh_token (GrantTokenProvider *self,
                   gint64              now)
{
  Taken *taken = g_private_get (&taken_key);

  /* The generation is read first: a token replaced after it was read
   * differs below, one replaced before bumped it. */
  if (taken != NULL && taken->provider == self &&
      g_atomic_int_get (&self->cache_generation) == taken->generation &&
      g_atomic_pointer_get (&self->token) == taken->token &&
      now < taken->stale)
    return taken->token;

  return NULL;
}

/* Remembers @token, the fresh cached one, for this thread. With the lock
 * held. */
static void
take_token (GrantTokenProvider *self,
            GrantToken         *token)
{
  Taken *taken = g_private_get (&taken_key);

  if (taken != NULL && taken->provider == self && taken->token == token &&
      taken->generation == self->cache_generation)
    return;

  taken = g_new (Taken, 1);
  taken->provider = self;
  taken->token = g_object_ref (token);
  taken->generation = self->cache_generation;
  taken->stale = self->token_stale;
  g_private_replace (&taken_key, taken);
}

/* A store that fails is no error for callers: warn once (the fetch logs
 * every failure at debug level), then fetch. */
static void
store_failed (GrantTokenProvider *self,
              const GError       *error)
{
  gboolean warn;

  g_mutex_lock (&self->lock);
  warn = !self->store_warned;
  self->store_warned = TRUE;
  g_mutex_unlock (&self->lock);

  if (warn)
    g_warning ("The token store failed, so tokens come from the network: %s", error->message);
}

static GrantTokenKey *
dup_token_key (GrantTokenProvider *self)
{
  g_autoptr(GPtrArray) parameters = g_ptr_array_new_with_free_func (g_free);
  const char *url = request_url (self);
  GrantTokenKey *key;

  if (url == NULL || *url == '\0' || self->client_id == NULL || *self->client_id == '\0')
    return NULL;

  for (guint i = 0; i < self->parameters->len; i++)
    {
      GrantParameter *parameter = g_ptr_array_index (self->parameters, i);

      g_ptr_array_add (parameters, g_strconcat (parameter->name, "=", parameter->value, NULL));
    }
  /* A token may be bound to the certificate it was fetched with: each
   * certificate has tokens of its own (by its SHA-256, never the key). */
  if (self->tls_certificate != NULL)
    {
      g_autoptr(GByteArray) der = NULL;

      g_object_get (self->tls_certificate, "certificate", &der, NULL);
      if (der != NULL)
        {
          g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);

          g_ptr_array_add (parameters, g_strconcat ("x5t#S256=", sha, NULL));
        }
    }
  if (self->client_key != NULL)
    g_ptr_array_add (parameters, g_strconcat ("jkt=", grant_client_key_get_thumbprint (self->client_key), NULL));
  /* A DPoP-bound token is good only with its key. */
  if (self->dpop_key != NULL)
    g_ptr_array_add (parameters, g_strconcat ("dpop-jkt=", grant_client_key_get_thumbprint (self->dpop_key), NULL));
  g_ptr_array_add (parameters, NULL);

  key = grant_token_key_new (url, self->client_id, self->auth_method, self->scope,
                             (const char * const *) parameters->pdata);

  /* Derived once per set of credentials, by the first store that asks. */
  if (self->sealer == NULL ||
      !grant_sealer_matches (self->sealer, url, self->client_id, self->client_secret,
                             self->client_key, self->tls_certificate))
    {
      g_clear_pointer (&self->sealer, grant_sealer_unref);
      self->sealer = grant_sealer_new (url, self->client_id, self->client_secret,
                                       self->client_key, self->tls_certificate);
    }
  grant_token_key_set_sealer (key, self->sealer);
  grant_token_key_set_lock_timeout (key, self->timeout);

  return key;
}

/* Whether a request to @url can go anywhere, by what the network monitor
 * said last: asking it costs a g_object_get(), which each of many
 * concurrent callers would pay. */
static gboolean
network_available_for (GrantTokenProvider *self,
                       const char         *url)
{
  return self->monitor == NULL ||
         grant_network_reaches (g_atomic_int_get (&self->network->available),
                                g_atomic_int_get (&self->network->covers_loopback), url);
}

static const char *
request_url (GrantTokenProvider *self)
{
  return self->token_url && *self->token_url ? self->token_url : self->issuer;
}

/* A source's hold on the provider: it may be finalized, in another thread,
 * while the source waits. */
static GWeakRef *
weak_self_new (GrantTokenProvider *self)
{
  GWeakRef *weak = g_new (GWeakRef, 1);

  g_weak_ref_init (weak, self);

  return weak;
}

static void
weak_self_free (GWeakRef *weak)
{
  g_weak_ref_clear (weak);
  g_free (weak);
}

/* Signals, in the home context */

typedef struct {
  GrantToken *refreshed;     /* token-refreshed */
  GError *failed;            /* refresh-failed */
  gboolean notify_token;
} Event;

static void
event_free (Event *event)
{
  g_clear_object (&event->refreshed);
  g_clear_error (&event->failed);
  g_free (event);
}

/* At most this many wait for a home context nobody iterates (a script
 * making blocking calls); older ones are dropped. */
#define MAX_EVENTS 64

static gboolean emit_events_cb   (gpointer            user_data);
static void     schedule_refresh (GrantTokenProvider *self);

/* Queues an event, to be emitted by the events source or by a fetch that
 * runs emit_events_cb() in the home context. With the lock held. */
static void
push_event (GrantTokenProvider *self,
            Event              *event)
{
  if (g_queue_get_length (&self->events) >= MAX_EVENTS)
    event_free (g_queue_pop_head (&self->events));
  g_queue_push_tail (&self->events, event);
}

/* Queues an event for the events source. With the lock held. */
static void
queue_event (GrantTokenProvider *self,
             Event              *event)
{
  if (event != NULL)
    push_event (self, event);

  if (self->events_source == NULL && self->context != NULL)
    {
      self->events_source = g_idle_source_new ();
      g_source_set_priority (self->events_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (self->events_source, emit_events_cb, weak_self_new (self),
                             (GDestroyNotify) weak_self_free);
      g_source_set_static_name (self->events_source, "[libgrant] provider signals");
      g_source_attach (self->events_source, self->context);
    }
}

/* Emits what is queued; in the home context, without the lock. */
static void
emit_events (GrantTokenProvider *self)
{
  for (;;)
    {
      Event *event;

      g_mutex_lock (&self->lock);
      if (self->refresh_due)
        {
          self->refresh_due = FALSE;
          schedule_refresh (self);
        }
      event = g_queue_pop_head (&self->events);
      if (event == NULL && self->events_source != NULL)
        {
          g_source_destroy (self->events_source);
          g_clear_pointer (&self->events_source, g_source_unref);
        }
      g_mutex_unlock (&self->lock);

      if (event == NULL)
        return;

      if (event->notify_token)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
      if (event->refreshed != NULL)
        g_signal_emit (self, signals[SIGNAL_TOKEN_REFRESHED], 0, event->refreshed);
      if (event->failed != NULL)
        g_signal_emit (self, signals[SIGNAL_REFRESH_FAILED], 0, event->failed);
      event_free (event);
    }
}

static gboolean
emit_events_cb (gpointer user_data)
{
  g_autoptr(GrantTokenProvider) self = g_weak_ref_get (user_data);

  if (self != NULL)
    emit_events (self);

  return G_SOURCE_REMOVE;
}

/* After a change made without the lock held: what it queued is emitted
 * now if this thread runs the home context, or is the home thread and the
 * context is free; otherwise when the home context runs. (Not merely any
 * thread whose thread-default context is the home one, as
 * g_main_context_invoke() would: the global default context is every
 * such thread's, and signals belong to the thread that made the
 * provider.) */
static void
emit_pending (GrantTokenProvider *self)
{
  GMainContext *home = self->context;
  g_autoptr(GMainContext) thread_default = g_main_context_ref_thread_default ();

  if (g_main_context_is_owner (home))
    emit_events (self);
  else if (home == thread_default && g_thread_self () == self->home_thread &&
           g_main_context_acquire (home))
    {
      emit_events (self);
      g_main_context_release (home);
    }
}

/* Background refresh */

static void start_background_refresh (GrantTokenProvider *self);

static gboolean
refresh_alarm_cb (gpointer user_data)
{
  g_autoptr(GrantTokenProvider) self = g_weak_ref_get (user_data);
  gboolean early;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->lock);
  /* Replaced meanwhile, from another thread. */
  if (self->alarm != g_main_current_source ())
    {
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }
  g_clear_pointer (&self->alarm, g_source_unref);

  /* The clock was set back (not yet), or a token came meanwhile whose
   * alarm is still to be armed. */
  early = grant_clock_now (self->clock) < self->alarm_at || self->refresh_due;
  if (early)
    {
      g_debug ("Rescheduling the token refresh");
      self->refresh_due = FALSE;
      schedule_refresh (self);
    }
  else
    start_background_refresh (self);
  g_mutex_unlock (&self->lock);

  return G_SOURCE_REMOVE;
}

static void
clear_alarm (GrantTokenProvider *self)
{
  if (self->alarm != NULL)
    {
      g_source_destroy (self->alarm);
      g_clear_pointer (&self->alarm, g_source_unref);
    }
}

/* Arms the one alarm of the provider: at about 80% of the token's lifetime
 * or the expiry margin before it expires, whichever comes first, a little
 * early at random; after failed refreshes, with a backoff from the last
 * one. Never after the token expired: then the next caller fetches. With
 * the lock held; from any thread. */
static void
schedule_refresh (GrantTokenProvider *self)
{
  gint64 at;

  clear_alarm (self);

  if (!self->auto_refresh || self->token == NULL || self->context == NULL)
    return;

  if (self->refresh_failures == 0)
    {
      gint64 issued = grant_date_time_to_usec (grant_token_get_issued_at (self->token));
      gint64 lifetime = MAX (self->token_expires - issued, 0);

      at = MIN (issued + lifetime / 5 * 4, self->token_stale);
      if (self->jitter)
        at -= (gint64) (g_random_double () * MIN (lifetime / 20, 30 * G_USEC_PER_SEC));
    }
  else
    at = self->last_failure +
         grant_backoff_ms (self->refresh_failures - 1, self->retry_base_ms, self->retry_max_ms,
                           self->jitter) * 1000;

  if (at >= self->token_expires)
    {
      g_debug ("No refresh before the token expires; the next caller fetches");
      return;
    }

  self->alarm_at = at;
  self->alarm = grant_clock_alarm_source (self->clock, at);
  g_source_set_callback (self->alarm, refresh_alarm_cb, weak_self_new (self),
                         (GDestroyNotify) weak_self_free);
  g_source_attach (self->alarm, self->context);
}

/* With the lock held. */
static void
set_token (GrantTokenProvider *self,
           GrantToken         *token,
           Event              *event)
{
  GrantToken *old = self->token;

  if (old == token)
    return;

  g_atomic_pointer_set (&self->token, token ? g_object_ref (token) : NULL);
  g_clear_object (&old);
  if (token != NULL)
    g_clear_object (&self->rejected);
  update_token_times (self);
  /* With an event, a fetch's: the alarm is armed when the event is
   * emitted, in the home context, rather than from libgrant's thread
   * (which would wake the home context once more). */
  if (event != NULL)
    self->refresh_due = TRUE;
  else
    schedule_refresh (self);
  if (event != NULL)
    event->notify_token = TRUE;
  else
    {
      event = g_new0 (Event, 1);
      event->notify_token = TRUE;
      queue_event (self, event);
    }
}

/* The wall clock, read without the lock: the cached path keeps its
 * critical section to a few loads. (The clock is replaced by tests only,
 * before any call.) */
static gint64
provider_now (GrantTokenProvider *self)
{
  return grant_clock_now (g_atomic_pointer_get (&self->clock));
}

/* The cached token while it has not expired at @now, even if it is
 * stale. With the lock held. */
static GrantToken *
valid_token (GrantTokenProvider *self,
             gint64              now)
{
  if (self->token != NULL && now < self->token_expires)
    return self->token;

  return NULL;
}

static GrantToken *
fresh_token (GrantTokenProvider *self,
             gint64              now)
{
  if (self->token != NULL && now < self->token_stale)
    return self->token;

  return NULL;
}

/* What a caller gets without a fetch: the fresh token; or the stale but
 * still valid one while a failed refresh waits for its retry, or while the
 * network is gone, rather than wait for an attempt likely to fail. With
 * the lock held. */
static GrantToken *
usable_token (GrantTokenProvider *self,
              gint64              now)
{
  GrantToken *token = fresh_token (self, now);

  if (token == NULL && ((self->refresh_failures > 0 && self->alarm != NULL) ||
                        (self->quiet_error != NULL && now < self->quiet_until) ||
                        !network_available_for (self, request_url (self))))
    token = valid_token (self, now);

  return token;
}

/* A fetch failed with a transient error: the next callers without a
 * token hear it again, without a request, for a backoff that grows with
 * each such failure in a row (from the retry delay, doubling, to a
 * minute), or for as long as the server's Retry-After asked. With the lock
 * held. */
static void
keep_quiet (GrantTokenProvider *self,
            GrantFetchResult   *result)
{
  gint64 delay_ms;

  /* A new request starts from the first delay. */
  if (self->quiet_generation != self->generation)
    self->quiet_failures = 0;
  delay_ms = grant_backoff_ms (self->quiet_failures, self->retry_base_ms, self->retry_max_ms, self->jitter);
  self->quiet_failures++;
  self->quiet_generation = self->generation;
  if (result->retry_after_ms > delay_ms)
    delay_ms = result->retry_after_ms;
  self->quiet_until = grant_clock_now (self->clock) + delay_ms * 1000;
  g_clear_error (&self->quiet_error);
  self->quiet_error = g_error_copy (result->error);
}

/* The error a caller without a token gets instead of a new request while
 * the provider keeps quiet, or NULL. With the lock held. */
static GError *
quiet_error (GrantTokenProvider *self)
{
  gint64 now;

  if (self->quiet_error == NULL || self->quiet_generation != self->generation)
    return NULL;

  now = grant_clock_now (self->clock);
  if (now >= self->quiet_until)
    return NULL;

  return g_error_new (self->quiet_error->domain, self->quiet_error->code,
                      "%s (not tried again for %" G_GINT64_FORMAT " ms after %u failures in a row)",
                      self->quiet_error->message,
                      (self->quiet_until - now + 999) / 1000, self->quiet_failures);
}

/* Keeps @nonce for @origin (taken), at most MAX_DPOP_NONCES origins. With
 * the lock held. */
static void
remember_dpop_nonce (GrantTokenProvider *self,
                     char               *origin,
                     const char         *nonce)
{
  if (g_hash_table_size (self->dpop_nonces) >= MAX_DPOP_NONCES &&
      !g_hash_table_contains (self->dpop_nonces, origin))
    g_hash_table_remove_all (self->dpop_nonces);
  g_hash_table_replace (self->dpop_nonces, origin, g_strdup (nonce));
}

/* Fetches: grant-fetch.c gets the token on libgrant's worker thread; the
 * provider gives each fetch a snapshot of the request and hears back once,
 * in fetch_done_cb(). */

static GrantFetchConfig *
snapshot_request (GrantTokenProvider *self,
                  gboolean            background,
                  gboolean            load_stored)
{
  GrantFetchConfig *config = g_new0 (GrantFetchConfig, 1);

  config->token_url = g_strdup (self->token_url);
  config->issuer = g_strdup (self->issuer);
  config->client_id = g_strdup (self->client_id);
  config->client_secret = g_strdup (self->client_secret);
  config->scope = g_strdup (self->scope);
  config->parameters = g_ptr_array_new_full (self->parameters->len,
                                             (GDestroyNotify) grant_parameter_free);
  for (guint i = 0; i < self->parameters->len; i++)
    {
      GrantParameter *parameter = g_ptr_array_index (self->parameters, i);

      g_ptr_array_add (config->parameters, grant_parameter_new (parameter->name, parameter->value));
    }
  config->auth_method = self->auth_method;
  config->format = self->request_format;
  config->dialect = g_object_ref (self->dialect);
  config->allow_insecure_http = self->allow_insecure_http;

  config->session = g_object_ref (self->session);
  config->private_session = g_atomic_int_get (&self->session_private);
  config->tls_certificate = self->tls_certificate ? g_object_ref (self->tls_certificate) : NULL;
  config->client_key = self->client_key ? g_object_ref (self->client_key) : NULL;
  config->dpop_key = self->dpop_key ? g_object_ref (self->dpop_key) : NULL;
  if (self->dpop_key != NULL && request_url (self) != NULL)
    {
      g_autofree char *origin = grant_dpop_origin (request_url (self));

      config->dpop_nonce = origin ? g_strdup (g_hash_table_lookup (self->dpop_nonces, origin)) : NULL;
    }
  config->assertion_audience = g_strdup (self->assertion_audience);
  /* The dialect is set at construction and never changes. */
  config->signing_algorithm = g_strdup (grant_dialect_get_signing_algorithm (self->dialect));

  config->clock = g_object_ref (self->clock);
  config->timeout = self->timeout;
  config->max_attempts = self->max_attempts;
  config->retry_base_ms = self->retry_base_ms;
  config->retry_max_ms = self->retry_max_ms;
  config->jitter = self->jitter;

  if (self->store != NULL)
    {
      config->store = g_object_ref (self->store);
      config->store_context = g_main_context_ref (self->store_context);
      config->key = dup_token_key (self);
    }
  config->load_stored = load_stored;
  /* A stored token equal to the one held, or to the one just rejected
   * (its removal from the store may not have run yet), is not taken. */
  config->held = self->token ? g_object_ref (self->token)
                 : self->rejected ? g_object_ref (self->rejected) : NULL;
  config->default_lifetime = self->default_lifetime;
  config->expiry_margin = self->expiry_margin;

  config->discovery = self->discovery ? grant_discovery_copy (self->discovery) : NULL;
  config->network = self->monitor ? grant_network_state_ref (self->network) : NULL;
  config->background = background;
  config->generation = self->generation;

  return config;
}

/* The fetch @self->fetch, if callers may still join it. With the lock
 * held. */
static GrantFetch *
joinable_fetch (GrantTokenProvider *self)
{
  return self->fetch != NULL && grant_fetch_is_joinable (self->fetch) ? self->fetch : NULL;
}

/* A fetch ended; on the worker thread, or a blocking caller's. Unless the request changed since it
 * started, its token becomes the cached one, or its error is reported. The
 * signals are queued for the home context before the fetch completes any
 * caller. Returns what callers that accept a still-valid token get instead
 * of the error. */
static GrantToken *
fetch_done_cb (GrantFetch       *fetch,
               GrantFetchResult *result,
               gpointer          owner)
{
  GrantTokenProvider *self = owner;
  const GrantFetchConfig *config = grant_fetch_get_config (fetch);
  GrantToken *fallback = NULL;
  Event *event = NULL;
  gboolean current;
  GList *link;

  g_mutex_lock (&self->lock);
  /* Disposing: the fetch is about to be detached. */
  if (self->disposed)
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  g_mutex_unlock (&self->lock);

  if (result->store_error != NULL)
    store_failed (self, result->store_error);

  g_mutex_lock (&self->lock);
  link = g_list_find (self->fetches, fetch);
  if (link != NULL)
    {
      self->fetches = g_list_delete_link (self->fetches, link);
      grant_fetch_unref (fetch);
    }
  if (self->fetch == fetch)
    self->fetch = NULL;
  current = config->generation == self->generation;

  /* The token endpoint's last DPoP nonce, for the next request. */
  if (result->dpop_nonce != NULL && result->dpop_url != NULL)
    {
      g_autofree char *origin = grant_dpop_origin (result->dpop_url);

      if (origin != NULL)
        remember_dpop_nonce (self, g_steal_pointer (&origin), result->dpop_nonce);
    }

  /* The document depends on the issuer alone (and on what counts as a
   * secure URL): it stays good whatever else changed meanwhile. */
  if (result->discovery != NULL && g_strcmp0 (result->discovery->issuer, self->issuer) == 0 &&
      config->allow_insecure_http == self->allow_insecure_http)
    {
      g_clear_pointer (&self->discovery, grant_discovery_free);
      self->discovery = grant_discovery_copy (result->discovery);
    }

  if (!current)
    g_debug ("The request changed during the fetch: its result is not cached");
  else if (result->token != NULL)
    {
      event = g_new0 (Event, 1);
      event->refreshed = g_object_ref (result->token);
      self->refresh_failures = 0;
      self->quiet_failures = 0;
      g_clear_error (&self->quiet_error);
      set_token (self, result->token, event);
    }
  else if (!g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (result->transient)
        keep_quiet (self, result);

      /* While the cached token is still valid, callers keep it and the
       * refresh is tried again later, backing off. */
      fallback = valid_token (self, grant_clock_now (self->clock));
      if (fallback != NULL)
        {
          g_object_ref (fallback);
          self->refresh_failures++;
          self->last_failure = grant_clock_now (self->clock);
          schedule_refresh (self);
        }
      event = g_new0 (Event, 1);
      event->failed = g_error_copy (result->error);
    }

  /* With callers in the home context, the fetch emits the events there, in
   * the same dispatch as it completes them, and before; otherwise the
   * events source does (one at most, however many fetches queue events,
   * for a home context nobody runs). */
  if (event != NULL && grant_fetch_has_waiters_in (fetch, self->context))
    {
      push_event (self, event);
      result->home_context = g_main_context_ref (self->context);
      result->home_func = emit_events_cb;
      result->home_data = weak_self_new (self);
      result->home_destroy = (GDestroyNotify) weak_self_free;
    }
  else if (event != NULL)
    queue_event (self, event);
  g_mutex_unlock (&self->lock);

  return fallback;
}

/* A fetch the next callers join. With the lock held. */
static GrantFetch *
new_fetch (GrantTokenProvider *self,
           gboolean            background,
           gboolean            load_stored)
{
  GrantFetch *fetch = grant_fetch_new (snapshot_request (self, background, load_stored),
                                       fetch_done_cb, self);

  self->fetches = g_list_prepend (self->fetches, fetch);
  self->fetch = fetch;

  return fetch;
}

/* Adds @task to the fetch in flight, or starts one; or returns the error
 * @task is to get while the provider keeps quiet. With the lock held. */
static GError *
join_or_start_fetch (GrantTokenProvider *self,
                     GTask              *task,
                     gboolean            accepts_valid_token)
{
  GrantFetch *joinable = joinable_fetch (self);
  GrantFetch *fetch;
  GError *error;

  if (joinable != NULL && grant_fetch_add_task (joinable, task, accepts_valid_token))
    return NULL;

  if ((error = quiet_error (self)) != NULL)
    return error;

  /* refresh_async() wants a new token, not the stored one. */
  fetch = new_fetch (self, FALSE, accepts_valid_token);
  grant_fetch_add_task (fetch, task, accepts_valid_token);
  grant_fetch_start (fetch);

  return NULL;
}

/* The same for a blocking caller; NULL with @error set while the provider
 * keeps quiet. With the lock held. */
static GrantFetchWaiter *
join_or_start_fetch_blocking (GrantTokenProvider  *self,
                              gint64              *budget,
                              GrantFetch         **run,
                              GError             **error)
{
  GrantFetch *joinable = joinable_fetch (self);
  GrantFetchWaiter *waiter = NULL;
  GrantFetch *fetch;
  GError *quiet;

  if (joinable != NULL && (waiter = grant_fetch_add_waiter (joinable, TRUE)) != NULL)
    {
      *budget = grant_fetch_config_get_budget (grant_fetch_get_config (joinable));
      return waiter;
    }

  if ((quiet = quiet_error (self)) != NULL)
    {
      g_propagate_error (error, quiet);
      return NULL;
    }

  fetch = new_fetch (self, FALSE, TRUE);
  *budget = grant_fetch_config_get_budget (grant_fetch_get_config (fetch));
  waiter = grant_fetch_add_waiter (fetch, TRUE);
  /* The caller waits anyway: it runs the fetch itself when it may, without
   * a hop to the worker and back; not while another of the provider's
   * fetches (one made obsolete by a change, or given up) may hold the
   * session's connections, which libsoup's blocking API would wait for
   * without looking at the timeout. */
  if (grant_fetch_config_can_run (grant_fetch_get_config (fetch)) && self->fetches->next == NULL)
    *run = fetch;
  else
    grant_fetch_start (fetch);

  return waiter;
}

/* The alarm went off: fetch a new token that nobody waits for yet. With
 * the lock held. */
static void
start_background_refresh (GrantTokenProvider *self)
{
  GrantFetch *fetch;

  /* One in flight already: its end schedules the next. */
  if (joinable_fetch (self) != NULL)
    return;

  /* Offline: wait for the network to come back. */
  if (!network_available_for (self, request_url (self)))
    {
      g_debug ("No network: the token refresh waits for it");
      return;
    }

  g_debug ("Refreshing the token in the background");
  fetch = new_fetch (self, TRUE, TRUE);
  grant_fetch_start (fetch);
}

/* The network monitor's signals come in its own context, from any thread:
 * they hold the provider weakly. */

static void
network_available_notify_cb (GNetworkMonitor *monitor,
                             GParamSpec      *pspec,
                             GWeakRef        *weak)
{
  g_autoptr(GrantTokenProvider) self = g_weak_ref_get (weak);

  if (self == NULL)
    return;

  g_mutex_lock (&self->lock);
  if (self->monitor == monitor)
    g_atomic_int_set (&self->network->available, g_network_monitor_get_network_available (monitor));
  g_mutex_unlock (&self->lock);
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    GWeakRef        *weak)
{
  g_autoptr(GrantTokenProvider) self = g_weak_ref_get (weak);

  if (self == NULL)
    return;

  g_mutex_lock (&self->lock);
  if (self->monitor == monitor)
    {
      g_atomic_int_set (&self->network->available, available);

      /* Back online: what failed before may work now. */
      if (available)
        {
          self->quiet_failures = 0;
          g_clear_error (&self->quiet_error);
        }

      /* Back online: refresh at once if the time has come. */
      if (available && self->alarm == NULL && joinable_fetch (self) == NULL)
        schedule_refresh (self);
    }
  g_mutex_unlock (&self->lock);
}

/* Configuration changes, with the lock held */

static void
request_changed (GrantTokenProvider *self)
{
  self->generation++;
  self->fetch = NULL;
  set_token (self, NULL, NULL);
}

/* After a setter changed @prop (the lock released): the signals it queued,
 * then the property's notification. */
static void
notify_change (GrantTokenProvider *self,
               guint               prop)
{
  emit_pending (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void set_network_monitor (GrantTokenProvider *self,
                                 GNetworkMonitor    *monitor,
                                 gboolean            covers_loopback);

static void
grant_token_provider_dispose (GObject *object)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);
  GList *fetches;

  /* Callers' tasks hold the provider, so only fetches nobody waits for
   * (background refreshes, or requests made obsolete by a change) can be
   * running: they stop and let go. */
  g_mutex_lock (&self->lock);
  self->disposed = TRUE;
  fetches = g_steal_pointer (&self->fetches);
  self->fetch = NULL;
  clear_alarm (self);
  if (self->events_source != NULL)
    {
      g_source_destroy (self->events_source);
      g_clear_pointer (&self->events_source, g_source_unref);
    }
  g_queue_clear_full (&self->events, (GDestroyNotify) event_free);
  g_clear_object ((GrantToken **) &self->token);
  g_clear_object (&self->rejected);
  g_atomic_int_inc (&self->cache_generation);
  g_mutex_unlock (&self->lock);

  for (GList *l = fetches; l != NULL; l = l->next)
    grant_fetch_detach (l->data);
  g_list_free_full (fetches, (GDestroyNotify) grant_fetch_unref);

  set_network_monitor (self, NULL, FALSE);

  G_OBJECT_CLASS (grant_token_provider_parent_class)->dispose (object);
}

static void
grant_token_provider_finalize (GObject *object)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);

  g_free (self->token_url);
  g_free (self->client_id);
  grant_secret_free (self->client_secret);
  g_clear_pointer (&self->sealer, grant_sealer_unref);
  g_free (self->scope);
  g_free (self->issuer);
  g_clear_object (&self->dialect);
  g_clear_pointer (&self->discovery, grant_discovery_free);
  g_clear_object (&self->session);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->certificate_session);
  g_clear_object (&self->certificate_session_for);
  g_clear_object (&self->client_key);
  g_clear_object (&self->dpop_key);
  g_clear_pointer (&self->dpop_nonces, g_hash_table_unref);
  g_free (self->assertion_audience);
  g_clear_object (&self->clock);
  g_clear_object (&self->store);
  g_clear_pointer (&self->store_context, g_main_context_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->home_thread, g_thread_unref);
  g_clear_pointer (&self->network, grant_network_state_unref);
  /* Dispose cleared them; nothing may have come since, but never leak. */
  g_clear_object (&self->token);
  g_clear_object (&self->rejected);
  g_clear_error (&self->quiet_error);
  g_queue_clear_full (&self->events, (GDestroyNotify) event_free);
  g_ptr_array_unref (self->parameters);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (grant_token_provider_parent_class)->finalize (object);
}

static void
apply_dialect (GrantTokenProvider *self,
               GrantDialect       *dialect)
{
  const char * const *parameters = grant_dialect_get_parameters (dialect);

  grant_set_str (&self->token_url, grant_dialect_get_token_url (dialect));
  grant_set_str (&self->scope, grant_dialect_get_scope (dialect));
  self->request_format = grant_dialect_get_request_format (dialect);
  self->auth_method = grant_dialect_get_auth_method (dialect);
  self->default_lifetime = grant_dialect_get_default_lifetime (dialect);
  grant_set_str (&self->issuer, grant_dialect_get_issuer (dialect));
  grant_set_str (&self->assertion_audience, grant_dialect_get_assertion_audience (dialect));

  for (guint i = 0; parameters != NULL && parameters[i] != NULL; i++)
    {
      const char *equals = strchr (parameters[i], '=');
      g_autofree char *name = g_strndup (parameters[i], equals - parameters[i]);

      g_ptr_array_add (self->parameters, grant_parameter_new (name, equals + 1));
    }
}

static void
set_network_monitor (GrantTokenProvider *self,
                     GNetworkMonitor    *monitor,
                     gboolean            covers_loopback)
{
  g_autoptr(GNetworkMonitor) old = NULL;
  gulong old_handler, old_notify_handler;
  gboolean available = monitor ? g_network_monitor_get_network_available (monitor) : TRUE;
  gulong handler = 0, notify_handler = 0;

  if (monitor != NULL)
    {
      handler = g_signal_connect_data (monitor, "network-changed", G_CALLBACK (network_changed_cb),
                                       weak_self_new (self), (GClosureNotify) weak_self_free, 0);
      notify_handler = g_signal_connect_data (monitor, "notify::network-available",
                                              G_CALLBACK (network_available_notify_cb),
                                              weak_self_new (self), (GClosureNotify) weak_self_free, 0);
    }

  g_mutex_lock (&self->lock);
  old = g_steal_pointer (&self->monitor);
  old_handler = self->monitor_handler;
  old_notify_handler = self->monitor_notify_handler;
  self->monitor = monitor ? g_object_ref (monitor) : NULL;
  self->monitor_handler = handler;
  self->monitor_notify_handler = notify_handler;
  g_atomic_int_set (&self->network->covers_loopback, covers_loopback);
  g_atomic_int_set (&self->network->available, available);
  g_mutex_unlock (&self->lock);

  if (old != NULL)
    {
      g_signal_handler_disconnect (old, old_handler);
      g_signal_handler_disconnect (old, old_notify_handler);
    }
}

static void
grant_token_provider_constructed (GObject *object)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);

  G_OBJECT_CLASS (grant_token_provider_parent_class)->constructed (object);

  /* The dialect's values are defaults: properties given to g_object_new()
   * are set after this and win. */
  if (self->dialect == NULL)
    self->dialect = grant_dialect_new ();
  apply_dialect (self, self->dialect);

  if (self->session == NULL)
    {
      self->session = soup_session_new_with_options ("user-agent", "libgrant/" PACKAGE_VERSION " ",
                                                     NULL);
      self->session_private = TRUE;
    }

  set_network_monitor (self, g_network_monitor_get_default (), FALSE);
}

static void
grant_token_provider_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);

  g_mutex_lock (&self->lock);
  switch (prop_id)
    {
    case PROP_TOKEN_URL:
      g_value_set_string (value, self->token_url);
      break;

    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;

    case PROP_SCOPE:
      g_value_set_string (value, self->scope);
      break;

    case PROP_AUTH_METHOD:
      g_value_set_enum (value, self->auth_method);
      break;

    case PROP_REQUEST_FORMAT:
      g_value_set_enum (value, self->request_format);
      break;

    case PROP_EXPIRY_MARGIN:
      g_value_set_uint (value, self->expiry_margin);
      break;

    case PROP_DEFAULT_LIFETIME:
      g_value_set_uint (value, self->default_lifetime);
      break;

    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;

    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, self->max_attempts);
      break;

    case PROP_ALLOW_INSECURE_HTTP:
      g_value_set_boolean (value, self->allow_insecure_http);
      break;

    case PROP_ISSUER:
      g_value_set_string (value, self->issuer);
      break;

    case PROP_AUTO_REFRESH:
      g_value_set_boolean (value, self->auto_refresh);
      break;

    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;

    case PROP_DIALECT:
      g_value_set_object (value, self->dialect);
      break;

    case PROP_SESSION:
      g_value_set_object (value, grant_token_provider_get_session (self));
      break;

    case PROP_TLS_CERTIFICATE:
      g_value_set_object (value, self->tls_certificate);
      break;

    case PROP_CLIENT_KEY:
      g_value_set_object (value, self->client_key);
      break;

    case PROP_DPOP_KEY:
      g_value_set_object (value, self->dpop_key);
      break;

    case PROP_ASSERTION_AUDIENCE:
      g_value_set_string (value, self->assertion_audience);
      break;

    case PROP_TOKEN:
      g_value_set_object (value, self->token);
      break;

    case PROP_CLIENT_SECRET: /* write-only: GObject refuses to read it */
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  g_mutex_unlock (&self->lock);
}

static void
grant_token_provider_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_TOKEN_URL:
      grant_token_provider_set_token_url (self, g_value_get_string (value));
      break;

    case PROP_CLIENT_ID:
      grant_token_provider_set_client_id (self, g_value_get_string (value));
      break;

    case PROP_CLIENT_SECRET:
      grant_token_provider_set_client_secret (self, g_value_get_string (value));
      break;

    case PROP_SCOPE:
      grant_token_provider_set_scope (self, g_value_get_string (value));
      break;

    case PROP_AUTH_METHOD:
      grant_token_provider_set_auth_method (self, g_value_get_enum (value));
      break;

    case PROP_REQUEST_FORMAT:
      grant_token_provider_set_request_format (self, g_value_get_enum (value));
      break;

    case PROP_EXPIRY_MARGIN:
      grant_token_provider_set_expiry_margin (self, g_value_get_uint (value));
      break;

    case PROP_DEFAULT_LIFETIME:
      grant_token_provider_set_default_lifetime (self, g_value_get_uint (value));
      break;

    case PROP_TIMEOUT:
      grant_token_provider_set_timeout (self, g_value_get_uint (value));
      break;

    case PROP_MAX_ATTEMPTS:
      grant_token_provider_set_max_attempts (self, g_value_get_uint (value));
      break;

    case PROP_ALLOW_INSECURE_HTTP:
      grant_token_provider_set_allow_insecure_http (self, g_value_get_boolean (value));
      break;

    case PROP_ISSUER:
      grant_token_provider_set_issuer (self, g_value_get_string (value));
      break;

    case PROP_AUTO_REFRESH:
      grant_token_provider_set_auto_refresh (self, g_value_get_boolean (value));
      break;

    case PROP_STORE:
      grant_token_provider_set_store (self, g_value_get_object (value));
      break;

    case PROP_DIALECT:
      self->dialect = g_value_dup_object (value);
      break;

    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;

    case PROP_TLS_CERTIFICATE:
      grant_token_provider_set_tls_certificate (self, g_value_get_object (value));
      break;

    case PROP_CLIENT_KEY:
      grant_token_provider_set_client_key (self, g_value_get_object (value));
      break;

    case PROP_DPOP_KEY:
      grant_token_provider_set_dpop_key (self, g_value_get_object (value));
      break;

    case PROP_ASSERTION_AUDIENCE:
      grant_token_provider_set_assertion_audience (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_token_provider_class_init (GrantTokenProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = grant_token_provider_constructed;
  object_class->dispose = grant_token_provider_dispose;
  object_class->finalize = grant_token_provider_finalize;
  object_class->get_property = grant_token_provider_get_property;
  object_class->set_property = grant_token_provider_set_property;

  /**
   * GrantTokenProvider:token-url:
   *
   * The URL of the token endpoint.
   *
   * It must use `https://`, or `http://` with a loopback host.
   */
  properties[PROP_TOKEN_URL] =
    g_param_spec_string ("token-url", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:client-id:
   *
   * The client identifier the server issued.
   */
  properties[PROP_CLIENT_ID] =
    g_param_spec_string ("client-id", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:client-secret:
   *
   * The client secret.
   *
   * The property is write-only: the secret can be set but never read back,
   * and the provider wipes its copy when it is replaced or finalized.
   * Changing it does not drop the cached token.
   */
  properties[PROP_CLIENT_SECRET] =
    g_param_spec_string ("client-secret", NULL, NULL,
                         NULL,
                         G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:scope:
   *
   * The space-separated scope to request, or `NULL` to send none.
   */
  properties[PROP_SCOPE] =
    g_param_spec_string ("scope", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:auth-method:
   *
   * How the client authenticates to the token endpoint.
   */
  properties[PROP_AUTH_METHOD] =
    g_param_spec_enum ("auth-method", NULL, NULL,
                       GRANT_TYPE_AUTH_METHOD,
                       GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:request-format:
   *
   * How the body of a token request is encoded.
   */
  properties[PROP_REQUEST_FORMAT] =
    g_param_spec_enum ("request-format", NULL, NULL,
                       GRANT_TYPE_REQUEST_FORMAT,
                       GRANT_REQUEST_FORMAT_FORM,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:expiry-margin:
   *
   * How many seconds before its expiry a cached token counts as stale.
   *
   * The margin is never more than half the token's lifetime, so that a
   * short-lived token is still used for half of it.
   */
  properties[PROP_EXPIRY_MARGIN] =
    g_param_spec_uint ("expiry-margin", NULL, NULL,
                       0, G_MAXUINT32, DEFAULT_EXPIRY_MARGIN,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:default-lifetime:
   *
   * The lifetime, in seconds, assumed for a token when the server names no
   * expiry.
   */
  properties[PROP_DEFAULT_LIFETIME] =
    g_param_spec_uint ("default-lifetime", NULL, NULL,
                       1, G_MAXUINT32, DEFAULT_DEFAULT_LIFETIME,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:timeout:
   *
   * How many seconds one token request may take, from sending it to the
   * end of the response; 0 for no limit.
   *
   * A request that takes longer fails with `G_IO_ERROR_TIMED_OUT`.
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT32, DEFAULT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:max-attempts:
   *
   * How many times one fetch sends its request when the network, a
   * timeout or the server fails (a 5xx, a 429, `temporarily_unavailable`),
   * counting the first; 1 turns retries off.
   *
   * Between attempts the provider waits a jittered backoff from one second,
   * doubling, or what the server's `Retry-After` asks (at most a minute).
   * Errors such as `invalid_client` are never tried again. A failed
   * background refresh is tried again later whatever this is, while the
   * token is still valid.
   */
  properties[PROP_MAX_ATTEMPTS] =
    g_param_spec_uint ("max-attempts", NULL, NULL,
                       1, MAX_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:allow-insecure-http:
   *
   * Whether plain `http://` token URLs are allowed for hosts that are not
   * loopback addresses.
   *
   * Credentials then cross the network in clear text: only set this for a
   * network you trust entirely.
   */
  properties[PROP_ALLOW_INSECURE_HTTP] =
    g_param_spec_boolean ("allow-insecure-http", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:issuer:
   *
   * The authorization server's issuer identifier, an `https://` URL, or
   * `NULL`.
   *
   * When [property@Grant.TokenProvider:token-url] is not set, the provider
   * reads the issuer's metadata (RFC 8414
   * `/.well-known/oauth-authorization-server`, then OpenID Connect
   * `/.well-known/openid-configuration`), checks that it is the issuer's,
   * and takes its `token_endpoint`; with `GRANT_AUTH_METHOD_AUTO`, it also
   * tries only the methods listed in `token_endpoint_auth_methods_supported`.
   * The document is read once per issuer. It starts as the dialect's
   * [property@Grant.Dialect:issuer].
   */
  properties[PROP_ISSUER] =
    g_param_spec_string ("issuer", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:auto-refresh:
   *
   * Whether the provider fetches a new token in the background before the
   * cached one goes stale.
   *
   * The refresh happens at about 80% of the token's lifetime or
   * [property@Grant.TokenProvider:expiry-margin] seconds before it expires,
   * whichever comes first, a little early at random so that many clients do
   * not all come at once. The time is wall-clock time: after a suspend, a
   * refresh that is due happens on resume. When a refresh fails,
   * [signal@Grant.TokenProvider::refresh-failed] is emitted, callers keep
   * getting the still-valid token, and the refresh is tried again with a
   * backoff from 1 second doubling to 1 minute until it succeeds or the
   * token expires. No attempt is made while the network monitor reports no
   * network; one is made as soon as it returns.
   */
  properties[PROP_AUTO_REFRESH] =
    g_param_spec_boolean ("auto-refresh", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:store:
   *
   * Where tokens are kept across restarts, or `NULL`.
   *
   * Before it fetches a token, the provider loads the stored one and uses
   * it if it is still fresh; after every fetch it saves the new token; when
   * a token is invalidated, it is removed from the store too. With a
   * [class@Grant.FileStore], processes that need a token at the same time
   * fetch it once. A store that fails is not an error: the provider warns
   * once and fetches from the network.
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL,
                         GRANT_TYPE_TOKEN_STORE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:dialect:
   *
   * How the token endpoint speaks: where the answer keeps the token, the
   * expiry and the errors.
   *
   * Set at construction; the standard RFC 6749 dialect when none is given.
   * Its token URL, request format, authentication method, scope, default
   * lifetime and parameters become the provider's, unless other values are
   * given at construction or set later.
   */
  properties[PROP_DIALECT] =
    g_param_spec_object ("dialect", NULL, NULL,
                         GRANT_TYPE_DIALECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:session:
   *
   * The session token requests are sent on.
   *
   * When none is given at construction, the provider makes its own.
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SOUP_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:tls-certificate:
   *
   * The client certificate, with its private key, presented to the token
   * endpoint for mutual TLS (RFC 8705): with
   * %GRANT_AUTH_METHOD_TLS_CLIENT_AUTH or
   * %GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH it is how the client
   * proves itself; with another method, the server may bind its tokens to
   * it. Make one with g_tls_certificate_new_from_files() or
   * g_tls_certificate_new_from_pkcs11_uris().
   *
   * Token requests made with a certificate always go on a connection of
   * their own, so that one made without it is never reused. The token
   * cache and stores keep tokens per certificate. Changing it drops the
   * cached token.
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL,
                         G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:client-key:
   *
   * The private key that signs the client's JWT assertions, with
   * %GRANT_AUTH_METHOD_PRIVATE_KEY_JWT (RFC 7523, section 2.2). With a key
   * set, %GRANT_AUTH_METHOD_AUTO uses that method.
   *
   * Each token request carries a new assertion: `iss` and `sub` the client
   * id, `aud` the token endpoint (or
   * [property@Grant.TokenProvider:assertion-audience]), a random `jti`,
   * `iat`, and `exp` 60 seconds later; its header has the key's `alg`, its
   * `kid` when set and `x5t#S256` when the key has a certificate. The token
   * cache and stores keep tokens per key (by its thumbprint, never the
   * key). Changing it drops the cached token.
   */
  properties[PROP_CLIENT_KEY] =
    g_param_spec_object ("client-key", NULL, NULL,
                         GRANT_TYPE_CLIENT_KEY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:dpop-key:
   *
   * The key that binds tokens to this client (DPoP, RFC 9449). When set,
   * every token request carries a DPoP proof signed with it, and the
   * server's tokens come back bound to it (`token_type` `DPoP`;
   * [method@Grant.Token.dup_authorization] gives `DPoP <token>`). A server
   * that asks for a nonce (`use_dpop_nonce`) gets one more request with
   * it; nonces are remembered per origin, so the next request needs no
   * extra round trip. [func@Grant.ClientKey.generate] makes an ephemeral
   * key; one kept in a file lets stored tokens outlive the process.
   *
   * The token cache and stores keep tokens per DPoP key (by its
   * thumbprint). Changing it drops the cached token.
   */
  properties[PROP_DPOP_KEY] =
    g_param_spec_object ("dpop-key", NULL, NULL,
                         GRANT_TYPE_CLIENT_KEY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:assertion-audience:
   *
   * The `aud` of the client's JWT assertions, when the server wants
   * another than the token endpoint's URL (Auth0 wants its tenant URL,
   * `https://TENANT.auth0.com/`, with the slash). `NULL`: the token URL.
   * It starts as the dialect's [property@Grant.Dialect:assertion-audience].
   * Changing it drops the cached token.
   */
  properties[PROP_ASSERTION_AUDIENCE] =
    g_param_spec_string ("assertion-audience", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantTokenProvider:token: (getter peek_token)
   *
   * The cached token, or `NULL`.
   *
   * It changes after every fetch, and goes back to `NULL` when the token is
   * invalidated or a change to the configuration drops it. It may have gone
   * stale: to use a token, call [method@Grant.TokenProvider.peek_token] or
   * [method@Grant.TokenProvider.get_token_async]. Its notifications come
   * in the provider's home context. Reading it never does I/O.
   */
  properties[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         GRANT_TYPE_TOKEN,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * GrantTokenProvider::token-refreshed:
   * @self: the provider
   * @token: the new token
   *
   * Emitted after every newly obtained token, in the provider's home
   * context, before the callers waiting for it there are completed.
   * Callers in other threads may get the token before the signal is
   * emitted.
   */
  signals[SIGNAL_TOKEN_REFRESHED] =
    g_signal_new ("token-refreshed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1,
                  GRANT_TYPE_TOKEN);

  /**
   * GrantTokenProvider::refresh-failed:
   * @self: the provider
   * @error: what went wrong
   *
   * Emitted after every failed attempt to get a token, whether a caller
   * asked for it or not, in the provider's home context, before the
   * callers waiting for it there are completed.
   *
   * It is not emitted when every caller cancelled.
   */
  signals[SIGNAL_REFRESH_FAILED] =
    g_signal_new ("refresh-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1,
                  G_TYPE_ERROR);
}

static void
grant_token_provider_init (GrantTokenProvider *self)
{
  g_mutex_init (&self->lock);
  /* Before any property is set: the store's context is taken from it when
   * none is pushed. */
  self->context = g_main_context_ref_thread_default ();
  self->home_thread = g_thread_ref (g_thread_self ());
  self->network = grant_network_state_new ();
  g_queue_init (&self->events);
  self->auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST;
  self->request_format = GRANT_REQUEST_FORMAT_FORM;
  self->expiry_margin = DEFAULT_EXPIRY_MARGIN;
  self->default_lifetime = DEFAULT_DEFAULT_LIFETIME;
  self->timeout = DEFAULT_TIMEOUT;
  self->parameters = g_ptr_array_new_with_free_func ((GDestroyNotify) grant_parameter_free);
  self->dpop_nonces = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->auto_refresh = TRUE;
  self->clock = g_object_ref (grant_clock_get_default ());
  self->retry_base_ms = DEFAULT_RETRY_BASE_MS;
  self->retry_max_ms = DEFAULT_RETRY_MAX_MS;
  self->max_attempts = DEFAULT_MAX_ATTEMPTS;
  self->jitter = TRUE;
}

/**
 * grant_token_provider_new:
 * @token_url: (nullable): the URL of the token endpoint
 * @client_id: (nullable): the client identifier
 * @client_secret: (nullable): the client secret
 *
 * Creates a provider for one client at one token endpoint, with the standard
 * RFC 6749 request: a form body with the credentials in it.
 *
 * Returns: (transfer full): a new provider
 */
GrantTokenProvider *
grant_token_provider_new (const char *token_url,
                          const char *client_id,
                          const char *client_secret)
{
  return g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                       "token-url", token_url,
                       "client-id", client_id,
                       "client-secret", client_secret,
                       NULL);
}

/**
 * grant_token_provider_new_from_preset:
 * @preset: a preset name, such as "expertfile"
 * @client_id: (nullable): the client identifier
 * @client_secret: (nullable): the client secret
 * @error: return location for a #GError
 *
 * Creates a provider for a known service, described by a provider file
 * (see [class@Grant.Dialect]).
 *
 * The preset gives the token URL, the request format, the authentication
 * method, the default scope and where the answer keeps what; each can still
 * be changed, such as a token URL that differs per customer. The issuer,
 * the assertion audience and the signing algorithm of JWT client
 * assertions come from the preset too, when it has them.
 *
 * A preset whose URLs hold variables (`entra`, `okta`, `auth0`,
 * `keycloak`) takes them through
 * [ctor@Grant.TokenProvider.new_from_preset_with_variables]; made here, its
 * token URL stays unset until the application sets it.
 *
 * Returns: (transfer full): a new provider, or `NULL` with @error set to
 *   `GRANT_ERROR_INVALID_CONFIGURATION` when there is no such preset or its
 *   file is broken
 */
GrantTokenProvider *
grant_token_provider_new_from_preset (const char  *preset,
                                      const char  *client_id,
                                      const char  *client_secret,
                                      GError     **error)
{
  g_autoptr(GrantDialect) dialect = NULL;

  g_return_val_if_fail (preset != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dialect = grant_dialect_new_for_preset (preset, error);
  if (dialect == NULL)
    return NULL;

  return g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                       "dialect", dialect,
                       "client-id", client_id,
                       "client-secret", client_secret,
                       NULL);
}

/**
 * grant_token_provider_new_from_preset_with_variables:
 * @preset: a preset name, such as "entra"
 * @variables: (nullable) (array zero-terminated=1): the preset's variables,
 *   each as `NAME=VALUE`, such as `tenant=contoso.onmicrosoft.com`
 * @client_id: (nullable): the client identifier
 * @client_secret: (nullable): the client secret, or `NULL` for a client that
 *   signs in with a [property@Grant.TokenProvider:client-key] or a
 *   certificate
 * @error: return location for a #GError
 *
 * Creates a provider for a service whose URLs hold a tenant, a domain or a
 * realm, such as Microsoft Entra ID, Okta, Auth0 or Keycloak.
 *
 * @variables fill the `{NAME}` placeholders of the preset's token URL,
 * issuer and assertion audience: see
 * [ctor@Grant.Dialect.new_for_preset_with_variables]. A missing, unknown or
 * unsafe variable is an error that names it.
 *
 * ```c
 * const char *variables[] = { "tenant=contoso.onmicrosoft.com", NULL };
 * provider = grant_token_provider_new_from_preset_with_variables ("entra", variables,
 *                                                                 client_id, NULL, &error);
 * ```
 *
 * Returns: (transfer full): a new provider, or `NULL` with @error set to
 *   `GRANT_ERROR_INVALID_CONFIGURATION`
 */
GrantTokenProvider *
grant_token_provider_new_from_preset_with_variables (const char          *preset,
                                                     const char * const  *variables,
                                                     const char          *client_id,
                                                     const char          *client_secret,
                                                     GError             **error)
{
  g_autoptr(GrantDialect) dialect = NULL;

  g_return_val_if_fail (preset != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dialect = grant_dialect_new_for_preset_with_variables (preset, variables, error);
  if (dialect == NULL)
    return NULL;

  return g_object_new (GRANT_TYPE_TOKEN_PROVIDER,
                       "dialect", dialect,
                       "client-id", client_id,
                       "client-secret", client_secret,
                       NULL);
}

/**
 * grant_token_provider_get_dialect:
 * @self: a provider
 *
 * Gets how the token endpoint speaks.
 *
 * Returns: (transfer none): the dialect
 */
GrantDialect *
grant_token_provider_get_dialect (GrantTokenProvider *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return self->dialect;
}

/**
 * grant_token_provider_get_issuer:
 * @self: a provider
 *
 * Gets the issuer whose discovery document names the token endpoint.
 *
 * Returns: (nullable): the issuer
 */
const char *
grant_token_provider_get_issuer (GrantTokenProvider *self)
{
  const char *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->issuer;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_issuer:
 * @self: a provider
 * @issuer: (nullable): the issuer identifier, an `https://` URL
 *
 * Sets the issuer whose discovery document names the token endpoint when
 * [property@Grant.TokenProvider:token-url] is not set, and drops the cached
 * token if it changed.
 */
void
grant_token_provider_set_issuer (GrantTokenProvider *self,
                                 const char         *issuer)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  g_mutex_lock (&self->lock);
  changed = grant_set_str (&self->issuer, issuer);
  if (changed)
    {
      g_clear_pointer (&self->discovery, grant_discovery_free);
      request_changed (self);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_ISSUER);
}

/* Sets an object the request depends on (a key, a certificate), dropping
 * the cached token and notifying @prop if it changed. */
static void
set_request_object (GrantTokenProvider *self,
                    GObject           **field,
                    GObject            *object,
                    guint               prop)
{
  gboolean changed;

  g_mutex_lock (&self->lock);
  changed = g_set_object (field, object);
  if (changed)
    request_changed (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, prop);
}

/**
 * grant_token_provider_get_tls_certificate:
 * @self: a provider
 *
 * Gets the client certificate presented for mutual TLS.
 *
 * Returns: (transfer none) (nullable): the certificate
 */
GTlsCertificate *
grant_token_provider_get_tls_certificate (GrantTokenProvider *self)
{
  GTlsCertificate *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->tls_certificate;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_tls_certificate:
 * @self: a provider
 * @certificate: (nullable): a certificate with its private key
 *
 * Sets the client certificate presented to the token endpoint for mutual
 * TLS, and drops the cached token if it changed.
 */
void
grant_token_provider_set_tls_certificate (GrantTokenProvider *self,
                                          GTlsCertificate    *certificate)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));

  set_request_object (self, (GObject **) &self->tls_certificate, G_OBJECT (certificate), PROP_TLS_CERTIFICATE);
}

/**
 * grant_token_provider_get_client_key:
 * @self: a provider
 *
 * Gets the key that signs the client's JWT assertions.
 *
 * Returns: (transfer none) (nullable): the key
 */
GrantClientKey *
grant_token_provider_get_client_key (GrantTokenProvider *self)
{
  GrantClientKey *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->client_key;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_client_key:
 * @self: a provider
 * @key: (nullable): the client's private key
 *
 * Sets the key that signs the client's JWT assertions
 * (%GRANT_AUTH_METHOD_PRIVATE_KEY_JWT), and drops the cached token if it
 * changed.
 */
void
grant_token_provider_set_client_key (GrantTokenProvider *self,
                                     GrantClientKey     *key)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (key == NULL || GRANT_IS_CLIENT_KEY (key));

  set_request_object (self, (GObject **) &self->client_key, G_OBJECT (key), PROP_CLIENT_KEY);
}

/**
 * grant_token_provider_get_dpop_key:
 * @self: a provider
 *
 * Gets the key tokens are bound to with DPoP.
 *
 * Returns: (transfer none) (nullable): the key
 */
GrantClientKey *
grant_token_provider_get_dpop_key (GrantTokenProvider *self)
{
  GrantClientKey *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->dpop_key;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_dpop_key:
 * @self: a provider
 * @key: (nullable): the key DPoP proofs are signed with
 *
 * Sets the key tokens are bound to with DPoP (RFC 9449), and drops the
 * cached token if it changed.
 */
void
grant_token_provider_set_dpop_key (GrantTokenProvider *self,
                                   GrantClientKey     *key)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (key == NULL || GRANT_IS_CLIENT_KEY (key));

  set_request_object (self, (GObject **) &self->dpop_key, G_OBJECT (key), PROP_DPOP_KEY);
}

/**
 * grant_token_provider_set_dpop_nonce:
 * @self: a provider
 * @url: a URL of the server that gave the nonce
 * @nonce: (nullable): the value of its `DPoP-Nonce` header; `NULL` forgets
 *   the origin's
 *
 * Hands a server's DPoP nonce back to the provider, for requests sent by
 * other means than [method@Grant.TokenProvider.send_async]: the next
 * proof for that origin (scheme, host and port) carries it. The provider
 * keeps the nonces of the token endpoint and of the requests it sends
 * itself.
 */
void
grant_token_provider_set_dpop_nonce (GrantTokenProvider *self,
                                     const char         *url,
                                     const char         *nonce)
{
  g_autofree char *origin = NULL;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (url != NULL);

  origin = grant_dpop_origin (url);
  if (origin == NULL)
    return;

  g_mutex_lock (&self->lock);
  if (nonce == NULL)
    g_hash_table_remove (self->dpop_nonces, origin);
  else
    remember_dpop_nonce (self, g_steal_pointer (&origin), nonce);
  g_mutex_unlock (&self->lock);
}

/**
 * grant_token_provider_create_dpop_proof:
 * @self: a provider with a [property@Grant.TokenProvider:dpop-key]
 * @method: the request's HTTP method, such as `GET`
 * @url: the request's URL (its query and fragment are not part of the proof)
 * @token: (nullable): the DPoP-bound token the request carries, for the
 *   proof's `ath`; `NULL` for a request without one
 * @nonce: (nullable): the server's nonce; `NULL` for the one the provider
 *   remembers for the URL's origin, if any
 * @error: return location for a #GError
 *
 * Makes a DPoP proof (RFC 9449) for a request sent by another HTTP stack
 * (WebKit, or curl in a script): put it in the request's `DPoP` header,
 * with `Authorization: DPoP <token>`. Each call makes a new proof, as each
 * request needs its own. Hand a `DPoP-Nonce` the server answers with back
 * with [method@Grant.TokenProvider.set_dpop_nonce].
 *
 * Returns: (transfer full): the proof, or `NULL` with @error set (no
 *   DPoP key, or a URL that is not http or https)
 */
char *
grant_token_provider_create_dpop_proof (GrantTokenProvider  *self,
                                        const char          *method,
                                        const char          *url,
                                        GrantToken          *token,
                                        const char          *nonce,
                                        GError             **error)
{
  g_autoptr(GrantClientKey) key = NULL;
  g_autofree char *remembered = NULL;
  g_autofree char *jti = NULL;
  GrantDpopClaims claims;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (token == NULL || GRANT_IS_TOKEN (token), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->lock);
  key = self->dpop_key ? g_object_ref (self->dpop_key) : NULL;
  g_mutex_unlock (&self->lock);
  if (key == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "A DPoP proof needs a key: set the dpop-key property");
      return NULL;
    }

  if (nonce == NULL)
    remembered = grant_token_provider_dup_dpop_nonce (self, url);
  jti = grant_assertion_new_jti ();
  claims = (GrantDpopClaims) {
    .method = method,
    .url = url,
    .access_token = token ? grant_token_get_access_token (token) : NULL,
    .nonce = nonce ? nonce : remembered,
    .jti = jti,
    .issued_at = grant_token_provider_now (self) / G_USEC_PER_SEC,
  };

  return grant_dpop_proof_build (key, &claims, error);
}

/* The nonce remembered for @url's origin, or NULL. */
char *
grant_token_provider_dup_dpop_nonce (GrantTokenProvider *self,
                                     const char         *url)
{
  g_autofree char *origin = grant_dpop_origin (url);
  char *nonce;

  if (origin == NULL)
    return NULL;

  g_mutex_lock (&self->lock);
  nonce = g_strdup (g_hash_table_lookup (self->dpop_nonces, origin));
  g_mutex_unlock (&self->lock);

  return nonce;
}

/**
 * grant_token_provider_get_assertion_audience:
 * @self: a provider
 *
 * Gets the `aud` of the client's JWT assertions.
 *
 * Returns: (nullable): the audience, or `NULL` for the token URL
 */
const char *
grant_token_provider_get_assertion_audience (GrantTokenProvider *self)
{
  const char *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->assertion_audience;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_assertion_audience:
 * @self: a provider
 * @audience: (nullable): the `aud` claim, or `NULL` for the token URL
 *
 * Sets the `aud` of the client's JWT assertions, and drops the cached
 * token if it changed.
 */
void
grant_token_provider_set_assertion_audience (GrantTokenProvider *self,
                                             const char         *audience)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  g_mutex_lock (&self->lock);
  changed = grant_set_str (&self->assertion_audience, audience);
  if (changed)
    request_changed (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_ASSERTION_AUDIENCE);
}

/**
 * grant_token_provider_get_auto_refresh:
 * @self: a provider
 *
 * Gets whether the token is refreshed in the background.
 *
 * Returns: `TRUE` if the token is refreshed in the background
 */
gboolean
grant_token_provider_get_auto_refresh (GrantTokenProvider *self)
{
  gboolean value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), FALSE);

  g_mutex_lock (&self->lock);
  value = self->auto_refresh;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_auto_refresh:
 * @self: a provider
 * @auto_refresh: whether to refresh the token in the background
 *
 * Turns the background refresh on or off. See
 * [property@Grant.TokenProvider:auto-refresh].
 */
void
grant_token_provider_set_auto_refresh (GrantTokenProvider *self,
                                       gboolean            auto_refresh)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  auto_refresh = !!auto_refresh;
  g_mutex_lock (&self->lock);
  changed = self->auto_refresh != auto_refresh;
  if (changed)
    {
      self->auto_refresh = auto_refresh;
      schedule_refresh (self);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_AUTO_REFRESH);
}

/**
 * grant_token_provider_get_store:
 * @self: a provider
 *
 * Gets where tokens are kept across restarts.
 *
 * Returns: (transfer none) (nullable): the store
 */
GrantTokenStore *
grant_token_provider_get_store (GrantTokenProvider *self)
{
  GrantTokenStore *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->store;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_store:
 * @self: a provider
 * @store: (nullable): a token store, or `NULL` for none
 *
 * Sets where tokens are kept across restarts. See
 * [property@Grant.TokenProvider:store].
 */
void
grant_token_provider_set_store (GrantTokenProvider *self,
                                GrantTokenStore    *store)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (store == NULL || GRANT_IS_TOKEN_STORE (store));

  g_mutex_lock (&self->lock);
  changed = g_set_object (&self->store, store);
  if (changed)
    {
      self->store_warned = FALSE;
      /* A store is called where it was set: one written in a language
       * that runs on one thread stays there. */
      g_clear_pointer (&self->store_context, g_main_context_unref);
      if (store != NULL)
        self->store_context = g_main_context_ref_thread_default ();
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_STORE);
}

/**
 * grant_token_provider_get_token_url:
 * @self: a provider
 *
 * Gets the URL of the token endpoint.
 *
 * Returns: (nullable): the token URL
 */
const char *
grant_token_provider_get_token_url (GrantTokenProvider *self)
{
  const char *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->token_url;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_token_url:
 * @self: a provider
 * @token_url: (nullable): the URL of the token endpoint
 *
 * Sets the URL of the token endpoint, and drops the cached token if it
 * changed.
 */
void
grant_token_provider_set_token_url (GrantTokenProvider *self,
                                    const char         *token_url)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  g_mutex_lock (&self->lock);
  changed = grant_set_str (&self->token_url, token_url);
  if (changed)
    request_changed (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_TOKEN_URL);
}

/**
 * grant_token_provider_get_client_id:
 * @self: a provider
 *
 * Gets the client identifier.
 *
 * Returns: (nullable): the client id
 */
const char *
grant_token_provider_get_client_id (GrantTokenProvider *self)
{
  const char *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->client_id;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_client_id:
 * @self: a provider
 * @client_id: (nullable): the client identifier
 *
 * Sets the client identifier, and drops the cached token if it changed.
 */
void
grant_token_provider_set_client_id (GrantTokenProvider *self,
                                    const char         *client_id)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  g_mutex_lock (&self->lock);
  changed = grant_set_str (&self->client_id, client_id);
  if (changed)
    request_changed (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_CLIENT_ID);
}

/**
 * grant_token_provider_set_client_secret:
 * @self: a provider
 * @client_secret: (nullable): the client secret
 *
 * Sets the client secret.
 *
 * The old secret is wiped from memory. A rotated secret belongs to the same
 * client, so the cached token stays.
 */
void
grant_token_provider_set_client_secret (GrantTokenProvider *self,
                                        const char         *client_secret)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  /* No notification: the property cannot be read, and a handler has no
   * business knowing when the secret changes. */
  g_mutex_lock (&self->lock);
  grant_set_secret (&self->client_secret, client_secret);
  g_mutex_unlock (&self->lock);
}

/**
 * grant_token_provider_get_scope:
 * @self: a provider
 *
 * Gets the space-separated scope requested.
 *
 * Returns: (nullable): the scope
 */
const char *
grant_token_provider_get_scope (GrantTokenProvider *self)
{
  const char *value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  g_mutex_lock (&self->lock);
  value = self->scope;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_scope:
 * @self: a provider
 * @scope: (nullable): a space-separated scope, or `NULL` to send none
 *
 * Sets the scope to request, and drops the cached token if it changed.
 */
void
grant_token_provider_set_scope (GrantTokenProvider *self,
                                const char         *scope)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (scope != NULL && *scope == '\0')
    scope = NULL;

  g_mutex_lock (&self->lock);
  changed = grant_set_str (&self->scope, scope);
  if (changed)
    request_changed (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_SCOPE);
}

/**
 * grant_token_provider_get_auth_method:
 * @self: a provider
 *
 * Gets how the client authenticates to the token endpoint.
 *
 * Returns: the client authentication method
 */
GrantAuthMethod
grant_token_provider_get_auth_method (GrantTokenProvider *self)
{
  GrantAuthMethod value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), GRANT_AUTH_METHOD_CLIENT_SECRET_POST);

  g_mutex_lock (&self->lock);
  value = self->auth_method;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_auth_method:
 * @self: a provider
 * @auth_method: a client authentication method
 *
 * Sets how the client authenticates to the token endpoint, and drops the
 * cached token if it changed.
 */
void
grant_token_provider_set_auth_method (GrantTokenProvider *self,
                                      GrantAuthMethod     auth_method)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (auth_method <= GRANT_AUTH_METHOD_LAST);

  g_mutex_lock (&self->lock);
  changed = self->auth_method != auth_method;
  if (changed)
    {
      self->auth_method = auth_method;
      request_changed (self);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_AUTH_METHOD);
}

/**
 * grant_token_provider_get_request_format:
 * @self: a provider
 *
 * Gets how the body of a token request is encoded.
 *
 * Returns: the request format
 */
GrantRequestFormat
grant_token_provider_get_request_format (GrantTokenProvider *self)
{
  GrantRequestFormat value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), GRANT_REQUEST_FORMAT_FORM);

  g_mutex_lock (&self->lock);
  value = self->request_format;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_request_format:
 * @self: a provider
 * @request_format: a request format
 *
 * Sets how the body of a token request is encoded, and drops the cached
 * token if it changed.
 */
void
grant_token_provider_set_request_format (GrantTokenProvider *self,
                                         GrantRequestFormat  request_format)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (request_format <= GRANT_REQUEST_FORMAT_JSON);

  g_mutex_lock (&self->lock);
  changed = self->request_format != request_format;
  if (changed)
    {
      self->request_format = request_format;
      request_changed (self);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_REQUEST_FORMAT);
}

/**
 * grant_token_provider_get_expiry_margin:
 * @self: a provider
 *
 * Gets how many seconds before its expiry a cached token counts as stale.
 *
 * Returns: the margin, in seconds
 */
guint
grant_token_provider_get_expiry_margin (GrantTokenProvider *self)
{
  guint value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), 0);

  g_mutex_lock (&self->lock);
  value = self->expiry_margin;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_expiry_margin:
 * @self: a provider
 * @seconds: the margin, in seconds
 *
 * Sets how many seconds before its expiry a cached token counts as stale.
 */
void
grant_token_provider_set_expiry_margin (GrantTokenProvider *self,
                                        guint               seconds)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  g_mutex_lock (&self->lock);
  changed = self->expiry_margin != seconds;
  if (changed)
    {
      self->expiry_margin = seconds;
      update_token_times (self);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_EXPIRY_MARGIN);
}

/**
 * grant_token_provider_get_default_lifetime:
 * @self: a provider
 *
 * Gets the lifetime assumed for tokens without an expiry.
 *
 * Returns: the lifetime, in seconds
 */
guint
grant_token_provider_get_default_lifetime (GrantTokenProvider *self)
{
  guint value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), 0);

  g_mutex_lock (&self->lock);
  value = self->default_lifetime;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_default_lifetime:
 * @self: a provider
 * @seconds: a lifetime in seconds, at least 1
 *
 * Sets the lifetime assumed for tokens when the server names no expiry.
 */
void
grant_token_provider_set_default_lifetime (GrantTokenProvider *self,
                                           guint               seconds)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (seconds > 0);

  g_mutex_lock (&self->lock);
  changed = self->default_lifetime != seconds;
  if (changed)
    {
      self->default_lifetime = seconds;
      update_token_times (self);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_DEFAULT_LIFETIME);
}

/**
 * grant_token_provider_get_timeout:
 * @self: a provider
 *
 * Gets how many seconds one token request may take.
 *
 * Returns: the timeout in seconds, or 0 for none
 */
guint
grant_token_provider_get_timeout (GrantTokenProvider *self)
{
  guint value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), 0);

  g_mutex_lock (&self->lock);
  value = self->timeout;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_timeout:
 * @self: a provider
 * @seconds: the timeout in seconds, or 0 for none
 *
 * Sets how many seconds one token request may take. Requests already in
 * flight keep the timeout they started with.
 */
void
grant_token_provider_set_timeout (GrantTokenProvider *self,
                                  guint               seconds)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  g_mutex_lock (&self->lock);
  changed = self->timeout != seconds;
  self->timeout = seconds;
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_TIMEOUT);
}

/**
 * grant_token_provider_get_max_attempts:
 * @self: a provider
 *
 * Gets how many times one fetch sends its request when it fails for a
 * reason worth trying again.
 *
 * Returns: the number of attempts, at least 1
 */
guint
grant_token_provider_get_max_attempts (GrantTokenProvider *self)
{
  guint value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), DEFAULT_MAX_ATTEMPTS);

  g_mutex_lock (&self->lock);
  value = self->max_attempts;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_max_attempts:
 * @self: a provider
 * @attempts: the number of attempts, from 1 (no retries) to 10
 *
 * Sets how many times one fetch sends its request when the network, a
 * timeout or the server fails; see
 * [property@Grant.TokenProvider:max-attempts]. Fetches in flight keep the
 * number they started with.
 */
void
grant_token_provider_set_max_attempts (GrantTokenProvider *self,
                                       guint               attempts)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (attempts >= 1 && attempts <= MAX_MAX_ATTEMPTS);

  g_mutex_lock (&self->lock);
  changed = self->max_attempts != attempts;
  self->max_attempts = attempts;
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_MAX_ATTEMPTS);
}

/**
 * grant_token_provider_get_allow_insecure_http:
 * @self: a provider
 *
 * Gets whether plain `http://` token URLs are allowed for any host.
 *
 * Returns: `TRUE` if insecure URLs are allowed
 */
gboolean
grant_token_provider_get_allow_insecure_http (GrantTokenProvider *self)
{
  gboolean value;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), FALSE);

  g_mutex_lock (&self->lock);
  value = self->allow_insecure_http;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_allow_insecure_http:
 * @self: a provider
 * @allow: whether to allow plain `http://` to any host
 *
 * Allows or forbids plain `http://` token URLs for hosts that are not
 * loopback addresses. Forbidden by default.
 */
void
grant_token_provider_set_allow_insecure_http (GrantTokenProvider *self,
                                              gboolean            allow)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  allow = !!allow;
  g_mutex_lock (&self->lock);
  changed = self->allow_insecure_http != allow;
  self->allow_insecure_http = allow;
  g_mutex_unlock (&self->lock);

  if (changed)
    notify_change (self, PROP_ALLOW_INSECURE_HTTP);
}

/**
 * grant_token_provider_get_session:
 * @self: a provider
 *
 * Gets the session token requests are sent on.
 *
 * Returns: (transfer none): the session
 */
SoupSession *
grant_token_provider_get_session (GrantTokenProvider *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  /* Its connections may now carry requests of any length: a blocking
   * call no longer sends on it from its own thread (see
   * grant_fetch_config_can_run()). */
  g_atomic_int_set (&self->session_private, FALSE);

  return self->session;
}

static guint
find_parameter (GrantTokenProvider *self,
                const char         *name)
{
  for (guint i = 0; i < self->parameters->len; i++)
    {
      GrantParameter *parameter = g_ptr_array_index (self->parameters, i);

      if (g_strcmp0 (parameter->name, name) == 0)
        return i;
    }

  return G_MAXUINT;
}

/**
 * grant_token_provider_get_parameter:
 * @self: a provider
 * @name: a parameter name
 *
 * Gets the value of an extra request parameter.
 *
 * Returns: (nullable): the value, or `NULL` if the parameter is not set
 */
const char *
grant_token_provider_get_parameter (GrantTokenProvider *self,
                                    const char         *name)
{
  const char *value = NULL;
  guint index;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  g_mutex_lock (&self->lock);
  index = find_parameter (self, name);
  if (index != G_MAXUINT)
    value = ((GrantParameter *) g_ptr_array_index (self->parameters, index))->value;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * grant_token_provider_set_parameter:
 * @self: a provider
 * @name: a parameter name, such as "audience" or "resource"
 * @value: (nullable): its value, or `NULL` to remove the parameter
 *
 * Sets an extra parameter of the token request, and drops the cached token
 * if it changed.
 *
 * Parameters are sent in the order they were first set. The names the
 * request builds itself (`grant_type`, `client_id`, `client_secret` and
 * `scope`) cannot be set here: use the properties.
 */
void
grant_token_provider_set_parameter (GrantTokenProvider *self,
                                    const char         *name,
                                    const char         *value)
{
  gboolean changed = TRUE;
  guint index;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (!grant_parameter_name_is_reserved (name));

  g_mutex_lock (&self->lock);
  index = find_parameter (self, name);
  if (index != G_MAXUINT)
    {
      GrantParameter *parameter = g_ptr_array_index (self->parameters, index);

      if (value == NULL)
        g_ptr_array_remove_index (self->parameters, index);
      else
        changed = grant_set_secret (&parameter->value, value);
    }
  else if (value != NULL)
    g_ptr_array_add (self->parameters, grant_parameter_new (name, value));
  else
    changed = FALSE;
  if (changed)
    request_changed (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    emit_pending (self);
}

/**
 * grant_token_provider_get_token_async:
 * @self: a provider
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when a token is ready
 * @user_data: data for @callback
 *
 * Gets a valid token: the cached one while it is fresh, otherwise a new one
 * from the token endpoint.
 *
 * Concurrent calls share one request. Cancelling one call completes it at
 * once with `G_IO_ERROR_CANCELLED` and leaves the others alone; the request
 * itself is cancelled when every caller has cancelled.
 *
 * Call [method@Grant.TokenProvider.get_token_finish] in @callback.
 */
void
grant_token_provider_get_token_async (GrantTokenProvider  *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GrantToken *token;
  GError *quiet = NULL;
  gint64 now;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_get_token_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  now = provider_now (self);
  token = taken_fresh_token (self, now);
  if (token != NULL)
    {
      g_task_return_pointer (task, g_object_ref (token), g_object_unref);
      return;
    }

  g_mutex_lock (&self->lock);
  token = usable_token (self, now);
  if (token != NULL)
    {
      if (token == fresh_token (self, now))
        take_token (self, token);
      g_object_ref (token);
    }
  else
    quiet = join_or_start_fetch (self, task, TRUE);
  g_mutex_unlock (&self->lock);

  if (token != NULL)
    g_task_return_pointer (task, token, g_object_unref);
  else if (quiet != NULL)
    g_task_return_error (task, quiet);
}

/**
 * grant_token_provider_get_token_finish:
 * @self: a provider
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenProvider.get_token_async].
 *
 * Returns: (transfer full): a token that has not expired, or `NULL` with
 *   @error set
 */
GrantToken *
grant_token_provider_get_token_finish (GrantTokenProvider  *self,
                                       GAsyncResult        *result,
                                       GError             **error)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == grant_token_provider_get_token_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * grant_token_provider_get_token:
 * @self: a provider
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Gets a valid token, blocking until it is there.
 *
 * This is for scripts, command-line tools and worker threads; a thread
 * with a main loop should call [method@Grant.TokenProvider.get_token_async].
 * It may be called from any thread, any number of times; it joins a
 * request already in flight for any caller, and needs no main loop: the
 * request runs on libgrant's own thread. It returns within the provider's
 * [property@Grant.TokenProvider:timeout] for each attempt (and the
 * backoff between them), or when @cancellable is cancelled from another
 * thread.
 *
 * Called in the provider's home thread, it emits the signals the request
 * caused before it returns.
 *
 * Returns: (transfer full): a token that has not expired, or `NULL` with
 *   @error set
 */
GrantToken *
grant_token_provider_get_token (GrantTokenProvider  *self,
                                GCancellable        *cancellable,
                                GError             **error)
{
  GrantFetchWaiter *waiter = NULL;
  GrantFetch *run = NULL;
  GrantToken *token;
  gint64 budget = -1;
  gint64 deadline;
  gint64 now;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  now = provider_now (self);
  token = taken_fresh_token (self, now);
  if (token != NULL)
    return g_object_ref (token);

  g_mutex_lock (&self->lock);
  token = usable_token (self, now);
  if (token != NULL)
    {
      if (token == fresh_token (self, now))
        take_token (self, token);
      g_object_ref (token);
    }
  else
    waiter = join_or_start_fetch_blocking (self, &budget, &run, error);
  g_mutex_unlock (&self->lock);

  if (token != NULL || waiter == NULL)
    return token;

  /* Every wait in the fetch is bounded already; this is the last guard. */
  deadline = budget < 0 ? -1 : g_get_monotonic_time () + budget + 5 * G_USEC_PER_SEC;
  if (run != NULL)
    token = grant_fetch_run (run, waiter, cancellable, deadline, error);
  else
    token = grant_fetch_waiter_wait (waiter, cancellable, deadline, error);

  /* Called in the home thread (a script): its signals come before the
   * call returns, as for an asynchronous caller there. */
  emit_pending (self);

  return token;
}

/**
 * grant_token_provider_peek_token:
 * @self: a provider
 *
 * Gets the cached token if it is still fresh, without any I/O.
 *
 * Another thread may replace the cached token at any time: the token
 * returned stays valid until this thread calls this function again (or
 * ends); take a reference to keep it longer.
 *
 * Returns: (transfer none) (nullable): the fresh cached token, or `NULL`
 */
static GPrivate peeked = G_PRIVATE_INIT (g_object_unref);

GrantToken *
grant_token_provider_peek_token (GrantTokenProvider *self)
{
  GrantToken *token;
  gint64 now;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  now = provider_now (self);
  token = taken_fresh_token (self, now);
  if (token == NULL)
    {
      g_mutex_lock (&self->lock);
      token = fresh_token (self, now);
      if (token != NULL)
        take_token (self, token);
      g_mutex_unlock (&self->lock);
    }

  /* Another thread may replace the cached token at any time: the one
   * returned stays alive until this thread peeks again, whatever else
   * this thread does meanwhile (the fast path's record is replaced by
   * other calls too). */
  if (token != NULL && g_private_get (&peeked) != token)
    g_private_replace (&peeked, g_object_ref (token));

  return token;
}

typedef struct {
  GrantTokenStore *store;
  GMainContext *context;
  GrantTokenKey *key;
  char *access_token;
} ClearClosure;

static void
clear_closure_free (ClearClosure *closure)
{
  g_object_unref (closure->store);
  g_main_context_unref (closure->context);
  grant_token_key_unref (closure->key);
  grant_secret_free (closure->access_token);
  g_free (closure);
}

static void
stored_token_cleared_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!grant_token_store_clear_finish (GRANT_TOKEN_STORE (object), result, &error))
    g_debug ("Could not remove the invalidated token from the store: %s", error->message);
}

static void
stored_token_loaded_for_clear_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  ClearClosure *closure = user_data;
  g_autoptr(GrantToken) stored = NULL;
  g_autoptr(GError) error = NULL;

  stored = grant_token_store_load_finish (closure->store, result, &error);

  /* Another process may have stored a newer token since: keep that one. */
  if (stored != NULL &&
      g_strcmp0 (grant_token_get_access_token (stored), closure->access_token) == 0)
    grant_token_store_clear_async (closure->store, closure->key, NULL, stored_token_cleared_cb, NULL);

  clear_closure_free (closure);
}

static gboolean
clear_stored_token_cb (gpointer user_data)
{
  ClearClosure *closure = user_data;

  grant_token_store_load_async (closure->store, closure->key, NULL, stored_token_loaded_for_clear_cb, closure);

  return G_SOURCE_REMOVE;
}

/* What removes @token from the store, if the store still holds it; with
 * the lock held. clear_stored_token() runs it, without the lock (the store
 * may be called at once, when this thread runs its context). */
static ClearClosure *
prepare_clear_stored_token (GrantTokenProvider *self,
                            GrantToken         *token)
{
  ClearClosure *closure;
  GrantTokenKey *key = dup_token_key (self);

  if (key == NULL)
    return NULL;

  closure = g_new0 (ClearClosure, 1);
  closure->store = g_object_ref (self->store);
  closure->context = g_main_context_ref (self->store_context);
  closure->key = key;
  closure->access_token = g_strdup (grant_token_get_access_token (token));

  return closure;
}

static void
clear_stored_token (ClearClosure *closure)
{
  g_main_context_invoke_full (closure->context, G_PRIORITY_DEFAULT, clear_stored_token_cb, closure, NULL);
}

/**
 * grant_token_provider_invalidate:
 * @self: a provider
 * @rejected: (nullable): the token an API rejected, or `NULL`
 *
 * Forgets the cached token, typically after an API answered 401 to it.
 *
 * With a @rejected token, the cache is only dropped if it still holds that
 * token (the same object, or one with the same access token), so that a
 * late 401 does not throw away a token fetched since. The next call to
 * [method@Grant.TokenProvider.get_token_async] fetches a new token.
 */
void
grant_token_provider_invalidate (GrantTokenProvider *self,
                                 GrantToken         *rejected)
{
  ClearClosure *clear = NULL;
  gboolean dropped = FALSE;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (rejected == NULL || GRANT_IS_TOKEN (rejected));

  g_mutex_lock (&self->lock);
  if (self->token != NULL &&
      (rejected == NULL || rejected == self->token ||
       g_strcmp0 (grant_token_get_access_token (rejected),
                  grant_token_get_access_token (self->token)) == 0))
    {
      g_debug ("Cached token invalidated");
      if (self->store != NULL)
        clear = prepare_clear_stored_token (self, self->token);
      g_set_object (&self->rejected, self->token);
      set_token (self, NULL, NULL);
      dropped = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (clear != NULL)
    clear_stored_token (clear);
  if (dropped)
    emit_pending (self);
}

/**
 * grant_token_provider_refresh_async:
 * @self: a provider
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called when the token is ready
 * @user_data: data for @callback
 *
 * Fetches a new token now, whatever the cache holds.
 *
 * A request already in flight is joined rather than doubled. Call
 * [method@Grant.TokenProvider.refresh_finish] in @callback.
 */
void
grant_token_provider_refresh_async (GrantTokenProvider  *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *quiet;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_refresh_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  g_mutex_lock (&self->lock);
  quiet = join_or_start_fetch (self, task, FALSE);
  g_mutex_unlock (&self->lock);

  if (quiet != NULL)
    g_task_return_error (task, quiet);
}

/**
 * grant_token_provider_refresh_finish:
 * @self: a provider
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Grant.TokenProvider.refresh_async].
 *
 * Returns: (transfer full): the new token, or `NULL` with @error set
 */
GrantToken *
grant_token_provider_refresh_finish (GrantTokenProvider  *self,
                                     GAsyncResult        *result,
                                     GError             **error)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == grant_token_provider_refresh_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Replaces the wall clock, for tests. */
void
grant_token_provider_set_clock (GrantTokenProvider *self,
                                GrantClock         *clock)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (GRANT_IS_CLOCK (clock));

  g_mutex_lock (&self->lock);
  g_object_ref (clock);
  g_object_unref (g_atomic_pointer_exchange (&self->clock, clock));
  schedule_refresh (self);
  g_mutex_unlock (&self->lock);
}

/* Until when callers without a token get the last transient error again
 * instead of a new request, on the provider's clock; -1 if they do not. */
gint64
grant_token_provider_get_quiet_until (GrantTokenProvider *self)
{
  gint64 until;

  g_mutex_lock (&self->lock);
  until = self->quiet_error != NULL && self->quiet_generation == self->generation ? self->quiet_until : -1;
  g_mutex_unlock (&self->lock);

  return until;
}

/* For API requests that present the client certificate: a session of the
 * provider's own whose connections all carry @certificate (so kept-alive
 * ones may be reused), trusting what the provider's session trusts; NULL
 * without a certificate. A new certificate gets a new session. */
SoupSession *
grant_token_provider_dup_certificate_session (GrantTokenProvider  *self,
                                              GTlsCertificate    **certificate)
{
  SoupSession *session = NULL;

  g_mutex_lock (&self->lock);
  *certificate = self->tls_certificate ? g_object_ref (self->tls_certificate) : NULL;
  if (self->tls_certificate != NULL)
    {
      if (self->certificate_session == NULL || self->certificate_session_for != self->tls_certificate)
        {
          g_clear_object (&self->certificate_session);
          self->certificate_session =
            soup_session_new_with_options ("tls-database", soup_session_get_tls_database (self->session),
                                           "proxy-resolver", soup_session_get_proxy_resolver (self->session),
                                           "user-agent", soup_session_get_user_agent (self->session),
                                           "timeout", soup_session_get_timeout (self->session),
                                           NULL);
          g_set_object (&self->certificate_session_for, self->tls_certificate);
        }
      session = g_object_ref (self->certificate_session);
    }
  g_mutex_unlock (&self->lock);

  return session;
}

/* Now, on the provider's clock (a test's, or the wall clock). */
gint64
grant_token_provider_now (GrantTokenProvider *self)
{
  g_autoptr(GrantClock) clock = NULL;

  g_mutex_lock (&self->lock);
  clock = g_object_ref (self->clock);
  g_mutex_unlock (&self->lock);

  return grant_clock_now (clock);
}

/* Replaces the network monitor, for tests; it then decides for loopback
 * addresses too. */
void
grant_token_provider_set_network_monitor (GrantTokenProvider *self,
                                          GNetworkMonitor    *monitor)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (G_IS_NETWORK_MONITOR (monitor));

  set_network_monitor (self, monitor, TRUE);
}

/* Makes retries quick and predictable, for tests. */
void
grant_token_provider_set_retry_policy (GrantTokenProvider *self,
                                       guint               base_ms,
                                       guint               max_ms,
                                       guint               max_attempts,
                                       gboolean            jitter)
{
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (max_attempts > 0);

  g_mutex_lock (&self->lock);
  self->retry_base_ms = base_ms;
  self->retry_max_ms = max_ms;
  self->max_attempts = max_attempts;
  self->jitter = jitter;
  schedule_refresh (self);
  g_mutex_unlock (&self->lock);
}

/* When the background refresh is due, or -1 when none is scheduled. */
gint64
grant_token_provider_get_refresh_time (GrantTokenProvider *self)
{
  gint64 at;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), -1);

  g_mutex_lock (&self->lock);
  at = self->alarm != NULL ? self->alarm_at : -1;
  g_mutex_unlock (&self->lock);

  return at;
}
