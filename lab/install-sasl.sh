#!/usr/bin/env bash
# Installs a private, unpacked copy of Debian's Cyrus SASL plugins and tools
# for the SCRAM end-to-end test (test/lab/sasl.ts, test/e2e/scram-postfix.test.ts),
# without installing the packages themselves:
#
#   - downloads libsasl2-modules (PLAIN, LOGIN, CRAM-MD5, SCRAM plugins),
#     libsasl2-modules-db (the sasldb auxprop plugin) and sasl2-bin
#     (saslpasswd2) into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/sasl/debs
#   - unpacks them into .../sasl/root; the Postfix lab's smtpd (linked with the
#     system's libsasl2-2) finds the plugins there through SASL_PATH
#   - installs only the libraries they link against
#
# Idempotent and non-interactive; a fast no-op when everything is in place.
# Must run as root. Exits non-zero with a message on failure.
set -euo pipefail
# The multiarch folder of the system's libsasl2 (x86_64-linux-gnu, aarch64-linux-gnu, ...).
multiarch=$(ldconfig -p | sed -n 's|.*=> /\(usr/\)\{0,1\}lib/\([^/]*\)/libsasl2\.so\.2$|\2|p' | head -n1)
[ -n "$multiarch" ] || multiarch="$(uname -m)-linux-gnu"
lab_name=sasl
lab_debs=(libsasl2-modules libsasl2-modules-db sasl2-bin)
lab_bins=(usr/sbin/saslpasswd2 usr/sbin/sasldblistusers2
  "usr/lib/$multiarch/sasl2/libscram.so" "usr/lib/$multiarch/sasl2/libplain.so"
  "usr/lib/$multiarch/sasl2/libsasldb.so")
# libsasl2-2 itself comes with Postfix (lab/install-postfix.sh installs it).
lab_extra_pkgs=(libsasl2-2)
# shellcheck source=lab/mta-lab-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/mta-lab-common.sh"
lab_main
