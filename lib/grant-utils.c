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
  if (data == NULL || length == 0)
    return;

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
        {
          /* Not g_string_append_printf (), whose buffer is freed unwiped. */
          g_string_append_c (out, '%');
          g_string_append_c (out, "0123456789ABCDEF"[*p >> 4]);
          g_string_append_c (out, "0123456789ABCDEF"[*p & 0xf]);
        }
    }

  return g_string_free (out, FALSE);
}

/* The byte that a backslash and @c stand for in a JSON string; 0 for
 * none. */
static guchar
json_unescape (char c)
{
  switch (c)
    {
    case '"':
    case '\\':
    case '/':
      return c;
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return 0;
    }
}

/* The value of the @n hexadecimal digits at @text, either case; -1 when
 * they are not. */
static int
read_hex (const char *text,
          guint       n)
{
  int value = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        return -1;
      value = value * 16 + g_ascii_xdigit_value (text[i]);
    }

  return value;
}

/* The lengths of the ways @text starts by spelling the byte @c: as itself;
 * percent-encoded once or twice, in either case; '+' for a space, as forms
 * have it (or "%2B", that percent-encoded); or escaped as in a JSON
 * string. At most three apply at once (a '%' as itself, "%25" and
 * "%2525"). */
static guint
spellings_of (const char *text,
              guchar      c,
              gsize       lengths[3])
{
  guint n = 0;

  if ((guchar) text[0] == c)
    lengths[n++] = 1;

  switch (text[0])
    {
    case '%':
      /* "%2B" is also a form's '+' for a space, percent-encoded again. */
      if (read_hex (text + 1, 2) == c || (c == ' ' && read_hex (text + 1, 2) == '+'))
        lengths[n++] = 3;
      if (text[1] == '2' && text[2] == '5' && read_hex (text + 3, 2) == c)
        lengths[n++] = 5;
      break;

    case '+':
      if (c == ' ')
        lengths[n++] = 1;
      break;

    case '\\':
      if (text[1] == 'u')
        {
          if (c < 0x80 && read_hex (text + 2, 4) == c)
            lengths[n++] = 6;
        }
      else if (text[1] != '\0' && json_unescape (text[1]) == c)
        lengths[n++] = 2;
      break;

    default:
      break;
    }

  return n;
}

static void
add_offset (GArray *offsets,
            gsize   offset)
{
  for (guint i = 0; i < offsets->len; i++)
    if (g_array_index (offsets, gsize, i) == offset)
      return;

  g_array_append_val (offsets, offset);
}

/* The length of the longest way the start of @text spells @needle, each of
 * its bytes in any of the ways spellings_of() knows; 0 when it does not.
 * The offsets each prefix of @needle can end at are followed together, so
 * that a '%' that is itself or the start of "%25" costs no backtracking.
 * @reach and @next are scratch arrays of gsize. */
static gsize
match_spelled (const char *text,
               const char *needle,
               GArray     *reach,
               GArray     *next)
{
  gsize longest = 0;

  g_array_set_size (reach, 0);
  add_offset (reach, 0);

  for (const guchar *c = (const guchar *) needle; *c; c++)
    {
      GArray *swap;

      g_array_set_size (next, 0);
      for (guint i = 0; i < reach->len; i++)
        {
          gsize offset = g_array_index (reach, gsize, i);
          gsize lengths[3];
          guint n = spellings_of (text + offset, *c, lengths);

          for (guint k = 0; k < n; k++)
            add_offset (next, offset + lengths[k]);
        }

      if (next->len == 0)
        return 0;

      swap = reach;
      reach = next;
      next = swap;
    }

  for (guint i = 0; i < reach->len; i++)
    longest = MAX (longest, g_array_index (reach, gsize, i));

  return longest;
}

/* Base64 of @data in the standard alphabet and the URL-safe one (RFC 4648
 * sections 4 and 5), each with and without padding. */
static void
add_base64_needles (GPtrArray  *needles,
                    const char *data)
{
  g_autoptr(GrantSecret) standard = g_base64_encode ((const guchar *) data, strlen (data));
  g_autoptr(GrantSecret) url_safe = g_strdup (standard);
  char *padding;

  g_strdelimit (url_safe, "+", '-');
  g_strdelimit (url_safe, "/", '_');

  g_ptr_array_add (needles, g_strdup (standard));
  g_ptr_array_add (needles, g_strdup (url_safe));

  padding = strchr (standard, '=');
  if (padding != NULL)
    {
      gsize unpadded = padding - standard;

      g_ptr_array_add (needles, g_strndup (standard, unpadded));
      g_ptr_array_add (needles, g_strndup (url_safe, unpadded));
    }
}

/* Removes from @text every spelling of @secret, and of the HTTP Basic
 * credentials made of @client_id and @secret, that a server could echo
 * back in an error: the secret as it is, form-encoded or percent-encoded
 * with any set of characters left as they are and digits of either case,
 * JSON-escaped (a '/' as "\/"); and base64 of "id:secret", with both as
 * they are and both form-encoded (RFC 6749 section 2.3.1, which is what
 * libgrant sends), in either alphabet, padded or not, itself spelled in
 * any of those ways. Without @client_id, only the secret. One pass; the
 * copies it makes are wiped. */
char *
grant_redact_credentials (const char *text,
                          const char *client_id,
                          const char *secret)
{
  g_autoptr(GPtrArray) needles = NULL;
  g_autoptr(GArray) reach = NULL;
  g_autoptr(GArray) next = NULL;
  GString *out;
  const char *p;

  if (text == NULL)
    return NULL;

  if (secret == NULL || *secret == '\0')
    return g_strdup (text);

  needles = g_ptr_array_new_with_free_func ((GDestroyNotify) grant_secret_free);
  g_ptr_array_add (needles, g_strdup (secret));
  if (client_id != NULL)
    {
      g_autoptr(GrantSecret) raw = g_strconcat (client_id, ":", secret, NULL);
      g_autoptr(GrantSecret) form_id = grant_form_encode_value (client_id);
      g_autoptr(GrantSecret) form_secret = grant_form_encode_value (secret);
      g_autoptr(GrantSecret) form = g_strconcat (form_id, ":", form_secret, NULL);

      add_base64_needles (needles, raw);
      if (strcmp (raw, form) != 0)
        add_base64_needles (needles, form);
    }

  reach = g_array_new (FALSE, FALSE, sizeof (gsize));
  next = g_array_new (FALSE, FALSE, sizeof (gsize));
  out = g_string_sized_new (strlen (text));
  for (p = text; *p; )
    {
      gsize matched = 0;

      for (guint i = 0; i < needles->len; i++)
        matched = MAX (matched, match_spelled (p, g_ptr_array_index (needles, i), reach, next));

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

/* The same, for the secret alone. */
char *
grant_redact (const char *text,
              const char *secret)
{
  return grant_redact_credentials (text, NULL, secret);
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
  return grant_describe_url_relative (url, NULL);
}

/* The same, for @url resolved against @base when @url is a relative
 * reference (RFC 3986 section 5.2), as a Location header may be (RFC 9110
 * section 10.2.2). */
char *
grant_describe_url_relative (const char *url,
                             const char *base)
{
  /* Parsed as libsoup parses a request's URL, so that both describe a URL
   * alike. */
  GUriFlags flags = G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_SCHEME_NORMALIZE;
  g_autoptr(GUri) base_uri = NULL;
  g_autoptr(GUri) uri = NULL;

  if (url == NULL)
    return g_strdup ("(none)");

  if (base != NULL)
    base_uri = g_uri_parse (base, flags, NULL);

  if (base_uri != NULL)
    uri = g_uri_parse_relative (base_uri, url, flags, NULL);
  else
    uri = g_uri_parse (url, flags, NULL);
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
