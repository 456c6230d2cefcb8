/* fault-server.h: a loopback HTTP server that misbehaves on purpose
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the server does with one request, after reading it whole. */
typedef enum {
  FAULT_ANSWER,            /* send @status, @headers and @body */
  FAULT_RESET_BEFORE,      /* reset the connection before answering */
  FAULT_RESET_DURING,      /* send half the answer, then reset */
  FAULT_HANG,              /* never answer */
  FAULT_DRIP,              /* send the answer one byte at a time */
  FAULT_SHORT_BODY,        /* announce more body than is sent, then close */
  FAULT_ECHO,              /* FAULT_ANSWER, with "{authorization}" and "{body}"
                            * in @body replaced by the request's Authorization
                            * header value and body, escaped for a JSON string */
} FaultKind;

typedef struct _FaultServer FaultServer;

/* Listens on 127.0.0.1 (with TLS when @certificate is given). Requests with
 * no action queued get a valid token answer. */
FaultServer *fault_server_new          (GTlsCertificate *certificate);
void         fault_server_free         (FaultServer     *server);
const char  *fault_server_get_url      (FaultServer     *server);
guint        fault_server_get_requests (FaultServer     *server);
/* The request headers and body of the last request, as received. */
const char  *fault_server_get_last_request (FaultServer *server);

/* Queues what to do with the next request. @headers holds whole header
 * lines, each ending in \r\n, or is NULL; @body may hold NUL bytes. */
void         fault_server_push         (FaultServer     *server,
                                        FaultKind        kind,
                                        guint            status,
                                        const char      *headers,
                                        GBytes          *body);
void         fault_server_push_simple  (FaultServer     *server,
                                        FaultKind        kind,
                                        guint            status,
                                        const char      *headers,
                                        const char      *body);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FaultServer, fault_server_free)

G_END_DECLS
