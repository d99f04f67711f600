#!/bin/sh
# start-up: what etrn.service runs (installed as /usr/share/etrn/start-up).
# For each defaults file that sets ETRN_HOSTS (/etc/default/etrn, then
# /etc/default/sendmail, the Solaris place, when it exists), runs
#   etrn --defaults FILE $ETRN_OPTIONS
# (--defaults implies -b: it waits for the local MTA first). The files are
# read by etrn's own parser, never sourced. Exit status: the first failure.
#   start-up --check   exit 0 if some file sets ETRN_HOSTS, else 1, quietly
#                      (ExecCondition=: the unit is skipped, not failed)
# ETRN_DEFAULTS_FILES and ETRN (the command) may be set for tests.
set -u
files=${ETRN_DEFAULTS_FILES:-/etc/default/etrn /etc/default/sendmail}
etrn=${ETRN:-/usr/sbin/etrn}

# True if FILE has an ETRN_HOSTS= line with something in the value. A value
# that etrn then finds empty makes it say "nothing to do" and exit 0.
sets_hosts() {
	[ -r "$1" ] && grep -Eq "^[[:blank:]]*(export[[:blank:]]+)?ETRN_HOSTS=[\"']?[[:blank:]]*[^\"'[:blank:]#;]" "$1"
}

wanted=
for f in $files; do
	sets_hosts "$f" && wanted="$wanted $f"
done
if [ "${1-}" = --check ]; then
	[ -n "$wanted" ]
	exit
fi
[ -n "$wanted" ] || { echo "etrn: no ETRN_HOSTS in $files: nothing to do"; exit 0; }
status=0
for f in $wanted; do
	# ETRN_OPTIONS is split into words on purpose (no globbing).
	set -f
	# shellcheck disable=SC2086
	"$etrn" --defaults "$f" ${ETRN_OPTIONS-}
	rc=$?
	set +f
	[ "$status" -ne 0 ] || status=$rc
done
exit "$status"
