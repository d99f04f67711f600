#!/usr/bin/env bash
# Installs a private, unpacked copy of Debian's Exim 4 for the end-to-end test
# lab (test/lab/exim.ts), without installing the exim4 packages:
#
#   - downloads exim4-daemon-light and exim4-base into
#     ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/exim/debs
#   - unpacks them into .../exim/root (usr/sbin/exim4, ...)
#   - installs only the libraries they link against
#   - creates the Debian-exim user and group (exim looks it up before it
#     reads the -C configuration)
#
# Idempotent and non-interactive; a fast no-op when everything is in place.
# Must run as root. Exits non-zero with a message on failure.
set -euo pipefail
lab_name=exim
lab_debs=(exim4-daemon-light exim4-base)
lab_bins=(usr/sbin/exim4)
lab_extra_pkgs=()
lab_accounts() {
  if [ "$1" = check ]; then
    getent passwd Debian-exim >/dev/null && getent group Debian-exim >/dev/null
  else
    ensure_user Debian-exim Debian-exim
  fi
}
# shellcheck source=lab/mta-lab-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/mta-lab-common.sh"
lab_main
