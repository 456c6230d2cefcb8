#!/bin/sh
# run.sh TEST...: installs the interop servers if needed, then runs TEST
# with GRANT_INTEROP_DIR pointing at them. Without node or npm the suite is
# skipped (exit 77), except in CI, where it must run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
status=0
dir=$("$here/install.sh") || status=$?

if [ "$status" -ne 0 ]; then
  if [ "$status" -eq 77 ] && [ "${CI:-}" != "true" ]; then
    echo "Skipping the interop tests: node and npm are not available" >&2
    exit 77
  fi
  echo "Cannot install the interop servers (status $status)" >&2
  exit 1
fi

GRANT_INTEROP_DIR=$dir exec "$@"
