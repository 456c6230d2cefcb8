#!/bin/bash
# Builds libgrant and runs the demo against a token endpoint it starts on
# 127.0.0.1. Installs the build dependencies first on Debian 12. Arguments
# go to the demo (--lifetime SECONDS, --fast).
set -euo pipefail
cd "$(dirname "$0")/.."

./build-aux/install-deps.sh
if [ -f _build/build.ninja ]; then
  meson setup --reconfigure _build >/dev/null
else
  meson setup _build >/dev/null
fi
meson compile -C _build grant-demo >/dev/null
exec ./_build/demo/grant-demo "$@"
