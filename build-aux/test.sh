#!/bin/bash
# Builds libgrant and runs the whole test suite: every meson suite, then the
# C suite under valgrind memcheck and under AddressSanitizer + UBSan.
# Installs the build dependencies first on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

./build-aux/install-deps.sh

setup () {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

echo "== Build and test"
setup _build -Dintrospection=enabled -Dvapi=enabled -Ddocs=enabled
meson compile -C _build
meson test -C _build --print-errorlogs

echo "== C tests under valgrind memcheck"
meson test -C _build --setup valgrind --suite c --print-errorlogs

echo "== C tests under AddressSanitizer and UBSan"
setup _build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dintrospection=disabled -Dvapi=disabled
meson compile -C _build-asan
G_SLICE=always-malloc \
ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1 \
LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C _build-asan --suite c --print-errorlogs

echo "== All tests passed"
