/* test-utils.h: helpers shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <grant.h>

#include "local-endpoint.h"

G_BEGIN_DECLS

/* A local endpoint for a test; fails the test if it cannot listen. */
LocalEndpoint *test_endpoint_new      (gboolean  threaded);

/* Runs the default main context until *@done is TRUE. */
void           test_wait_until        (gboolean *done);

/* Log capture: everything libgrant logs, at every level, for secret checks. */
void           test_capture_logs      (void);
char          *test_dup_captured_logs (void);

G_END_DECLS
