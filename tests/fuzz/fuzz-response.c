/* fuzz-response.c: token response parsing, with every built-in dialect
 *
 * Input: one byte choosing the dialect, one the HTTP status, one the
 * content type (and whether a Date header is there), then the body.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <grant.h>

#include "grant-response-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const char * const presets[] = {
  "rfc6749", "expertfile", "json-body", "smartdocumentor", "officernd",
};
static const guint statuses[] = { 200, 201, 302, 400, 401, 403, 404, 408, 429, 500, 503 };
static const char * const content_types[] = {
  "application/json", "application/x-www-form-urlencoded", "text/html", NULL,
};

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static GrantDialect *dialects[G_N_ELEMENTS (presets) + 1];
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GrantToken) token = NULL;
  g_autoptr(GError) error = NULL;
  GrantParseContext context = {
    .now = G_GINT64_CONSTANT (1719244800000000),
    .requested_scope = "read",
    .client_secret = "fuzz-secret",
    .client_id = "fuzz-client",
    .request_url = "https://auth.example/oauth/token",
  };
  const char *content_type;

  if (dialects[0] == NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
        dialects[i] = grant_dialect_new_for_preset (presets[i], NULL);
      dialects[G_N_ELEMENTS (presets)] = grant_dialect_new ();
    }

  if (size < 3)
    return 0;

  context.dialect = dialects[data[0] % G_N_ELEMENTS (dialects)];
  headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  content_type = content_types[data[2] % G_N_ELEMENTS (content_types)];
  if (content_type != NULL)
    soup_message_headers_set_content_type (headers, content_type, NULL);
  if (data[2] & 0x80)
    soup_message_headers_replace (headers, "Date", "Mon, 24 Jun 2024 17:00:00 GMT");
  if (data[2] & 0x40)
    soup_message_headers_replace (headers, "Location", data[2] & 0x20 ? "../other?fuzz-secret"
                                                                        : "https://elsewhere.example/token?fuzz-secret");
  body = g_bytes_new (data + 3, size - 3);

  token = grant_response_parse (&context, statuses[data[1] % G_N_ELEMENTS (statuses)], headers, body, &error);

  /* Exactly one of a token or an error, and never the secret in it. */
  g_assert_true ((token == NULL) != (error == NULL));
  if (error != NULL)
    g_assert_null (strstr (error->message, "fuzz-secret"));

  (void) grant_response_retry_after (headers, context.now);

  return 0;
}
