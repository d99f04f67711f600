#!/bin/sh
# Runs in the Debian root (not booted) after the boot test: sendmail-base's
# etrn diverted whichever package comes first, removal gives it back, remove
# keeps the conffile, purge leaves nothing. Writes /root/divert-results.
out=/root/divert-results
: >"$out"
rec() { printf '%s=%s\n' "$1" "$2" >>"$out"; }
state() {
	rec "$1_diversions" "$(dpkg-divert --list '*etrn*' | sort | tr '\n' ';')"
	rec "$1_sbin" "$(readlink -f /usr/sbin/etrn 2>/dev/null || echo missing)"
	rec "$1_sbin_head" "$(head -c 40 /usr/sbin/etrn 2>/dev/null | head -n 1)"
	rec "$1_sbin_sendmail_head" "$(head -c 40 /usr/sbin/etrn.sendmail 2>/dev/null | head -n 1)"
	rec "$1_man" "$(zcat /usr/share/man/man8/etrn.8.gz 2>/dev/null | grep -m1 '^\.TH' || echo missing)"
	rec "$1_man_sendmail" "$( [ -e /usr/share/man/man8/etrn.sendmail.8.gz ] && echo present || echo missing)"
	rec "$1_default" "$( [ -e /etc/default/etrn ] && echo present || echo missing)"
	rec "$1_dpkg" "$(dpkg-query -W -f='${db:Status-Abbrev}' etrn 2>/dev/null || echo none)"
}
export DEBIAN_FRONTEND=noninteractive
apt() { apt-get -q -y -o Dpkg::Use-Pty=0 "$@" >>/root/divert.log 2>&1; }

state ours
# sendmail-base after ours (its .debs were downloaded when the root was made)
apt install /root/debs/*.deb
rec sendmail_after_status $?
state sendmail_after
apt remove etrn
rec remove_status $?
state removed
# ours after sendmail-base
apt install /root/etrn.deb
rec ours_after_status $?
state ours_after
apt purge etrn
rec purge_status $?
state purged
rec purged_leftovers "$(ls -d /etc/default/etrn /etc/ppp/ip-up.d/etrn /usr/share/etrn /usr/share/doc/etrn \
	/lib/systemd/system/etrn.service /usr/lib/systemd/system/etrn.service \
	/etc/systemd/system/multi-user.target.wants/etrn.service \
	/usr/lib/NetworkManager/dispatcher.d/90-etrn /var/lib/systemd/deb-systemd-helper-enabled/etrn.service.dsh-also \
	/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/etrn.service 2>/dev/null | tr '\n' ' ')"
rec done yes
