#!/usr/bin/env bash
# Installs a private, unpacked copy of Debian's OpenSMTPD for the end-to-end
# test lab (test/lab/opensmtpd.ts), without installing the opensmtpd package:
#
#   - downloads opensmtpd into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/opensmtpd/debs
#   - unpacks it into .../opensmtpd/root (usr/sbin/smtpd, usr/sbin/smtpctl)
#   - installs only the libraries it links against
#   - creates the opensmtpd and opensmtpq users and groups
#
# Idempotent and non-interactive; a fast no-op when everything is in place.
# Must run as root. Exits non-zero with a message on failure.
set -euo pipefail
lab_name=opensmtpd
lab_debs=(opensmtpd)
lab_bins=(usr/sbin/smtpd usr/sbin/smtpctl)
lab_extra_pkgs=()
lab_accounts() {
  if [ "$1" = check ]; then
    getent passwd opensmtpd >/dev/null && getent passwd opensmtpq >/dev/null
  else
    ensure_user opensmtpd opensmtpd
    ensure_user opensmtpq opensmtpq
  fi
}
# shellcheck source=lab/mta-lab-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/mta-lab-common.sh"
lab_main
