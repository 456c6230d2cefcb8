/* grant-assertion.c: JWT client assertions (RFC 7523 section 2.2, OpenID
 * Connect Core section 9), without I/O
 *
 * What the providers that ask for them accept (CLIENT-AUTH.md): `iss` =
 * `sub` = the client id, `aud` one string (never an array), a `jti` used
 * once (servers keep a replay cache, so a retry needs a new assertion),
 * `iat`, `exp` 60 seconds later (Auth0 allows 5 minutes at most), and no
 * `nbf` (Keycloak refused one a client clock a second ahead had set).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <json-glib/json-glib.h>

#include "grant-assertion-private.h"
#include "grant-error.h"
#include "grant-client-key-private.h"
#include "grant-jws-private.h"

char *
grant_assertion_new_jti (void)
{
  guint8 bytes[16];

  if (gnutls_rnd (GNUTLS_RND_NONCE, bytes, sizeof bytes) != 0)
    {
      /* GnuTLS's generator does not fail once initialized; never reuse. */
      for (guint i = 0; i < sizeof bytes; i += 4)
        {
          guint32 r = g_random_int ();

          memcpy (bytes + i, &r, 4);
        }
    }

  return grant_base64url_encode (bytes, sizeof bytes);
}

static char *
to_json (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

static char *
claims_json (const GrantAssertionClaims *claims)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "iss");
  json_builder_add_string_value (builder, claims->client_id);
  json_builder_set_member_name (builder, "sub");
  json_builder_add_string_value (builder, claims->client_id);
  json_builder_set_member_name (builder, "aud");
  json_builder_add_string_value (builder, claims->audience);
  json_builder_set_member_name (builder, "jti");
  json_builder_add_string_value (builder, claims->jti);
  json_builder_set_member_name (builder, "iat");
  json_builder_add_int_value (builder, claims->issued_at);
  json_builder_set_member_name (builder, "exp");
  json_builder_add_int_value (builder, claims->issued_at + GRANT_ASSERTION_LIFETIME);
  json_builder_end_object (builder);

  return to_json (builder);
}

static char *
header_json (const char *algorithm,
             const char *key_id,
             const char *x5t_s256)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "alg");
  json_builder_add_string_value (builder, algorithm);
  json_builder_set_member_name (builder, "typ");
  json_builder_add_string_value (builder, "JWT");
  if (key_id != NULL)
    {
      json_builder_set_member_name (builder, "kid");
      json_builder_add_string_value (builder, key_id);
    }
  if (x5t_s256 != NULL)
    {
      json_builder_set_member_name (builder, "x5t#S256");
      json_builder_add_string_value (builder, x5t_s256);
    }
  json_builder_end_object (builder);

  return to_json (builder);
}

char *
grant_assertion_sign (GrantClientKey              *key,
                      const char                  *algorithm,
                      const GrantAssertionClaims  *claims,
                      GError                     **error)
{
  g_autofree char *key_id = NULL;
  g_autofree char *x5t = NULL;
  g_autofree char *header = NULL;
  g_autofree char *payload = NULL;

  if (algorithm != NULL && !grant_client_key_supports_algorithm (key, algorithm))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The provider signs its client assertions with %s (its dialect's "
                   "signing-algorithm), which the client key cannot do (it signs %s): "
                   "use a key that can",
                   algorithm, grant_client_key_get_algorithm (key));
      return NULL;
    }

  key_id = grant_client_key_dup_key_id (key);
  x5t = grant_client_key_dup_x5t_s256 (key);
  header = header_json (algorithm ? algorithm : grant_client_key_get_algorithm (key), key_id, x5t);
  payload = claims_json (claims);

  return grant_jws_sign_compact (key, header, payload, error);
}

char *
grant_assertion_hs256 (const char                 *secret,
                       const GrantAssertionClaims *claims)
{
  g_autofree char *header = header_json ("HS256", NULL, NULL);
  g_autofree char *payload = claims_json (claims);

  return grant_jws_hs256_compact (secret, header, payload);
}
