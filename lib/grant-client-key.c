/* grant-client-key.c: a private key that authenticates a client
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>
#include <json-glib/json-glib.h>

#include "grant-client-key-private.h"
#include "grant-error.h"
#include "grant-jws-private.h"
#include "grant-utils-private.h"

/**
 * GrantClientKey:
 *
 * A private key with which a client proves who it is, and the certificate
 * that goes with it, if any.
 *
 * A client key signs the JWT assertions of the `private_key_jwt` client
 * authentication (RFC 7523, section 2.2). Make one from a file
 * ([ctor@Grant.ClientKey.new_from_file]: PEM, DER or PKCS#12), from PEM
 * text ([ctor@Grant.ClientKey.new_from_pem]), from a hardware token or
 * software token through PKCS#11 ([ctor@Grant.ClientKey.new_from_pkcs11]),
 * or generate an ephemeral one ([func@Grant.ClientKey.generate]). Then
 * register its public key with the authorization server, as a JWK
 * ([method@Grant.ClientKey.dup_public_jwk]) or, when the file held one, as
 * its certificate ([property@Grant.ClientKey:certificate]).
 *
 * The key types and the JWS algorithms (RFC 7518) they sign with:
 *
 * - RSA keys of 2048 bits or more: `RS256` (the default) and `PS256`;
 * - elliptic curve keys: `ES256` on P-256, `ES384` on P-384, `ES512` on
 *   P-521, one algorithm per curve;
 * - Ed25519 keys: `EdDSA`.
 *
 * Other keys (DSA, Ed448, RSA keys shorter than 2048 bits, other curves)
 * are refused when loaded.
 *
 * A client key is immutable but for its [property@Grant.ClientKey:algorithm]
 * and [property@Grant.ClientKey:key-id], which may be set at any time, from
 * any thread; each read sees either the old or the new value, and
 * `notify` is emitted in the thread that made the change. A key may sign
 * from several threads at once.
 *
 * The private key never leaves the object: libgrant never logs it, never
 * puts it or a password in an error message, and wipes the copies it
 * reads from files. A key made with `g_object_new()` alone holds no key and
 * is of no use: use the constructors.
 */

struct _GrantClientKey
{
  GObject parent_instance;

  gnutls_privkey_t privkey;
  gnutls_pk_algorithm_t pk;
  gnutls_ecc_curve_t curve;

  /* The public key, as the members of its JWK (base64url). */
  const char *kty;
  const char *crv;
  char *n;
  char *e;
  char *x;
  char *y;
  char *thumbprint;

  GTlsCertificate *certificate;
  char *x5t_s256;

  /* Serializes signing: a PKCS#11 key's session is not for two threads at
   * once. */
  GMutex sign_mutex;

  GMutex mutex;   /* guards key_id */
  char *key_id;
  /* One of the static names in algorithms[]: read and written atomically. */
  const char *algorithm;
};

G_DEFINE_FINAL_TYPE (GrantClientKey, grant_client_key, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ALGORITHM,
  PROP_KEY_ID,
  PROP_CERTIFICATE,
  PROP_THUMBPRINT,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

typedef struct {
  const char *name;
  gnutls_pk_algorithm_t pk;
  gnutls_ecc_curve_t curve;
  gnutls_sign_algorithm_t sign;
  guint coordinate_size;   /* of r and s, for ECDSA */
} JwsAlgorithm;

static const JwsAlgorithm algorithms[] = {
  { "RS256", GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID, GNUTLS_SIGN_RSA_SHA256, 0 },
  { "PS256", GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 0 },
  { "ES256", GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP256R1, GNUTLS_SIGN_ECDSA_SHA256, 32 },
  { "ES384", GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP384R1, GNUTLS_SIGN_ECDSA_SHA384, 48 },
  { "ES512", GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP521R1, GNUTLS_SIGN_ECDSA_SHA512, 66 },
  { "EdDSA", GNUTLS_PK_EDDSA_ED25519, GNUTLS_ECC_CURVE_ED25519, GNUTLS_SIGN_EDDSA_ED25519, 0 },
};

#define MIN_RSA_BITS 2048
/* No key file is this large; a larger one is not a key file. */
#define MAX_KEY_FILE_SIZE (1024 * 1024)

static const JwsAlgorithm *
lookup_algorithm (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      if (g_strcmp0 (algorithms[i].name, name) == 0)
        return &algorithms[i];
    }

  return NULL;
}

static gboolean
key_can_do (GrantClientKey     *self,
            const JwsAlgorithm *alg)
{
  switch (alg->pk)
    {
    case GNUTLS_PK_RSA:
      /* A key restricted to RSA-PSS signs only PS256. */
      return self->pk == GNUTLS_PK_RSA ||
             (self->pk == GNUTLS_PK_RSA_PSS && alg->sign == GNUTLS_SIGN_RSA_PSS_RSAE_SHA256);

    case GNUTLS_PK_ECDSA:
    case GNUTLS_PK_EDDSA_ED25519:
      return self->pk == alg->pk && self->curve == alg->curve;

    default:
      return FALSE;
    }
}

static const JwsAlgorithm *
default_algorithm (GrantClientKey *self)
{
  for (gsize i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      /* RS256 before PS256: what servers accept most. */
      if (key_can_do (self, &algorithms[i]))
        return &algorithms[i];
    }

  return NULL;
}

static const char *
key_type_name (GrantClientKey *self)
{
  switch (self->pk)
    {
    case GNUTLS_PK_RSA:
      return "RSA";
    case GNUTLS_PK_RSA_PSS:
      return "RSA-PSS";
    case GNUTLS_PK_ECDSA:
      return self->crv != NULL ? self->crv : "elliptic curve";
    case GNUTLS_PK_EDDSA_ED25519:
      return "Ed25519";
    default:
      return gnutls_pk_get_name (self->pk);
    }
}

static char *
datum_to_base64url (const gnutls_datum_t *datum)
{
  return grant_base64url_encode (datum->data, datum->size);
}

/* An elliptic curve coordinate, left-padded to the curve's size as RFC 7518
 * section 6.2.1.2 wants. */
static char *
coordinate_to_base64url (const gnutls_datum_t *datum,
                         gsize                 size)
{
  g_autofree guint8 *padded = NULL;

  if (datum->size >= size)
    return grant_base64url_encode (datum->data + (datum->size - size), size);

  padded = g_malloc0 (size);
  memcpy (padded + (size - datum->size), datum->data, datum->size);

  return grant_base64url_encode (padded, size);
}

static gsize
curve_size (gnutls_ecc_curve_t curve)
{
  for (gsize i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      if (algorithms[i].curve == curve && algorithms[i].coordinate_size != 0)
        return algorithms[i].coordinate_size;
    }

  return 32;   /* Ed25519 */
}

static void
gnutls_datum_clear (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
}

static void
set_error (GError     **error,
           const char  *what,
           const char  *format,
           ...) G_GNUC_PRINTF (3, 4);

/* Every loading error: "{what}: {why}", where @what names the file or URI
 * and never holds key material or a password. */
static void
set_error (GError     **error,
           const char  *what,
           const char  *format,
           ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
               "Cannot use the client key %s: %s", what, why);
}

/* Reads the public half of the key into the JWK members; refuses keys that
 * sign no JWS algorithm. */
static gboolean
read_public_key (GrantClientKey  *self,
                 gnutls_pubkey_t  pubkey,
                 const char      *what,
                 GError         **error)
{
  gnutls_datum_t a = { NULL, 0 };
  gnutls_datum_t b = { NULL, 0 };
  unsigned int bits = 0;
  int ret;

  self->pk = gnutls_pubkey_get_pk_algorithm (pubkey, &bits);
  self->curve = GNUTLS_ECC_CURVE_INVALID;

  switch (self->pk)
    {
    case GNUTLS_PK_RSA:
    case GNUTLS_PK_RSA_PSS:
      if (bits < MIN_RSA_BITS)
        {
          set_error (error, what, "an RSA key of %u bits is too short: JWS needs %u bits or more",
                     bits, MIN_RSA_BITS);
          return FALSE;
        }
      ret = gnutls_pubkey_export_rsa_raw2 (pubkey, &a, &b, GNUTLS_EXPORT_FLAG_NO_LZ);
      if (ret < 0)
        break;
      self->kty = "RSA";
      self->n = datum_to_base64url (&a);
      self->e = datum_to_base64url (&b);
      break;

    case GNUTLS_PK_ECDSA:
    case GNUTLS_PK_EDDSA_ED25519:
      ret = gnutls_pubkey_export_ecc_raw2 (pubkey, &self->curve, &a, &b, GNUTLS_EXPORT_FLAG_NO_LZ);
      if (ret < 0)
        break;
      if (self->pk == GNUTLS_PK_EDDSA_ED25519)
        {
          self->kty = "OKP";
          self->crv = "Ed25519";
          self->x = datum_to_base64url (&a);
          break;
        }
      switch (self->curve)
        {
        case GNUTLS_ECC_CURVE_SECP256R1:
          self->crv = "P-256";
          break;
        case GNUTLS_ECC_CURVE_SECP384R1:
          self->crv = "P-384";
          break;
        case GNUTLS_ECC_CURVE_SECP521R1:
          self->crv = "P-521";
          break;
        default:
          set_error (error, what, "keys on the curve %s sign no JWS algorithm",
                     gnutls_ecc_curve_get_name (self->curve));
          gnutls_datum_clear (&a);
          gnutls_datum_clear (&b);
          return FALSE;
        }
      self->kty = "EC";
      self->x = coordinate_to_base64url (&a, curve_size (self->curve));
      self->y = coordinate_to_base64url (&b, curve_size (self->curve));
      break;

    default:
      set_error (error, what, "%s keys sign no JWS algorithm libgrant supports",
                 gnutls_pk_get_name (self->pk));
      return FALSE;
    }

  gnutls_datum_clear (&a);
  gnutls_datum_clear (&b);

  if (ret < 0)
    {
      set_error (error, what, "cannot read its public key: %s", gnutls_strerror (ret));
      return FALSE;
    }

  return TRUE;
}

/* RFC 7638: SHA-256 of the required members, in lexicographic order, with
 * no white space. */
static char *
compute_thumbprint (GrantClientKey *self)
{
  g_autofree char *canonical = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  if (g_str_equal (self->kty, "RSA"))
    canonical = g_strdup_printf ("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", self->e, self->n);
  else if (g_str_equal (self->kty, "EC"))
    canonical = g_strdup_printf ("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                                 self->crv, self->x, self->y);
  else
    canonical = g_strdup_printf ("{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", self->crv, self->x);

  g_checksum_update (checksum, (const guchar *) canonical, strlen (canonical));
  g_checksum_get_digest (checksum, digest, &digest_len);

  return grant_base64url_encode (digest, digest_len);
}

/* Finds the certificate of @certs that holds @pubkey, puts it first and
 * makes the GTlsCertificate of the chain. */
static gboolean
take_certificates (GrantClientKey     *self,
                   gnutls_pubkey_t     pubkey,
                   gnutls_x509_crt_t  *certs,
                   guint               n_certs,
                   const char         *what,
                   GError            **error)
{
  guint8 key_id[64];
  size_t key_id_len = sizeof key_id;
  g_autoptr(GString) pem = NULL;
  g_autoptr(GError) local_error = NULL;
  guint8 fingerprint[32];
  size_t fingerprint_len = sizeof fingerprint;
  gint leaf = -1;
  int ret;

  if (n_certs == 0)
    return TRUE;

  ret = gnutls_pubkey_get_key_id (pubkey, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len);
  if (ret < 0)
    {
      set_error (error, what, "cannot read its public key: %s", gnutls_strerror (ret));
      return FALSE;
    }

  for (guint i = 0; i < n_certs && leaf < 0; i++)
    {
      guint8 crt_id[64];
      size_t crt_id_len = sizeof crt_id;

      if (gnutls_x509_crt_get_key_id (certs[i], GNUTLS_KEYID_USE_SHA256, crt_id, &crt_id_len) >= 0 &&
          crt_id_len == key_id_len && memcmp (crt_id, key_id, key_id_len) == 0)
        leaf = i;
    }

  if (leaf < 0)
    {
      set_error (error, what, "no certificate in it is for its private key");
      return FALSE;
    }

  /* The leaf, then the others as they came: its issuers. */
  pem = g_string_new (NULL);
  for (guint i = 0; i < n_certs + 1; i++)
    {
      gnutls_datum_t out = { NULL, 0 };
      guint index = i == 0 ? (guint) leaf : i - 1;

      if (i != 0 && index == (guint) leaf)
        continue;

      ret = gnutls_x509_crt_export2 (certs[index], GNUTLS_X509_FMT_PEM, &out);
      if (ret < 0)
        {
          set_error (error, what, "cannot read its certificate: %s", gnutls_strerror (ret));
          return FALSE;
        }
      g_string_append_len (pem, (const char *) out.data, out.size);
      gnutls_datum_clear (&out);
    }

  self->certificate = g_tls_certificate_new_from_pem (pem->str, pem->len, &local_error);
  if (self->certificate == NULL)
    {
      set_error (error, what, "cannot read its certificate: %s", local_error->message);
      return FALSE;
    }

  ret = gnutls_x509_crt_get_fingerprint (certs[leaf], GNUTLS_DIG_SHA256, fingerprint, &fingerprint_len);
  if (ret < 0)
    {
      set_error (error, what, "cannot read its certificate: %s", gnutls_strerror (ret));
      return FALSE;
    }
  self->x5t_s256 = grant_base64url_encode (fingerprint, fingerprint_len);

  return TRUE;
}

/* Makes the key object around @privkey, which it takes, and @certs, which
 * it does not. */
static GrantClientKey *
client_key_new_take (gnutls_privkey_t    privkey,
                     gnutls_x509_crt_t  *certs,
                     guint               n_certs,
                     const char         *what,
                     GError            **error)
{
  g_autoptr(GrantClientKey) self = g_object_new (GRANT_TYPE_CLIENT_KEY, NULL);
  gnutls_pubkey_t pubkey = NULL;
  gboolean ok;
  int ret;

  self->privkey = privkey;

  ret = gnutls_pubkey_init (&pubkey);
  if (ret >= 0)
    ret = gnutls_pubkey_import_privkey (pubkey, privkey, 0, 0);
  if (ret < 0)
    {
      set_error (error, what, "cannot read its public key: %s", gnutls_strerror (ret));
      g_clear_pointer (&pubkey, gnutls_pubkey_deinit);
      return NULL;
    }

  ok = read_public_key (self, pubkey, what, error) &&
       take_certificates (self, pubkey, certs, n_certs, what, error);
  gnutls_pubkey_deinit (pubkey);
  if (!ok)
    return NULL;

  self->algorithm = default_algorithm (self)->name;
  self->thumbprint = compute_thumbprint (self);

  return g_steal_pointer (&self);
}

static void
free_certificates (gnutls_x509_crt_t *certs,
                   guint              n_certs)
{
  for (guint i = 0; i < n_certs; i++)
    gnutls_x509_crt_deinit (certs[i]);
  gnutls_free (certs);
}

static GrantClientKey *
client_key_new_from_x509 (gnutls_x509_privkey_t   x509,
                          gnutls_x509_crt_t      *certs,
                          guint                   n_certs,
                          const char             *what,
                          GError                **error)
{
  gnutls_privkey_t privkey = NULL;
  int ret;

  ret = gnutls_privkey_init (&privkey);
  if (ret >= 0)
    ret = gnutls_privkey_import_x509 (privkey, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
  if (ret < 0)
    {
      set_error (error, what, "%s", gnutls_strerror (ret));
      g_clear_pointer (&privkey, gnutls_privkey_deinit);
      gnutls_x509_privkey_deinit (x509);
      return NULL;
    }

  return client_key_new_take (privkey, certs, n_certs, what, error);
}

/* Imports a PEM or DER private key (PKCS#1, PKCS#8, SEC1, encrypted
 * PKCS#8) from @data. */
static gnutls_x509_privkey_t
import_x509_privkey (const guint8         *data,
                     gsize                 length,
                     gnutls_x509_crt_fmt_t format,
                     gboolean              encrypted,
                     const char           *password,
                     const char           *what,
                     GError              **error)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_datum_t datum = { (guint8 *) data, length };
  int ret;

  ret = gnutls_x509_privkey_init (&x509);
  if (ret >= 0)
    ret = gnutls_x509_privkey_import2 (x509, &datum, format, password,
                                       password == NULL ? GNUTLS_PKCS_PLAIN : 0);
  if (ret >= 0)
    return x509;

  g_clear_pointer (&x509, gnutls_x509_privkey_deinit);

  if (encrypted && password == NULL)
    set_error (error, what, "the private key is encrypted, and no password was given");
  else if (ret == GNUTLS_E_DECRYPTION_FAILED && password != NULL)
    set_error (error, what, "the password is wrong, or the private key is corrupt");
  else
    set_error (error, what, "the private key cannot be read: %s", gnutls_strerror (ret));

  return NULL;
}

/* memmem(), which is a GNU extension. */
static const char *
find_bytes (const char *haystack,
            gsize       length,
            const char *needle,
            gsize       needle_length)
{
  if (needle_length == 0 || length < needle_length)
    return NULL;

  for (gsize i = 0; i <= length - needle_length; i++)
    {
      if (haystack[i] == needle[0] && memcmp (haystack + i, needle, needle_length) == 0)
        return haystack + i;
    }

  return NULL;
}

/* The next PEM block at or after @from: its label and where it starts and
 * ends (after its END line). */
static gboolean
next_pem_block (const char  *data,
                gsize        length,
                gsize        from,
                char       **label,
                gsize       *start,
                gsize       *end)
{
  static const char begin[] = "-----BEGIN ";
  const char *found;
  const char *label_end;
  const char *end_line;
  g_autofree char *end_marker = NULL;

  if (from >= length)
    return FALSE;

  found = find_bytes (data + from, length - from, begin, strlen (begin));
  if (found == NULL)
    return FALSE;

  label_end = find_bytes (found + strlen (begin), length - (found + strlen (begin) - data), "-----", 5);
  if (label_end == NULL || memchr (found, '\n', label_end - found) != NULL)
    return FALSE;

  *label = g_strndup (found + strlen (begin), label_end - (found + strlen (begin)));
  end_marker = g_strdup_printf ("-----END %s-----", *label);
  end_line = find_bytes (label_end, length - (label_end - data), end_marker, strlen (end_marker));
  if (end_line == NULL)
    {
      g_clear_pointer (label, g_free);
      return FALSE;
    }

  *start = found - data;
  *end = end_line + strlen (end_marker) - data;

  return TRUE;
}

static GrantClientKey *
client_key_new_from_pem_data (const char  *data,
                              gsize        length,
                              const char  *password,
                              const char  *what,
                              GError     **error)
{
  gnutls_x509_privkey_t x509;
  gnutls_x509_crt_t *certs = NULL;
  unsigned int n_certs = 0;
  gsize key_start = 0;
  gsize key_end = 0;
  g_autofree char *key_label = NULL;
  gboolean has_certificates = FALSE;
  gsize pos = 0;
  char *label;
  gsize start, end;
  GrantClientKey *self;

  while (next_pem_block (data, length, pos, &label, &start, &end))
    {
      if (g_str_has_suffix (label, "PRIVATE KEY"))
        {
          if (key_label != NULL)
            {
              set_error (error, what, "it holds more than one private key");
              g_free (label);
              return NULL;
            }
          key_label = label;
          key_start = start;
          key_end = end;
        }
      else
        {
          if (g_str_equal (label, "CERTIFICATE") || g_str_equal (label, "X509 CERTIFICATE"))
            has_certificates = TRUE;
          g_free (label);
        }
      pos = end;
    }

  if (key_label == NULL)
    {
      set_error (error, what, "it holds no PEM private key");
      return NULL;
    }

  if (has_certificates)
    {
      gnutls_datum_t datum = { (guint8 *) data, length };
      int ret = gnutls_x509_crt_list_import2 (&certs, &n_certs, &datum, GNUTLS_X509_FMT_PEM, 0);

      if (ret < 0)
        {
          set_error (error, what, "its certificates cannot be read: %s", gnutls_strerror (ret));
          return NULL;
        }
    }

  /* "ENCRYPTED PRIVATE KEY" is PKCS#8; OpenSSL's old encrypted PKCS#1 and
   * SEC1 say so in a header. */
  x509 = import_x509_privkey ((const guint8 *) data + key_start, key_end - key_start,
                              GNUTLS_X509_FMT_PEM,
                              g_str_equal (key_label, "ENCRYPTED PRIVATE KEY") ||
                              find_bytes (data + key_start, key_end - key_start, "ENCRYPTED", 9) != NULL,
                              password, what, error);
  if (x509 == NULL)
    {
      free_certificates (certs, n_certs);
      return NULL;
    }

  self = client_key_new_from_x509 (x509, certs, n_certs, what, error);
  free_certificates (certs, n_certs);

  return self;
}

static GrantClientKey *
client_key_new_from_pkcs12 (gnutls_pkcs12_t   p12,
                            const char       *password,
                            const char       *what,
                            GError          **error)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_x509_crt_t *chain = NULL;
  unsigned int chain_len = 0;
  GrantClientKey *self;
  int ret;

  ret = gnutls_pkcs12_verify_mac (p12, password);
  if (ret == GNUTLS_E_MAC_VERIFY_FAILED)
    {
      if (password == NULL)
        set_error (error, what, "the PKCS#12 file is protected by a password, and none was given");
      else
        set_error (error, what, "the password is wrong, or the PKCS#12 file is corrupt");
      return NULL;
    }

  ret = gnutls_pkcs12_simple_parse (p12, password, &x509, &chain, &chain_len,
                                    NULL, NULL, NULL, 0);
  if (ret < 0)
    {
      if (ret == GNUTLS_E_DECRYPTION_FAILED)
        set_error (error, what, "the password is wrong, or the PKCS#12 file is corrupt");
      else
        set_error (error, what, "the PKCS#12 file cannot be read: %s", gnutls_strerror (ret));
      return NULL;
    }

  if (x509 == NULL)
    {
      free_certificates (chain, chain_len);
      set_error (error, what, "the PKCS#12 file holds no private key");
      return NULL;
    }

  self = client_key_new_from_x509 (x509, chain, chain_len, what, error);
  free_certificates (chain, chain_len);

  return self;
}

static GrantClientKey *
client_key_new_from_data (const char  *data,
                          gsize        length,
                          const char  *password,
                          const char  *what,
                          GError     **error)
{
  gnutls_pkcs12_t p12 = NULL;
  gnutls_datum_t datum = { (guint8 *) data, length };
  gnutls_x509_privkey_t x509;

  if (find_bytes (data, length, "-----BEGIN ", 11) != NULL)
    return client_key_new_from_pem_data (data, length, password, what, error);

  if (gnutls_pkcs12_init (&p12) >= 0)
    {
      if (gnutls_pkcs12_import (p12, &datum, GNUTLS_X509_FMT_DER, 0) >= 0)
        {
          GrantClientKey *self = client_key_new_from_pkcs12 (p12, password, what, error);

          gnutls_pkcs12_deinit (p12);
          return self;
        }
      gnutls_pkcs12_deinit (p12);
    }

  /* A DER key: PKCS#8 (encrypted or not), PKCS#1 or SEC1. */
  x509 = import_x509_privkey ((const guint8 *) data, length, GNUTLS_X509_FMT_DER, FALSE,
                              password, what, error);
  if (x509 == NULL)
    return NULL;

  return client_key_new_from_x509 (x509, NULL, 0, what, error);
}

static void
grant_client_key_finalize (GObject *object)
{
  GrantClientKey *self = GRANT_CLIENT_KEY (object);

  /* gnutls_privkey_deinit() wipes the key it frees. */
  g_clear_pointer (&self->privkey, gnutls_privkey_deinit);
  g_free (self->n);
  g_free (self->e);
  g_free (self->x);
  g_free (self->y);
  g_free (self->thumbprint);
  g_clear_object (&self->certificate);
  g_free (self->x5t_s256);
  g_free (self->key_id);
  g_mutex_clear (&self->mutex);
  g_mutex_clear (&self->sign_mutex);

  G_OBJECT_CLASS (grant_client_key_parent_class)->finalize (object);
}

static void
grant_client_key_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  GrantClientKey *self = GRANT_CLIENT_KEY (object);

  switch (prop_id)
    {
    case PROP_ALGORITHM:
      g_value_set_static_string (value, grant_client_key_get_algorithm (self));
      break;

    case PROP_KEY_ID:
      g_value_take_string (value, grant_client_key_dup_key_id (self));
      break;

    case PROP_CERTIFICATE:
      g_value_set_object (value, self->certificate);
      break;

    case PROP_THUMBPRINT:
      g_value_set_string (value, self->thumbprint);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_client_key_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  GrantClientKey *self = GRANT_CLIENT_KEY (object);

  switch (prop_id)
    {
    case PROP_ALGORITHM:
      {
        g_autoptr(GError) error = NULL;

        /* A property cannot fail: say why, and keep the algorithm. */
        if (!grant_client_key_set_algorithm (self, g_value_get_string (value), &error))
          g_warning ("%s", error->message);
      }
      break;

    case PROP_KEY_ID:
      grant_client_key_set_key_id (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_client_key_class_init (GrantClientKeyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = grant_client_key_finalize;
  object_class->get_property = grant_client_key_get_property;
  object_class->set_property = grant_client_key_set_property;

  /**
   * GrantClientKey:algorithm:
   *
   * The JWS algorithm the key signs with: `RS256`, `PS256`, `ES256`,
   * `ES384`, `ES512` or `EdDSA`.
   *
   * It defaults to the one the key type gives: `RS256` for an RSA key,
   * the curve's for an elliptic curve key, `EdDSA` for an Ed25519 key.
   * Setting `NULL` goes back to that default. Setting one the key cannot
   * sign with leaves the algorithm as it was and logs a warning:
   * [method@Grant.ClientKey.set_algorithm] says why in a `GError` instead.
   */
  properties[PROP_ALGORITHM] =
    g_param_spec_string ("algorithm", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantClientKey:key-id:
   *
   * The key's identifier at the server, sent as the JWS `kid` header and
   * the JWK `kid` member; nothing is sent when it is `NULL`, the default.
   *
   * Some servers want the [property@Grant.ClientKey:thumbprint] here.
   */
  properties[PROP_KEY_ID] =
    g_param_spec_string ("key-id", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantClientKey:certificate:
   *
   * The certificate of the key, with the rest of its chain, when the key
   * came from a PKCS#12 file or a PEM file that also held them; else
   * `NULL`.
   *
   * The certificate holds no private key: to present it in a TLS handshake,
   * load it with `g_tls_certificate_new_from_file()` instead.
   */
  properties[PROP_CERTIFICATE] =
    g_param_spec_object ("certificate", NULL, NULL,
                         G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GrantClientKey:thumbprint:
   *
   * The RFC 7638 thumbprint of the public key: the SHA-256 digest of its
   * JWK's required members, base64url-encoded without padding.
   *
   * It names the key without revealing anything about it.
   */
  properties[PROP_THUMBPRINT] =
    g_param_spec_string ("thumbprint", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
grant_client_key_init (GrantClientKey *self)
{
  g_mutex_init (&self->mutex);
  g_mutex_init (&self->sign_mutex);
}

/**
 * grant_client_key_new_from_file:
 * @path: (type filename): the file holding the key
 * @password: (nullable): the password of an encrypted key or a PKCS#12
 *   file, or `NULL`
 *
 * Loads a private key from a file.
 *
 * The file may be:
 *
 * - PEM: an RSA key (`BEGIN RSA PRIVATE KEY`, PKCS#1), an elliptic curve
 *   key (`BEGIN EC PRIVATE KEY`, SEC1), any key in PKCS#8 (`BEGIN PRIVATE
 *   KEY`) or PKCS#8 encrypted with @password (`BEGIN ENCRYPTED PRIVATE
 *   KEY`); with the key's certificate and its chain in the same file if you
 *   like, in any order, which gives [property@Grant.ClientKey:certificate];
 * - DER: the same keys, binary;
 * - PKCS#12 (`.p12`, `.pfx`), protected by @password: the key and its
 *   certificate chain.
 *
 * A file that is none of these, a wrong or missing password, or a key that
 * signs no JWS algorithm is a `GRANT_ERROR_INVALID_CONFIGURATION` whose
 * message names the file and what is wrong; it never holds the password
 * or anything of the key. The contents read are wiped from memory.
 *
 * Returns: (transfer full): the key, or `NULL` with @error set
 */
GrantClientKey *
grant_client_key_new_from_file (const char  *path,
                                const char  *password,
                                GError     **error)
{
  g_autofree char *display = NULL;
  g_autofree char *what = NULL;
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;
  gsize length = 0;
  GrantClientKey *self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  what = g_strdup_printf ("file %s", display);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      /* GLib's message names the file already. */
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "Cannot use the client key: %s", local_error->message);
      return NULL;
    }

  if (length == 0)
    set_error (error, what, "it is empty");
  else if (length > MAX_KEY_FILE_SIZE)
    set_error (error, what, "it is larger than 1 MiB, which no key file is");
  else
    self = client_key_new_from_data (contents, length, password, what, error);

  grant_memory_wipe (contents, length);
  g_free (contents);

  return self;
}

/**
 * grant_client_key_new_from_pem:
 * @pem: PEM text holding a private key, and perhaps its certificate chain
 * @length: the length of @pem, or -1 if it is nul-terminated
 * @password: (nullable): the password of an encrypted key, or `NULL`
 *
 * Loads a private key from PEM text, as [ctor@Grant.ClientKey.new_from_file]
 * does from a PEM file: PKCS#1, SEC1, PKCS#8 or encrypted PKCS#8, with
 * certificates beside it if you like.
 *
 * libgrant does not copy @pem beyond the call: wiping it afterwards is the
 * caller's business.
 *
 * Returns: (transfer full): the key, or `NULL` with @error set
 */
GrantClientKey *
grant_client_key_new_from_pem (const char  *pem,
                               gssize       length,
                               const char  *password,
                               GError     **error)
{
  g_return_val_if_fail (pem != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = strlen (pem);

  return client_key_new_from_pem_data (pem, length, password, "in the PEM data", error);
}

/* A PKCS#11 URI without its query: "pin-value" and "pin-source" live
 * there (RFC 7512, section 2.3). */
static char *
describe_pkcs11_uri (const char *uri)
{
  const char *query = strchr (uri, '?');
  g_autofree char *path = query != NULL ? g_strndup (uri, query - uri) : g_strdup (uri);

  return g_strdup_printf ("at %s", path);
}

/**
 * grant_client_key_new_from_pkcs11:
 * @uri: a PKCS#11 URI (RFC 7512) naming a private key
 *
 * Uses a private key held in a hardware security module, a smart card or a
 * software token, through the PKCS#11 modules that p11-kit knows.
 *
 * The URI names the key, such as
 * `pkcs11:token=client;object=signing-key;type=private`. A token that
 * needs a PIN needs it in the URI, as `pin-value` or `pin-source` (a file
 * holding it): `pkcs11:token=client;object=signing-key;type=private?pin-source=/run/secrets/pin`.
 * Error messages never show the query part of the URI.
 *
 * The key never leaves the token: each signature is made there. The
 * [property@Grant.ClientKey:certificate] of a PKCS#11 key is `NULL`.
 *
 * Returns: (transfer full): the key, or `NULL` with @error set
 */
GrantClientKey *
grant_client_key_new_from_pkcs11 (const char  *uri,
                                  GError     **error)
{
  g_autofree char *what = NULL;
  gnutls_privkey_t privkey = NULL;
  int ret;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  what = describe_pkcs11_uri (uri);

  if (g_ascii_strncasecmp (uri, "pkcs11:", 7) != 0)
    {
      set_error (error, what, "it is not a PKCS#11 URI");
      return NULL;
    }

  ret = gnutls_privkey_init (&privkey);
  if (ret >= 0)
    ret = gnutls_privkey_import_url (privkey, uri, 0);
  if (ret < 0)
    {
      g_clear_pointer (&privkey, gnutls_privkey_deinit);
      if (ret == GNUTLS_E_PKCS11_PIN_ERROR || ret == GNUTLS_E_PKCS11_ATTRIBUTE_ERROR)
        set_error (error, what, "the token needs a PIN (pin-value or pin-source in the URI), or refused the one given");
      else if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        set_error (error, what, "no token holds such a private key");
      else
        set_error (error, what, "%s", gnutls_strerror (ret));
      return NULL;
    }

  return client_key_new_take (privkey, NULL, 0, what, error);
}

/**
 * grant_client_key_generate:
 * @algorithm: the JWS algorithm the key is for: `RS256`, `PS256`, `ES256`,
 *   `ES384`, `ES512` or `EdDSA`
 *
 * Generates a new key, held in memory only, that signs with @algorithm:
 * an RSA key of 2048 bits for `RS256` and `PS256`, an elliptic curve key on
 * the algorithm's curve for the ES algorithms, an Ed25519 key for `EdDSA`.
 *
 * An ephemeral key suits a client that registers its public key at each
 * start, or tests. An unknown algorithm is a
 * `GRANT_ERROR_INVALID_CONFIGURATION`.
 *
 * Returns: (transfer full): the key, or `NULL` with @error set
 */
GrantClientKey *
grant_client_key_generate (const char  *algorithm,
                           GError     **error)
{
  const JwsAlgorithm *alg;
  gnutls_privkey_t privkey = NULL;
  GrantClientKey *self;
  unsigned int bits;
  int ret;

  g_return_val_if_fail (algorithm != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  alg = lookup_algorithm (algorithm);
  if (alg == NULL)
    {
      g_autofree char *shown = grant_sanitize_text (algorithm, 32);

      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "Cannot generate a key for the unknown JWS algorithm “%s”", shown);
      return NULL;
    }

  bits = alg->pk == GNUTLS_PK_RSA ? MIN_RSA_BITS : GNUTLS_CURVE_TO_BITS (alg->curve);
  ret = gnutls_privkey_init (&privkey);
  if (ret >= 0)
    ret = gnutls_privkey_generate2 (privkey, alg->pk, bits, 0, NULL, 0);
  if (ret < 0)
    {
      g_clear_pointer (&privkey, gnutls_privkey_deinit);
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "Cannot generate a key for %s: %s", alg->name, gnutls_strerror (ret));
      return NULL;
    }

  self = client_key_new_take (privkey, NULL, 0, "generated", error);
  if (self != NULL)
    self->algorithm = alg->name;

  return self;
}

/**
 * grant_client_key_get_algorithm:
 * @self: a client key
 *
 * Gets the JWS algorithm the key signs with.
 *
 * The string is static: it stays valid whatever the algorithm becomes.
 *
 * Returns: the algorithm, such as `RS256`
 */
const char *
grant_client_key_get_algorithm (GrantClientKey *self)
{
  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);

  return g_atomic_pointer_get (&self->algorithm);
}

/**
 * grant_client_key_supports_algorithm:
 * @self: a client key
 * @algorithm: a JWS algorithm name
 *
 * Tells whether the key can sign with @algorithm, as when choosing among
 * the algorithms a server accepts.
 *
 * Returns: `TRUE` if [method@Grant.ClientKey.set_algorithm] would accept it
 */
gboolean
grant_client_key_supports_algorithm (GrantClientKey *self,
                                     const char     *algorithm)
{
  const JwsAlgorithm *alg;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), FALSE);
  g_return_val_if_fail (algorithm != NULL, FALSE);

  alg = lookup_algorithm (algorithm);

  return self->privkey != NULL && alg != NULL && key_can_do (self, alg);
}

static const JwsAlgorithm *
check_algorithm (GrantClientKey  *self,
                 const char      *algorithm,
                 GError         **error)
{
  const JwsAlgorithm *alg = lookup_algorithm (algorithm);
  g_autofree char *shown = NULL;

  if (alg != NULL && key_can_do (self, alg))
    return alg;

  shown = grant_sanitize_text (algorithm, 32);
  if (alg == NULL)
    g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                 "The JWS algorithm “%s” is unknown: the client key signs with %s",
                 shown, default_algorithm (self)->name);
  else
    g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                 "The client key (%s) cannot sign with %s", key_type_name (self), alg->name);

  return NULL;
}

/**
 * grant_client_key_set_algorithm:
 * @self: a client key
 * @algorithm: (nullable): the JWS algorithm, or `NULL` for the key type's
 *   default
 *
 * Sets the JWS algorithm the key signs with, if the key can: `RS256` or
 * `PS256` for an RSA key, the curve's ES algorithm for an elliptic curve
 * key (`ES256` only on P-256), `EdDSA` for an Ed25519 key.
 *
 * Any other algorithm is refused with `GRANT_ERROR_INVALID_CONFIGURATION`,
 * and the key keeps the one it had. This may be called from any thread.
 *
 * Returns: `TRUE` if the key now signs with @algorithm
 */
gboolean
grant_client_key_set_algorithm (GrantClientKey  *self,
                                const char      *algorithm,
                                GError         **error)
{
  const JwsAlgorithm *alg;
  const char *old;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), FALSE);
  g_return_val_if_fail (self->privkey != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (algorithm == NULL)
    alg = default_algorithm (self);
  else
    alg = check_algorithm (self, algorithm, error);
  if (alg == NULL)
    return FALSE;

  old = g_atomic_pointer_exchange (&self->algorithm, alg->name);
  if (old != alg->name)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALGORITHM]);

  return TRUE;
}

/**
 * grant_client_key_dup_key_id:
 * @self: a client key
 *
 * Gets a copy of the key's identifier, the JWS `kid`: a copy, since
 * another thread may change it at any time.
 *
 * Returns: (transfer full) (nullable): the key id, or `NULL`
 */
char *
grant_client_key_dup_key_id (GrantClientKey *self)
{
  char *key_id;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);

  g_mutex_lock (&self->mutex);
  key_id = g_strdup (self->key_id);
  g_mutex_unlock (&self->mutex);

  return key_id;
}

/**
 * grant_client_key_set_key_id:
 * @self: a client key
 * @key_id: (nullable): the key's identifier at the server, or `NULL` for
 *   none
 *
 * Sets the key's identifier, sent as the JWS `kid` header. This may be
 * called from any thread.
 */
void
grant_client_key_set_key_id (GrantClientKey *self,
                             const char     *key_id)
{
  gboolean changed;

  g_return_if_fail (GRANT_IS_CLIENT_KEY (self));

  if (key_id != NULL && *key_id == '\0')
    key_id = NULL;

  g_mutex_lock (&self->mutex);
  changed = grant_set_str (&self->key_id, key_id);
  g_mutex_unlock (&self->mutex);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEY_ID]);
}

/**
 * grant_client_key_get_certificate:
 * @self: a client key
 *
 * Gets the key's certificate, with its chain, when the key came with one.
 *
 * Returns: (transfer none) (nullable): the certificate, or `NULL`
 */
GTlsCertificate *
grant_client_key_get_certificate (GrantClientKey *self)
{
  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);

  return self->certificate;
}

/**
 * grant_client_key_get_thumbprint:
 * @self: a client key
 *
 * Gets the RFC 7638 thumbprint of the key: base64url, without padding, of
 * the SHA-256 digest of its public JWK's required members.
 *
 * Returns: the thumbprint
 */
const char *
grant_client_key_get_thumbprint (GrantClientKey *self)
{
  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);

  return self->thumbprint;
}

/**
 * grant_client_key_dup_public_jwk:
 * @self: a client key
 *
 * Gets the public key as a JSON Web Key (RFC 7517), to register with a
 * server, as in `{"keys": [ ... ]}` for a JWKS.
 *
 * It holds `kty` and the public members of the key type (`n` and `e` for
 * RSA; `crv`, `x` and `y` for EC; `crv` and `x` for `OKP`, Ed25519), then
 * `"use": "sig"`, `alg` (the current [property@Grant.ClientKey:algorithm])
 * and `kid` when [property@Grant.ClientKey:key-id] is set. It never holds
 * anything of the private key.
 *
 * Returns: (transfer full): the JWK, as a JSON object
 */
char *
grant_client_key_dup_public_jwk (GrantClientKey *self)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *key_id = NULL;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);
  g_return_val_if_fail (self->privkey != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "kty");
  json_builder_add_string_value (builder, self->kty);
  if (self->n != NULL)
    {
      json_builder_set_member_name (builder, "n");
      json_builder_add_string_value (builder, self->n);
      json_builder_set_member_name (builder, "e");
      json_builder_add_string_value (builder, self->e);
    }
  else
    {
      json_builder_set_member_name (builder, "crv");
      json_builder_add_string_value (builder, self->crv);
      json_builder_set_member_name (builder, "x");
      json_builder_add_string_value (builder, self->x);
      if (self->y != NULL)
        {
          json_builder_set_member_name (builder, "y");
          json_builder_add_string_value (builder, self->y);
        }
    }
  json_builder_set_member_name (builder, "use");
  json_builder_add_string_value (builder, "sig");
  json_builder_set_member_name (builder, "alg");
  json_builder_add_string_value (builder, grant_client_key_get_algorithm (self));
  key_id = grant_client_key_dup_key_id (self);
  if (key_id != NULL)
    {
      json_builder_set_member_name (builder, "kid");
      json_builder_add_string_value (builder, key_id);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

GBytes *
grant_client_key_sign (GrantClientKey  *self,
                       const char      *algorithm,
                       const guint8    *data,
                       gsize            length,
                       GError         **error)
{
  const JwsAlgorithm *alg;
  gnutls_sign_algorithm_t sign;
  gnutls_datum_t input = { (guint8 *) data, length };
  gnutls_datum_t sig = { NULL, 0 };
  GBytes *bytes;
  int ret;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);
  g_return_val_if_fail (self->privkey != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  alg = check_algorithm (self, algorithm != NULL ? algorithm : grant_client_key_get_algorithm (self),
                         error);
  if (alg == NULL)
    return NULL;

  sign = alg->sign;
  if (self->pk == GNUTLS_PK_RSA_PSS)
    sign = GNUTLS_SIGN_RSA_PSS_SHA256;

  g_mutex_lock (&self->sign_mutex);
  ret = gnutls_privkey_sign_data2 (self->privkey, sign, 0, &input, &sig);
  g_mutex_unlock (&self->sign_mutex);
  if (ret < 0)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "Cannot sign with the client key (%s): %s", alg->name, gnutls_strerror (ret));
      return NULL;
    }

  if (alg->coordinate_size == 0)
    {
      bytes = g_bytes_new (sig.data, sig.size);
    }
  else
    {
      /* ECDSA: GnuTLS gives DER (a SEQUENCE of two INTEGERs); JWS wants
       * r and s side by side, each the size of the curve (RFC 7518,
       * section 3.4). */
      gnutls_datum_t r = { NULL, 0 };
      gnutls_datum_t s = { NULL, 0 };
      gsize size = alg->coordinate_size;
      guint8 *raw;

      ret = gnutls_decode_rs_value (&sig, &r, &s);
      if (ret < 0 || r.size > size + 1 || s.size > size + 1 ||
          (r.size == size + 1 && r.data[0] != 0) ||
          (s.size == size + 1 && s.data[0] != 0))
        {
          gnutls_datum_clear (&r);
          gnutls_datum_clear (&s);
          gnutls_datum_clear (&sig);
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "Cannot sign with the client key (%s): the signature does not decode",
                       alg->name);
          return NULL;
        }

      raw = g_malloc0 (2 * size);
      if (r.size > size)
        memcpy (raw, r.data + 1, size);
      else
        memcpy (raw + (size - r.size), r.data, r.size);
      if (s.size > size)
        memcpy (raw + size, s.data + 1, size);
      else
        memcpy (raw + size + (size - s.size), s.data, s.size);
      bytes = g_bytes_new_take (raw, 2 * size);
      gnutls_datum_clear (&r);
      gnutls_datum_clear (&s);
    }

  gnutls_datum_clear (&sig);

  return bytes;
}

char *
grant_client_key_dup_x5t_s256 (GrantClientKey *self)
{
  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);

  return g_strdup (self->x5t_s256);
}

guint8 *
grant_private_key_canonical_der (const guint8 *der,
                                 gsize         length,
                                 gsize        *out_length)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_datum_t in = { (guint8 *) der, length };
  gnutls_datum_t out = { NULL, 0 };
  guint8 *bytes = NULL;

  if (gnutls_x509_privkey_init (&x509) < 0)
    return NULL;
  if (gnutls_x509_privkey_import2 (x509, &in, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) >= 0 &&
      gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &out) >= 0)
    {
      bytes = g_memdup2 (out.data, out.size);
      *out_length = out.size;
      grant_memory_wipe (out.data, out.size);
      gnutls_free (out.data);
    }
  gnutls_x509_privkey_deinit (x509);

  return bytes;
}

guint8 *
grant_client_key_dup_private_der (GrantClientKey *self,
                                  gsize          *length)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_datum_t der = { NULL, 0 };
  guint8 *bytes = NULL;
  int ret;

  g_return_val_if_fail (GRANT_IS_CLIENT_KEY (self), NULL);

  if (self->privkey == NULL)
    return NULL;

  g_mutex_lock (&self->mutex);
  ret = gnutls_privkey_export_x509 (self->privkey, &x509);
  g_mutex_unlock (&self->mutex);
  if (ret < 0)
    return NULL;

  /* Unencrypted PKCS#8, as GnuTLS writes it: the same bytes for the same
   * key, whatever file it came from. */
  if (gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &der) >= 0)
    {
      bytes = g_memdup2 (der.data, der.size);
      *length = der.size;
      grant_memory_wipe (der.data, der.size);
      gnutls_free (der.data);
    }
  gnutls_x509_privkey_deinit (x509);

  return bytes;
}
