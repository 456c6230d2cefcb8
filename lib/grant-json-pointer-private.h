/* grant-json-pointer-private.h: RFC 6901 JSON Pointer evaluation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean  grant_json_pointer_validate  (const char  *pointer,
                                        GError     **error);
JsonNode *grant_json_pointer_get       (JsonNode    *root,
                                        const char  *pointer);

G_END_DECLS
