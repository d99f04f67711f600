#!/usr/bin/env bash
# Installs a private, unpacked copy of Debian's Postfix for the end-to-end test
# lab (test/lab/postfix.ts), without installing the postfix package itself:
#
#   - downloads the postfix .deb into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/postfix
#   - unpacks it there with dpkg-deb -x (root/ holds usr/sbin, usr/lib/postfix, ...)
#   - installs only the shared libraries it links against (its lib* Depends)
#   - creates the postfix user and the postfix/postdrop groups
#
# Idempotent and non-interactive; a fast no-op when everything is in place.
# Must run as root (apt-get, useradd). Exits non-zero with a message on failure.
set -euo pipefail

die() { echo "install-postfix: error: $*" >&2; exit 1; }
log() { echo "install-postfix: $*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ETRN_LAB_CACHE:-$repo/.cache/lab}/postfix
root=$cache/root
stamp=$cache/installed.stamp
apt_opts=(-q -o DPkg::Lock::Timeout=300 -o APT::Get::Assume-Yes=true)
export DEBIAN_FRONTEND=noninteractive

[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0)"

ensure_accounts() {
  getent group postfix >/dev/null || groupadd --system postfix || die "cannot create group postfix"
  getent group postdrop >/dev/null || groupadd --system postdrop || die "cannot create group postdrop"
  if ! getent passwd postfix >/dev/null; then
    useradd --system --gid postfix --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin postfix || die "cannot create user postfix"
  fi
}

# Library packages that are not installed yet (from the stamp's list).
missing_libs() {
  local p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || echo "$p"
  done
}

# Fast path: unpacked tree, stamp, libraries and accounts all present.
if [ -f "$stamp" ] && [ -x "$root/usr/sbin/postfix" ] && [ -x "$root/usr/lib/postfix/sbin/master" ]; then
  read -r -a libs <<<"$(sed -n 's/^libs=//p' "$stamp")"
  if [ -z "$(missing_libs "${libs[@]}")" ] && getent passwd postfix >/dev/null \
    && getent group postfix >/dev/null && getent group postdrop >/dev/null; then
    exit 0
  fi
fi

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs a Debian system (apt-get, dpkg-deb)"
mkdir -p "$cache" || die "cannot create $cache"

# apt-get update, waiting (up to ~5 min) while another apt holds the lists lock.
apt_update() {
  local i out
  for i in $(seq 60); do
    if out=$(apt-get "${apt_opts[@]}" update 2>&1); then echo "$out" >&2; return 0; fi
    echo "$out" | grep -q 'Could not get lock' || { echo "$out" >&2; return 1; }
    [ "$i" -eq 1 ] && log "waiting for another apt to release its lock"
    sleep 5
  done
  echo "$out" >&2
  return 1
}

# apt-get update only when the package lists do not know postfix (or its .deb
# cannot be fetched from them, e.g. lists older than the mirror).
download() {
  (cd "$cache" && rm -f postfix_*.deb && apt-get "${apt_opts[@]}" -o APT::Sandbox::User=root download postfix) >&2
}
if ! apt-cache show postfix >/dev/null 2>&1 || ! download; then
  log "refreshing package lists (apt-get update)"
  apt_update || die "apt-get update failed"
  download || die "apt-get download postfix failed"
fi
deb=$(ls "$cache"/postfix_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "no postfix .deb in $cache after download"
version=$(dpkg-deb -f "$deb" Version) || die "cannot read $deb"

log "unpacking $(basename "$deb")"
rm -rf "$root.tmp"
dpkg-deb -x "$deb" "$root.tmp" || die "dpkg-deb -x $deb failed"
rm -rf "$root"
mv "$root.tmp" "$root"

# The library dependencies: the lib* packages among postfix's Depends
# (libc6 libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3 on bookworm).
mapfile -t libs < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[|(].*//; s/^ *//; s/ *$//' \
  | grep -E '^lib' | sort -u)
[ "${#libs[@]}" -gt 0 ] || die "found no library dependencies in $deb"
mapfile -t need < <(missing_libs "${libs[@]}")
if [ "${#need[@]}" -gt 0 ]; then
  log "installing libraries: ${need[*]}"
  apt-get "${apt_opts[@]}" install --no-install-recommends "${need[@]}" >&2 \
    || { apt_update && apt-get "${apt_opts[@]}" install --no-install-recommends "${need[@]}" >&2; } \
    || die "apt-get install ${need[*]} failed"
fi

# Every binary must now resolve all its libraries (the private ones live in
# usr/lib/postfix and are found through LD_LIBRARY_PATH at run time).
unresolved=$(for f in "$root"/usr/sbin/* "$root"/usr/lib/postfix/sbin/*; do
  [ -f "$f" ] && LD_LIBRARY_PATH="$root/usr/lib/postfix" ldd "$f" 2>/dev/null | grep 'not found' || true
done | sort -u)
[ -z "$unresolved" ] || die "unresolved libraries after install:"$'\n'"$unresolved"

ensure_accounts

printf 'version=%s\nlibs=%s\n' "$version" "${libs[*]}" > "$stamp"
log "postfix $version ready in $root"
