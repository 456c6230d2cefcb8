/* grant-utils.c: small helpers shared inside libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "grant-error.h"
#include "grant-utils-private.h"

/* Overwrites memory that held a secret, in a way the compiler keeps. */
void
grant_memory_wipe (gpointer data,
                   gsize    length)
{
#ifdef HAVE_EXPLICIT_BZERO
  explicit_bzero (data, length);
#else
  volatile char *p = data;

  while (length--)
    *p++ = '\0';
#endif
}

/* Overwrites a string holding a secret so that it does not linger in freed
 * memory. */
void
grant_secret_wipe (char *str)
{
  if (str != NULL)
    grant_memory_wipe (str, strlen (str));
}

void
grant_secret_free (char *str)
{
  grant_secret_wipe (str);
  g_free (str);
}

/* g_set_str() is GLib 2.76; Debian 12 has 2.74. Returns TRUE when the value
 * changed. */
gboolean
grant_set_str (char       **str_pointer,
               const char  *new_str)
{
  char *copy;

  if (*str_pointer == new_str || g_strcmp0 (*str_pointer, new_str) == 0)
    return FALSE;

  copy = g_strdup (new_str);
  g_free (*str_pointer);
  *str_pointer = copy;

  return TRUE;
}

/* Like grant_set_str(), but wipes the old value. */
gboolean
grant_set_secret (char       **str_pointer,
                  const char  *new_str)
{
  char *copy;

  if (*str_pointer == new_str || g_strcmp0 (*str_pointer, new_str) == 0)
    return FALSE;

  copy = g_strdup (new_str);
  grant_secret_free (*str_pointer);
  *str_pointer = copy;

  return TRUE;
}

/* One value encoded as application/x-www-form-urlencoded (the WHATWG URL
 * standard, which RFC 6749 appendix B refers to): unreserved bytes stay,
 * a space becomes '+', everything else is percent-encoded. */
char *
grant_form_encode_value (const char *value)
{
  GString *out;
  const guchar *p;

  g_return_val_if_fail (value != NULL, NULL);

  out = g_string_sized_new (strlen (value) * 3 + 1);
  for (p = (const guchar *) value; *p; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '-' || *p == '.' || *p == '_' || *p == '*')
        g_string_append_c (out, *p);
      else if (*p == ' ')
        g_string_append_c (out, '+');
      else
        g_string_append_printf (out, "%%%02X", *p);
    }

  return g_string_free (out, FALSE);
}

/* Removes every occurrence of @secret, plain, form-encoded or
 * percent-encoded (in either case of hexadecimal digits), from @text: a
 * server can echo anything back in an error description. One pass. */
char *
grant_redact (const char *text,
              const char *secret)
{
  g_autofree char *encoded = NULL;
  g_autofree char *escaped = NULL;
  const char *needles[3];
  GString *out;
  const char *p;

  if (text == NULL)
    return NULL;

  if (secret == NULL || *secret == '\0')
    return g_strdup (text);

  encoded = grant_form_encode_value (secret);
  escaped = g_uri_escape_string (secret, NULL, FALSE);
  needles[0] = secret;
  needles[1] = encoded;
  needles[2] = escaped;

  out = g_string_sized_new (strlen (text));
  for (p = text; *p; )
    {
      gsize matched = 0;

      for (guint i = 0; i < G_N_ELEMENTS (needles) && matched == 0; i++)
        {
          gsize n = strlen (needles[i]);

          /* The secret itself exactly; its encodings whatever the case of
           * their %XX digits. */
          if (i == 0 ? strncmp (p, needles[i], n) == 0 : g_ascii_strncasecmp (p, needles[i], n) == 0)
            matched = n;
        }

      if (matched > 0)
        {
          g_string_append (out, "[REDACTED]");
          p += matched;
        }
      else
        g_string_append_c (out, *p++);
    }

  return g_string_free (out, FALSE);
}

static gboolean
is_disguising (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;

    default:
      return FALSE;
    }
}

/* Makes server-provided text safe to put into an error message or a log:
 * valid UTF-8, no control characters, at most @max_chars characters. */
char *
grant_sanitize_text (const char *text,
                     gsize       max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;
  const char *p;
  gsize n = 0;

  if (text == NULL)
    return NULL;

  valid = g_utf8_make_valid (text, -1);
  out = g_string_new (NULL);
  for (p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (n == max_chars)
        {
          g_string_append (out, "…");
          break;
        }

      /* Controls, and line separators and format characters (such as
       * bidirectional overrides) that could disguise a message. */
      if (is_disguising (c))
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
      n++;
    }

  return g_string_free (out, FALSE);
}

/* A URL for messages: scheme, host, port and path, without user info, query
 * or fragment, which may hold credentials. */
char *
grant_describe_uri (GUri *uri)
{
  /* As @uri holds its parts: libsoup's keep the path encoded and spell out
   * the default port, which normalizing leaves out again. Without these
   * flags, "%20" in a path would come out as "%2520". */
  return g_uri_join (g_uri_get_flags (uri) & (G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_SCHEME_NORMALIZE),
                     g_uri_get_scheme (uri), NULL,
                     g_uri_get_host (uri), g_uri_get_port (uri),
                     g_uri_get_path (uri), NULL, NULL);
}

/* The same, for a URL not yet parsed. */
char *
grant_describe_url (const char *url)
{
  g_autoptr(GUri) uri = NULL;

  if (url == NULL)
    return g_strdup ("(none)");

  /* Parsed as libsoup parses a request's URL, so that both describe a URL
   * alike. */
  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_SCHEME_NORMALIZE, NULL);
  if (uri == NULL)
    return g_strdup ("(an invalid URL)");

  return grant_describe_uri (uri);
}

/* Whether a debug message of libgrant's would be shown (G_MESSAGES_DEBUG),
 * so that messages whose arguments cost something to build are only
 * built then, as g_log_writer_default_would_drop() suggests. */
gboolean
grant_debug_enabled (void)
{
  return !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
}

gboolean
grant_host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *unbracketed = NULL;
  gsize len;

  if (host == NULL)
    return FALSE;

  if (g_ascii_strcasecmp (host, "localhost") == 0 ||
      g_ascii_strcasecmp (host, "localhost.") == 0)
    return TRUE;

  len = strlen (host);
  if (len > 2 && host[0] == '[' && host[len - 1] == ']')
    host = unbracketed = g_strndup (host + 1, len - 2);

  address = g_inet_address_new_from_string (host);

  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* Whether a request to @url can go anywhere: the network monitor says the
 * network is @available, or the host is a loopback address, which needs no
 * network (unless the monitor @covers_loopback too, as a test's does). */
gboolean
grant_network_reaches (gboolean    available,
                       gboolean    covers_loopback,
                       const char *url)
{
  g_autoptr(GUri) uri = NULL;

  if (available)
    return TRUE;

  if (covers_loopback || url == NULL)
    return FALSE;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  return uri != NULL && grant_host_is_loopback (g_uri_get_host (uri));
}

/* Checks that @url can be used for a request carrying credentials: an
 * absolute https:// URL, or http:// to a loopback host. */
gboolean
grant_check_url (const char  *url,
                 gboolean     allow_insecure_http,
                 GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *scheme;

  for (const char *p = url; *p; p++)
    {
      if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
        {
          g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                               "The token URL has a space, a control character or a "
                               "character outside ASCII; percent-encode it");
          return FALSE;
        }
    }

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The token URL is not a valid absolute URL: %s",
                   local_error->message);
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "https") != 0 &&
      g_ascii_strcasecmp (scheme, "http") != 0)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The token URL must use https://, not %s://", scheme);
      return FALSE;
    }

  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                           "The token URL has no host");
      return FALSE;
    }

  if (g_ascii_strcasecmp (scheme, "http") == 0 &&
      !allow_insecure_http &&
      !grant_host_is_loopback (g_uri_get_host (uri)))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INSECURE_URL,
                   "Refusing to send credentials over plain HTTP to %s: use "
                   "https://, plain http:// is only allowed for loopback "
                   "addresses",
                   g_uri_get_host (uri));
      return FALSE;
    }

  return TRUE;
}

gint64
grant_date_time_to_usec (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

/* g_date_time_new_from_unix_utc_usec() is GLib 2.80. */
GDateTime *
grant_date_time_new_from_usec (gint64 usec)
{
  g_autoptr(GDateTime) seconds = NULL;
  gint64 whole = usec / G_USEC_PER_SEC;
  gint64 rest = usec % G_USEC_PER_SEC;

  if (rest < 0)
    {
      whole--;
      rest += G_USEC_PER_SEC;
    }

  seconds = g_date_time_new_from_unix_utc (whole);
  if (seconds == NULL)
    return NULL;

  return g_date_time_add (seconds, rest);
}
