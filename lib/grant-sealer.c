/* grant-sealer.c: the key that seals a client's stored tokens
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "grant-client-key-private.h"
#include "grant-sealer-private.h"
#include "grant-utils-private.h"

/* The derivation, all SHA-256:
 *
 *   context = "libgrant sealing key 1" || len || token URL || len || client id
 *   S       = PBKDF2 (client secret, salt = context, 600000 iterations)
 *   IKM     = ['s' || len || S] || ['k' || len || client key] || ['c' || len || certificate key]
 *
 * with each private key as unencrypted PKCS#8 DER, as GnuTLS writes it
 * (the same bytes on every host, whatever file or TLS backend it came
 * from).
 *   key     = HKDF-Expand (HKDF-Extract (salt = context, IKM), "seal", 32)
 *
 * A secret goes through PBKDF2 because a weak one would otherwise make
 * every stored token an offline guessing oracle; private keys carry enough
 * entropy for HKDF alone. Keys that never leave a PKCS#11 token give
 * nothing, so such a client needs an application key. */

struct _GrantSealer
{
  gatomicrefcount ref_count;

  /* What it was made from, for grant_sealer_matches(). */
  char *token_url;
  char *client_id;
  char *client_secret;
  GrantClientKey *client_key;
  GTlsCertificate *certificate;

  GMutex lock;
  gboolean derived;
  GBytes *key;       /* NULL when there was nothing to derive it from */
};

GrantSealer *
grant_sealer_new (const char      *token_url,
                  const char      *client_id,
                  const char      *client_secret,
                  GrantClientKey  *client_key,
                  GTlsCertificate *certificate)
{
  GrantSealer *self = g_new0 (GrantSealer, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->token_url = g_strdup (token_url);
  self->client_id = g_strdup (client_id);
  self->client_secret = client_secret != NULL && *client_secret != '\0' ? g_strdup (client_secret) : NULL;
  self->client_key = client_key != NULL ? g_object_ref (client_key) : NULL;
  self->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;

  return self;
}

GrantSealer *
grant_sealer_ref (GrantSealer *self)
{
  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

static void
wipe_and_free (gpointer key)
{
  grant_memory_wipe (key, GRANT_SEALING_KEY_SIZE);
  g_free (key);
}

void
grant_sealer_unref (GrantSealer *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->token_url);
  g_free (self->client_id);
  grant_secret_free (self->client_secret);
  g_clear_object (&self->client_key);
  g_clear_object (&self->certificate);
  g_clear_pointer (&self->key, g_bytes_unref);
  g_mutex_clear (&self->lock);
  g_free (self);
}

gboolean
grant_sealer_matches (GrantSealer     *self,
                      const char      *token_url,
                      const char      *client_id,
                      const char      *client_secret,
                      GrantClientKey  *client_key,
                      GTlsCertificate *certificate)
{
  if (client_secret != NULL && *client_secret == '\0')
    client_secret = NULL;

  return g_strcmp0 (self->token_url, token_url) == 0 &&
         g_strcmp0 (self->client_id, client_id) == 0 &&
         g_strcmp0 (self->client_secret, client_secret) == 0 &&
         self->client_key == client_key &&
         self->certificate == certificate;
}

/* A length-prefixed field; with a tag (not 0) first, naming what it is. */
static void
append_field (GByteArray   *array,
              guint8        tag,
              const guint8 *data,
              gsize         length)
{
  guint8 prefix[4] = { length >> 24, length >> 16, length >> 8, length };

  if (tag != 0)
    g_byte_array_append (array, &tag, 1);
  g_byte_array_append (array, prefix, sizeof prefix);
  g_byte_array_append (array, data, length);
}

static void
append_string (GByteArray *array,
               const char *value)
{
  value = value != NULL ? value : "";
  append_field (array, 0, (const guint8 *) value, strlen (value));
}

static void
wipe_array (GByteArray *array)
{
  grant_memory_wipe (array->data, array->len);
  g_byte_array_unref (array);
}

static GBytes *
derive (GrantSealer *self)
{
  g_autoptr(GByteArray) context = g_byte_array_new ();
  GByteArray *ikm = g_byte_array_new ();
  gboolean have_material = FALSE;
  guint8 prk[32];
  guint8 *key;
  gnutls_datum_t datum, salt, info;
  int ret = 0;

  g_byte_array_append (context, (const guint8 *) "libgrant sealing key 1", 22);
  append_string (context, self->token_url);
  append_string (context, self->client_id);
  salt = (gnutls_datum_t) { context->data, context->len };

  if (self->client_secret != NULL)
    {
      guint8 stretched[32];

      datum = (gnutls_datum_t) { (guint8 *) self->client_secret, strlen (self->client_secret) };
      ret = gnutls_pbkdf2 (GNUTLS_MAC_SHA256, &datum, &salt, GRANT_SEALER_SECRET_ITERATIONS,
                           stretched, sizeof stretched);
      if (ret >= 0)
        {
          append_field (ikm, 's', stretched, sizeof stretched);
          have_material = TRUE;
        }
      grant_memory_wipe (stretched, sizeof stretched);
    }

  if (ret >= 0 && self->client_key != NULL)
    {
      gsize length = 0;
      g_autofree guint8 *der = grant_client_key_dup_private_der (self->client_key, &length);

      if (der != NULL)
        {
          append_field (ikm, 'k', der, length);
          grant_memory_wipe (der, length);
          have_material = TRUE;
        }
    }

  if (ret >= 0 && self->certificate != NULL)
    {
      g_autoptr(GByteArray) der = NULL;

      /* NULL for a key in a PKCS#11 token. */
      g_object_get (self->certificate, "private-key", &der, NULL);
      if (der != NULL)
        {
          gsize length = 0;
          g_autofree guint8 *canonical = grant_private_key_canonical_der (der->data, der->len, &length);

          grant_memory_wipe (der->data, der->len);
          if (canonical != NULL)
            {
              append_field (ikm, 'c', canonical, length);
              grant_memory_wipe (canonical, length);
              have_material = TRUE;
            }
        }
    }

  if (ret < 0 || !have_material)
    {
      if (ret < 0)
        g_warning ("Cannot derive the key that seals stored tokens: %s", gnutls_strerror (ret));
      wipe_array (ikm);
      return NULL;
    }

  datum = (gnutls_datum_t) { ikm->data, ikm->len };
  info = (gnutls_datum_t) { (guint8 *) "seal", 4 };
  key = g_malloc (GRANT_SEALING_KEY_SIZE);
  ret = gnutls_hkdf_extract (GNUTLS_MAC_SHA256, &datum, &salt, prk);
  if (ret >= 0)
    {
      datum = (gnutls_datum_t) { prk, sizeof prk };
      ret = gnutls_hkdf_expand (GNUTLS_MAC_SHA256, &datum, &info, key, GRANT_SEALING_KEY_SIZE);
    }
  grant_memory_wipe (prk, sizeof prk);
  wipe_array (ikm);
  if (ret < 0)
    {
      g_warning ("Cannot derive the key that seals stored tokens: %s", gnutls_strerror (ret));
      grant_memory_wipe (key, GRANT_SEALING_KEY_SIZE);
      g_free (key);
      return NULL;
    }

  return g_bytes_new_with_free_func (key, GRANT_SEALING_KEY_SIZE, wipe_and_free, key);
}

GBytes *
grant_sealer_dup_key (GrantSealer *self)
{
  GBytes *key;

  /* Held while deriving: a second caller waits rather than derives too. */
  g_mutex_lock (&self->lock);
  if (!self->derived)
    {
      self->key = derive (self);
      self->derived = TRUE;
    }
  key = self->key != NULL ? g_bytes_ref (self->key) : NULL;
  g_mutex_unlock (&self->lock);

  return key;
}
