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
 * A provider is not thread-safe: use it from the thread whose main context
 * was the thread-default one when it was created. The blocking
 * [method@Grant.TokenProvider.get_token] runs a main context of its own.
 */

struct _GrantTokenProvider
{
  GObject parent_instance;

  char *token_url;
  char *client_id;
  char *client_secret;
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
  GPtrArray *parameters;

  /* The issuer's discovery document, read once. */
  GrantDiscovery *discovery;

  /* The cached token, and when it expires and goes stale, in wall-clock
   * microseconds. */
  GrantToken *token;
  gint64 token_expires;
  gint64 token_stale;

  /* Bumped by every change to what a request is; a fetch started before
   * the change does not fill the cache. */
  guint generation;

  /* The fetch that callers on the provider's own main context join, and
   * every fetch still running, so that dispose can let go of them. */
  GrantFetch *fetch;
  GList *fetches;

  /* Background refresh: one alarm on the wall clock, in the main context
   * the provider was made in. */
  gboolean auto_refresh;
  GMainContext *context;
  GrantClock *clock;
  GSource *alarm;
  gint64 alarm_at;
  guint refresh_failures;     /* in a row; backs off the next attempt */
  gint64 last_failure;

  GNetworkMonitor *monitor;
  gulong monitor_handler;
  gulong monitor_notify_handler;
  gboolean monitor_covers_loopback;
  gboolean network_available;  /* the monitor's, kept up to date */

  GrantTokenStore *store;
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

static gint64
provider_now (GrantTokenProvider *self)
{
  return grant_clock_now (self->clock);
}

/* Cache */

static const char *request_url (GrantTokenProvider *self);

static void
update_token_times (GrantTokenProvider *self)
{
  if (self->token == NULL)
    self->token_expires = self->token_stale = 0;
  else
    grant_token_get_times (self->token, self->default_lifetime, self->expiry_margin,
                           &self->token_expires, &self->token_stale);
}

/* A store that fails is no error for callers: warn once (the fetch logs
 * every failure at debug level), then fetch. */
static void
store_failed (GrantTokenProvider *self,
              const GError       *error)
{
  if (self->store_warned)
    return;

  self->store_warned = TRUE;
  g_warning ("The token store failed, so tokens come from the network: %s", error->message);
}

static GrantTokenKey *
dup_token_key (GrantTokenProvider *self)
{
  g_autoptr(GPtrArray) parameters = g_ptr_array_new_with_free_func (g_free);
  const char *url = request_url (self);

  if (url == NULL || *url == '\0' || self->client_id == NULL || *self->client_id == '\0')
    return NULL;

  for (guint i = 0; i < self->parameters->len; i++)
    {
      GrantParameter *parameter = g_ptr_array_index (self->parameters, i);

      g_ptr_array_add (parameters, g_strconcat (parameter->name, "=", parameter->value, NULL));
    }
  g_ptr_array_add (parameters, NULL);

  return grant_token_key_new (url, self->client_id, self->auth_method, self->scope,
                              (const char * const *) parameters->pdata);
}

/* Whether a request to @url can go anywhere, by what the network monitor
 * said last: asking it costs a g_object_get(), which each of many
 * concurrent callers would pay. */
static gboolean
network_available_for (GrantTokenProvider *self,
                       const char         *url)
{
  return self->monitor == NULL ||
         grant_network_reaches (self->network_available, self->monitor_covers_loopback, url);
}

static const char *
request_url (GrantTokenProvider *self)
{
  return self->token_url && *self->token_url ? self->token_url : self->issuer;
}

static void start_background_refresh (GrantTokenProvider *self);
static void schedule_refresh         (GrantTokenProvider *self);

static gboolean
refresh_alarm_cb (gpointer user_data)
{
  GrantTokenProvider *self = user_data;
  gint64 at = self->alarm_at;

  g_clear_pointer (&self->alarm, g_source_unref);

  /* The clock was set back: not yet. */
  if (provider_now (self) < at)
    {
      g_debug ("The clock changed; rescheduling the token refresh");
      schedule_refresh (self);
      return G_SOURCE_REMOVE;
    }

  start_background_refresh (self);

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
 * one. Never after the token expired: then the next caller fetches. */
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
  g_source_set_callback (self->alarm, refresh_alarm_cb, self, NULL);
  g_source_attach (self->alarm, self->context);
}

static void
set_token (GrantTokenProvider *self,
           GrantToken         *token)
{
  if (!g_set_object (&self->token, token))
    return;

  update_token_times (self);
  schedule_refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
}

/* The cached token while it has not expired, even if it is stale. */
static GrantToken *
valid_token (GrantTokenProvider *self)
{
  if (self->token != NULL && provider_now (self) < self->token_expires)
    return self->token;

  return NULL;
}

static GrantToken *
fresh_token (GrantTokenProvider *self)
{
  if (self->token != NULL && provider_now (self) < self->token_stale)
    return self->token;

  return NULL;
}

/* Fetches: grant-fetch.c gets the token; the provider gives each fetch a
 * snapshot of the request and hears back once, in fetch_done_cb(). */

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
  config->clock = g_object_ref (self->clock);
  config->timeout = self->timeout;
  config->max_attempts = self->max_attempts;
  config->retry_base_ms = self->retry_base_ms;
  config->retry_max_ms = self->retry_max_ms;
  config->jitter = self->jitter;

  if (self->store != NULL)
    {
      config->store = g_object_ref (self->store);
      config->key = dup_token_key (self);
    }
  config->load_stored = load_stored;
  config->held = self->token ? g_object_ref (self->token) : NULL;
  config->default_lifetime = self->default_lifetime;
  config->expiry_margin = self->expiry_margin;

  config->discovery = self->discovery ? grant_discovery_copy (self->discovery) : NULL;
  config->monitor = self->monitor ? g_object_ref (self->monitor) : NULL;
  config->monitor_covers_loopback = self->monitor_covers_loopback;
  config->background = background;
  config->generation = self->generation;

  return config;
}

/* The fetch @self->fetch, if callers may still join it. */
static GrantFetch *
joinable_fetch (GrantTokenProvider *self)
{
  return self->fetch != NULL && grant_fetch_is_joinable (self->fetch) ? self->fetch : NULL;
}

/* A fetch ended. Unless the request changed since it started, its token
 * becomes the cached one, or its error is reported. The signals come now,
 * before the fetch completes any caller. Returns what callers that accept
 * a still-valid token get instead of the error. */
static GrantToken *
fetch_done_cb (GrantFetch             *fetch,
               const GrantFetchResult *result,
               gpointer                user_data)
{
  /* A signal handler may drop the last reference. */
  g_autoptr(GrantTokenProvider) self = g_object_ref (user_data);
  const GrantFetchConfig *config = grant_fetch_get_config (fetch);
  gboolean current = config->generation == self->generation;
  GrantToken *fallback = NULL;

  self->fetches = g_list_remove (self->fetches, fetch);
  if (self->fetch == fetch)
    self->fetch = NULL;

  if (result->store_error != NULL)
    store_failed (self, result->store_error);

  /* The document depends on the issuer alone (and on what counts as a
   * secure URL): it stays good whatever else changed meanwhile. */
  if (result->discovery != NULL && g_strcmp0 (result->discovery->issuer, self->issuer) == 0 &&
      config->allow_insecure_http == self->allow_insecure_http)
    {
      g_clear_pointer (&self->discovery, grant_discovery_free);
      self->discovery = grant_discovery_copy (result->discovery);
    }

  if (!current)
    return NULL;

  if (result->token != NULL)
    {
      self->refresh_failures = 0;
      set_token (self, result->token);
      g_signal_emit (self, signals[SIGNAL_TOKEN_REFRESHED], 0, result->token);
      return NULL;
    }

  if (g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return NULL;

  /* While the cached token is still valid, callers keep it and the
   * refresh is tried again later, backing off. */
  if (valid_token (self) != NULL)
    {
      self->refresh_failures++;
      self->last_failure = provider_now (self);
      schedule_refresh (self);
    }
  g_signal_emit (self, signals[SIGNAL_REFRESH_FAILED], 0, result->error);

  fallback = valid_token (self);

  return fallback != NULL ? g_object_ref (fallback) : NULL;
}

static GrantFetch *
start_fetch (GrantTokenProvider *self,
             GMainContext       *context,
             GrantFetchConfig   *config)
{
  GrantFetch *fetch = grant_fetch_new (config, context, fetch_done_cb, self);

  self->fetches = g_list_prepend (self->fetches, fetch);

  return fetch;
}

/* Adds @task to the fetch in flight on the current main context, or starts
 * one. */
static void
join_or_start_fetch (GrantTokenProvider *self,
                     GTask              *task,
                     gboolean            accepts_valid_token)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  GrantFetch *joinable = joinable_fetch (self);
  GrantFetch *fetch;

  if (joinable != NULL && grant_fetch_get_context (joinable) == context &&
      grant_fetch_add_waiter (joinable, task, accepts_valid_token))
    return;

  /* refresh_async() wants a new token, not the stored one. */
  fetch = start_fetch (self, context, snapshot_request (self, FALSE, accepts_valid_token));
  /* A fetch on another main context (a blocking call) is not shared: its
   * callers could not be completed while this one's context is blocked. */
  if (joinable == NULL)
    self->fetch = fetch;
  grant_fetch_add_waiter (fetch, task, accepts_valid_token);
  grant_fetch_start (fetch);
}

/* The alarm went off: fetch a new token that nobody waits for yet. */
static void
start_background_refresh (GrantTokenProvider *self)
{
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
  self->fetch = start_fetch (self, self->context, snapshot_request (self, TRUE, TRUE));
  grant_fetch_start (self->fetch);
}

static void
network_available_notify_cb (GNetworkMonitor    *monitor,
                             GParamSpec         *pspec,
                             GrantTokenProvider *self)
{
  self->network_available = g_network_monitor_get_network_available (monitor);
}

static void
network_changed_cb (GNetworkMonitor    *monitor,
                    gboolean            available,
                    GrantTokenProvider *self)
{
  self->network_available = available;

  /* Back online: refresh at once if the time has come. */
  if (available && self->alarm == NULL && joinable_fetch (self) == NULL)
    schedule_refresh (self);
}

/* Configuration changes */

static void
request_changed (GrantTokenProvider *self)
{
  self->generation++;
  self->fetch = NULL;
  set_token (self, NULL);
}

static void set_network_monitor (GrantTokenProvider *self,
                                 GNetworkMonitor    *monitor,
                                 gboolean            covers_loopback);

static void
grant_token_provider_dispose (GObject *object)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);
  g_autoptr(GList) fetches = g_steal_pointer (&self->fetches);

  /* Callers' tasks hold the provider, so only fetches nobody waits for
   * (background refreshes, or requests made obsolete by a change) can be
   * running: they stop and let go. */
  self->fetch = NULL;
  for (GList *l = fetches; l != NULL; l = l->next)
    grant_fetch_detach (l->data);

  clear_alarm (self);
  set_network_monitor (self, NULL, FALSE);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (grant_token_provider_parent_class)->dispose (object);
}

static void
grant_token_provider_finalize (GObject *object)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);

  g_free (self->token_url);
  g_free (self->client_id);
  grant_secret_free (self->client_secret);
  g_free (self->scope);
  g_free (self->issuer);
  g_clear_object (&self->dialect);
  g_clear_pointer (&self->discovery, grant_discovery_free);
  g_clear_object (&self->session);
  g_clear_object (&self->clock);
  g_clear_object (&self->store);
  g_ptr_array_unref (self->parameters);

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
  if (self->monitor != NULL)
    {
      g_clear_signal_handler (&self->monitor_handler, self->monitor);
      g_clear_signal_handler (&self->monitor_notify_handler, self->monitor);
    }
  g_set_object (&self->monitor, monitor);
  self->monitor_covers_loopback = covers_loopback;
  if (monitor != NULL)
    {
      self->network_available = g_network_monitor_get_network_available (monitor);
      self->monitor_handler = g_signal_connect (monitor, "network-changed",
                                                G_CALLBACK (network_changed_cb), self);
      self->monitor_notify_handler = g_signal_connect (monitor, "notify::network-available",
                                                       G_CALLBACK (network_available_notify_cb), self);
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
    self->session = soup_session_new_with_options ("user-agent", "libgrant/" PACKAGE_VERSION " ",
                                                   NULL);

  self->context = g_main_context_ref_thread_default ();
  set_network_monitor (self, g_network_monitor_get_default (), FALSE);
}

static void
grant_token_provider_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  GrantTokenProvider *self = GRANT_TOKEN_PROVIDER (object);

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
      g_value_set_object (value, self->session);
      break;

    case PROP_TOKEN:
      g_value_set_object (value, self->token);
      break;

    case PROP_CLIENT_SECRET: /* write-only: GObject refuses to read it */
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
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
   * The document is read once per issuer.
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
   * GrantTokenProvider:token:
   *
   * The cached token, or `NULL`.
   *
   * It changes after every fetch, and goes back to `NULL` when the token is
   * invalidated or a change to the configuration drops it. It may have gone
   * stale: to use a token, call [method@Grant.TokenProvider.peek_token] or
   * [method@Grant.TokenProvider.get_token_async].
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
   * Emitted after every newly obtained token, before the callers waiting
   * for it are completed.
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
   * asked for it or not, before the callers waiting for it are completed.
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
  self->auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST;
  self->request_format = GRANT_REQUEST_FORMAT_FORM;
  self->expiry_margin = DEFAULT_EXPIRY_MARGIN;
  self->default_lifetime = DEFAULT_DEFAULT_LIFETIME;
  self->timeout = DEFAULT_TIMEOUT;
  self->parameters = g_ptr_array_new_with_free_func ((GDestroyNotify) grant_parameter_free);
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
 * be changed, such as a token URL that differs per customer.
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return self->issuer;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (!grant_set_str (&self->issuer, issuer))
    return;

  g_clear_pointer (&self->discovery, grant_discovery_free);
  request_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ISSUER]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), FALSE);

  return self->auto_refresh;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  auto_refresh = !!auto_refresh;
  if (self->auto_refresh == auto_refresh)
    return;

  self->auto_refresh = auto_refresh;
  schedule_refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTO_REFRESH]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return self->store;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (store == NULL || GRANT_IS_TOKEN_STORE (store));

  if (!g_set_object (&self->store, store))
    return;

  self->store_warned = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return self->token_url;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (!grant_set_str (&self->token_url, token_url))
    return;

  request_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN_URL]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return self->client_id;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (!grant_set_str (&self->client_id, client_id))
    return;

  request_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT_ID]);
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
  grant_set_secret (&self->client_secret, client_secret);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return self->scope;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (scope != NULL && *scope == '\0')
    scope = NULL;

  if (!grant_set_str (&self->scope, scope))
    return;

  request_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCOPE]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), GRANT_AUTH_METHOD_CLIENT_SECRET_POST);

  return self->auth_method;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (auth_method <= GRANT_AUTH_METHOD_NONE);

  if (self->auth_method == auth_method)
    return;

  self->auth_method = auth_method;
  request_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTH_METHOD]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), GRANT_REQUEST_FORMAT_FORM);

  return self->request_format;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (request_format <= GRANT_REQUEST_FORMAT_JSON);

  if (self->request_format == request_format)
    return;

  self->request_format = request_format;
  request_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REQUEST_FORMAT]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), 0);

  return self->expiry_margin;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (self->expiry_margin == seconds)
    return;

  self->expiry_margin = seconds;
  update_token_times (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPIRY_MARGIN]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), 0);

  return self->default_lifetime;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (seconds > 0);

  if (self->default_lifetime == seconds)
    return;

  self->default_lifetime = seconds;
  update_token_times (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEFAULT_LIFETIME]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), 0);

  return self->timeout;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  if (self->timeout == seconds)
    return;

  self->timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), DEFAULT_MAX_ATTEMPTS);

  return self->max_attempts;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (attempts >= 1 && attempts <= MAX_MAX_ATTEMPTS);

  if (self->max_attempts == attempts)
    return;

  self->max_attempts = attempts;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ATTEMPTS]);
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
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), FALSE);

  return self->allow_insecure_http;
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));

  allow = !!allow;
  if (self->allow_insecure_http == allow)
    return;

  self->allow_insecure_http = allow;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_INSECURE_HTTP]);
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
  guint index;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  index = find_parameter (self, name);
  if (index == G_MAXUINT)
    return NULL;

  return ((GrantParameter *) g_ptr_array_index (self->parameters, index))->value;
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
  guint index;

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (!grant_parameter_name_is_reserved (name));

  index = find_parameter (self, name);
  if (index == G_MAXUINT && value == NULL)
    return;

  if (index != G_MAXUINT)
    {
      GrantParameter *parameter = g_ptr_array_index (self->parameters, index);

      if (value == NULL)
        g_ptr_array_remove_index (self->parameters, index);
      else if (!grant_set_secret (&parameter->value, value))
        return;
    }
  else
    g_ptr_array_add (self->parameters, grant_parameter_new (name, value));

  request_changed (self);
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

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_get_token_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  token = fresh_token (self);

  /* Stale but still valid while a failed refresh waits for its retry, or
   * the network is gone: keep serving it rather than wait for an attempt
   * likely to fail. */
  if (token == NULL && ((self->refresh_failures > 0 && self->alarm != NULL) ||
                        !network_available_for (self, request_url (self))))
    token = valid_token (self);

  if (token != NULL)
    {
      g_task_return_pointer (task, g_object_ref (token), g_object_unref);
      return;
    }

  join_or_start_fetch (self, task, TRUE);
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

static void
sync_result_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GAsyncResult **result_out = user_data;

  *result_out = g_object_ref (result);
}

/**
 * grant_token_provider_get_token:
 * @self: a provider
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Gets a valid token, blocking until it is there.
 *
 * This is for scripts and command-line tools; an application with a main
 * loop should call [method@Grant.TokenProvider.get_token_async]. The request
 * runs on a main context of its own, so it does not join a request that the
 * asynchronous calls have in flight.
 *
 * Returns: (transfer full): a token that has not expired, or `NULL` with
 *   @error set
 */
GrantToken *
grant_token_provider_get_token (GrantTokenProvider  *self,
                                GCancellable        *cancellable,
                                GError             **error)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GrantToken *token;

  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  token = fresh_token (self);
  if (token != NULL && (cancellable == NULL || !g_cancellable_is_cancelled (cancellable)))
    return g_object_ref (token);

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  grant_token_provider_get_token_async (self, cancellable, sync_result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return grant_token_provider_get_token_finish (self, result, error);
}

/**
 * grant_token_provider_peek_token:
 * @self: a provider
 *
 * Gets the cached token if it is still fresh, without any I/O.
 *
 * Returns: (transfer none) (nullable): the fresh cached token, or `NULL`
 */
GrantToken *
grant_token_provider_peek_token (GrantTokenProvider *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), NULL);

  return fresh_token (self);
}

typedef struct {
  GrantTokenStore *store;
  GrantTokenKey *key;
  char *access_token;
} ClearClosure;

static void
clear_closure_free (ClearClosure *closure)
{
  g_object_unref (closure->store);
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

/* Removes @token from the store, if the store still holds it. */
static void
clear_stored_token (GrantTokenProvider *self,
                    GrantToken         *token)
{
  ClearClosure *closure;
  GrantTokenKey *key = dup_token_key (self);

  if (key == NULL)
    return;

  closure = g_new0 (ClearClosure, 1);
  closure->store = g_object_ref (self->store);
  closure->key = key;
  closure->access_token = g_strdup (grant_token_get_access_token (token));
  grant_token_store_load_async (closure->store, key, NULL, stored_token_loaded_for_clear_cb, closure);
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
  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (rejected == NULL || GRANT_IS_TOKEN (rejected));

  if (self->token == NULL)
    return;

  if (rejected != NULL && rejected != self->token &&
      g_strcmp0 (grant_token_get_access_token (rejected),
                 grant_token_get_access_token (self->token)) != 0)
    return;

  g_debug ("Cached token invalidated");
  if (self->store != NULL)
    clear_stored_token (self, self->token);
  set_token (self, NULL);
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

  g_return_if_fail (GRANT_IS_TOKEN_PROVIDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, grant_token_provider_refresh_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  join_or_start_fetch (self, task, FALSE);
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

  g_set_object (&self->clock, clock);
  schedule_refresh (self);
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

  self->retry_base_ms = base_ms;
  self->retry_max_ms = max_ms;
  self->max_attempts = max_attempts;
  self->jitter = jitter;
  schedule_refresh (self);
}

/* When the background refresh is due, or -1 when none is scheduled. */
gint64
grant_token_provider_get_refresh_time (GrantTokenProvider *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN_PROVIDER (self), -1);

  return self->alarm != NULL ? self->alarm_at : -1;
}
