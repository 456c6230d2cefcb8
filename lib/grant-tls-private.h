/* grant-tls-private.h: never write credentials to a server whose
 * certificate the session would not accept
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

void    grant_tls_guard_message       (SoupMessage  *message,
                                       SoupSession  *session,
                                       GCancellable *cancellable,
                                       gboolean      ask_message);
GError *grant_tls_explain_error       (SoupMessage  *message,
                                       GError       *error);
char   *grant_tls_describe_flags      (GTlsCertificateFlags flags);
void    grant_tls_present_certificate (SoupMessage  *message,
                                       GTlsCertificate *certificate,
                                       gboolean      new_connection);

G_END_DECLS
