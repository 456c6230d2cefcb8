/* grant-response.c: understanding a token response, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "grant-body-private.h"
#include "grant-dialect.h"
#include "grant-error.h"
#include "grant-json-pointer-private.h"
#include "grant-response-private.h"
#include "grant-token-private.h"
#include "grant-utils-private.h"

/* RFC 6585; libsoup 3.2 has no name for it. */
#define STATUS_TOO_MANY_REQUESTS 429

/* The largest clock difference a Date header is believed to show. */
#define MAX_CLOCK_OFFSET (G_GINT64_CONSTANT (24) * 3600 * G_USEC_PER_SEC)

/* Longest error_description quoted in an error message, in characters. */
#define MAX_DESCRIPTION_CHARS 300

/* The node at @pointer; NULL when the dialect has no such field, or the
 * answer has nothing there. */
static JsonNode *
get_node (JsonNode   *root,
          const char *pointer)
{
  if (root == NULL || pointer == NULL)
    return NULL;

  return grant_json_pointer_get (root, pointer);
}

static const char *
get_string (JsonNode   *root,
            const char *pointer)
{
  JsonNode *node = get_node (root, pointer);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* The code of an RFC 6749 section 5.2 error, or of an extension libgrant
 * knows; FALSE for anything else, such as the phrase a web framework puts
 * in its own error bodies ("Unauthorized", "Internal Server Error"). */
static gboolean
error_code_from_string (const char *code,
                        GrantError *grant_code)
{
  static const struct {
    const char *name;
    GrantError code;
  } codes[] = {
    { "invalid_request", GRANT_ERROR_INVALID_REQUEST },
    { "invalid_client", GRANT_ERROR_INVALID_CLIENT },
    { "invalid_grant", GRANT_ERROR_INVALID_GRANT },
    { "unauthorized_client", GRANT_ERROR_UNAUTHORIZED_CLIENT },
    { "unsupported_grant_type", GRANT_ERROR_UNSUPPORTED_GRANT_TYPE },
    { "invalid_scope", GRANT_ERROR_INVALID_SCOPE },
    { "server_error", GRANT_ERROR_SERVER_ERROR },
    { "temporarily_unavailable", GRANT_ERROR_TEMPORARILY_UNAVAILABLE },
    { "slow_down", GRANT_ERROR_RATE_LIMITED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    if (g_strcmp0 (code, codes[i].name) == 0)
      {
        *grant_code = codes[i].code;
        return TRUE;
      }

  return FALSE;
}

/* What an error status says by itself; @otherwise when it says nothing
 * libgrant acts on. A 503 is a server error like any 5xx: both are
 * retried. */
static GrantError
error_code_from_status (guint      status,
                        GrantError otherwise)
{
  if (status == STATUS_TOO_MANY_REQUESTS)
    return GRANT_ERROR_RATE_LIMITED;
  if (status == SOUP_STATUS_REQUEST_TIMEOUT)
    return GRANT_ERROR_TEMPORARILY_UNAVAILABLE;
  if (SOUP_STATUS_IS_SERVER_ERROR (status))
    return GRANT_ERROR_SERVER_ERROR;
  if (status == SOUP_STATUS_UNAUTHORIZED)
    return GRANT_ERROR_INVALID_CLIENT;

  return otherwise;
}

static char *
describe_status (guint status)
{
  const char *phrase = status == STATUS_TOO_MANY_REQUESTS ? "Too Many Requests"
                                                          : soup_status_get_phrase (status);

  return g_strdup_printf ("HTTP %u %s", status, phrase);
}

/* Text from the server, fit for a message: without the client's
 * credentials, however encoded, and without what could disguise it. */
static char *
quote_server_text (const GrantParseContext *context,
                   const char              *text,
                   gsize                    max_chars)
{
  g_autofree char *redacted = grant_redact_credentials (text, context->client_id,
                                                        context->client_secret);

  return grant_sanitize_text (redacted, max_chars);
}

/* An error response with an "error" member (RFC 6749 section 5.2). A code
 * libgrant does not know, such as the phrase of a web framework's own
 * error body, says no more than the status does, which then decides. */
static void
set_oauth_error (GError                  **error,
                 const GrantParseContext  *context,
                 guint                     status,
                 const char               *code,
                 const char               *description)
{
  /* A server can echo anything back: keep the credentials out. */
  g_autofree char *safe_code = quote_server_text (context, code, 64);
  g_autofree char *safe_description = quote_server_text (context, description, MAX_DESCRIPTION_CHARS);
  g_autofree char *status_text = describe_status (status);
  g_autofree char *what = NULL;
  GrantError grant_code;

  if (error_code_from_string (code, &grant_code))
    what = g_strdup_printf ("The token endpoint refused the request: %s (%s)",
                            safe_code, status_text);
  else
    {
      grant_code = error_code_from_status (status, GRANT_ERROR_FAILED);
      what = g_strdup_printf ("The token endpoint answered %s with an error libgrant "
                              "does not know, “%s”", status_text, safe_code);
    }

  if (status == STATUS_TOO_MANY_REQUESTS)
    grant_code = GRANT_ERROR_RATE_LIMITED;

  if (safe_description != NULL && *safe_description != '\0')
    g_set_error (error, GRANT_ERROR, grant_code, "%s: %s", what, safe_description);
  else
    g_set_error_literal (error, GRANT_ERROR, grant_code, what);
}

/* An error status without an OAuth error body. */
static void
set_status_error (GError                  **error,
                  const GrantParseContext  *context,
                  guint                     status,
                  SoupMessageHeaders       *headers,
                  const GError             *body_error,
                  const char               *description)
{
  g_autofree char *status_text = describe_status (status);
  const char *content_type = headers ? soup_message_headers_get_content_type (headers, NULL) : NULL;
  g_autofree char *safe_type = quote_server_text (context, content_type, 100);
  g_autofree char *what = NULL;

  if (description != NULL && *description != '\0')
    what = g_strdup (description);
  else if (body_error != NULL)
    what = g_strdup_printf ("%s%s%s", body_error->message,
                            safe_type ? ", content type " : "",
                            safe_type ? safe_type : "");
  else
    what = g_strdup ("no OAuth error in the body");

  g_set_error (error, GRANT_ERROR, error_code_from_status (status, GRANT_ERROR_INVALID_RESPONSE),
               "The token endpoint answered %s (%s)", status_text, what);
}

static gboolean
is_valid_access_token (const char *token)
{
  const char *p;

  /* RFC 6749 appendix A.12: printable ASCII only. Anything else could break
   * or inject into the Authorization header. */
  if (*token == '\0')
    return FALSE;

  for (p = token; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      return FALSE;

  return TRUE;
}

/* Reads a number: an integer, a float or a numeric string. */
static gboolean
read_number (JsonNode *node,
             double   *value)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      /* Integers beyond 64 bits arrive as floats: see
       * grant_body_decode(). */
      *value = (double) json_node_get_int (node);
      break;

    case G_TYPE_DOUBLE:
      *value = json_node_get_double (node);
      break;

    case G_TYPE_STRING:
      {
        g_autofree char *text = g_strstrip (g_strdup (json_node_get_string (node)));
        gsize end = 0;
        gboolean integer;

        /* Decimal only: g_ascii_strtod() would also take "inf" or "0x10". */
        if (*text == '\0' || !(text[0] == '-' || g_ascii_isdigit (text[0])) ||
            !grant_json_scan_number (text, strlen (text), &end, &integer) || text[end] != '\0')
          return FALSE;
        *value = g_ascii_strtod (text, NULL);
      }
      break;

    default:
      return FALSE;
    }

  return !isnan (*value);
}

/* Reads a relative expiry in seconds. Sets *seconds to -1 when there is
 * none. */
static gboolean
read_expires_in (JsonNode    *root,
                 const char  *pointer,
                 guint        status,
                 gint64      *seconds,
                 GError     **error)
{
  JsonNode *node = get_node (root, pointer);
  double value;

  *seconds = -1;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (!read_number (node, &value))
    goto bad;

  if (value < 1)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with a token that has "
                   "already expired (expires_in %.0f)", status, value);
      return FALSE;
    }

  *seconds = value >= (double) GRANT_MAX_LIFETIME ? GRANT_MAX_LIFETIME : (gint64) value;
  return TRUE;

bad:
  g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
               "The token endpoint answered HTTP %u with an expires_in that "
               "is not a number of seconds, so when the token expires is "
               "unknown", status);
  return FALSE;
}

/* How far the server's clock is ahead of ours, from its Date header, in
 * microseconds; 0 when it does not say or the clocks agree within the
 * header's one-second resolution. */
static gint64
server_clock_offset (SoupMessageHeaders *headers,
                     gint64              now)
{
  const char *date = headers ? soup_message_headers_get_one (headers, "Date") : NULL;
  g_autoptr(GDateTime) server = NULL;
  gint64 offset;

  if (date == NULL)
    return 0;

  server = soup_date_time_new_from_http_string (date);
  if (server == NULL)
    return 0;

  offset = grant_date_time_to_usec (server) - now;
  if (ABS (offset) < 2 * G_USEC_PER_SEC)
    return 0;

  /* More than a day apart is rather a cached answer or a proxy's clock
   * than the server's: not trusted. */
  if (ABS (offset) > MAX_CLOCK_OFFSET)
    {
      g_debug ("Ignoring a Date header %" G_GINT64_FORMAT " s away from the local clock",
               offset / G_USEC_PER_SEC);
      return 0;
    }

  return offset;
}

/* Reads an absolute expiry: an ISO 8601 date with a time zone, or seconds
 * since the epoch (milliseconds when the number is that large), then moves
 * it from the server's clock to ours. Sets *expires to 0 when there is
 * none. */
static gboolean
read_expires_at (JsonNode            *root,
                 const char          *pointer,
                 guint                status,
                 SoupMessageHeaders  *headers,
                 gint64               now,
                 gint64              *expires,
                 GError             **error)
{
  JsonNode *node = get_node (root, pointer);
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GTimeZone) utc = NULL;
  gint64 server_expires;
  double seconds;

  *expires = 0;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  utc = g_time_zone_new_utc ();
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
      (date = g_date_time_new_from_iso8601 (json_node_get_string (node), utc)) != NULL)
    server_expires = grant_date_time_to_usec (date);
  else if (read_number (node, &seconds) && seconds > 0 && seconds < 1e15)
    server_expires = (gint64) (seconds >= 1e11 ? seconds * 1000 : seconds * G_USEC_PER_SEC);
  else
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with an expiry at %s "
                   "that is neither an ISO 8601 date nor a number of seconds",
                   status, pointer);
      return FALSE;
    }

  *expires = server_expires - server_clock_offset (headers, now);
  if (*expires <= now)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with a token that has "
                   "already expired (at %s)", status, pointer);
      return FALSE;
    }

  *expires = MIN (*expires, now + GRANT_MAX_LIFETIME * G_USEC_PER_SEC);
  return TRUE;
}

/* A success flag that says false. Any JSON type other than a boolean or
 * "true"/"false" does not count. */
static gboolean
success_is_false (JsonNode   *root,
                  const char *pointer)
{
  JsonNode *node = get_node (root, pointer);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return !json_node_get_boolean (node);

  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_ascii_strcasecmp (json_node_get_string (node), "false") == 0;

  return FALSE;
}

/* The description of an error: at the dialect's pointer, or else in a
 * top-level "message", which many APIs use. */
static const char *
get_error_description (JsonNode     *root,
                       GrantDialect *dialect)
{
  const char *description = get_string (root, grant_dialect_get_error_description_pointer (dialect));

  if (description == NULL)
    description = get_string (root, "/message");

  return description;
}

static GrantDialect *
default_dialect (void)
{
  static GrantDialect *dialect;

  if (g_once_init_enter (&dialect))
    g_once_init_leave (&dialect, grant_dialect_new ());

  return dialect;
}

/* Understands the answer of a token endpoint: a token, or an error that says
 * what went wrong. A pure function of its arguments. The token carries the
 * requested scope when the server does not name one. */
GrantToken *
grant_response_parse (const GrantParseContext  *context,
                      guint                     status,
                      SoupMessageHeaders       *headers,
                      GBytes                   *body,
                      GError                  **error)
{
  GrantDialect *dialect = context->dialect ? context->dialect : default_dialect ();
  const char *access_token_pointer = grant_dialect_get_access_token_pointer (dialect);
  const char *token_type_pointer = grant_dialect_get_token_type_pointer (dialect);
  const char *scope_pointer = grant_dialect_get_scope_pointer (dialect);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) body_error = NULL;
  g_autoptr(GDateTime) issued_at = NULL;
  g_autoptr(GDateTime) expires_at = NULL;
  JsonNode *node;
  const char *access_token;
  const char *token_type;
  const char *scope = context->requested_scope;
  const char *granted_scope;
  const char *code;
  gint64 expires_in, expires_absolute, expires = 0;

  if (SOUP_STATUS_IS_REDIRECTION (status))
    {
      const char *location = headers ? soup_message_headers_get_one (headers, "Location") : NULL;
      /* Often relative: "/other" is on the token URL's origin. */
      g_autofree char *described = location ? grant_describe_url_relative (location, context->request_url)
                                            : NULL;
      g_autofree char *target = quote_server_text (context, described, 200);
      g_autofree char *status_text = describe_status (status);

      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "The token endpoint answered %s%s%s; token requests do not "
                   "follow redirects, set the token URL to the final address",
                   status_text,
                   target ? ", a redirect to " : "",
                   target ? target : "");
      return NULL;
    }

  root = grant_body_decode (headers, body, &body_error);

  code = get_string (root, grant_dialect_get_error_pointer (dialect));
  if (code != NULL && *code != '\0')
    {
      set_oauth_error (error, context, status, code, get_error_description (root, dialect));
      return NULL;
    }

  if (success_is_false (root, grant_dialect_get_success_pointer (dialect)))
    {
      const char *description = get_error_description (root, dialect);
      g_autofree char *safe = quote_server_text (context, description, MAX_DESCRIPTION_CHARS);
      g_autofree char *status_text = describe_status (status);

      if (SOUP_STATUS_IS_SUCCESSFUL (status))
        g_set_error (error, GRANT_ERROR, GRANT_ERROR_FAILED,
                     "The token endpoint refused the request (%s, %s is false)%s%s",
                     status_text, grant_dialect_get_success_pointer (dialect),
                     safe ? ": " : "", safe ? safe : "");
      else
        set_status_error (error, context, status, headers, NULL, safe);
      return NULL;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      set_status_error (error, context, status, headers, body_error, NULL);
      return NULL;
    }

  if (root == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u but %s", status,
                   body_error->message);
      return NULL;
    }

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with JSON that is not "
                   "an object", status);
      return NULL;
    }

  access_token = get_string (root, access_token_pointer);
  if (access_token == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u without an access "
                   "token (no string at %s)", status, access_token_pointer);
      return NULL;
    }

  if (!is_valid_access_token (access_token))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with an access token "
                   "that is empty or has characters outside printable ASCII",
                   status);
      return NULL;
    }

  token_type = get_string (root, token_type_pointer);
  node = get_node (root, token_type_pointer);
  if (token_type == NULL && node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with a token_type "
                   "that is not a string", status);
      return NULL;
    }
  if (token_type != NULL && !is_valid_access_token (token_type))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                   "The token endpoint answered HTTP %u with an empty or "
                   "unprintable token_type", status);
      return NULL;
    }

  if (!read_expires_in (root, grant_dialect_get_expires_in_pointer (dialect), status,
                        &expires_in, error) ||
      !read_expires_at (root, grant_dialect_get_expires_at_pointer (dialect), status,
                        headers, context->now, &expires_absolute, error))
    return NULL;

  /* With both, the earlier one. */
  if (expires_in >= 0)
    expires = context->now + expires_in * G_USEC_PER_SEC;
  if (expires_absolute > 0 && (expires == 0 || expires_absolute < expires))
    expires = expires_absolute;

  /* Any JSON type is accepted (ExpertFile sends a boolean), and the
   * response keeps it; only a string names a scope, so with null or any
   * other type the token has the one requested. */
  granted_scope = get_string (root, scope_pointer);
  if (granted_scope != NULL)
    scope = granted_scope;

  issued_at = grant_date_time_new_from_usec (context->now);
  if (expires > 0)
    expires_at = grant_date_time_new_from_usec (expires);

  return g_object_new (GRANT_TYPE_TOKEN,
                       "access-token", access_token,
                       "token-type", token_type,
                       "scope", scope,
                       "issued-at", issued_at,
                       "expires-at", expires_at,
                       "response", root,
                       NULL);
}

/* How long the server asked to wait (RFC 9110 section 10.2.3: seconds or an
 * HTTP date), in microseconds from @now; -1 when it did not say. */
gint64
grant_response_retry_after (SoupMessageHeaders *headers,
                            gint64              now)
{
  const char *value = headers ? soup_message_headers_get_one (headers, "Retry-After") : NULL;
  g_autoptr(GDateTime) date = NULL;
  g_autofree char *trimmed = NULL;
  guint64 seconds;

  if (value == NULL)
    return -1;

  trimmed = g_strstrip (g_strdup (value));
  if (g_ascii_string_to_unsigned (trimmed, 10, 0, G_MAXUINT32, &seconds, NULL))
    return (gint64) seconds * G_USEC_PER_SEC;

  date = soup_date_time_new_from_http_string (trimmed);
  if (date == NULL)
    return -1;

  return MAX (grant_date_time_to_usec (date) - now, 0);
}
