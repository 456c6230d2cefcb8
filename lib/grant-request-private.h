/* grant-request-private.h: building a token request, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "grant-enums.h"

G_BEGIN_DECLS

/* One extra request parameter, such as "audience". */
typedef struct {
  char *name;
  char *value;
} GrantParameter;

GrantParameter *grant_parameter_new  (const char     *name,
                                      const char     *value);
void            grant_parameter_free (GrantParameter *parameter);

gboolean        grant_parameter_name_is_reserved (const char *name);

/* What a token request is made of. @auth_method is never AUTO here: the
 * caller resolves AUTO to the method it tries. @parameters holds
 * GrantParameter, in the order they were set, and may be NULL. */
typedef struct {
  const char          *client_id;
  const char          *client_secret;
  const char          *scope;
  GPtrArray           *parameters;
  GrantAuthMethod      auth_method;
  GrantRequestFormat   format;
  const char          *client_assertion;  /* for the two JWT methods */
} GrantRequestSpec;

/* The client_assertion_type of RFC 7523 section 2.2. */
#define GRANT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* The last GrantAuthMethod. */
#define GRANT_AUTH_METHOD_LAST GRANT_AUTH_METHOD_CLIENT_SECRET_JWT

/* The parts of the HTTP request that depend on the spec: the method is
 * always POST and the URL is the token URL. @body and @authorization may
 * hold the secret; both are wiped when the request is freed (the body when
 * its last reference goes). */
typedef struct {
  char   *content_type;
  GBytes *body;
  char   *authorization;
} GrantRequest;

GrantRequest *grant_request_build (const GrantRequestSpec *spec);
void          grant_request_free  (GrantRequest           *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantRequest, grant_request_free)

const char   *grant_auth_method_to_string   (GrantAuthMethod  method);
gboolean      grant_auth_method_from_string (const char      *text,
                                             GrantAuthMethod *method);
gboolean      grant_auth_method_is_mutual_tls (GrantAuthMethod method);

G_END_DECLS
