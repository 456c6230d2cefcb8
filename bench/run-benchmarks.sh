#!/bin/bash
# bench/run-benchmarks.sh [--quick] [BUILDDIR]
#
# Runs every benchmark against one grant-local-endpoint and prints a
# Markdown table: libgrant's own figures (bench-grant), then the same fetch
# loop with Go's golang.org/x/oauth2/clientcredentials and Python's authlib
# against the same server, in the same run, as ratios to libgrant's time.
# Installs what it needs on Debian 12 (Go and its x/oauth2 package are
# Debian's: the Go program builds offline). BUILDDIR defaults to
# _build-bench. --quick runs fewer iterations (rougher figures); CI uses it
# to check that the benchmarks still run.
#
# A missed goal is reported in the table; it does not fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
iterations=2000
if [ "${1:-}" = --quick ]; then
  quick=(--quick)
  iterations=200
  shift
fi
builddir=${1:-_build-bench}

./build-aux/install-deps.sh --bench >&2

if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" -Dtests=false -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled >&2
fi
meson compile -C "$builddir" bench-grant grant-local-endpoint >&2

# Debian's Go packages, no network: GOPATH mode over /usr/share/gocode.
GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE="$PWD/$builddir/go-cache" \
  go build -o "$builddir/bench/fetch-go" bench/go/fetch.go

work=$(mktemp -d)
cleanup () {
  exec 3>&- 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The endpoint serves until its standard input (our fd 3) closes.
mkfifo "$work/stdin"
"$builddir/demo/grant-local-endpoint" --until-stdin-closes < "$work/stdin" > "$work/url" &
exec 3> "$work/stdin"
for _ in $(seq 100); do
  [ -s "$work/url" ] && break
  sleep 0.1
done
url=$(head -n 1 "$work/url")
[ -n "$url" ] || { echo "grant-local-endpoint did not start" >&2; exit 1; }

"$builddir/bench/bench-grant" --url "$url" "${quick[@]}" | tee "$work/table"

# The peers: the same loop, the same server.
libgrant_us=$(awk -F'|' '/fresh fetch \(cache invalidated, keep-alive\), libgrant/ { gsub(/[^0-9.]/, "", $3); print $3 }' "$work/table")
peer_row () {
  local label=$1; shift
  local us
  us=$("$@" "$url/token" "$iterations" | awk '{ print $3 }')
  printf '| fresh fetch, %s | %s µs (%sx the time of libgrant) | | |\n' \
    "$label" "$us" "$(awk -v a="$us" -v b="$libgrant_us" 'BEGIN { printf "%.2f", a / b }')"
}
peer_row "Go \`x/oauth2/clientcredentials\`" "$builddir/bench/fetch-go"
peer_row "Python authlib (requests)" /usr/bin/python3 bench/python/fetch.py

echo
echo "Machine: $(nproc) cores, $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -n 1)," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r);" \
  "GLib $(pkg-config --modversion glib-2.0), libsoup $(pkg-config --modversion libsoup-3.0)," \
  "json-glib $(pkg-config --modversion json-glib-1.0), $(go version | awk '{ print $3 }')," \
  "authlib $(/usr/bin/python3 -c 'import authlib; print(authlib.__version__)')."
