/* grant.h: libgrant, OAuth 2.0 client credentials for GLib applications
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define GRANT_INSIDE

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "grant-version.h"
#include "grant-version-macros.h"

#include "grant-client-key.h"
#include "grant-dialect.h"
#include "grant-enums.h"
#include "grant-enum-types.h"
#include "grant-error.h"
#include "grant-file-store.h"
#include "grant-redis-store.h"
#include "grant-secret-store.h"
#include "grant-token.h"
#include "grant-token-provider.h"
#include "grant-token-store.h"

#undef GRANT_INSIDE
