#!/bin/sh
# start-up: what etrn.service runs (installed as /usr/share/etrn/start-up).
# For each defaults file (/etc/default/etrn, then /etc/default/sendmail, the
# Solaris place, when it exists):
#   it sets ETRN_HOSTS: etrn --defaults FILE $ETRN_OPTIONS
#   it sets ATRN_HOSTS: etrn --atrn --defaults FILE $ATRN_OPTIONS
#     (On-Demand Mail Relay, RFC 2645, for a site without a fixed address;
#     ATRN_OPTIONS carries --auth-user NAME and the like)
# (--defaults implies -b: it waits for the local MTA first). The files are
# read by etrn's own parser, never sourced. Exit status: the first failure.
#   start-up --check   exit 0 if some file sets ETRN_HOSTS or ATRN_HOSTS,
#                      else 1, quietly (ExecCondition=: the unit is skipped,
#                      not failed)
# ETRN_DEFAULTS_FILES and ETRN (the command) may be set for tests.
set -u
files=${ETRN_DEFAULTS_FILES:-/etc/default/etrn /etc/default/sendmail}
etrn=${ETRN:-/usr/sbin/etrn}

# True if FILE has a VAR= line (VAR: ETRN_HOSTS or ATRN_HOSTS) with something
# in the value. A value that etrn then finds empty makes it say "nothing to
# do" and exit 0.
sets() {
	[ -r "$2" ] && grep -Eq "^[[:blank:]]*(export[[:blank:]]+)?$1=[\"']?[[:blank:]]*[^\"'[:blank:]#;]" "$2"
}

wanted=
for f in $files; do
	sets ETRN_HOSTS "$f" && wanted="$wanted etrn:$f"
	sets ATRN_HOSTS "$f" && wanted="$wanted atrn:$f"
done
if [ "${1-}" = --check ]; then
	[ -n "$wanted" ]
	exit
fi
[ -n "$wanted" ] || { echo "etrn: no ETRN_HOSTS or ATRN_HOSTS in $files: nothing to do"; exit 0; }
status=0
for w in $wanted; do
	f=${w#*:}
	# The options are split into words on purpose (no globbing).
	set -f
	case $w in
	etrn:*)
		# shellcheck disable=SC2086
		"$etrn" --defaults "$f" ${ETRN_OPTIONS-}
		;;
	atrn:*)
		# shellcheck disable=SC2086
		"$etrn" --atrn --defaults "$f" ${ATRN_OPTIONS-}
		;;
	esac
	rc=$?
	set +f
	[ "$status" -ne 0 ] || status=$rc
done
exit "$status"
