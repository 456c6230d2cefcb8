#!/bin/bash
# build-aux/tsan-glib.sh DIR: builds Debian's own GLib (the version this
# machine runs) with -Db_sanitize=thread into DIR/prefix, for the
# ThreadSanitizer run of the tests. Debian's GLib is not instrumented: its
# mutexes and atomics are invisible to ThreadSanitizer, which then reports
# every hand-over between threads as a race. Nothing is done when
# DIR/prefix exists. Needs Debian's source packages (deb-src), which it
# enables when they are not.
set -euo pipefail

dir=$(realpath -m "${1:?usage: tsan-glib.sh DIR}")
prefix=$dir/prefix
[ -d "$prefix/lib" ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive

if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  "${sudo[@]}" tee /etc/apt/sources.list.d/libgrant-deb-src.sources > /dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  "${sudo[@]}" apt-get update -q
fi
command -v dpkg-source > /dev/null || "${sudo[@]}" apt-get install -y -q --no-install-recommends dpkg-dev

mkdir -p "$dir/src"
cd "$dir/src"
version=$(dpkg-query -W -f='${source:Version}' libglib2.0-0)
apt-get source -q "glib2.0=$version" 2>/dev/null || apt-get source -q glib2.0
source_dir=$(find . -maxdepth 1 -type d -name 'glib2.0-*' | head -n 1)

meson setup "$dir/build" "$source_dir" --prefix="$prefix" --libdir=lib \
  --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
  -Dtests=false -Dinstalled_tests=false -Dman=false -Dgtk_doc=false -Dnls=disabled \
  -Dlibmount=disabled -Dselinux=disabled -Dsysprof=disabled -Dxattr=false \
  -Dlibelf=disabled -Ddtrace=false -Dsystemtap=false > "$dir/setup.log"
ninja -C "$dir/build" install > "$dir/build.log"
