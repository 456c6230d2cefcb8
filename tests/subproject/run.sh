#!/bin/sh
# run.sh [SOURCE_ROOT]: libgrant as a meson subproject (TAP).
#
# Copies tests/subproject/parent, a project with a C program, a Vala
# program, a library with a GIR including Grant-1.0, one test of its own and
# subprojects/libgrant.wrap, into a temporary folder, points
# subprojects/libgrant at SOURCE_ROOT, and builds it three ways: shared
# with introspection and Vala, C only (no introspection, vapi or keyring),
# and static. Each time the programs must run, `meson test --list` must show
# only the parent's test, `meson install` must install neither
# grant-local-endpoint nor grant-token, and the installed grant-1.pc must
# build a program. Also checks that docs/c.md shows that wrap file. Without
# valac, vapigen or g-ir-scanner the Vala and GIR checks are skipped, not
# the rest.
# The checks are sh -c scripts in single quotes, their arguments passed in.
# shellcheck disable=SC2016
set -eu

srcroot=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count=0
failed=0
ok () { count=$((count + 1)); echo "ok $count $1"; }
skip () { count=$((count + 1)); echo "ok $count $1 # SKIP $2"; }
not_ok () {
  count=$((count + 1))
  failed=$((failed + 1))
  echo "not ok $count $1"
  if [ -s "$log" ]; then tail -n 30 "$log" | sed 's/^/# /'; fi
}
# check NAME COMMAND...: one TAP line; the command's output goes to $log.
check () {
  name=$1
  shift
  if "$@" > "$log" 2>&1; then ok "$name"; else not_ok "$name"; return 1; fi
}

have_gir=false
if command -v g-ir-scanner > /dev/null && pkg-config --exists gobject-introspection-1.0; then
  have_gir=true
fi
have_vala=false
if $have_gir && command -v valac > /dev/null && command -v vapigen > /dev/null; then
  have_vala=true
fi
# Why a case skips its Vala or GIR check.
missing_gir="g-ir-scanner or gobject-introspection-1.0 missing"
missing_vala="valac, vapigen or g-ir-scanner missing"

# The wrap in docs/c.md is the one the parent uses, comments aside.
log=$tmp/docs.log
sed -n '/^\[wrap-git\]/,/^```/p' "$srcroot/docs/c.md" | sed '$d' > "$tmp/docs.wrap"
grep -v '^#' "$srcroot/tests/subproject/parent/subprojects/libgrant.wrap" > "$tmp/shipped.wrap"
check "docs/c.md shows the wrap file the parent uses" diff -u "$tmp/docs.wrap" "$tmp/shipped.wrap" || true

cp -R "$srcroot/tests/subproject/parent" "$tmp/parent"
rm -rf "$tmp/parent/subprojects/libgrant"
ln -s "$srcroot" "$tmp/parent/subprojects/libgrant"

# One build of the parent: CASE VALA GIR MESON-OPTIONS...
build_case () {
  case=$1 vala=$2 gir=$3
  shift 3
  build=$tmp/build-$case
  dest=$tmp/dest-$case
  log=$tmp/$case.log

  # --force-fallback-for: an installed grant-1.pc must not be picked up.
  if ! check "$case: meson setup" meson setup "$build" "$tmp/parent" \
      --wrap-mode=nodownload --force-fallback-for=grant-1 --buildtype=plain \
      -Dvala="$vala" -Dgir="$gir" "$@"; then
    return 0
  fi
  check "$case: build" meson compile -C "$build" -j 2 || return 0

  check "$case: the C program runs" sh -c '
    "$1/parent-c" > "$1/parent-c.out" && cat "$1/parent-c.out" &&
    grep -q "^parent-c: GrantTokenProvider for https://auth.example.com/token, libgrant " "$1/parent-c.out" &&
    grep -q "^parent-c: preset officernd for https://" "$1/parent-c.out"' sh "$build" || true
  if $vala; then
    check "$case: the Vala program runs" sh -c '
      "$1/parent-vala" > "$1/parent-vala.out" && cat "$1/parent-vala.out" &&
      grep -q "^parent-vala: GrantTokenProvider for https://auth.example.com/token" "$1/parent-vala.out"' sh "$build" || true
  else
    skip "$case: the Vala program runs" "$no_vala"
  fi
  if $gir; then
    check "$case: the parent's GIR includes Grant-1.0" \
      grep -q '<include name="Grant" version="1.0"/>' "$build/Parent-1.0.gir" || true
  else
    skip "$case: the parent's GIR includes Grant-1.0" "$no_gir"
  fi

  check "$case: meson test --list shows only the parent's test" sh -c '
    list=$(meson test -C "$1" --list --no-rebuild) && echo "$list" && [ "$list" = parent ]' \
    sh "$build" || true
  check "$case: no benchmarks" sh -c '
    [ "$(meson introspect --benchmarks "$1")" = "[]" ]' sh "$build" || true
  check "$case: meson test" meson test -C "$build" || true

  if ! check "$case: meson install --destdir" meson install -C "$build" --destdir "$dest"; then
    return 0
  fi
  check "$case: installs neither grant-local-endpoint nor grant-token" sh -c '
    find "$1" | sort
    [ -x "$(find "$1" -path "*/bin/parent-c")" ] &&
    [ -z "$(find "$1" -name grant-local-endpoint -o -name grant-token)" ] &&
    [ -z "$(find "$1" -path "*/bin/*" ! -name "parent-*")" ]' sh "$dest" || true
  check "$case: the installed grant-1.pc builds a program" sh -c '
    pc=$(find "$1" -name grant-1.pc) && prefix=${pc%/lib/*} &&
    mkdir -p "$1/pc" && sed "s|^prefix=.*|prefix=$prefix|" "$pc" > "$1/pc/grant-1.pc" &&
    ${CC:-cc} "$2/parent.c" -o "$1/parent-c-pc" $(PKG_CONFIG_PATH="$1/pc" pkg-config --cflags --libs grant-1) &&
    LD_LIBRARY_PATH=$(dirname "$(find "$1" -name "libgrant-1.*" | head -n 1)") "$1/parent-c-pc"' \
    sh "$dest" "$tmp/parent" || true
}

installed_libs () {
  find "$tmp/dest-$1" -name 'libgrant-1.*' -printf '%f\n' 2> /dev/null | sort | tr '\n' ' '
}

# 1. Shared, with introspection and Vala, keyring left to auto.
no_vala=$missing_vala no_gir=$missing_gir
if $have_vala; then
  build_case shared true true -Dlibgrant:introspection=enabled -Dlibgrant:vapi=enabled
elif $have_gir; then
  build_case shared false true -Dlibgrant:introspection=enabled
else
  build_case shared false false
fi
log=$tmp/shared.log
check "shared: installs libgrant-1.so, not libgrant-1.a" sh -c '
  echo "$1"; case "$1" in *libgrant-1.so.0*) ;; *) exit 1 ;; esac
  case "$1" in *libgrant-1.a*) exit 1 ;; esac' sh "$(installed_libs shared)" || true
if $have_vala; then
  check "shared: installs Grant-1.0.typelib and grant-1.vapi" sh -c '
    [ -n "$(find "$1" -name Grant-1.0.typelib)" ] && [ -n "$(find "$1" -name grant-1.vapi)" ]' \
    sh "$tmp/dest-shared" || true
fi

# 2. C alone: no introspection, no vapi, no libsecret.
no_vala="a C-only build" no_gir="a C-only build"
build_case c-only false false -Dlibgrant:introspection=disabled -Dlibgrant:vapi=disabled \
  -Dlibgrant:keyring=disabled
log=$tmp/c-only.log
check "c-only: installs no GIR, typelib or vapi" sh -c '
  [ -z "$(find "$1" -name "Grant-1.0.*" -o -name "grant-1.vapi")" ]' sh "$tmp/dest-c-only" || true

# 3. Static: default_library=static reaches libgrant; the programs carry it.
no_vala=$missing_vala no_gir="covered by the shared build"
build_case static $have_vala false -Ddefault_library=static
log=$tmp/static.log
check "static: installs libgrant-1.a, no shared library" sh -c '
  echo "$1"; [ "$1" = "libgrant-1.a " ]' sh "$(installed_libs static)" || true
check "static: the C program does not load libgrant-1.so" sh -c '
  ! ldd "$1/parent-c" | grep libgrant' sh "$tmp/build-static" || true

echo "1..$count"
[ "$failed" -eq 0 ]
