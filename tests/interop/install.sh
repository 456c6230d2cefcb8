#!/bin/sh
# Installs the interop servers from npm into a cache folder (once per lock
# file) and prints that folder. Exits 77 (skip) without node and npm.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node and npm are needed for the interop tests" >&2
  exit 77
fi

lock_id=$(sha256sum "$here/package-lock.json" | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/libgrant/interop-$lock_id"

if [ ! -f "$cache/.installed" ]; then
  mkdir -p "$cache"
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$cache/.installed"
fi

# The server scripts resolve their imports from the folder they are in.
cp "$here/oidc-server.mjs" "$here/oidc-mtls-server.mjs" "$here/mock-server.mjs" "$cache/"
echo "$cache"
