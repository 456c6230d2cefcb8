/* grant-discovery.c: authorization server metadata, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-body-private.h"
#include "grant-discovery-private.h"
#include "grant-enums.h"
#include "grant-error.h"
#include "grant-request-private.h"
#include "grant-utils-private.h"

static const char * const well_known[GRANT_DISCOVERY_N_KINDS] = {
  [GRANT_DISCOVERY_OAUTH] = "oauth-authorization-server",
  [GRANT_DISCOVERY_OPENID] = "openid-configuration",
};

/* RFC 8414 section 3.1 inserts the well-known path between the host and
 * the issuer's path; OpenID Connect Discovery appends it to the issuer. */
char *
grant_discovery_url (const char         *issuer,
                     GrantDiscoveryKind  kind)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *path = NULL;
  g_autofree char *trimmed = NULL;
  const char *issuer_path;
  gsize len;

  g_return_val_if_fail (kind < GRANT_DISCOVERY_N_KINDS, NULL);

  /* Encoded: the path goes through byte for byte. An issuer has no query
   * or fragment (RFC 8414 section 2). */
  uri = g_uri_parse (issuer, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL || g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    return NULL;

  issuer_path = g_uri_get_path (uri);
  while (*issuer_path == '/')
    issuer_path++;

  /* RFC 8414 section 3.1: a terminating "/" goes. */
  trimmed = g_strdup (issuer_path);
  len = strlen (trimmed);
  while (len > 0 && trimmed[len - 1] == '/')
    trimmed[--len] = '\0';

  if (kind == GRANT_DISCOVERY_OAUTH)
    path = *trimmed ? g_strconcat ("/.well-known/", well_known[kind], "/", trimmed, NULL)
                    : g_strconcat ("/.well-known/", well_known[kind], NULL);
  else
    path = *trimmed ? g_strconcat ("/", trimmed, "/.well-known/", well_known[kind], NULL)
                    : g_strconcat ("/.well-known/", well_known[kind], NULL);

  return g_uri_join (G_URI_FLAGS_ENCODED, g_uri_get_scheme (uri), NULL,
                     g_uri_get_host (uri), g_uri_get_port (uri), path, NULL, NULL);
}

/* A string member, or NULL when it is absent or of another type. */
static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static guint
read_auth_methods (JsonObject *object)
{
  JsonNode *node = json_object_get_member (object, "token_endpoint_auth_methods_supported");
  JsonArray *array;
  guint methods = 0;
  GrantAuthMethod method;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return 0;

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *name;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        continue;

      name = json_node_get_string (element);
      if (grant_auth_method_from_string (name, &method) && method != GRANT_AUTH_METHOD_AUTO &&
          !g_str_equal (name, "basic") && !g_str_equal (name, "post"))
        methods |= GRANT_DISCOVERY_METHOD (method);
    }

  /* Listed, but nothing libgrant can do: remember that it was listed. */
  return methods != 0 ? methods : GRANT_DISCOVERY_METHOD (GRANT_AUTH_METHOD_AUTO);
}

/* An array of strings, or NULL when @name is missing or not one; other
 * elements are skipped. */
static char **
read_strings (JsonObject *object,
              const char *name)
{
  JsonNode *node = json_object_get_member (object, name);
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;

  builder = g_strv_builder_new ();
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        g_strv_builder_add (builder, json_node_get_string (element));
    }

  return g_strv_builder_end (builder);
}

/* Reads an authorization server metadata document and checks that it is
 * the issuer's (RFC 8414 section 3.3) and names a token endpoint that
 * credentials may be sent to. */
GrantDiscovery *
grant_discovery_parse (const char          *issuer,
                       GrantDiscoveryKind   kind,
                       guint                status,
                       SoupMessageHeaders  *headers,
                       GBytes              *body,
                       gboolean             allow_insecure_http,
                       GError             **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GrantDiscovery) discovery = NULL;
  g_autofree char *url = grant_discovery_url (issuer, kind);
  g_autofree char *where = grant_describe_url (url ? url : issuer);
  JsonObject *object;
  const char *document_issuer;
  const char *token_endpoint;
  JsonNode *aliases;

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_set_error (error, GRANT_ERROR,
                   SOUP_STATUS_IS_SERVER_ERROR (status) ? GRANT_ERROR_SERVER_ERROR
                                                        : GRANT_ERROR_INVALID_CONFIGURATION,
                   "The discovery document %s could not be read: HTTP %u %s",
                   where, status, soup_status_get_phrase (status));
      return NULL;
    }

  root = grant_body_decode (headers, body, &local_error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The discovery document %s is not a JSON object%s%s", where,
                   local_error ? ": " : "", local_error ? local_error->message : "");
      return NULL;
    }

  object = json_node_get_object (root);
  document_issuer = get_string_member (object, "issuer");
  if (document_issuer == NULL || g_strcmp0 (document_issuer, issuer) != 0)
    {
      g_autofree char *safe = grant_sanitize_text (document_issuer, 200);

      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The discovery document %s is for issuer “%s”, not “%s”",
                   where, safe ? safe : "(none)", issuer);
      return NULL;
    }

  token_endpoint = get_string_member (object, "token_endpoint");
  if (token_endpoint == NULL || *token_endpoint == '\0')
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The discovery document %s names no token_endpoint", where);
      return NULL;
    }

  if (!grant_check_url (token_endpoint, allow_insecure_http, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "The discovery document %s names an unusable token_endpoint: %s",
                   where, local_error->message);
      return NULL;
    }

  discovery = g_new0 (GrantDiscovery, 1);
  discovery->issuer = g_strdup (issuer);
  discovery->token_endpoint = g_strdup (token_endpoint);
  discovery->auth_methods = read_auth_methods (object);
  discovery->signing_algs = read_strings (object, "token_endpoint_auth_signing_alg_values_supported");

  /* Where clients that present a certificate go (RFC 8705 section 5). An
   * alias that is not a URL credentials may go to is ignored: the token
   * endpoint stays. */
  aliases = json_object_get_member (object, "mtls_endpoint_aliases");
  if (aliases != NULL && JSON_NODE_HOLDS_OBJECT (aliases))
    {
      const char *alias = get_string_member (json_node_get_object (aliases), "token_endpoint");

      if (alias != NULL && grant_check_url (alias, allow_insecure_http, NULL))
        discovery->mtls_token_endpoint = g_strdup (alias);
    }

  return g_steal_pointer (&discovery);
}

GrantDiscovery *
grant_discovery_copy (const GrantDiscovery *discovery)
{
  GrantDiscovery *copy = g_new0 (GrantDiscovery, 1);

  copy->issuer = g_strdup (discovery->issuer);
  copy->token_endpoint = g_strdup (discovery->token_endpoint);
  copy->mtls_token_endpoint = g_strdup (discovery->mtls_token_endpoint);
  copy->signing_algs = g_strdupv (discovery->signing_algs);
  copy->auth_methods = discovery->auth_methods;

  return copy;
}

void
grant_discovery_free (GrantDiscovery *discovery)
{
  if (discovery == NULL)
    return;

  g_free (discovery->issuer);
  g_free (discovery->token_endpoint);
  g_free (discovery->mtls_token_endpoint);
  g_strfreev (discovery->signing_algs);
  g_free (discovery);
}
