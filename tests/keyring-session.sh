#!/bin/sh
# Runs a command against a real Secret Service: a private D-Bus session bus
# with an unlocked gnome-keyring-daemon, in throwaway directories, so that
# tests never touch the user's own keyring.
set -eu

if [ -z "${GRANT_IN_KEYRING_SESSION:-}" ]; then
  GRANT_IN_KEYRING_SESSION=1 exec dbus-run-session -- "$0" "$@"
fi

tmp=$(mktemp -d)
cleanup () {
  [ -n "${GNOME_KEYRING_PID:-}" ] && kill "$GNOME_KEYRING_PID" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

export HOME="$tmp/home"
export XDG_DATA_HOME="$tmp/data"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_CACHE_HOME="$tmp/cache"
export XDG_RUNTIME_DIR="$tmp/runtime"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

# A new login keyring, unlocked with this password; the daemon prints its
# environment (GNOME_KEYRING_CONTROL, GNOME_KEYRING_PID).
eval "$(printf 'test-keyring-password' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL GNOME_KEYRING_PID

# Wait for the daemon to own the name, or D-Bus would start a second one.
gdbus wait --session --timeout 10 org.freedesktop.secrets

"$@"
