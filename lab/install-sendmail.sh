#!/usr/bin/env bash
# Installs a private, unpacked copy of Debian's Sendmail for the end-to-end test
# lab (test/lab/sendmail.ts), without installing the sendmail packages:
#
#   - downloads sendmail-bin, sendmail-base, sendmail-cf into
#     ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/sendmail/debs
#   - unpacks them into .../sendmail/root (usr/libexec/sendmail/sendmail,
#     usr/share/sendmail/cf/... for building sendmail.cf with m4)
#   - installs only the libraries they link against, and m4
#   - creates the smmta and smmsp users and groups
#
# Idempotent and non-interactive; a fast no-op when everything is in place.
# Must run as root. Exits non-zero with a message on failure.
set -euo pipefail
lab_name=sendmail
lab_debs=(sendmail-bin sendmail-base sendmail-cf)
lab_bins=(usr/libexec/sendmail/sendmail usr/libexec/sendmail/makemap usr/share/sendmail/cf/m4/cf.m4)
lab_extra_pkgs=(m4)
lab_accounts() {
  if [ "$1" = check ]; then
    getent passwd smmta >/dev/null && getent passwd smmsp >/dev/null
  else
    ensure_user smmta smmta
    ensure_user smmsp smmsp
  fi
}
# shellcheck source=lab/mta-lab-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/mta-lab-common.sh"
lab_main
