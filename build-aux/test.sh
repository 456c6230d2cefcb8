#!/bin/bash
# Builds libgrant and runs the whole test suite: every meson suite; the C
# and Vala tests under valgrind memcheck and under AddressSanitizer + UBSan;
# the C tests under ThreadSanitizer; each libFuzzer harness for a short
# run; then a quick run of the benchmarks. Installs the build dependencies
# first on Debian 12.
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
setup _build -Dintrospection=enabled -Dvapi=enabled -Ddocs=enabled -Dkeyring=enabled
meson compile -C _build
meson test -C _build --print-errorlogs

echo "== C and Vala tests under valgrind memcheck"
meson test -C _build --setup valgrind --suite native --print-errorlogs

echo "== C and Vala tests under AddressSanitizer and UBSan"
setup _build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled
meson compile -C _build-asan
# The Vala tests, against the instrumented library, with the vapi of the
# main build (introspection stays off under the sanitizers).
vala_tests=(provider client-key)
for name in "${vala_tests[@]}"; do
  valac --vapidir _build/bindings --pkg grant-1 --pkg gio-2.0 --pkg libsoup-3.0 --pkg json-glib-1.0 \
    -X -fsanitize=address,undefined -X -Ilib -X -I_build-asan/lib -X -L_build-asan/lib -X -lgrant-1 \
    -X -w "tests/vala/test-$name.vala" -o "_build-asan/test-vala-$name"
done
export G_SLICE=always-malloc
export ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1
export LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C _build-asan --suite native --print-errorlogs
for name in "${vala_tests[@]}"; do
  GIO_USE_PROXY_RESOLVER=dummy LD_LIBRARY_PATH=_build-asan/lib "./_build-asan/test-vala-$name"
done
# Fast unwinding again: the fuzzers need no suppressions.
unset ASAN_OPTIONS LSAN_OPTIONS

echo "== C tests under ThreadSanitizer, against a GLib built for it"
./build-aux/tsan-glib.sh _build-tsan-glib
setup _build-tsan -Db_sanitize=thread -Db_lundef=false \
  -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled
meson compile -C _build-tsan
LD_LIBRARY_PATH="$PWD/_build-tsan-glib/prefix/lib" \
GIO_MODULE_DIR="$(pkg-config --variable=giomoduledir gio-2.0)" \
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
  meson test -C _build-tsan --suite native --print-errorlogs

echo "== Fuzzing, ${GRANT_FUZZ_SECONDS:=30} s per harness"
CC=clang setup _build-fuzz -Dfuzzing=true -Dtests=false \
  -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled
meson compile -C _build-fuzz
for harness in response provider-file json-pointer assertion resp; do
  corpus=$(mktemp -d)
  ./_build-fuzz/tests/fuzz/fuzz-$harness -max_total_time="$GRANT_FUZZ_SECONDS" -timeout=10 \
    -artifact_prefix=_build-fuzz/ "$corpus" "tests/fuzz/corpus/$harness" 2>&1 | grep -E 'DONE|ERROR|SUMMARY' || true
  status=${PIPESTATUS[0]}
  rm -rf "$corpus"
  [ "$status" -eq 0 ] || { echo "fuzz-$harness failed (status $status)"; exit 1; }
done
unset G_SLICE UBSAN_OPTIONS

# Checks that the benchmarks still run and prints rough figures; a missed
# goal does not fail the run (figures are not tests).
echo "== Benchmarks, a quick run"
bench/run-benchmarks.sh --quick _build

echo "== All tests passed"
