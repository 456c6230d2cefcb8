#!/bin/bash
# bench/run-benchmarks.sh [--quick] [BUILDDIR]
#
# Runs every benchmark against one grant-local-endpoint and prints two
# Markdown tables: libgrant's own figures (bench-grant), then libgrant
# against Go's golang.org/x/oauth2 and Python's authlib on the same server,
# in the same run: fresh fetches (wall and CPU time, with the floor libsoup
# sets under libgrant's), a cached token, and
# concurrent callers on a cold cache, the peers as ratios to libgrant.
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

"$builddir/bench/bench-grant" --url "$url" "${quick[@]}"

# The peers: each figure measured the same way by the three clients, each
# run a process of its own.

# run CLIENT MODE N: prints "NAME MODE N FIGURES...".
run () {
  case $1 in
    libgrant) "$builddir/bench/bench-grant" peer "$2" "$url" "$3" ;;
    go) "$builddir/bench/fetch-go" "$2" "$url/token" "$3" ;;
    python) /usr/bin/python3 bench/python/fetch.py "$2" "$url/token" "$3" ;;
    floor) "$builddir/bench/bench-grant" peer floor "$url" "$3" ;;
  esac
}

# rounds MODE N PYTHON_N ROUNDS: each client ROUNDS times, round r of each
# before round r + 1 of any, so that drift on the machine hits all alike.
# Python is given fewer calls (or threads) where it is far slower.
rounds () {
  for _ in $(seq "$4"); do
    run libgrant "$1" "$2"
    run go "$1" "$2"
    run python "$1" "$3"
    # What libsoup alone costs a fresh fetch: the floor under libgrant's.
    [ "$1" != fetch ] || run floor fetch "$2"
  done > "$work/$1"
}

# figure MODE NAME FIELD: the median over the rounds.
figure () {
  awk -v name="$2" -v field="$3" '$1 == name { print $field }' "$work/$1" | sort -g |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# peer_row LABEL UNIT MODE FIELD: libgrant's figure, and the peers' with
# their ratio to it.
peer_row () {
  local a b c
  a=$(figure "$3" libgrant "$4")
  b=$(figure "$3" go-x-oauth2 "$4")
  c=$(figure "$3" python-authlib "$4")
  printf '| %s | %s %s | %s %s (%sx) | %s %s (%sx) |\n' "$1" "$a" "$2" "$b" "$2" \
    "$(awk -v x="$b" -v y="$a" 'BEGIN { printf "%.2f", x / y }')" "$c" "$2" \
    "$(awk -v x="$c" -v y="$a" 'BEGIN { printf "%.2f", x / y }')"
}

# concurrent_cell NAME: "RATIOx (µs)" of the callers' wall time to one fetch.
concurrent_cell () {
  awk -v name="$1" '$1 == name { print $5 / $6 " " $5 }' "$work/concurrent" | sort -g |
    awk '{ r[NR] = $1; u[NR] = $2 } END { m = int((NR + 1) / 2); printf "%.1fx (%d µs)", r[m], u[m] }'
}

n_rounds=5 calls=1000000
[ ${#quick[@]} -eq 0 ] || { n_rounds=3 calls=100000; }
rounds fetch $((iterations / 2)) $((iterations / 2)) "$n_rounds"
rounds cached "$calls" $((calls / 10)) "$n_rounds"
# Eight threads (goroutines) on one provider's cached token at once.
rounds threads $((calls / 5)) $((calls / 50)) "$n_rounds"
# Concurrent callers on a cold cache: 10,000 main-loop callbacks or
# goroutines; 100 Python threads (10,000 would measure thread creation).
rounds concurrent 10000 100 "$n_rounds"

echo
echo "| against the peers, same server, same run | libgrant | Go \`x/oauth2\` | Python authlib |"
echo "|---|---|---|---|"
peer_row "fresh fetch (keep-alive), wall time" µs fetch 4
peer_row "fresh fetch, the client's CPU time (user + system)" µs fetch 5
printf '| for reference: the floor under libgrant, the same fetch by hand with libsoup'"'"'s blocking API + json-glib, CPU time | %s µs | %s µs (%sx) | |\n' \
  "$(figure fetch libsoup-blocking 5)" "$(figure fetch go-x-oauth2 5)" \
  "$(awk -v x="$(figure fetch go-x-oauth2 5)" -v y="$(figure fetch libsoup-blocking 5)" 'BEGIN { printf "%.2f", x / y }')"
peer_row "cached token, blocking call: \`get_token()\`, \`Token()\`, \`ensure_active_token()\`" ns cached 4
peer_row "cached token, 8 threads at once: time per call as each thread sees it" ns threads 5
peer_row "cached token, 8 threads at once: calls per microsecond in all (higher is better)" "" threads 6
printf '| concurrent callers on a cold cache: token requests | %s of 10,000 | %s of 10,000 | %s of 100 |\n' \
  "$(figure concurrent libgrant 4)" "$(figure concurrent go-x-oauth2 4)" "$(figure concurrent python-authlib 4)"
printf '| concurrent callers on a cold cache: wall time against one fetch | %s | %s | %s |\n' \
  "$(concurrent_cell libgrant)" "$(concurrent_cell go-x-oauth2)" "$(concurrent_cell python-authlib)"
echo
echo "Machine: $(nproc) cores, $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -n 1)," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r);" \
  "GLib $(pkg-config --modversion glib-2.0), libsoup $(pkg-config --modversion libsoup-3.0)," \
  "json-glib $(pkg-config --modversion json-glib-1.0), $(go version | awk '{ print $3 }')," \
  "authlib $(/usr/bin/python3 -c 'import authlib; print(authlib.__version__)')."
