#!/bin/sh
# Runs inside the booted Debian root (etrn-check.service, after
# multi-user.target and the boot run of etrn.service), writes what it finds
# to /root/results (key=value) and the journals to /root/*.journal; the
# unit then powers the system off. test/debian/package.test.ts reads them.
out=/root/results
: >"$out"
rec() { printf '%s=%s\n' "$1" "$2" >>"$out"; }
show() { systemctl show -p "$2" --value "$1"; }

rec multi_user_active "$(show multi-user.target ActiveEnterTimestampMonotonic)"
rec etrn_start "$(show etrn.service ExecMainStartTimestampMonotonic)"
rec etrn_exit "$(show etrn.service ExecMainExitTimestampMonotonic)"
rec etrn_result "$(show etrn.service Result)"
rec etrn_status "$(show etrn.service ExecMainStatus)"
# Debian 12 runs Postfix in postfix@-.service (postfix.service is a stub),
# Debian 13 in postfix.service itself.
rec postfix_active "$(show postfix.service ActiveEnterTimestampMonotonic) $(show postfix@-.service ActiveEnterTimestampMonotonic)"
rec release_start "$(show etrn-release.service ExecMainStartTimestampMonotonic)"
rec etrn_enabled "$(systemctl is-enabled etrn.service)"
rec etrn_uids "$(journalctl -b -u etrn.service -t etrn -o export | sed -n 's/^_UID=//p' | sort -u | tr '\n' ' ')"
rec etrn_facilities "$(journalctl -b -u etrn.service -t etrn -o export | sed -n 's/^SYSLOG_FACILITY=//p' | sort -u | tr '\n' ' ')"
rec node_version "$(node --version)"
rec sbin_etrn "$(readlink -f /usr/sbin/etrn)"
rec etrn_version "$(/usr/sbin/etrn --version)"
rec man_etrn "$(zcat /usr/share/man/man8/etrn.8.gz | grep -m1 '^\.TH')"
journalctl -b -u etrn.service -o cat >/root/etrn-boot.journal
journalctl -b -o short-monotonic SYSLOG_IDENTIFIER=postfix/smtpd >/root/postfix.journal

# A link-up event, as NetworkManager calls its dispatcher scripts. The hook
# queues a start of etrn.service (--no-block); `systemctl start` then joins
# that job and returns when the run is over.
inv=$(show etrn.service InvocationID)
/usr/lib/NetworkManager/dispatcher.d/90-etrn eth0 up
rec nm_hook_status $?
timeout 120 systemctl start etrn.service
[ "$(show etrn.service InvocationID)" != "$inv" ] && rec nm_new_run yes || rec nm_new_run no
rec nm_result "$(show etrn.service Result)"

# The same as pppd would, with its arguments.
inv=$(show etrn.service InvocationID)
/etc/ppp/ip-up.d/etrn ppp0 /dev/ttyS0 115200 10.0.0.1 10.0.0.2 ''
rec ppp_hook_status $?
timeout 120 systemctl start etrn.service
[ "$(show etrn.service InvocationID)" != "$inv" ] && rec ppp_new_run yes || rec ppp_new_run no
rec ppp_result "$(show etrn.service Result)"
journalctl -b -t etrn -o cat >/root/etrn-all.journal

# No ETRN_HOSTS anywhere: the unit is skipped, quietly.
mv /etc/default/etrn /root/etrn.default.saved
printf '#ETRN_HOSTS="mx.example.net"\n' >/etc/default/etrn
inv=$(show etrn.service InvocationID)
timeout 120 systemctl start etrn.service
rec skip_start_status $?
rec skip_result "$(show etrn.service Result)"
rec skip_condition "$(show etrn.service ConditionResult)"
rec skip_exec_condition "$(journalctl -b _SYSTEMD_INVOCATION_ID="$(show etrn.service InvocationID)" -o cat | grep -c 'skipped\|condition' )"
rec skip_etrn_lines "$(journalctl -b _SYSTEMD_INVOCATION_ID="$(show etrn.service InvocationID)" -t etrn -o cat | wc -l)"
mv /root/etrn.default.saved /etc/default/etrn

# SMTP AUTH with the secret handed over as a systemd credential, through the
# drop-in the package documents; the file stays root-only.
install -d -m 0700 /etc/etrn
printf 'cred-secret\n' >/etc/etrn/password
chmod 0600 /etc/etrn/password
install -D -m 0644 /usr/share/doc/etrn/examples/etrn-auth.conf /etc/systemd/system/etrn.service.d/etrn-auth.conf
cp /etc/default/etrn /root/etrn.default.saved
sed -i 's/^ETRN_OPTIONS="/ETRN_OPTIONS="--auth-user etrnuser --auth-cleartext /' /etc/default/etrn
systemctl daemon-reload
timeout 120 systemctl start etrn.service
rec auth_start_status $?
rec auth_result "$(show etrn.service Result)"
journalctl -b -u etrn.service _SYSTEMD_INVOCATION_ID="$(show etrn.service InvocationID)" -o cat >/root/etrn-auth.journal
mv /root/etrn.default.saved /etc/default/etrn
rm /etc/systemd/system/etrn.service.d/etrn-auth.conf
systemctl daemon-reload
rec done yes
