#!/usr/bin/env bash
# test-node18.sh: runs etrn's build and test suite on Debian 12's own
# Node.js 18 (the oldest the package supports: Depends nodejs (>= 18.19)),
# inside a Debian 12 root made by mmdebstrap (scripts/debian-root.sh, cached
# per day), with a clean copy of this repository (the files git knows, plus
# node_modules) and the MTA labs (ETRN_LAB_CACHE, bound at the same path).
# The root gets the labs' libraries (from their stamps) when it is made and
# the host's accounts (the labs' files belong to the host's postfix, smmsp,
# Debian-exim... users). Inside: `npm run build` and `node --test` on every
# test file except
# test/debian/ (that one boots Debian roots itself, and already runs the
# packaged etrn on Node 18). Called by .ci/run after `npm test`. Run as root.
#   scripts/test-node18.sh [dist/test/FILE.test.js ...]   (default: all)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lab=${ETRN_LAB_CACHE:-$repo/.cache/lab}
die() { echo "test-node18: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn not found: apt-get install systemd-container (or run lab/install.sh)"
[ -d "$repo/node_modules" ] || die "no node_modules: run npm ci first"
ls "$lab"/*/installed.stamp >/dev/null 2>&1 || die "no MTA labs in $lab: run lab/install.sh first"
lab=$(cd "$lab" && pwd)

# Debian's npm (to run the build as a user would), the tools the tests call
# (m4: the Sendmail lab builds its sendmail.cf; time: the peak-RSS tests),
# and the libraries of the unpacked labs (from their stamps).
libs=$(sed -n 's/^libs=//p' "$lab"/*/installed.stamp | tr ' ' '\n' | sed '/^$/d' | sort -u | paste -sd, -)
tarball=$(bash "$repo/scripts/debian-root.sh" bookworm "npm,openssl,man-db,groff-base,m4,time,$libs")

work=$(mktemp -d "${TMPDIR:-/tmp}/etrn-node18.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
tar -C "$work/root" --numeric-owner -xf "$tarball"
# A host name that the root's /etc/hosts resolves (fetchmail qualifies its
# own) and that is no localhost name (discovery lists this host's FQDN first).
printf '127.0.1.1\tnode18.etrn.test node18\n' >>"$work/root/etc/hosts"
mkdir "$work/root/etrn"
(cd "$repo" && git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf -) | tar -C "$work/root/etrn" -xf -
cp -a "$repo/node_modules" "$work/root/etrn/"

: >"$work/root/tests"
[ "$#" -eq 0 ] || printf '%s\n' "$@" >"$work/root/tests"
cat >"$work/root/run-tests.sh" <<'END'
set -eu
cd /etrn
echo "test-node18: node $(node --version), npm $(npm --version)" >&2
# The root's Postfix package (there for the booted tests) would lend the
# labs' postconf its libraries; the tests expect only the labs.
dpkg --purge postfix >/dev/null
npm run build
[ -s /tests ] || find dist/test -name '*.test.js' ! -path 'dist/test/debian/*' | sort >/tests
node --test --test-reporter=spec $(cat /tests)
END
systemd-nspawn -q --register=no --keep-unit --pipe --hostname=node18.etrn.test -D "$work/root" \
  --bind="$lab" --bind-ro=/etc/passwd --bind-ro=/etc/group --bind-ro=/etc/shadow --bind-ro=/etc/gshadow \
  --setenv=ETRN_LAB_CACHE="$lab" --setenv=DEBIAN_FRONTEND=noninteractive \
  /bin/bash /run-tests.sh
