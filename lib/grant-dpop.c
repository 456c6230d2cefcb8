/* grant-dpop.c: DPoP proofs (RFC 9449), without I/O
 *
 * A proof is a JWS signed with the client's DPoP key, whose public half is
 * in its header: `typ` dpop+jwt, `alg`, `jwk`; claims `jti` (new for each
 * request), `htm`, `htu` (the URL without query or fragment: the bug
 * peers' users hit most), `iat`, `nonce` when the server gave one, and
 * `ath` = base64url(SHA-256(access token)) on requests that carry one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "grant-client-key-private.h"
#include "grant-dpop-private.h"
#include "grant-error.h"
#include "grant-jws-private.h"

static GUri *
parse_http_url (const char *url)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL) : NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 &&
       g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0))
    return NULL;

  return g_steal_pointer (&uri);
}

static int
default_port (GUri *uri)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

char *
grant_dpop_htu (const char *url)
{
  g_autoptr(GUri) uri = parse_http_url (url);
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;
  int port;

  if (uri == NULL)
    return NULL;

  scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
  host = g_ascii_strdown (g_uri_get_host (uri), -1);
  port = g_uri_get_port (uri);
  if (port == default_port (uri))
    port = -1;

  return g_uri_join (G_URI_FLAGS_ENCODED, scheme, NULL, host, port,
                     *g_uri_get_path (uri) != '\0' ? g_uri_get_path (uri) : "/", NULL, NULL);
}

char *
grant_dpop_origin (const char *url)
{
  g_autoptr(GUri) uri = parse_http_url (url);
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;

  if (uri == NULL)
    return NULL;

  scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
  host = g_ascii_strdown (g_uri_get_host (uri), -1);

  return g_strdup_printf ("%s://%s:%d", scheme, host,
                          g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : default_port (uri));
}

/* The key's public JWK with its required members only, as RFC 9449's
 * header wants it (no `kid`, `alg` or `use`). */
static JsonNode *
public_jwk_node (GrantClientKey *key)
{
  static const char *members[] = { "kty", "crv", "x", "y", "n", "e" };
  g_autofree char *jwk = grant_client_key_dup_public_jwk (key);
  g_autoptr(JsonNode) parsed = json_from_string (jwk, NULL);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  JsonObject *object;

  g_return_val_if_fail (parsed != NULL && JSON_NODE_HOLDS_OBJECT (parsed), NULL);
  object = json_node_get_object (parsed);
  json_builder_begin_object (builder);
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    if (json_object_has_member (object, members[i]))
      {
        json_builder_set_member_name (builder, members[i]);
        json_builder_add_string_value (builder, json_object_get_string_member (object, members[i]));
      }
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static char *
to_json (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

char *
grant_dpop_proof_build (GrantClientKey         *key,
                        const GrantDpopClaims  *claims,
                        GError                **error)
{
  g_autoptr(JsonBuilder) header = json_builder_new ();
  g_autoptr(JsonBuilder) payload = json_builder_new ();
  g_autofree char *htu = grant_dpop_htu (claims->url);
  g_autofree char *header_json = NULL;
  g_autofree char *payload_json = NULL;
  g_autofree char *method = NULL;

  if (htu == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "A DPoP proof needs an http or https URL");
      return NULL;
    }

  json_builder_begin_object (header);
  json_builder_set_member_name (header, "typ");
  json_builder_add_string_value (header, "dpop+jwt");
  json_builder_set_member_name (header, "alg");
  json_builder_add_string_value (header, grant_client_key_get_algorithm (key));
  json_builder_set_member_name (header, "jwk");
  json_builder_add_value (header, public_jwk_node (key));
  json_builder_end_object (header);

  method = g_ascii_strup (claims->method, -1);
  json_builder_begin_object (payload);
  json_builder_set_member_name (payload, "jti");
  json_builder_add_string_value (payload, claims->jti);
  json_builder_set_member_name (payload, "htm");
  json_builder_add_string_value (payload, method);
  json_builder_set_member_name (payload, "htu");
  json_builder_add_string_value (payload, htu);
  json_builder_set_member_name (payload, "iat");
  json_builder_add_int_value (payload, claims->issued_at);
  if (claims->nonce != NULL)
    {
      json_builder_set_member_name (payload, "nonce");
      json_builder_add_string_value (payload, claims->nonce);
    }
  if (claims->access_token != NULL)
    {
      guint8 digest[32];
      gsize length = sizeof digest;
      g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autofree char *ath = NULL;

      g_checksum_update (checksum, (const guchar *) claims->access_token, strlen (claims->access_token));
      g_checksum_get_digest (checksum, digest, &length);
      ath = grant_base64url_encode (digest, length);
      json_builder_set_member_name (payload, "ath");
      json_builder_add_string_value (payload, ath);
    }
  json_builder_end_object (payload);

  header_json = to_json (header);
  payload_json = to_json (payload);

  return grant_jws_sign_compact (key, header_json, payload_json, error);
}
