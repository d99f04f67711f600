#!/bin/sh
# Runs Debian's Node.js 18 unpacked by lab/install-node18.sh, with its
# /usr/share/nodejs laid over the host's /usr/share by an overlay mount in a
# private mount namespace (the host is untouched). Arguments go to node,
# e.g.: lab/node18.sh --test dist/test/loopback/trust-store.test.js
# Child processes (process.execPath) run the same Node in the same namespace.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${ETRN_LAB_CACHE:-$repo/.cache/lab}/node18/root
[ -x "$dir/usr/bin/node" ] || { echo "lab/node18.sh: run lab/install-node18.sh first" >&2; exit 1; }
exec unshare --mount --propagation private -- sh -c '
  mount -t overlay overlay -o "lowerdir=$0/usr/share:/usr/share" /usr/share || exit 1
  LD_LIBRARY_PATH="$0/usr/lib/x86_64-linux-gnu" exec "$0/usr/bin/node" "$@"' "$dir" "$@"
