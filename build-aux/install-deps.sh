#!/bin/bash
# Installs what libgrant needs to build and test on Debian 12, and nothing
# when it is all there already. With --bench, also the peers the benchmarks
# compare against (Go's x/oauth2, Python's authlib).
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libglib2.0-bin libsoup-3.0-dev libjson-glib-dev glib-networking
  gobject-introspection libgirepository1.0-dev valac
  python3-gi gir1.2-soup-3.0 gir1.2-json-1.0 gjs
  gi-docgen valgrind
  libsecret-1-dev gnome-keyring dbus-daemon
  clang libclang-rt-14-dev openssl
  libgnutls28-dev softhsm2 gnutls-bin
  redis-server
  gir1.2-gtk-4.0 gir1.2-adw-1 xvfb xauth
)

if [ "${1:-}" = --bench ]; then
  packages+=(golang-go golang-golang-x-oauth2-dev python3-authlib python3-requests util-linux)
fi

# The interop tests run real OAuth servers from npm; this machine kind has
# Node.js and npm, Debian's are the fallback.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing: ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
