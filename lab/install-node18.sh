#!/usr/bin/env bash
# Unpacks Debian 12's own Node.js 18 (nodejs, libnode108 and the modules it
# loads from /usr/share/nodejs) into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/node18,
# without installing it, so that etrn's tests can be run on the oldest Node
# build the package supports (lab/node18.sh runs it). Needs root only for
# lab/node18.sh (a private mount namespace); this script needs apt-get.
# Idempotent; a fast no-op when the tree is in place.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${ETRN_LAB_CACHE:-$repo/.cache/lab}/node18
version=${ETRN_NODE18_VERSION:-$(apt-cache madison nodejs 2>/dev/null | awk '$3 ~ /^18\./ {print $3; exit}')}
die() { echo "install-node18: error: $*" >&2; exit 1; }
[ -x "$dir/root/usr/bin/node" ] && [ -f "$dir/installed.stamp" ] && exit 0
if [ -z "$version" ]; then
  apt-get -q -o DPkg::Lock::Timeout=300 update >&2
  version=$(apt-cache madison nodejs | awk '$3 ~ /^18\./ {print $3; exit}')
fi
[ -n "$version" ] || die "no nodejs 18 in the apt sources (Debian 12 has one)"
mkdir -p "$dir/debs"
cd "$dir/debs"
apt-get -q download "nodejs=$version" "libnode108=$version" libc-ares2 node-acorn node-cjs-module-lexer node-undici node-xtend >&2 \
  || die "apt-get download failed"
rm -rf "$dir/root"
for deb in *.deb; do dpkg-deb -x "$deb" "$dir/root"; done
missing=$(LD_LIBRARY_PATH="$dir/root/usr/lib/x86_64-linux-gnu" ldd "$dir/root/usr/bin/node" | awk '/not found/ {print $1}')
[ -z "$missing" ] || die "libraries not found: $missing"
echo "version=$version" >"$dir/installed.stamp"
echo "install-node18: Debian's Node.js $version in $dir/root" >&2
