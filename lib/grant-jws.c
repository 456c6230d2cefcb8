/* grant-jws.c: JSON Web Signatures (RFC 7515), compact form
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <json-glib/json-glib.h>

#include "grant-client-key-private.h"
#include "grant-error.h"
#include "grant-jws-private.h"
#include "grant-utils-private.h"

char *
grant_base64url_encode (const guint8 *data,
                        gsize         length)
{
  char *encoded = g_base64_encode (data, length);
  char *out = encoded;

  for (char *p = encoded; *p != '\0'; p++)
    {
      if (*p == '=')
        break;
      else if (*p == '+')
        *out++ = '-';
      else if (*p == '/')
        *out++ = '_';
      else
        *out++ = *p;
    }
  *out = '\0';

  return encoded;
}

/* base64url(header) "." base64url(payload), the JWS signing input. */
static char *
signing_input (const char *header_json,
               const char *payload_json)
{
  g_autofree char *header = grant_base64url_encode ((const guint8 *) header_json,
                                                    strlen (header_json));
  g_autofree char *payload = grant_base64url_encode ((const guint8 *) payload_json,
                                                     strlen (payload_json));

  return g_strconcat (header, ".", payload, NULL);
}

static char *
header_dup_alg (const char  *header_json,
                GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonNode *alg;

  if (!json_parser_load_from_data (parser, header_json, -1, NULL))
    goto invalid;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    goto invalid;

  alg = json_object_get_member (json_node_get_object (root), "alg");
  if (alg == NULL || !JSON_NODE_HOLDS_VALUE (alg) ||
      json_node_get_value_type (alg) != G_TYPE_STRING)
    goto invalid;

  return g_strdup (json_node_get_string (alg));

invalid:
  g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "A JWS header must be a JSON object naming its \"alg\"");
  return NULL;
}

char *
grant_jws_sign_compact (GrantClientKey  *key,
                        const char      *header_json,
                        const char      *payload_json,
                        GError         **error)
{
  g_autofree char *alg = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature = NULL;
  g_autoptr(GBytes) sig = NULL;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (key), NULL);
  g_return_val_if_fail (header_json != NULL, NULL);
  g_return_val_if_fail (payload_json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  alg = header_dup_alg (header_json, error);
  if (alg == NULL)
    return NULL;

  input = signing_input (header_json, payload_json);
  sig = grant_client_key_sign (key, alg, (const guint8 *) input, strlen (input), error);
  if (sig == NULL)
    return NULL;

  signature = grant_base64url_encode (g_bytes_get_data (sig, NULL), g_bytes_get_size (sig));

  return g_strconcat (input, ".", signature, NULL);
}

char *
grant_jws_hs256_compact (const char *secret,
                         const char *header_json,
                         const char *payload_json)
{
  g_autofree char *input = NULL;
  g_autofree char *signature = NULL;
  guint8 digest[32];
  int ret;

  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (header_json != NULL, NULL);
  g_return_val_if_fail (payload_json != NULL, NULL);

  input = signing_input (header_json, payload_json);
  ret = gnutls_hmac_fast (GNUTLS_MAC_SHA256, secret, strlen (secret),
                          input, strlen (input), digest);
  if (ret < 0)
    {
      /* Only when the library is in an error state (a failed self-test). */
      g_critical ("HMAC SHA-256 failed: %s", gnutls_strerror (ret));
      return NULL;
    }

  signature = grant_base64url_encode (digest, sizeof digest);
  grant_memory_wipe (digest, sizeof digest);

  return g_strconcat (input, ".", signature, NULL);
}
