/* grant-discovery-private.h: authorization server metadata, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Where the metadata of an issuer is, in the order they are tried. */
typedef enum {
  GRANT_DISCOVERY_OAUTH,   /* RFC 8414: /.well-known/oauth-authorization-server */
  GRANT_DISCOVERY_OPENID,  /* OpenID Connect Discovery 1.0 */
  GRANT_DISCOVERY_N_KINDS,
} GrantDiscoveryKind;

/* Bits of auth_methods, by GrantAuthMethod value. */
#define GRANT_DISCOVERY_METHOD(method) (1u << (method))

/* What a discovery document says about the token endpoint. */
typedef struct {
  char *issuer;
  char *token_endpoint;
  char *mtls_token_endpoint; /* RFC 8705 section 5's alias, or NULL */
  guint auth_methods;      /* 0 when the document lists none */
  char **signing_algs;     /* token_endpoint_auth_signing_alg_values_supported, or NULL */
} GrantDiscovery;

char           *grant_discovery_url   (const char          *issuer,
                                       GrantDiscoveryKind   kind);
GrantDiscovery *grant_discovery_parse (const char          *issuer,
                                       GrantDiscoveryKind   kind,
                                       guint                status,
                                       SoupMessageHeaders  *headers,
                                       GBytes              *body,
                                       gboolean             allow_insecure_http,
                                       GError             **error);
GrantDiscovery *grant_discovery_copy  (const GrantDiscovery *discovery);
void            grant_discovery_free  (GrantDiscovery      *discovery);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantDiscovery, grant_discovery_free)

G_END_DECLS
