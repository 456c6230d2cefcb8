/* grant-utils-private.h: small helpers shared inside libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The largest response body libgrant reads: a token response is small. */
#define GRANT_MAX_BODY_SIZE (1024 * 1024)

void      grant_secret_wipe        (char       *str);
void      grant_memory_wipe        (gpointer    data,
                                    gsize       length);
void      grant_secret_free        (char       *str);
gboolean  grant_set_str            (char      **str_pointer,
                                    const char *new_str);
gboolean  grant_set_secret         (char      **str_pointer,
                                    const char *new_str);
char     *grant_form_encode_value  (const char *value);
char     *grant_redact             (const char *text,
                                    const char *secret);
char     *grant_redact_credentials (const char *text,
                                    const char *client_id,
                                    const char *secret);
char     *grant_sanitize_text      (const char *text,
                                    gsize       max_chars);
char     *grant_describe_uri       (GUri       *uri);
char     *grant_describe_url       (const char *url);
char     *grant_describe_url_relative (const char *url,
                                       const char *base);
gboolean  grant_debug_enabled      (void);
gboolean  grant_host_is_loopback   (const char *host);
gboolean  grant_network_reaches    (gboolean    available,
                                    gboolean    covers_loopback,
                                    const char *url);
gboolean  grant_check_url          (const char *url,
                                    gboolean    allow_insecure_http,
                                    GError    **error);
gint64     grant_date_time_to_usec       (GDateTime  *dt);
GDateTime *grant_date_time_new_from_usec (gint64      usec);

/* A string holding a secret: g_autoptr (GrantSecret) wipes it when freed. */
typedef char GrantSecret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GrantSecret, grant_secret_free)

G_END_DECLS
