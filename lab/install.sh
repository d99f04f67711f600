#!/usr/bin/env bash
# Installs everything the test suite needs that npm does not: the private,
# unpacked MTA labs (Postfix, Sendmail, Exim, OpenSMTPD; none installed as a
# package) and the Debian tools the tests call (openssl; the Debian packaging and booted-root tools). Run as root; safe
# to run again (a fast no-op when everything is in place).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" -eq 0 ] || { echo "lab/install.sh: must run as root" >&2; exit 1; }
need=()
# debhelper, dpkg-dev, lintian: npm run deb; mmdebstrap, systemd-container:
# the booted Debian roots of test/debian/ and scripts/test-node18.sh.
for p in openssl man-db groff-base systemd time debhelper dpkg-dev lintian mmdebstrap systemd-container; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get -q -o DPkg::Lock::Timeout=300 update >&2
  apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}" >&2
fi
for mta in postfix sendmail exim opensmtpd sasl fetchmail; do
  bash "$here/install-$mta.sh"
done
echo "lab/install.sh: MTA labs ready in ${ETRN_LAB_CACHE:-$(dirname "$here")/.cache/lab}" >&2
