#!/usr/bin/env bash
# debian-root.sh SUITE [PACKAGE,...]: prints the path of a tarball of a
# Debian SUITE root (bookworm, trixie) made by mmdebstrap from Debian's own
# packages, with systemd, Debian's nodejs and postfix (and the extra
# packages), plus the .debs of sendmail-base kept in /root/debs for an
# offline install later. The tarball is cached in $ETRN_ROOT_CACHE (default
# .cache/debian-roots), keyed by suite, packages and date, so a day's runs
# share one. Run as root.
set -euo pipefail
suite=${1:?usage: debian-root.sh SUITE [PACKAGE,...]}
extra=${2:-}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ETRN_ROOT_CACHE:-$root/.cache/debian-roots}
mirror=${ETRN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v mmdebstrap >/dev/null || { echo "debian-root: mmdebstrap not found: apt-get install mmdebstrap (or run lab/install.sh)" >&2; exit 1; }
include=systemd,systemd-sysv,nodejs,postfix,procps${extra:+,$extra}
key=$(printf '%s' "$include" | md5sum | cut -c1-8)
tarball=$cache/$suite-$(date -u +%Y%m%d)-$key.tar
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  rm -f "$cache/$suite"-*-"$key".tar   # older days
  security="deb ${ETRN_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $suite-security main"
  log=$cache/$suite-$key.log
  # Postfix as the local MTA, listening on loopback only (the root shares the
  # host's network); sendmail-base's .debs downloaded, not installed.
  if ! mmdebstrap --variant=apt --format=tar --include="$include" \
      --aptopt='Acquire::Retries "3"' \
      --customize-hook='echo etrn-test > "$1/etc/hostname"' \
      --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
      --customize-hook='chroot "$1" apt-get -y -q --download-only install sendmail-base >/dev/null' \
      --customize-hook='mkdir -p "$1/root/debs" && mv "$1"/var/cache/apt/archives/*.deb "$1/root/debs/"' \
      "$suite" "$tarball.tmp" "deb $mirror $suite main" "$security" >"$log" 2>&1; then
    tail -30 "$log" >&2
    rm -f "$tarball.tmp"
    exit 1
  fi
  mv "$tarball.tmp" "$tarball"
fi
printf '%s\n' "$tarball"
