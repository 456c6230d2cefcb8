/* fuzz-assertion.c: JWT client assertions and DPoP proofs from hostile
 * strings
 *
 * Input: client id, audience, jti and secret, separated by NUL bytes. The
 * assertion (HS256, and ES256 with a key made once) must be a compact JWS
 * whose header and claims parse back to what went in, whatever the
 * strings hold: quotes, backslashes, control characters; strings that are
 * not UTF-8 must not crash it. The same strings make a DPoP proof (method,
 * URL, token, nonce): it must parse back too, its htu never holding a
 * query or fragment.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <grant.h>

#include "grant-assertion-private.h"
#include "grant-dpop-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static JsonObject *
decode_part (const char *part)
{
  g_autofree char *standard = g_strdup (part);
  g_autofree char *padded = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize length;

  for (char *p = standard; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  padded = g_strdup_printf ("%s%s", standard, strlen (standard) % 4 == 2 ? "==" : strlen (standard) % 4 == 3 ? "=" : "");
  decoded = g_base64_decode (padded, &length);
  text = g_strndup ((const char *) decoded, length);
  node = json_from_string (text, NULL);
  g_assert_true (node != NULL && JSON_NODE_HOLDS_OBJECT (node));

  return json_object_ref (json_node_get_object (node));
}

static void
check (const char                 *assertion,
       const GrantAssertionClaims *claims)
{
  g_auto(GStrv) parts = g_strsplit (assertion, ".", -1);
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) body = NULL;

  g_assert_true (g_strv_length (parts) == 3);
  header = decode_part (parts[0]);
  body = decode_part (parts[1]);
  g_assert_true (json_object_has_member (header, "alg"));
  g_assert_true (g_strcmp0 (json_object_get_string_member (body, "iss"), claims->client_id) == 0);
  g_assert_true (g_strcmp0 (json_object_get_string_member (body, "sub"), claims->client_id) == 0);
  g_assert_true (g_strcmp0 (json_object_get_string_member (body, "aud"), claims->audience) == 0);
  g_assert_true (g_strcmp0 (json_object_get_string_member (body, "jti"), claims->jti) == 0);
  g_assert_true (json_object_get_int_member (body, "exp") == claims->issued_at + GRANT_ASSERTION_LIFETIME);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static GrantClientKey *key;
  const char *fields[4] = { "", "", "", "" };
  g_autofree char *copy = g_malloc (size + 1);
  GrantAssertionClaims claims;
  g_autofree char *hs = NULL;
  g_autofree char *signed_one = NULL;
  gboolean utf8 = TRUE;
  gsize at = 0;

  if (key == NULL)
    key = grant_client_key_generate ("ES256", NULL);

  memcpy (copy, data, size);
  copy[size] = '\0';
  for (guint i = 0; i < G_N_ELEMENTS (fields) && at <= size; i++)
    {
      fields[i] = copy + at;
      at += strlen (copy + at) + 1;
      utf8 = utf8 && g_utf8_validate (fields[i], -1, NULL);
    }

  claims = (GrantAssertionClaims) { fields[0], fields[1], fields[2], 1700000000 };
  hs = grant_assertion_hs256 (fields[3], &claims);
  signed_one = grant_assertion_sign (key, NULL, &claims, NULL);
  if (utf8)
    {
      g_assert_true (hs != NULL && signed_one != NULL);
      check (hs, &claims);
      check (signed_one, &claims);
    }

  {
    GrantDpopClaims dpop = { fields[0], fields[1], *fields[2] ? fields[2] : NULL,
                             *fields[3] ? fields[3] : NULL, "jti", 1700000000 };
    g_autofree char *proof = grant_dpop_proof_build (key, &dpop, NULL);

    if (proof != NULL && utf8)
      {
        g_auto(GStrv) parts = g_strsplit (proof, ".", -1);
        g_autoptr(JsonObject) header = NULL;
        g_autoptr(JsonObject) body = NULL;
        const char *htu;

        g_assert_true (g_strv_length (parts) == 3);
        header = decode_part (parts[0]);
        body = decode_part (parts[1]);
        htu = json_object_get_string_member (body, "htu");
        g_assert_true (strchr (htu, '?') == NULL && strchr (htu, '#') == NULL);
        g_assert_true (g_strcmp0 (json_object_get_string_member (header, "typ"), "dpop+jwt") == 0);
        g_assert_true (!json_object_has_member (json_object_get_object_member (header, "jwk"), "d"));
        g_assert_true ((dpop.access_token != NULL) == json_object_has_member (body, "ath"));
        g_assert_true (g_strcmp0 (json_object_has_member (body, "nonce") ? json_object_get_string_member (body, "nonce") : NULL,
                             dpop.nonce) == 0);
      }
  }

  return 0;
}
