/* test-client-key.c: GrantClientKey, against keys that openssl makes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "test-utils.h"
#include "grant-assertion-private.h"
#include "grant-client-key-private.h"
#include "grant-dpop-private.h"
#include "grant-jws-private.h"
#include "grant-sealer-private.h"

#define PASSWORD "correct-horse-battery"
#define P12_PASSWORD "p12-staple-password"
#define PIN "918273"

static const char message[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjbGllbnQifQ";

/* The temporary directory with every key, or NULL when openssl failed. */
static char *dir;

/* Runs @command with sh in the key directory; its output, or NULL. */
static char *
run (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

static char *
run (const char *format,
     ...)
{
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  int status;
  va_list args;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  argv[2] = command;

  if (!g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     &out, &err, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("'%s' failed: %s", command, err);
      return NULL;
    }

  return g_strstrip (g_steal_pointer (&out));
}

static char *
key_path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static gboolean
make_keys (void)
{
  static const char *const commands[] = {
    "openssl genrsa -traditional -out rsa-pkcs1.pem 2048",
    "openssl pkcs8 -topk8 -nocrypt -in rsa-pkcs1.pem -out rsa-pkcs8.pem",
    "openssl pkcs8 -topk8 -nocrypt -in rsa-pkcs1.pem -outform DER -out rsa-pkcs8.der",
    "openssl rsa -in rsa-pkcs1.pem -pubout -out rsa-pub.pem",
    "openssl ecparam -name prime256v1 -genkey -noout -out ec-sec1.pem",
    "openssl pkcs8 -topk8 -nocrypt -in ec-sec1.pem -out ec-pkcs8.pem",
    "openssl ec -in ec-sec1.pem -outform DER -out ec-sec1.der",
    "openssl ec -in ec-sec1.pem -pubout -out ec-pub.pem",
    "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:" PASSWORD " -in ec-sec1.pem -out ec-encrypted.pem",
    "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:" PASSWORD " -in ec-sec1.pem -outform DER -out ec-encrypted.der",
    /* OpenSSL's old encryption of PKCS#1, with Proc-Type and DEK-Info. */
    "openssl rsa -in rsa-pkcs1.pem -traditional -aes256 -passout pass:" PASSWORD " -out rsa-legacy-encrypted.pem",
    "openssl genpkey -algorithm ed25519 -out ed25519.pem",
    "openssl pkey -in ed25519.pem -pubout -out ed25519-pub.pem",
    "openssl ecparam -name secp384r1 -genkey -noout -out p384.pem",
    "openssl pkey -in p384.pem -pubout -out p384-pub.pem",
    "openssl genrsa -out rsa-1024.pem 1024",
    "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out rsa-pss.pem",
    "openssl pkey -in rsa-pss.pem -pubout -out rsa-pss-pub.pem",
    /* A self-signed certificate, and a PKCS#12 file of it and its key. */
    "openssl req -x509 -new -key rsa-pkcs1.pem -subj /CN=grant-client -days 2 -out rsa-cert.pem",
    "openssl pkcs12 -export -inkey rsa-pkcs1.pem -in rsa-cert.pem -passout pass:" P12_PASSWORD " -out rsa.p12",
    /* A CA, a certificate it signed, and a PEM file as users keep them:
     * the CA first, the key, then its certificate. */
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=grant-ca -days 2 "
    "-keyout ca-key.pem -out ca.pem",
    "openssl req -new -key ec-sec1.pem -subj /CN=grant-leaf -out leaf.csr",
    "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out leaf.pem",
    "cat ca.pem ec-pkcs8.pem leaf.pem > chain.pem",
    "openssl pkcs12 -export -inkey ec-sec1.pem -in leaf.pem -certfile ca.pem -passout pass:" P12_PASSWORD " -out chain.p12",
    /* A certificate beside a key it is not for. */
    "cat rsa-cert.pem ec-pkcs8.pem > mismatch.pem",
    "printf 'not a key at all' > garbage.pem",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *out = run ("%s", commands[i]);

      if (out == NULL)
        return FALSE;
    }

  return TRUE;
}

static gboolean
skip_without_keys (void)
{
  if (dir != NULL)
    return FALSE;

  g_test_skip ("openssl cannot make the test keys");
  return TRUE;
}

static GBytes *
base64url_decode (const char *text)
{
  g_autoptr(GString) b64 = g_string_new (text);
  guchar *data;
  gsize length;

  g_strdelimit (b64->str, "-", '+');
  g_strdelimit (b64->str, "_", '/');
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  data = g_base64_decode (b64->str, &length);

  return g_bytes_new_take (data, length);
}

static JsonObject *
parse_jwk (GrantClientKey *key)
{
  g_autofree char *jwk = grant_client_key_dup_public_jwk (key);
  g_autoptr(JsonNode) node = json_from_string (jwk, NULL);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));

  return json_object_ref (json_node_get_object (node));
}

static gnutls_datum_t
datum_of (GBytes *bytes)
{
  gsize size;
  gnutls_datum_t datum;

  datum.data = (guint8 *) g_bytes_get_data (bytes, &size);
  datum.size = size;

  return datum;
}

/* The public key, rebuilt from nothing but the JWK: signatures verified
 * with it show both the JWK and the signature right. */
static gnutls_pubkey_t
pubkey_from_jwk (JsonObject *jwk)
{
  const char *kty = json_object_get_string_member (jwk, "kty");
  gnutls_pubkey_t pubkey;

  g_assert_cmpint (gnutls_pubkey_init (&pubkey), ==, 0);

  /* Never anything of the private key. */
  for (const char *const *member = (const char *const[]) { "d", "p", "q", "dp", "dq", "qi", "k", NULL };
       *member != NULL; member++)
    g_assert_false (json_object_has_member (jwk, *member));

  if (g_str_equal (kty, "RSA"))
    {
      g_autoptr(GBytes) n = base64url_decode (json_object_get_string_member (jwk, "n"));
      g_autoptr(GBytes) e = base64url_decode (json_object_get_string_member (jwk, "e"));
      gnutls_datum_t dn = datum_of (n);
      gnutls_datum_t de = datum_of (e);

      /* No leading zero (RFC 7518, section 6.3.1.1). */
      g_assert_cmpuint (dn.data[0], !=, 0);
      g_assert_cmpuint (de.data[0], !=, 0);
      g_assert_cmpint (json_object_get_size (jwk), >=, 3);
      g_assert_cmpint (gnutls_pubkey_import_rsa_raw (pubkey, &dn, &de), ==, 0);
    }
  else if (g_str_equal (kty, "EC"))
    {
      const char *crv = json_object_get_string_member (jwk, "crv");
      g_autoptr(GBytes) x = base64url_decode (json_object_get_string_member (jwk, "x"));
      g_autoptr(GBytes) y = base64url_decode (json_object_get_string_member (jwk, "y"));
      gnutls_datum_t dx = datum_of (x);
      gnutls_datum_t dy = datum_of (y);
      gnutls_ecc_curve_t curve;
      guint size;

      if (g_str_equal (crv, "P-256"))
        curve = GNUTLS_ECC_CURVE_SECP256R1, size = 32;
      else if (g_str_equal (crv, "P-384"))
        curve = GNUTLS_ECC_CURVE_SECP384R1, size = 48;
      else
        curve = GNUTLS_ECC_CURVE_SECP521R1, size = 66;

      /* Full-size coordinates (RFC 7518, section 6.2.1.2). */
      g_assert_cmpuint (dx.size, ==, size);
      g_assert_cmpuint (dy.size, ==, size);
      g_assert_cmpint (gnutls_pubkey_import_ecc_raw (pubkey, curve, &dx, &dy), ==, 0);
    }
  else
    {
      g_autoptr(GBytes) x = base64url_decode (json_object_get_string_member (jwk, "x"));
      gnutls_datum_t dx = datum_of (x);

      g_assert_cmpstr (kty, ==, "OKP");
      g_assert_cmpstr (json_object_get_string_member (jwk, "crv"), ==, "Ed25519");
      g_assert_false (json_object_has_member (jwk, "y"));
      g_assert_cmpuint (dx.size, ==, 32);
      g_assert_cmpint (gnutls_pubkey_import_ecc_raw (pubkey, GNUTLS_ECC_CURVE_ED25519, &dx, NULL), ==, 0);
    }

  return pubkey;
}

static gnutls_sign_algorithm_t
sign_algorithm (const char *alg,
                gboolean    pss_key)
{
  if (g_str_equal (alg, "RS256"))
    return GNUTLS_SIGN_RSA_SHA256;
  if (g_str_equal (alg, "PS256"))
    return pss_key ? GNUTLS_SIGN_RSA_PSS_SHA256 : GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
  if (g_str_equal (alg, "ES256"))
    return GNUTLS_SIGN_ECDSA_SHA256;
  if (g_str_equal (alg, "ES384"))
    return GNUTLS_SIGN_ECDSA_SHA384;
  if (g_str_equal (alg, "ES512"))
    return GNUTLS_SIGN_ECDSA_SHA512;
  g_assert_cmpstr (alg, ==, "EdDSA");
  return GNUTLS_SIGN_EDDSA_ED25519;
}

static gsize
coordinate_size (const char *alg)
{
  if (g_str_equal (alg, "ES256"))
    return 32;
  if (g_str_equal (alg, "ES384"))
    return 48;
  if (g_str_equal (alg, "ES512"))
    return 66;
  return 0;
}

/* A DER signature for GnuTLS and openssl; JWS's own bytes for the others. */
static GBytes *
signature_to_der (const char *alg,
                  GBytes     *signature)
{
  gsize size = coordinate_size (alg);
  gnutls_datum_t r, s, der = { NULL, 0 };
  GBytes *out;

  if (size == 0)
    return g_bytes_ref (signature);

  /* Raw r||s, each the size of a coordinate. */
  g_assert_cmpuint (g_bytes_get_size (signature), ==, 2 * size);
  r.data = (guint8 *) g_bytes_get_data (signature, NULL);
  r.size = size;
  s.data = r.data + size;
  s.size = size;
  g_assert_cmpint (gnutls_encode_rs_value (&der, &r, &s), ==, 0);
  out = g_bytes_new (der.data, der.size);
  gnutls_free (der.data);

  return out;
}

/* Signs @message with @alg and checks the signature with the JWK's public
 * key; a signature over something else must fail. */
static GBytes *
sign_and_verify (GrantClientKey *key,
                 const char     *alg,
                 gboolean        pss_key)
{
  g_autoptr(JsonObject) jwk = parse_jwk (key);
  gnutls_pubkey_t pubkey = pubkey_from_jwk (jwk);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) der = NULL;
  gnutls_datum_t data = { (guint8 *) message, strlen (message) };
  gnutls_datum_t other = { (guint8 *) "something else", 14 };
  gnutls_datum_t sig;

  signature = grant_client_key_sign (key, alg, (const guint8 *) message, strlen (message), &error);
  g_assert_no_error (error);
  g_assert_nonnull (signature);
  if (alg == NULL)
    alg = grant_client_key_get_algorithm (key);
  if (g_str_equal (alg, "EdDSA"))
    g_assert_cmpuint (g_bytes_get_size (signature), ==, 64);
  else if (alg[0] == 'R' || alg[0] == 'P')
    g_assert_cmpuint (g_bytes_get_size (signature), ==, 256);

  der = signature_to_der (alg, signature);
  sig = datum_of (der);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, sign_algorithm (alg, pss_key), 0, &data, &sig), >=, 0);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, sign_algorithm (alg, pss_key), 0, &other, &sig), <, 0);
  gnutls_pubkey_deinit (pubkey);

  return g_steal_pointer (&der);
}

/* The JWK holds the same public key as @pub_pem, which openssl wrote. */
static void
assert_same_public_key (GrantClientKey *key,
                        const char     *pub_pem)
{
  g_autoptr(JsonObject) jwk = parse_jwk (key);
  gnutls_pubkey_t from_jwk = pubkey_from_jwk (jwk);
  gnutls_pubkey_t from_openssl;
  g_autofree char *path = key_path (pub_pem);
  g_autofree char *contents = NULL;
  gsize length;
  gnutls_datum_t datum;
  guint8 id1[32], id2[32];
  size_t len1 = sizeof id1, len2 = sizeof id2;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  datum.data = (guint8 *) contents;
  datum.size = length;
  g_assert_cmpint (gnutls_pubkey_init (&from_openssl), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import (from_openssl, &datum, GNUTLS_X509_FMT_PEM), ==, 0);

  if (gnutls_pubkey_get_pk_algorithm (from_openssl, NULL) == GNUTLS_PK_RSA_PSS)
    {
      /* Its SubjectPublicKeyInfo says RSA-PSS, the JWK's plain RSA: the
       * same n and e. */
      gnutls_datum_t n1, e1, n2, e2;

      g_assert_cmpint (gnutls_pubkey_export_rsa_raw2 (from_jwk, &n1, &e1, GNUTLS_EXPORT_FLAG_NO_LZ), ==, 0);
      g_assert_cmpint (gnutls_pubkey_export_rsa_raw2 (from_openssl, &n2, &e2, GNUTLS_EXPORT_FLAG_NO_LZ), ==, 0);
      g_assert_cmpmem (n1.data, n1.size, n2.data, n2.size);
      g_assert_cmpmem (e1.data, e1.size, e2.data, e2.size);
      gnutls_free (n1.data);
      gnutls_free (e1.data);
      gnutls_free (n2.data);
      gnutls_free (e2.data);
    }
  else
    {
      g_assert_cmpint (gnutls_pubkey_get_key_id (from_jwk, GNUTLS_KEYID_USE_SHA256, id1, &len1), ==, 0);
      g_assert_cmpint (gnutls_pubkey_get_key_id (from_openssl, GNUTLS_KEYID_USE_SHA256, id2, &len2), ==, 0);
      g_assert_cmpmem (id1, len1, id2, len2);
    }

  gnutls_pubkey_deinit (from_jwk);
  gnutls_pubkey_deinit (from_openssl);
}

/* The RFC 7638 thumbprint, as Python computes it from the JWK. */
static void
assert_thumbprint (GrantClientKey *key)
{
  static const char script[] =
    "import base64, hashlib, json, sys\n"
    "jwk = json.load(open(sys.argv[1]))\n"
    "required = {'RSA': ['e', 'kty', 'n'], 'EC': ['crv', 'kty', 'x', 'y'], 'OKP': ['crv', 'kty', 'x']}\n"
    "canonical = json.dumps({k: jwk[k] for k in required[jwk['kty']]}, separators=(',', ':'), sort_keys=True)\n"
    "print(base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip('='))\n";
  g_autofree char *jwk = grant_client_key_dup_public_jwk (key);
  g_autofree char *jwk_path = key_path ("jwk.json");
  g_autofree char *script_path = key_path ("thumbprint.py");
  g_autofree char *expected = NULL;
  g_autofree char *thumbprint = NULL;

  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return;

  g_assert_true (g_file_set_contents (jwk_path, jwk, -1, NULL));
  g_assert_true (g_file_set_contents (script_path, script, -1, NULL));
  expected = run ("/usr/bin/python3 thumbprint.py jwk.json");
  g_assert_nonnull (expected);
  g_assert_cmpstr (grant_client_key_get_thumbprint (key), ==, expected);

  g_object_get (key, "thumbprint", &thumbprint, NULL);
  g_assert_cmpstr (thumbprint, ==, expected);
  g_assert_cmpuint (strlen (thumbprint), ==, 43);
}

static GrantClientKey *
load (const char *name,
      const char *password)
{
  g_autofree char *path = key_path (name);
  g_autoptr(GError) error = NULL;
  GrantClientKey *key;

  key = grant_client_key_new_from_file (path, password, &error);
  g_assert_no_error (error);
  g_assert_true (GRANT_IS_CLIENT_KEY (key));

  return key;
}

typedef struct {
  const char *file;
  const char *password;
  const char *public_pem;
  const char *algorithm;
  const char *kty;
} KeyCase;

static const KeyCase key_cases[] = {
  { "rsa-pkcs1.pem", NULL, "rsa-pub.pem", "RS256", "RSA" },
  { "rsa-pkcs8.pem", NULL, "rsa-pub.pem", "RS256", "RSA" },
  { "rsa-pkcs8.der", NULL, "rsa-pub.pem", "RS256", "RSA" },
  { "rsa-legacy-encrypted.pem", PASSWORD, "rsa-pub.pem", "RS256", "RSA" },
  { "ec-sec1.pem", NULL, "ec-pub.pem", "ES256", "EC" },
  { "ec-pkcs8.pem", NULL, "ec-pub.pem", "ES256", "EC" },
  { "ec-sec1.der", NULL, "ec-pub.pem", "ES256", "EC" },
  { "ec-encrypted.pem", PASSWORD, "ec-pub.pem", "ES256", "EC" },
  { "ec-encrypted.der", PASSWORD, "ec-pub.pem", "ES256", "EC" },
  { "ed25519.pem", NULL, "ed25519-pub.pem", "EdDSA", "OKP" },
  { "p384.pem", NULL, "p384-pub.pem", "ES384", "EC" },
  { "rsa-pss.pem", NULL, "rsa-pss-pub.pem", "PS256", "RSA" },
  { "rsa.p12", P12_PASSWORD, "rsa-pub.pem", "RS256", "RSA" },
  { "chain.pem", NULL, "ec-pub.pem", "ES256", "EC" },
  { "chain.p12", P12_PASSWORD, "ec-pub.pem", "ES256", "EC" },
};

static void
test_load (gconstpointer data)
{
  const KeyCase *c = data;
  GrantClientKey *key;
  g_autoptr(JsonObject) jwk = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autofree char *algorithm = NULL;

  if (skip_without_keys ())
    return;

  key = load (c->file, c->password);
  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, c->algorithm);
  g_object_get (key, "algorithm", &algorithm, NULL);
  g_assert_cmpstr (algorithm, ==, c->algorithm);

  jwk = parse_jwk (key);
  g_assert_cmpstr (json_object_get_string_member (jwk, "kty"), ==, c->kty);
  g_assert_cmpstr (json_object_get_string_member (jwk, "alg"), ==, c->algorithm);
  g_assert_cmpstr (json_object_get_string_member (jwk, "use"), ==, "sig");
  g_assert_false (json_object_has_member (jwk, "kid"));

  assert_same_public_key (key, c->public_pem);
  assert_thumbprint (key);
  signature = sign_and_verify (key, NULL, g_str_equal (c->file, "rsa-pss.pem"));

  if (g_str_has_suffix (c->file, ".p12") || g_str_equal (c->file, "chain.pem"))
    g_assert_nonnull (grant_client_key_get_certificate (key));
  else
    g_assert_null (grant_client_key_get_certificate (key));

  g_assert_finalize_object (key);
}

static void
test_pem_data (void)
{
  g_autofree char *path = NULL;
  g_autofree char *pem = NULL;
  g_autoptr(GError) error = NULL;
  GrantClientKey *key;
  GrantClientKey *from_file;
  gsize length;

  if (skip_without_keys ())
    return;

  path = key_path ("ec-encrypted.pem");
  g_assert_true (g_file_get_contents (path, &pem, &length, NULL));

  key = grant_client_key_new_from_pem (pem, -1, PASSWORD, &error);
  g_assert_no_error (error);
  from_file = load ("ec-sec1.pem", NULL);
  g_assert_cmpstr (grant_client_key_get_thumbprint (key), ==,
                   grant_client_key_get_thumbprint (from_file));
  g_assert_finalize_object (key);

  /* With a length: the text needs no nul. */
  key = grant_client_key_new_from_pem (pem, length, PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (key);

  key = grant_client_key_new_from_pem (pem, length, "bad-guess-77", &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_null (key);
  g_assert_null (strstr (error->message, "bad-guess-77"));
  g_assert_nonnull (strstr (error->message, "password"));
  g_clear_error (&error);

  key = grant_client_key_new_from_pem ("-----BEGIN CERTIFICATE-----\n", -1, NULL, &error);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_null (key);

  g_assert_finalize_object (from_file);
}

static void
test_openssl_verifies (void)
{
  static const struct {
    const char *file;
    const char *alg;
    const char *command;
  } cases[] = {
    { "rsa-pkcs1.pem", "RS256", "openssl dgst -sha256 -verify rsa-pub.pem -signature sig.bin msg.txt" },
    { "rsa-pkcs1.pem", "PS256", "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "
                                "-verify rsa-pub.pem -signature sig.bin msg.txt" },
    { "ec-sec1.pem", "ES256", "openssl dgst -sha256 -verify ec-pub.pem -signature sig.bin msg.txt" },
    { "ed25519.pem", "EdDSA", "openssl pkeyutl -verify -pubin -inkey ed25519-pub.pem -rawin -in msg.txt -sigfile sig.bin" },
  };
  g_autofree char *msg_path = NULL;
  g_autofree char *sig_path = NULL;

  if (skip_without_keys ())
    return;

  msg_path = key_path ("msg.txt");
  sig_path = key_path ("sig.bin");
  g_assert_true (g_file_set_contents (msg_path, message, -1, NULL));

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GrantClientKey *key = load (cases[i].file, NULL);
      g_autoptr(GBytes) der = sign_and_verify (key, cases[i].alg, FALSE);
      g_autofree char *out = NULL;

      g_assert_true (g_file_set_contents (sig_path, g_bytes_get_data (der, NULL),
                                          g_bytes_get_size (der), NULL));
      out = run ("%s", cases[i].command);
      g_assert_nonnull (out);
      g_test_message ("%s: %s", cases[i].alg, out);

      /* A tampered signature fails. */
      {
        g_autofree char *failed = NULL;
        g_autoptr(GBytes) tampered = NULL;
        guint8 *bytes = g_memdup2 (g_bytes_get_data (der, NULL), g_bytes_get_size (der));

        bytes[g_bytes_get_size (der) - 2] ^= 0x01;
        g_assert_true (g_file_set_contents (sig_path, (char *) bytes, g_bytes_get_size (der), NULL));
        g_free (bytes);
        failed = run ("%s", cases[i].command);
        g_assert_null (failed);
      }

      g_assert_finalize_object (key);
    }
}

static void
test_rsa_modulus (void)
{
  GrantClientKey *key;
  g_autoptr(JsonObject) jwk = NULL;
  g_autoptr(GBytes) n = NULL;
  g_autoptr(GString) hex = g_string_new ("Modulus=");
  g_autofree char *modulus = NULL;
  const guint8 *data;
  gsize size;

  if (skip_without_keys ())
    return;

  key = load ("rsa-pkcs1.pem", NULL);
  jwk = parse_jwk (key);
  n = base64url_decode (json_object_get_string_member (jwk, "n"));
  data = g_bytes_get_data (n, &size);
  for (gsize i = 0; i < size; i++)
    g_string_append_printf (hex, "%02X", data[i]);
  modulus = run ("openssl rsa -in rsa-pkcs1.pem -noout -modulus");
  g_assert_cmpstr (hex->str, ==, modulus);
  g_assert_cmpstr (json_object_get_string_member (jwk, "e"), ==, "AQAB");

  g_assert_finalize_object (key);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
assert_refused (GrantClientKey *key,
                const char     *algorithm)
{
  g_autoptr(GError) error = NULL;
  const char *before = grant_client_key_get_algorithm (key);

  g_assert_false (grant_client_key_supports_algorithm (key, algorithm));
  g_assert_false (grant_client_key_set_algorithm (key, algorithm, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, algorithm));
  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, before);
  g_clear_error (&error);

  /* Nor may a signature use it. */
  g_assert_null (grant_client_key_sign (key, algorithm, (const guint8 *) "x", 1, &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
}

static void
test_algorithms (void)
{
  GrantClientKey *rsa;
  GrantClientKey *ec;
  GrantClientKey *p384;
  GrantClientKey *ed;
  GrantClientKey *pss;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(JsonObject) jwk = NULL;
  g_autofree char *thumbprint = NULL;
  guint notified = 0;

  if (skip_without_keys ())
    return;

  rsa = load ("rsa-pkcs8.pem", NULL);
  ec = load ("ec-pkcs8.pem", NULL);
  p384 = load ("p384.pem", NULL);
  ed = load ("ed25519.pem", NULL);
  pss = load ("rsa-pss.pem", NULL);

  /* PS256 on an RSA key; notify only on a real change. */
  g_signal_connect (rsa, "notify::algorithm", G_CALLBACK (count_notify_cb), &notified);
  thumbprint = g_strdup (grant_client_key_get_thumbprint (rsa));
  g_assert_true (grant_client_key_set_algorithm (rsa, "PS256", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (grant_client_key_get_algorithm (rsa), ==, "PS256");
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (grant_client_key_set_algorithm (rsa, "PS256", &error));
  g_assert_cmpuint (notified, ==, 1);
  jwk = parse_jwk (rsa);
  g_assert_cmpstr (json_object_get_string_member (jwk, "alg"), ==, "PS256");
  /* The thumbprint is of the key alone. */
  g_assert_cmpstr (grant_client_key_get_thumbprint (rsa), ==, thumbprint);
  signature = sign_and_verify (rsa, NULL, FALSE);
  g_clear_pointer (&signature, g_bytes_unref);

  /* NULL: back to the default. */
  g_assert_true (grant_client_key_set_algorithm (rsa, NULL, &error));
  g_assert_cmpstr (grant_client_key_get_algorithm (rsa), ==, "RS256");
  g_assert_cmpuint (notified, ==, 2);

  /* As a property. */
  g_object_set (rsa, "algorithm", "PS256", NULL);
  g_assert_cmpstr (grant_client_key_get_algorithm (rsa), ==, "PS256");
  g_assert_cmpuint (notified, ==, 3);
  g_test_expect_message ("Grant", G_LOG_LEVEL_WARNING, "*cannot sign with ES256*");
  g_object_set (rsa, "algorithm", "ES256", NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (grant_client_key_get_algorithm (rsa), ==, "PS256");
  g_assert_cmpuint (notified, ==, 3);

  /* What each key type refuses. */
  assert_refused (rsa, "ES256");
  assert_refused (rsa, "EdDSA");
  assert_refused (rsa, "HS256");
  assert_refused (rsa, "none");
  assert_refused (rsa, "rs256");
  assert_refused (ec, "RS256");
  assert_refused (ec, "PS256");
  assert_refused (ec, "ES384");
  assert_refused (ec, "EdDSA");
  assert_refused (p384, "ES256");
  assert_refused (p384, "ES512");
  assert_refused (ed, "ES256");
  assert_refused (ed, "RS256");
  assert_refused (pss, "RS256");
  g_assert_true (grant_client_key_supports_algorithm (rsa, "RS256"));
  g_assert_true (grant_client_key_supports_algorithm (rsa, "PS256"));
  g_assert_true (grant_client_key_supports_algorithm (ec, "ES256"));
  g_assert_true (grant_client_key_supports_algorithm (p384, "ES384"));
  g_assert_true (grant_client_key_supports_algorithm (ed, "EdDSA"));

  /* Each key signs with an algorithm named per call. */
  signature = sign_and_verify (rsa, "RS256", FALSE);
  g_clear_pointer (&signature, g_bytes_unref);
  signature = sign_and_verify (p384, "ES384", FALSE);
  g_clear_pointer (&signature, g_bytes_unref);
  signature = sign_and_verify (pss, "PS256", TRUE);

  g_assert_finalize_object (rsa);
  g_assert_finalize_object (ec);
  g_assert_finalize_object (p384);
  g_assert_finalize_object (ed);
  g_assert_finalize_object (pss);
}

static void
test_ecdsa_raw (void)
{
  GrantClientKey *key;

  if (skip_without_keys ())
    return;

  /* Many signatures, so that some have an r or s shorter than 32 bytes
   * or with its top bit set (a leading zero in DER). */
  key = load ("ec-sec1.pem", NULL);
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GBytes) der = sign_and_verify (key, "ES256", FALSE);
    }
  g_assert_finalize_object (key);
}

static void
test_generate (void)
{
  static const struct {
    const char *alg;
    const char *kty;
    const char *crv;
  } cases[] = {
    { "RS256", "RSA", NULL },
    { "PS256", "RSA", NULL },
    { "ES256", "EC", "P-256" },
    { "ES384", "EC", "P-384" },
    { "ES512", "EC", "P-521" },
    { "EdDSA", "OKP", "Ed25519" },
  };
  g_autoptr(GError) error = NULL;
  GrantClientKey *key;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) jwk = NULL;
      g_autoptr(GBytes) signature = NULL;
      GrantClientKey *other;

      key = grant_client_key_generate (cases[i].alg, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, cases[i].alg);
      g_assert_null (grant_client_key_get_certificate (key));
      jwk = parse_jwk (key);
      g_assert_cmpstr (json_object_get_string_member (jwk, "kty"), ==, cases[i].kty);
      g_assert_cmpstr (json_object_get_string_member_with_default (jwk, "crv", NULL), ==, cases[i].crv);
      g_assert_cmpstr (json_object_get_string_member (jwk, "alg"), ==, cases[i].alg);
      signature = sign_and_verify (key, NULL, FALSE);
      if (dir != NULL)
        assert_thumbprint (key);

      /* A new key each time. */
      other = grant_client_key_generate (cases[i].alg, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (grant_client_key_get_thumbprint (key), !=, grant_client_key_get_thumbprint (other));

      g_assert_finalize_object (other);
      g_assert_finalize_object (key);
    }

  key = grant_client_key_generate ("HS256", &error);
  g_assert_null (key);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "HS256"));
  g_clear_error (&error);

  key = grant_client_key_generate ("", &error);
  g_assert_null (key);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
}

static void
test_key_id (void)
{
  g_autoptr(GError) error = NULL;
  GrantClientKey *key;
  g_autoptr(JsonObject) jwk = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *from_property = NULL;
  guint notified = 0;

  key = grant_client_key_generate ("ES256", &error);
  g_assert_no_error (error);
  g_signal_connect (key, "notify::key-id", G_CALLBACK (count_notify_cb), &notified);

  g_assert_null (grant_client_key_dup_key_id (key));

  grant_client_key_set_key_id (key, "key-2024-06");
  key_id = grant_client_key_dup_key_id (key);
  g_assert_cmpstr (key_id, ==, "key-2024-06");
  g_object_get (key, "key-id", &from_property, NULL);
  g_assert_cmpstr (from_property, ==, "key-2024-06");
  g_assert_cmpuint (notified, ==, 1);
  grant_client_key_set_key_id (key, "key-2024-06");
  g_assert_cmpuint (notified, ==, 1);

  jwk = parse_jwk (key);
  g_assert_cmpstr (json_object_get_string_member (jwk, "kid"), ==, "key-2024-06");
  g_clear_pointer (&jwk, json_object_unref);

  /* Unset, and an empty one is unset too: no kid. */
  g_object_set (key, "key-id", "", NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_null (grant_client_key_dup_key_id (key));
  jwk = parse_jwk (key);
  g_assert_false (json_object_has_member (jwk, "kid"));

  g_assert_finalize_object (key);
}

/* base64url(SHA-256(DER)) of @pem_name, as openssl and Python make it. */
static char *
expected_x5t (const char *pem_name)
{
  return run ("openssl x509 -in %s -outform der | /usr/bin/python3 -c "
              "'import base64, hashlib, sys; "
              "print(base64.urlsafe_b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).decode().rstrip(\"=\"))'",
              pem_name);
}

static void
test_certificate (void)
{
  GrantClientKey *key;
  GTlsCertificate *certificate;
  g_autoptr(GTlsCertificate) from_property = NULL;
  g_autoptr(GTlsCertificate) expected = NULL;
  g_autofree char *x5t = NULL;
  g_autofree char *wanted = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_without_keys ())
    return;

  /* PKCS#12: the certificate, self-signed. */
  key = load ("rsa.p12", P12_PASSWORD);
  certificate = grant_client_key_get_certificate (key);
  g_assert_nonnull (certificate);
  path = key_path ("rsa-cert.pem");
  expected = g_tls_certificate_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_tls_certificate_is_same (certificate, expected));
  g_object_get (key, "certificate", &from_property, NULL);
  g_assert_true (from_property == certificate);
  x5t = grant_client_key_dup_x5t_s256 (key);
  wanted = expected_x5t ("rsa-cert.pem");
  g_assert_nonnull (wanted);
  g_assert_cmpstr (x5t, ==, wanted);
  g_assert_cmpuint (strlen (x5t), ==, 43);
  g_clear_object (&from_property);
  g_clear_object (&expected);
  g_clear_pointer (&x5t, g_free);
  g_clear_pointer (&wanted, g_free);
  g_clear_pointer (&path, g_free);
  g_assert_finalize_object (key);

  /* A PEM file of CA, key, certificate: the leaf first, its issuer next. */
  key = load ("chain.pem", NULL);
  certificate = grant_client_key_get_certificate (key);
  g_assert_nonnull (certificate);
  path = key_path ("leaf.pem");
  expected = g_tls_certificate_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_tls_certificate_is_same (certificate, expected));
  g_assert_nonnull (g_tls_certificate_get_issuer (certificate));
  x5t = grant_client_key_dup_x5t_s256 (key);
  wanted = expected_x5t ("leaf.pem");
  g_assert_cmpstr (x5t, ==, wanted);
  g_clear_object (&expected);
  g_clear_pointer (&x5t, g_free);
  g_clear_pointer (&path, g_free);
  g_assert_finalize_object (key);

  /* The same chain in PKCS#12. */
  key = load ("chain.p12", P12_PASSWORD);
  x5t = grant_client_key_dup_x5t_s256 (key);
  g_assert_cmpstr (x5t, ==, wanted);
  g_clear_pointer (&x5t, g_free);
  g_assert_finalize_object (key);

  /* No certificate, no x5t#S256. */
  key = load ("ec-sec1.pem", NULL);
  g_assert_null (grant_client_key_dup_x5t_s256 (key));
  g_assert_finalize_object (key);
}

static void
assert_load_fails (const char *name,
                   const char *password,
                   const char *why)
{
  g_autofree char *path = key_path (name);
  g_autoptr(GError) error = NULL;
  GrantClientKey *key;

  key = grant_client_key_new_from_file (path, password, &error);
  g_assert_null (key);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, why));
  if (password != NULL)
    g_assert_null (strstr (error->message, password));
  g_assert_null (strstr (error->message, PASSWORD));
  g_assert_null (strstr (error->message, P12_PASSWORD));
  g_assert_null (strstr (error->message, "-----"));
}

static void
test_errors (void)
{
  if (skip_without_keys ())
    return;

  assert_load_fails ("ec-encrypted.pem", NULL, "no password");
  assert_load_fails ("ec-encrypted.pem", "not-the-" PASSWORD "-at-all", "password is wrong");
  assert_load_fails ("ec-encrypted.der", "wrong-password-123", "password is wrong");
  assert_load_fails ("rsa-legacy-encrypted.pem", NULL, "no password");
  assert_load_fails ("rsa-legacy-encrypted.pem", "wrong-password-123", "password");
  assert_load_fails ("rsa.p12", NULL, "none was given");
  assert_load_fails ("rsa.p12", "wrong-p12-password", "password is wrong");
  assert_load_fails ("rsa.p12", PASSWORD, "password is wrong");
  assert_load_fails ("garbage.pem", NULL, "cannot be read");
  assert_load_fails ("rsa-cert.pem", NULL, "no PEM private key");
  assert_load_fails ("rsa-pub.pem", NULL, "no PEM private key");
  assert_load_fails ("mismatch.pem", NULL, "no certificate in it is for its private key");
  assert_load_fails ("rsa-1024.pem", NULL, "1024 bits is too short");
  assert_load_fails ("does-not-exist.pem", NULL, "No such file");

  {
    g_autofree char *empty = key_path ("empty.pem");

    g_assert_true (g_file_set_contents (empty, "", 0, NULL));
    assert_load_fails ("empty.pem", NULL, "empty");
  }
}

static void
test_jws (void)
{
  g_autoptr(GError) error = NULL;
  GrantClientKey *key = grant_client_key_generate ("ES256", &error);
  g_autofree char *jws = NULL;
  g_autofree char *hs = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GBytes) header = NULL;
  g_autoptr(GBytes) sig = NULL;
  g_autoptr(JsonObject) jwk = NULL;
  gnutls_pubkey_t pubkey;
  g_autoptr(GBytes) der = NULL;
  gnutls_datum_t data, signature;
  g_autofree char *input = NULL;

  g_assert_no_error (error);
  jws = grant_jws_sign_compact (key, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", "{\"sub\":\"client\"}", &error);
  g_assert_no_error (error);
  parts = g_strsplit (jws, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  g_assert_cmpstr (parts[0], ==, "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9");
  g_assert_cmpstr (parts[1], ==, "eyJzdWIiOiJjbGllbnQifQ");
  g_assert_null (strchr (jws, '='));
  sig = base64url_decode (parts[2]);
  g_assert_cmpuint (g_bytes_get_size (sig), ==, 64);

  jwk = parse_jwk (key);
  pubkey = pubkey_from_jwk (jwk);
  der = signature_to_der ("ES256", sig);
  input = g_strconcat (parts[0], ".", parts[1], NULL);
  data.data = (guint8 *) input;
  data.size = strlen (input);
  signature = datum_of (der);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &signature), >=, 0);
  gnutls_pubkey_deinit (pubkey);

  /* The header's alg decides, and must be one the key can do. */
  g_assert_null (grant_jws_sign_compact (key, "{\"alg\":\"RS256\"}", "{}", &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (grant_jws_sign_compact (key, "{\"typ\":\"JWT\"}", "{}", &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (grant_jws_sign_compact (key, "[", "{}", &error));
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  /* RFC 7515 appendix A.1's example, HS256. */
  {
    static const guint8 jwk_k[] = {
      3, 35, 53, 75, 43, 15, 165, 188, 131, 126, 6, 101, 119, 123, 166, 143, 90, 179, 40,
      230, 240, 84, 201, 40, 169, 15, 132, 178, 210, 80, 46, 191, 211, 251, 90, 146,
      210, 6, 71, 239, 150, 138, 180, 195, 119, 98, 61, 34, 61, 46, 33, 114, 5, 46, 79,
      8, 192, 205, 154, 245, 103, 208, 128, 163, 0,
    };

    hs = grant_jws_hs256_compact ((const char *) jwk_k,
                                  "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
                                  "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
    g_assert_cmpstr (hs, ==,
                     "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                     ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                     ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  }

  g_assert_finalize_object (key);
}

typedef struct {
  GrantClientKey *key;
  gint stop;
} ThreadData;

static gpointer
change_thread (gpointer user_data)
{
  ThreadData *data = user_data;

  for (guint i = 0; !g_atomic_int_get (&data->stop); i++)
    {
      g_autofree char *key_id = g_strdup_printf ("key-%u", i);

      grant_client_key_set_key_id (data->key, i % 3 == 0 ? NULL : key_id);
      g_assert_true (grant_client_key_set_algorithm (data->key, i % 2 ? "PS256" : "RS256", NULL));
    }

  return NULL;
}

static gpointer
sign_thread (gpointer user_data)
{
  ThreadData *data = user_data;

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) signature = NULL;
      g_autofree char *jwk = NULL;
      g_autofree char *key_id = NULL;

      signature = grant_client_key_sign (data->key, NULL, (const guint8 *) message, strlen (message), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (signature), ==, 256);
      jwk = grant_client_key_dup_public_jwk (data->key);
      g_assert_nonnull (strstr (jwk, "\"alg\":\""));
      key_id = grant_client_key_dup_key_id (data->key);
      g_assert_true (key_id == NULL || g_str_has_prefix (key_id, "key-"));
    }

  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(GError) error = NULL;
  ThreadData data = { NULL, 0 };
  GThread *changer;
  GThread *signers[4];

  data.key = grant_client_key_generate ("RS256", &error);
  g_assert_no_error (error);

  changer = g_thread_new ("change", change_thread, &data);
  for (guint i = 0; i < G_N_ELEMENTS (signers); i++)
    signers[i] = g_thread_new ("sign", sign_thread, &data);
  for (guint i = 0; i < G_N_ELEMENTS (signers); i++)
    g_thread_join (signers[i]);
  g_atomic_int_set (&data.stop, 1);
  g_thread_join (changer);

  g_assert_finalize_object (data.key);
}

/* SoftHSM 2, configured in main() before GnuTLS loads its module. */
static char *softhsm_dir;

static void
test_pkcs11 (void)
{
  g_autofree char *softhsm = g_find_program_in_path ("softhsm2-util");
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *uri = NULL;
  GrantClientKey *key;
  GrantClientKey *from_file;
  g_autoptr(GBytes) signature = NULL;
  const char *module = "/usr/lib/softhsm/libsofthsm2.so";

  if (skip_without_keys ())
    return;
  if (softhsm == NULL || !g_file_test (module, G_FILE_TEST_EXISTS) || softhsm_dir == NULL)
    {
      g_test_skip ("SoftHSM 2 (softhsm2) is not installed");
      return;
    }

  out = run ("softhsm2-util --init-token --free --label grant-test --pin " PIN " --so-pin 5678");
  g_assert_nonnull (out);
  g_clear_pointer (&out, g_free);
  out = run ("softhsm2-util --import rsa-pkcs8.pem --token grant-test --label rsa-signing --id 01 --pin " PIN);
  g_assert_nonnull (out);
  g_clear_pointer (&out, g_free);
  out = run ("softhsm2-util --import ec-pkcs8.pem --token grant-test --label ec-signing --id 02 --pin " PIN);
  g_assert_nonnull (out);

  uri = g_strdup ("pkcs11:token=grant-test;object=rsa-signing;type=private?pin-value=" PIN);
  key = grant_client_key_new_from_pkcs11 (uri, &error);
  if (key == NULL && error != NULL && strstr (error->message, "PIN") == NULL)
    {
      /* GnuTLS did not load the module that p11-kit lists. */
      g_test_message ("%s", error->message);
    }
  g_assert_no_error (error);
  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, "RS256");
  from_file = load ("rsa-pkcs8.pem", NULL);
  g_assert_cmpstr (grant_client_key_get_thumbprint (key), ==, grant_client_key_get_thumbprint (from_file));
  g_assert_null (grant_client_key_get_certificate (key));
  signature = sign_and_verify (key, "RS256", FALSE);
  g_clear_pointer (&signature, g_bytes_unref);
  signature = sign_and_verify (key, "PS256", FALSE);
  g_clear_pointer (&signature, g_bytes_unref);
  g_assert_finalize_object (key);
  g_assert_finalize_object (from_file);
  g_clear_pointer (&uri, g_free);

  uri = g_strdup ("pkcs11:token=grant-test;object=ec-signing;type=private?pin-value=" PIN);
  key = grant_client_key_new_from_pkcs11 (uri, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (grant_client_key_get_algorithm (key), ==, "ES256");
  signature = sign_and_verify (key, NULL, FALSE);
  g_assert_finalize_object (key);
  g_clear_pointer (&uri, g_free);

  /* A wrong PIN: the message shows neither it nor the query. */
  uri = g_strdup ("pkcs11:token=grant-test;object=rsa-signing;type=private?pin-value=000111");
  key = grant_client_key_new_from_pkcs11 (uri, &error);
  g_assert_null (key);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_test_message ("%s", error->message);
  g_assert_null (strstr (error->message, "000111"));
  g_assert_nonnull (strstr (error->message, "object=rsa-signing"));
  g_clear_error (&error);
  g_clear_pointer (&uri, g_free);

  key = grant_client_key_new_from_pkcs11 ("pkcs11:token=grant-test;object=missing;type=private?pin-value=" PIN, &error);
  g_assert_null (key);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
  g_test_message ("%s", error->message);
  g_assert_null (strstr (error->message, PIN));
  g_clear_error (&error);

  key = grant_client_key_new_from_pkcs11 ("/etc/passwd", &error);
  g_assert_null (key);
  g_assert_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION);
}

/* A JWT client assertion's parts: its header and claims, and whether the
 * signature verifies with @key's public JWK (or, with @secret, HS256). */
static void
parse_assertion (const char  *assertion,
                 JsonObject **header,
                 JsonObject **claims)
{
  g_auto(GStrv) parts = g_strsplit (assertion, ".", -1);
  g_autoptr(GBytes) header_bytes = NULL;
  g_autoptr(GBytes) claims_bytes = NULL;
  g_autoptr(JsonNode) header_node = NULL;
  g_autoptr(JsonNode) claims_node = NULL;
  g_autofree char *header_text = NULL;
  g_autofree char *claims_text = NULL;

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  header_bytes = base64url_decode (parts[0]);
  claims_bytes = base64url_decode (parts[1]);
  header_text = g_strndup (g_bytes_get_data (header_bytes, NULL), g_bytes_get_size (header_bytes));
  claims_text = g_strndup (g_bytes_get_data (claims_bytes, NULL), g_bytes_get_size (claims_bytes));
  header_node = json_from_string (header_text, NULL);
  claims_node = json_from_string (claims_text, NULL);
  g_assert_nonnull (header_node);
  g_assert_nonnull (claims_node);
  *header = json_object_ref (json_node_get_object (header_node));
  *claims = json_object_ref (json_node_get_object (claims_node));
}

static void
assert_claims (JsonObject *claims,
               gint64      now)
{
  g_assert_cmpstr (json_object_get_string_member (claims, "iss"), ==, "jwt-client");
  g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==, "jwt-client");
  g_assert_cmpstr (json_object_get_string_member (claims, "aud"), ==, "https://auth.example.com/oauth2/token");
  g_assert_cmpint (json_object_get_int_member (claims, "iat"), ==, now);
  g_assert_cmpint (json_object_get_int_member (claims, "exp"), ==, now + 60);
  g_assert_cmpuint (strlen (json_object_get_string_member (claims, "jti")), >=, 22);
  g_assert_false (json_object_has_member (claims, "nbf"));
  g_assert_cmpuint (json_object_get_size (claims), ==, 6);
}

static void
test_assertion (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GrantClientKey) key = grant_client_key_generate ("ES256", &error);
  g_autoptr(GrantClientKey) with_certificate = load ("chain.pem", NULL);
  g_autofree char *jti = grant_assertion_new_jti ();
  g_autofree char *other_jti = grant_assertion_new_jti ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GrantAssertionClaims claims = { "jwt-client", "https://auth.example.com/oauth2/token", jti, now };
  g_autofree char *assertion = NULL;
  g_autofree char *hs = NULL;
  g_autofree char *certified = NULL;
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) jwk = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree char *input = NULL;
  g_autoptr(GBytes) sig = NULL;
  g_autoptr(GBytes) der = NULL;
  gnutls_datum_t data, signature;
  gnutls_pubkey_t pubkey;
  guint8 mac[32];
  g_autofree char *expected_mac = NULL;
  g_autofree char *x5t = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (jti, !=, other_jti);

  /* private_key_jwt: the key's alg and kid; verified with the public JWK. */
  grant_client_key_set_key_id (key, "key-1");
  assertion = grant_assertion_sign (key, NULL, &claims, &error);
  g_assert_no_error (error);
  parse_assertion (assertion, &header, &body);
  g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==, "ES256");
  g_assert_cmpstr (json_object_get_string_member (header, "kid"), ==, "key-1");
  g_assert_cmpstr (json_object_get_string_member (header, "typ"), ==, "JWT");
  g_assert_false (json_object_has_member (header, "x5t#S256"));
  assert_claims (body, now);
  g_assert_cmpstr (json_object_get_string_member (body, "jti"), ==, jti);

  parts = g_strsplit (assertion, ".", -1);
  input = g_strconcat (parts[0], ".", parts[1], NULL);
  sig = base64url_decode (parts[2]);
  der = signature_to_der ("ES256", sig);
  jwk = parse_jwk (key);
  pubkey = pubkey_from_jwk (jwk);
  data.data = (guint8 *) input;
  data.size = strlen (input);
  signature = datum_of (der);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &signature), >=, 0);
  gnutls_pubkey_deinit (pubkey);

  /* A key with a certificate names it; no kid unless set. */
  g_clear_pointer (&header, json_object_unref);
  g_clear_pointer (&body, json_object_unref);
  certified = grant_assertion_sign (with_certificate, NULL, &claims, &error);
  g_assert_no_error (error);
  parse_assertion (certified, &header, &body);
  x5t = grant_client_key_dup_x5t_s256 (with_certificate);
  g_assert_nonnull (x5t);
  g_assert_cmpstr (json_object_get_string_member (header, "x5t#S256"), ==, x5t);
  g_assert_false (json_object_has_member (header, "kid"));
  assert_claims (body, now);

  /* client_secret_jwt: HS256 over the same input, with the secret. */
  g_clear_pointer (&header, json_object_unref);
  g_clear_pointer (&body, json_object_unref);
  g_clear_pointer (&parts, g_strfreev);
  g_clear_pointer (&input, g_free);
  hs = grant_assertion_hs256 ("the secret", &claims);
  parse_assertion (hs, &header, &body);
  g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==, "HS256");
  assert_claims (body, now);
  parts = g_strsplit (hs, ".", -1);
  input = g_strconcat (parts[0], ".", parts[1], NULL);
  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA256, "the secret", 10, input, strlen (input), mac), ==, 0);
  expected_mac = grant_base64url_encode (mac, sizeof mac);
  g_assert_cmpstr (parts[2], ==, expected_mac);
  g_assert_null (strstr (hs, "the secret"));
}

static void
test_dpop_htu (void)
{
  const struct {
    const char *url;
    const char *htu;
    const char *origin;
  } cases[] = {
    { "https://Server.Example.com:443/token?x=1#f", "https://server.example.com/token", "https://server.example.com:443" },
    { "http://127.0.0.1:8080/a/b?q=%2F", "http://127.0.0.1:8080/a/b", "http://127.0.0.1:8080" },
    { "https://h", "https://h/", "https://h:443" },
    { "https://h/p%20q", "https://h/p%20q", "https://h:443" },
    { "ftp://h/x", NULL, NULL },
    { "not a url", NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *htu = grant_dpop_htu (cases[i].url);
      g_autofree char *origin = grant_dpop_origin (cases[i].url);

      g_assert_cmpstr (htu, ==, cases[i].htu);
      g_assert_cmpstr (origin, ==, cases[i].origin);
    }
}

static void
test_dpop_proof (void)
{
  const char *algorithms[] = { "ES256", "EdDSA", "RS256" };

  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GrantClientKey) key = grant_client_key_generate (algorithms[i], &error);
      GrantDpopClaims claims = { "post", "https://api.example.com/v1/things?page=2#top", "the-access-token",
                                 "server-nonce", "jti-1", 1700000000 };
      g_autofree char *proof = NULL;
      g_autoptr(JsonObject) header = NULL;
      g_autoptr(JsonObject) body = NULL;
      g_autoptr(JsonObject) jwk = NULL;
      g_autoptr(JsonObject) own_jwk = NULL;
      g_auto(GStrv) parts = NULL;
      g_autofree char *input = NULL;
      g_autoptr(GBytes) sig = NULL;
      g_autoptr(GBytes) der = NULL;
      gnutls_datum_t data, signature;
      gnutls_pubkey_t pubkey;
      guint8 digest[32];
      gsize length = sizeof digest;
      g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autofree char *ath = NULL;

      g_assert_no_error (error);
      grant_client_key_set_key_id (key, "not-in-the-proof");
      proof = grant_dpop_proof_build (key, &claims, &error);
      g_assert_no_error (error);
      parse_assertion (proof, &header, &body);

      g_assert_cmpstr (json_object_get_string_member (header, "typ"), ==, "dpop+jwt");
      g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==, algorithms[i]);
      g_assert_false (json_object_has_member (header, "kid"));
      jwk = json_object_ref (json_object_get_object_member (header, "jwk"));
      g_assert_false (json_object_has_member (jwk, "d"));
      g_assert_false (json_object_has_member (jwk, "kid"));
      g_assert_false (json_object_has_member (jwk, "alg"));
      own_jwk = parse_jwk (key);
      g_assert_cmpstr (json_object_get_string_member (jwk, "kty"), ==, json_object_get_string_member (own_jwk, "kty"));

      g_assert_cmpstr (json_object_get_string_member (body, "htm"), ==, "POST");
      g_assert_cmpstr (json_object_get_string_member (body, "htu"), ==, "https://api.example.com/v1/things");
      g_assert_cmpstr (json_object_get_string_member (body, "jti"), ==, "jti-1");
      g_assert_cmpstr (json_object_get_string_member (body, "nonce"), ==, "server-nonce");
      g_assert_cmpint (json_object_get_int_member (body, "iat"), ==, 1700000000);
      g_checksum_update (checksum, (const guchar *) "the-access-token", 16);
      g_checksum_get_digest (checksum, digest, &length);
      ath = grant_base64url_encode (digest, length);
      g_assert_cmpstr (json_object_get_string_member (body, "ath"), ==, ath);

      /* Verified with the key in the proof's own header. */
      parts = g_strsplit (proof, ".", -1);
      input = g_strconcat (parts[0], ".", parts[1], NULL);
      sig = base64url_decode (parts[2]);
      der = signature_to_der (algorithms[i], sig);
      pubkey = pubkey_from_jwk (jwk);
      data.data = (guint8 *) input;
      data.size = strlen (input);
      signature = datum_of (der);
      g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, sign_algorithm (algorithms[i], FALSE), 0,
                                                   &data, &signature), >=, 0);
      gnutls_pubkey_deinit (pubkey);
    }

  /* Without a token or nonce: neither claim. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GrantClientKey) key = grant_client_key_generate ("ES256", &error);
    GrantDpopClaims claims = { "GET", "https://as.example.com/token", NULL, NULL, "j", 1 };
    g_autofree char *proof = grant_dpop_proof_build (key, &claims, &error);
    g_autoptr(JsonObject) header = NULL;
    g_autoptr(JsonObject) body = NULL;

    g_assert_no_error (error);
    parse_assertion (proof, &header, &body);
    g_assert_false (json_object_has_member (body, "ath"));
    g_assert_false (json_object_has_member (body, "nonce"));
    g_assert_cmpuint (json_object_get_size (body), ==, 4);
  }
}

/* The key that seals stored tokens */

static GBytes *
sealing_key (const char      *token_url,
             const char      *secret,
             GrantClientKey  *client_key,
             GTlsCertificate *certificate)
{
  g_autoptr(GrantSealer) sealer = grant_sealer_new (token_url, "sealed-client", secret, client_key, certificate);
  GBytes *key = grant_sealer_dup_key (sealer);

  /* Derived once: the second call gives the same bytes. */
  if (key != NULL)
    {
      g_autoptr(GBytes) again = grant_sealer_dup_key (sealer);

      g_assert_true (g_bytes_equal (key, again));
      g_assert_cmpuint (g_bytes_get_size (key), ==, GRANT_SEALING_KEY_SIZE);
    }

  return key;
}

static void
append_prefixed (GByteArray   *array,
                 const guint8 *data,
                 gsize         length)
{
  guint8 prefix[4] = { length >> 24, length >> 16, length >> 8, length };

  g_byte_array_append (array, prefix, 4);
  g_byte_array_append (array, data, length);
}

static void
test_sealing_key (void)
{
  const char *url = "https://auth.example.com/token";
  g_autoptr(GrantClientKey) pkcs1 = NULL;
  g_autoptr(GrantClientKey) pkcs8 = NULL;
  g_autoptr(GrantClientKey) der = NULL;
  g_autoptr(GrantClientKey) other = NULL;
  g_autoptr(GTlsCertificate) cert_pkcs1 = NULL;
  g_autoptr(GTlsCertificate) cert_pkcs8 = NULL;
  g_autoptr(GBytes) from_secret = NULL;
  g_autoptr(GBytes) expected = NULL;
  g_autoptr(GBytes) k1 = NULL, k8 = NULL, kd = NULL, ko = NULL, c1 = NULL, c8 = NULL, kc = NULL;
  g_autoptr(GBytes) other_url = NULL;
  g_autoptr(GBytes) nothing = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *cert = NULL;

  if (dir == NULL)
    {
      g_test_skip ("openssl could not make the keys");
      return;
    }

  /* A secret: PBKDF2-HMAC-SHA256 (600,000 iterations), then HKDF, as
   * documented, computed here on its own: a fleet's hosts must agree on
   * every byte, across libgrant versions too. */
  from_secret = sealing_key (url, "a client secret", NULL, NULL);
  {
    g_autoptr(GByteArray) context = g_byte_array_new ();
    g_autoptr(GByteArray) ikm = g_byte_array_new ();
    guint8 stretched[32], prk[32], key[32];
    gnutls_datum_t secret = { (guint8 *) "a client secret", 15 };
    gnutls_datum_t salt, datum, info = { (guint8 *) "seal", 4 };

    g_byte_array_append (context, (const guint8 *) "libgrant sealing key 1", 22);
    append_prefixed (context, (const guint8 *) url, strlen (url));
    append_prefixed (context, (const guint8 *) "sealed-client", 13);
    salt = (gnutls_datum_t) { context->data, context->len };
    g_assert_cmpint (gnutls_pbkdf2 (GNUTLS_MAC_SHA256, &secret, &salt, 600000, stretched, 32), ==, 0);
    g_byte_array_append (ikm, (const guint8 *) "s", 1);
    append_prefixed (ikm, stretched, 32);
    datum = (gnutls_datum_t) { ikm->data, ikm->len };
    g_assert_cmpint (gnutls_hkdf_extract (GNUTLS_MAC_SHA256, &datum, &salt, prk), ==, 0);
    datum = (gnutls_datum_t) { prk, 32 };
    g_assert_cmpint (gnutls_hkdf_expand (GNUTLS_MAC_SHA256, &datum, &info, key, 32), ==, 0);
    expected = g_bytes_new (key, 32);
  }
  g_assert_true (g_bytes_equal (from_secret, expected));

  /* The same private key, from PKCS#1, PKCS#8 or DER: the same key. */
  path = key_path ("rsa-pkcs1.pem");
  pkcs1 = grant_client_key_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  g_free (path);
  path = key_path ("rsa-pkcs8.pem");
  pkcs8 = grant_client_key_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  g_free (path);
  path = key_path ("rsa-pkcs8.der");
  der = grant_client_key_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  g_free (path);
  path = key_path ("ec-sec1.pem");
  other = grant_client_key_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  k1 = sealing_key (url, NULL, pkcs1, NULL);
  k8 = sealing_key (url, NULL, pkcs8, NULL);
  kd = sealing_key (url, NULL, der, NULL);
  ko = sealing_key (url, NULL, other, NULL);
  g_assert_true (g_bytes_equal (k1, k8));
  g_assert_true (g_bytes_equal (k1, kd));
  g_assert_false (g_bytes_equal (k1, ko));
  g_assert_false (g_bytes_equal (k1, from_secret));

  /* A client certificate's key, from either file, gives one key too, but
   * not the one of the same private key as a client key. */
  cert = key_path ("rsa-cert.pem");
  g_free (path);
  path = key_path ("rsa-pkcs1.pem");
  cert_pkcs1 = g_tls_certificate_new_from_files (cert, path, &error);
  g_assert_no_error (error);
  g_free (path);
  path = key_path ("rsa-pkcs8.pem");
  cert_pkcs8 = g_tls_certificate_new_from_files (cert, path, &error);
  g_assert_no_error (error);
  c1 = sealing_key (url, NULL, NULL, cert_pkcs1);
  c8 = sealing_key (url, NULL, NULL, cert_pkcs8);
  g_assert_true (g_bytes_equal (c1, c8));
  g_assert_false (g_bytes_equal (c1, k1));
  kc = sealing_key (url, NULL, pkcs1, cert_pkcs1);
  g_assert_false (g_bytes_equal (kc, k1));
  g_assert_false (g_bytes_equal (kc, c1));

  /* Another token endpoint, another key; no credentials, no key. */
  other_url = sealing_key ("https://other.example.com/token", NULL, pkcs1, NULL);
  g_assert_false (g_bytes_equal (other_url, k1));
  nothing = sealing_key (url, NULL, NULL, NULL);
  g_assert_null (nothing);

  /* What a sealer was made from. */
  {
    g_autoptr(GrantSealer) sealer = grant_sealer_new (url, "sealed-client", "s", pkcs1, NULL);

    g_assert_true (grant_sealer_matches (sealer, url, "sealed-client", "s", pkcs1, NULL));
    g_assert_false (grant_sealer_matches (sealer, url, "sealed-client", "t", pkcs1, NULL));
    g_assert_false (grant_sealer_matches (sealer, url, "sealed-client", "s", pkcs8, NULL));
    g_assert_false (grant_sealer_matches (sealer, url, "other-client", "s", pkcs1, NULL));
    g_assert_false (grant_sealer_matches (sealer, url, "sealed-client", "s", pkcs1, cert_pkcs1));
  }
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *softhsm_conf = NULL;
  g_autofree char *tokens = NULL;
  g_autofree char *conf = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* A SoftHSM of the test's own, before anything loads PKCS#11 modules. */
  softhsm_dir = g_dir_make_tmp ("grant-softhsm-XXXXXX", NULL);
  g_assert_nonnull (softhsm_dir);
  tokens = g_build_filename (softhsm_dir, "tokens", NULL);
  g_assert_cmpint (g_mkdir (tokens, 0700), ==, 0);
  softhsm_conf = g_build_filename (softhsm_dir, "softhsm2.conf", NULL);
  conf = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
  g_assert_true (g_file_set_contents (softhsm_conf, conf, -1, NULL));
  g_setenv ("SOFTHSM2_CONF", softhsm_conf, TRUE);

  dir = g_dir_make_tmp ("grant-keys-XXXXXX", NULL);
  g_assert_nonnull (dir);
  if (!make_keys ())
    {
      test_remove_tree (dir);
      g_clear_pointer (&dir, g_free);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (key_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/client-key/load/%s", key_cases[i].file);

      g_test_add_data_func (name, &key_cases[i], test_load);
    }
  g_test_add_func ("/client-key/pem-data", test_pem_data);
  g_test_add_func ("/client-key/openssl-verifies", test_openssl_verifies);
  g_test_add_func ("/client-key/rsa-modulus", test_rsa_modulus);
  g_test_add_func ("/client-key/algorithms", test_algorithms);
  g_test_add_func ("/client-key/ecdsa-raw", test_ecdsa_raw);
  g_test_add_func ("/client-key/generate", test_generate);
  g_test_add_func ("/client-key/key-id", test_key_id);
  g_test_add_func ("/client-key/certificate", test_certificate);
  g_test_add_func ("/client-key/errors", test_errors);
  g_test_add_func ("/client-key/jws", test_jws);
  g_test_add_func ("/client-key/assertion", test_assertion);
  g_test_add_func ("/dpop/htu", test_dpop_htu);
  g_test_add_func ("/dpop/proof", test_dpop_proof);
  g_test_add_func ("/client-key/threads", test_threads);
  g_test_add_func ("/client-key/pkcs11", test_pkcs11);
  g_test_add_func ("/client-key/sealing-key", test_sealing_key);

  ret = g_test_run ();

  if (dir != NULL)
    test_remove_tree (dir);
  g_free (dir);
  test_remove_tree (softhsm_dir);
  g_free (softhsm_dir);

  return ret;
}
