#!/bin/sh
# run-example.sh ENDPOINT COMMAND...: starts grant-local-endpoint, runs the
# example COMMAND with its base URL, and checks that the example got a token
# and called the API with it.
set -eu

endpoint=$1
shift

tmp=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$tmp"' EXIT

# The endpoint lives as long as this script holds the pipe open.
mkfifo "$tmp/stdin"
"$endpoint" --until-stdin-closes < "$tmp/stdin" > "$tmp/url" &
exec 3> "$tmp/stdin"

for _ in $(seq 100); do
  [ -s "$tmp/url" ] && break
  sleep 0.05
done
url=$(head -n 1 "$tmp/url")
[ -n "$url" ] || { echo "grant-local-endpoint did not start" >&2; exit 1; }

"$@" "$url" > "$tmp/out"
cat "$tmp/out"

grep -q '^token-refreshed: a Bearer token, expires at ' "$tmp/out"
grep -q '^API answered 200: {"ok":true}' "$tmp/out"
