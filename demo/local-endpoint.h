/* local-endpoint.h: an OAuth 2.0 token endpoint on 127.0.0.1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A token endpoint on a SoupServer bound to 127.0.0.1 on a free port, used
 * by the demo and the tests. It checks client credentials as RFC 6749 says
 * (Basic with the section 2.3.1 encoding, or in a form or JSON body) and
 * answers like a strict RFC 6749 server. Other paths can serve canned answers. With @threaded, the server
 * runs in a thread of its own, so that blocking calls can reach it. */
typedef struct _LocalEndpoint LocalEndpoint;
typedef struct _Failure Failure;

/* Each kind of endpoint has a path of its own on the same server. */
typedef enum {
  LOCAL_ENDPOINT_RFC6749,         /* /token */
  LOCAL_ENDPOINT_EXPERTFILE,      /* /expertfile/v2/oauth/token */
  LOCAL_ENDPOINT_JSON_BODY,       /* /json-body/oauth/token */
  LOCAL_ENDPOINT_SMARTDOCUMENTOR, /* /smartdocumentor/connect/token */
  LOCAL_ENDPOINT_OFFICERND,       /* /officernd/oauth/token */
} LocalEndpointStyle;

struct _LocalEndpoint {
  SoupServer *server;
  GMainContext *context;
  GThread *thread;
  GMainLoop *loop;
  GCond started;
  GError *listen_error;
  char *base_url;        /* http://127.0.0.1:PORT */
  char *token_url;       /* base_url + "/token" */

  /* What the endpoint accepts. Set before requests are made. */
  char *client_id;
  char *client_secret;
  gboolean accept_basic;      /* default TRUE */
  gboolean accept_assertions; /* default FALSE: for tests, a client_assertion
                               * is taken for the client's, unverified */
  gboolean accept_post;       /* default TRUE */
  gboolean want_json;         /* the body must be JSON; default FALSE */
  char *allowed_scope;        /* NULL: any scope */
  gint64 expires_in;          /* seconds; negative: none in the answer */
  gint64 clock_offset;        /* seconds the server's clock is ahead */
  gboolean hold;              /* keep answers until local_endpoint_release();
                               * under @lock (local_endpoint_hold()) */
  guint32 salt;               /* makes access tokens unique to this endpoint */

  /* What it saw, under @lock. */
  GMutex lock;
  guint n_requests;
  guint n_tokens;
  char *last_auth;            /* "basic", "post" or "none" */
  char *last_content_type;
  GHashTable *last_params;    /* the decoded body, strings */
  GPtrArray *held;            /* SoupServerMessage, answers not yet sent */
  GQueue failures;            /* Failure, answered before anything else */
  GHashTable *valid_tokens;   /* the tokens /api accepts */
  guint n_api_requests;
  GHashTable *client_ports;   /* ports token requests came from */
};

LocalEndpoint *local_endpoint_new          (gboolean        threaded,
                                           GError        **error);
void           local_endpoint_free         (LocalEndpoint  *endpoint);
guint          local_endpoint_get_requests (LocalEndpoint  *endpoint);
guint          local_endpoint_get_held     (LocalEndpoint  *endpoint);
guint          local_endpoint_get_token_connections (LocalEndpoint *endpoint);
void           local_endpoint_release      (LocalEndpoint  *endpoint);
void           local_endpoint_hold         (LocalEndpoint  *endpoint,
                                            gboolean        hold);
char          *local_endpoint_dup_param    (LocalEndpoint  *endpoint,
                                            const char     *name);
char          *local_endpoint_dup_auth     (LocalEndpoint  *endpoint);
char          *local_endpoint_token        (LocalEndpoint  *endpoint,
                                            guint           n);
char          *local_endpoint_url          (LocalEndpoint  *endpoint,
                                            const char     *path);
void           local_endpoint_push_failure (LocalEndpoint  *endpoint,
                                            guint           status,
                                            const char     *header,
                                            const char     *value,
                                            const char     *body);
void           local_endpoint_revoke_tokens (LocalEndpoint *endpoint);
guint          local_endpoint_get_api_requests (LocalEndpoint *endpoint);
char          *local_endpoint_url_for      (LocalEndpoint      *endpoint,
                                            LocalEndpointStyle  style);

/* Serves a fixed answer at @path; @body is copied. */
void           local_endpoint_add_canned   (LocalEndpoint  *endpoint,
                                            const char     *path,
                                            guint           status,
                                            const char     *content_type,
                                            const char     *body,
                                            gssize          body_len);

/* Like local_endpoint_add_canned(), with a header added to the answer. */
void           local_endpoint_add_canned_with_header (LocalEndpoint *endpoint,
                                                      const char    *path,
                                                      guint          status,
                                                      const char    *header,
                                                      const char    *value,
                                                      const char    *content_type,
                                                      const char    *body);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LocalEndpoint, local_endpoint_free)

G_END_DECLS
