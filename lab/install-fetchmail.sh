#!/usr/bin/env bash
# Installs a private, unpacked copy of Debian's fetchmail for the ATRN
# cross-check (test/atrn/fetchmail-crosscheck.test.ts): a real ODMR client
# (RFC 2645, `fetchmail --protocol ODMR`) that nobody here wrote, run against
# the scripted provider to validate it. Same scheme as the MTA labs:
#
#   - downloads fetchmail into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/fetchmail/debs
#   - unpacks it into .../fetchmail/root (usr/bin/fetchmail)
#   - installs only the libraries it links against
#
# Idempotent and non-interactive; a fast no-op when everything is in place.
# Must run as root. Exits non-zero with a message on failure.
set -euo pipefail
lab_name=fetchmail
lab_debs=(fetchmail)
lab_bins=(usr/bin/fetchmail)
lab_extra_pkgs=()
# shellcheck source=lab/mta-lab-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/mta-lab-common.sh"
lab_main
