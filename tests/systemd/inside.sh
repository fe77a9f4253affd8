#!/bin/bash
# Runs inside the booted Debian 12 container (tests/systemd/run-in-nspawn.sh
# installs it as ctlkit-check.service): an administrator's first hour with
# the package, done as docs/installing.md says, then what the unit promises
# checked on the real instance. One "PASS name" or "FAIL name: why" line per
# check in $OUT/report, "INFO ..." lines for figures, "DONE" at the end;
# then the container powers off ("ABORTED" instead of "DONE" when it was
# stopped before the end).
#   NODE (cucm-pub), ADDR (127.0.0.1: the container's own loopback, its
#   only interface with --private-network), TOOLS (tftpc, tvsquery)
set -uo pipefail
OUT=${OUT:-/ctlkit-results}
NODE=${NODE:-cucm-pub}
ADDR=${ADDR:-127.0.0.1}
TOOLS=${TOOLS:-/usr/local/lib/ctlkit-check}
CL=/var/lib/ctlkit/cluster
UNIT=ctlkitd@$NODE.service
W=$(mktemp -d /tmp/check.XXXXXX)
: >"$OUT/report"
failed=0 finished=0

say() { echo "$*" >>"$OUT/report"; echo "ctlkit-check: $*" >/dev/console 2>/dev/null || true; }
pass() { say "PASS $1"; }
fail() { say "FAIL $1: $2"; failed=1; }
# check NAME COMMAND...: PASS when the command succeeds, else FAIL with the
# last lines it printed.
check() {
  local name=$1; shift
  if "$@" >"$W/last" 2>&1; then pass "$name"; return 0; fi
  fail "$name" "$(tail -n 3 "$W/last" | tr '\n' ' ')"; return 1
}
# Polls (0.2 s steps) until the command succeeds, for at most $2 s however
# long each try takes.
wait_for() {
  local end=$((SECONDS + $2))
  while :; do
    eval "$1" >/dev/null 2>&1 && return 0
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}
admin() { ctlkit admin --cluster "$CL" --node "$NODE" --yes -c "$1" </dev/null; }
mainpid() { systemctl show -p MainPID --value "$UNIT"; }
status_field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
finish() {
  journalctl -b --no-pager >"$OUT/journal.txt" 2>&1
  systemctl status --no-pager "$UNIT" >"$OUT/unit-status.txt" 2>&1
  systemctl status --no-pager ctlkit-web.service >"$OUT/web-unit-status.txt" 2>&1
  systemctl status --no-pager 'ctlkitd@cucm-pg*' 'postgresql*' >"$OUT/pg-units-status.txt" 2>&1
  cp -a "$W" "$OUT/work" 2>/dev/null
  # DONE only when every step ran (not stopped by the boot's timeout).
  [ "$finished" = 1 ] && say "DONE failed=$failed" || say "ABORTED before the last check"
  systemctl poweroff --no-block
  exit 0
}
trap finish EXIT

say "INFO $(systemctl --version | head -n 1); $(ctlkit --version)"

# 1. docs/installing.md, "Installing from the Debian package", as written
#    (the address is this host's: the daemon binds it).
check account getent passwd ctlkit
check cluster-init runuser -u ctlkit -- ctlkit cluster init "$CL" --publisher "$NODE=$ADDR"
check keys-to-root chown -R root:root "$CL/nodes/$NODE/keys"
check enable-now systemctl enable --now "$UNIT"

# confined PREFIX PID: PID (a unit's main process) runs as ctlkit with no
# capability left, no new privileges, two seccomp filters (the unit's
# SystemCallFilter= and the program's own --seccomp=kill), and is not
# dumpable (its /proc files are root's). Check names start with PREFIX.
confined() {
  local p=$1 pid=$2 ru eu su fu c v
  read -r ru eu su fu <<<"$(status_field "$pid" Uid)"
  [ "$ru $eu $su $fu" = "$uid $uid $uid $uid" ] && pass "${p}uid-ctlkit" ||
    fail "${p}uid-ctlkit" "Uid: $ru $eu $su $fu, ctlkit is $uid"
  for c in CapInh CapPrm CapEff CapAmb; do
    v=$(status_field "$pid" $c)
    [ "$v" = 0000000000000000 ] && pass "$p$c-empty" || fail "$p$c-empty" "$c: $v"
  done
  v=$(status_field "$pid" NoNewPrivs)
  [ "$v" = 1 ] && pass "${p}NoNewPrivs" || fail "${p}NoNewPrivs" "NoNewPrivs: $v"
  v=$(status_field "$pid" Seccomp_filters)
  [ "${v:-0}" -ge 2 ] && pass "${p}seccomp-two-filters" || fail "${p}seccomp-two-filters" "Seccomp_filters: $v"
  [ "$(stat -c %u "/proc/$pid/status")" = 0 ] && pass "${p}not-dumpable" || fail "${p}not-dumpable" "/proc/$pid is not root's"
}

# 2. The daemon runs, as ctlkit, with nothing the unit does not give it.
wait_for "journalctl -u $UNIT -b --no-pager | grep -q 'ctlkitd .* started'" 20 ||
  fail started "no 'ctlkitd ... started' in the journal"
check is-active systemctl is-active --quiet "$UNIT"
pid=$(mainpid)
user=$(systemctl show -p User --value "$UNIT")
say "INFO MainPID=$pid User=$user (the unit starts it as root; it leaves root itself)"
uid=$(id -u ctlkit) gid=$(id -g ctlkit)
if [ -r "/proc/$pid/status" ] && [ "$pid" != 0 ]; then
  cp "/proc/$pid/status" "$W/status.txt"
  confined "" "$pid"
  read -r rg eg sg fg <<<"$(status_field "$pid" Gid)"
  [ "$rg $eg $sg $fg" = "$gid $gid $gid $gid" ] && pass gid-ctlkit || fail gid-ctlkit "Gid: $rg $eg $sg $fg, ctlkit is $gid"
  # CAP_DAC_READ_SEARCH (2), CAP_SETGID (6), CAP_SETUID (7),
  # CAP_NET_BIND_SERVICE (10): CapabilityBoundingSet= of the unit.
  v=$(status_field "$pid" CapBnd)
  [ "$v" = 00000000000004c4 ] && pass CapBnd-unit || fail CapBnd-unit "CapBnd: $v, expected 00000000000004c4"
  v=$(status_field "$pid" Seccomp)
  [ "$v" = 2 ] && pass seccomp-filter || fail seccomp-filter "Seccomp: $v, expected 2 (filter)"
  say "INFO $(grep -E '^Max locked memory' "/proc/$pid/limits" | tr -s ' ')"
  grep -q 'secure heap is not available' <(journalctl -u "$UNIT" -b --no-pager) &&
    fail secure-heap "OpenSSL's secure heap is not available: keys on the ordinary heap" || pass secure-heap
else
  fail proc-status "no /proc/$pid/status (MainPID=$pid)"
fi
check keys-unreadable-by-ctlkit bash -c "! runuser -u ctlkit -- cat '$CL/nodes/$NODE/keys/TVS.pem'"
# ProtectSystem=strict, ReadWritePaths=/var/lib/ctlkit: the daemon's view of
# the file system is read-only but for the cluster's folder.
if [ -r "/proc/$pid/mountinfo" ]; then
  cp "/proc/$pid/mountinfo" "$W/mountinfo.txt"
  awk '$5 == "/" { print $6 }' "$W/mountinfo.txt" | grep -q '^ro' && pass root-read-only ||
    fail root-read-only "/ is writable for the daemon"
  awk '$5 == "/var/lib/ctlkit" { print $6 }' "$W/mountinfo.txt" | grep -q '^rw' && pass cluster-writable ||
    fail cluster-writable "/var/lib/ctlkit is not a writable mount for the daemon"
fi
# The cluster's folder stays closed to other accounts (postinst makes it
# 0750; nothing the administrator does afterwards may open it).
v=$(stat -c %a /var/lib/ctlkit)
[ "$v" = 750 ] && pass var-lib-ctlkit-0750 || fail var-lib-ctlkit-0750 "/var/lib/ctlkit is $v after cluster init"

# 3. TFTP and TVS served from the container's own network namespace, on the
#    package's default ports (69, 2445).
check itl-tftp "$TOOLS/tftpc" get "$ADDR" 69 ITLFile.tlv "$W/ITLFile.tlv" -t 5
check itl-verifies ctlkit tlv verify "$W/ITLFile.tlv"
check mixed-mode admin 'utils ctl set-cluster mixed-mode'
wait_for "'$TOOLS/tftpc' get '$ADDR' 69 CTLFile.tlv '$W/CTLFile.tlv' -t 5" 20 && pass ctl-tftp ||
  fail ctl-tftp "CTLFile.tlv not served over TFTP after mixed mode"
check ctl-verifies ctlkit tlv verify "$W/CTLFile.tlv"
check cm-cert bash -c "ctlkit admin --cluster '$CL' --node '$NODE' --yes -c 'show cert own CallManager --pem' </dev/null >'$W/cm.pem'"
check tvs-query "$TOOLS/tvsquery" -c "$W/cm.pem" "$ADDR" 2445
check phone-boot bash -c "ctlkit-phone boot --state '$W/phone' --mac 001122334455 --model 8865 --tftp '$ADDR:69' --tvs '$ADDR:2445' >'$W/phone.txt' 2>&1; rc=\$?; cat '$W/phone.txt'; exit \$rc"
say "INFO phone: $(tr '\n' ' ' <"$W/phone.txt" | cut -c1-300)"

# 4. A regenerated key: the daemon exits 75, the unit starts it again (as
#    root, so it loads the new key) and it serves the ITL the new key signs.
restarts0=$(systemctl show -p NRestarts --value "$UNIT")
check regen admin 'set cert regen CallManager'
check cm-cert-new bash -c "ctlkit admin --cluster '$CL' --node '$NODE' --yes -c 'show cert own CallManager --pem' </dev/null >'$W/cm2.pem' && ! cmp -s '$W/cm.pem' '$W/cm2.pem'"
wait_for "[ \"\$(systemctl show -p NRestarts --value $UNIT)\" -gt $restarts0 ] && systemctl is-active --quiet $UNIT && [ \"\$(systemctl show -p MainPID --value $UNIT)\" != $pid ]" 30 &&
  pass restarted-after-regen || fail restarted-after-regen "NRestarts $(systemctl show -p NRestarts --value "$UNIT"), MainPID $(mainpid) (was $pid)"
journalctl -u "$UNIT" -b --no-pager >"$W/unit-journal.txt"
grep -q 'key for CallManager changed; restarting to load it' "$W/unit-journal.txt" && pass exit75-said ||
  fail exit75-said "no 'key for CallManager changed' in the journal"
grep -Eq 'code=exited, status=75|status=75/' "$W/unit-journal.txt" && pass exit75-status ||
  fail exit75-status "systemd did not record exit status 75"
say "INFO NRestarts=$(systemctl show -p NRestarts --value "$UNIT") MainPID=$(mainpid)"
# The new daemon serves once it says it started.
wait_for "[ \$(journalctl -u $UNIT -b --no-pager | grep -c 'ctlkitd .* started') -ge 2 ]" 20
serial=$(openssl x509 -in "$W/cm2.pem" -noout -serial 2>/dev/null | sed 's/^serial=//; s/../&:/g; s/:$//')
wait_for "'$TOOLS/tftpc' get '$ADDR' 69 ITLFile.tlv '$W/ITL2.tlv' -t 5 && ctlkit tlv verify '$W/ITL2.tlv' && ctlkit tlv show '$W/ITL2.tlv' | grep -q 'SERIALNUMBER .* $serial\$'" 20 &&
  pass itl-new-key || fail itl-new-key "the ITL served after the restart is not signed by the new certificate (${serial:-no serial})"
check tvs-query-after-restart "$TOOLS/tvsquery" -c "$W/cm2.pem" "$ADDR" 2445
pid2=$(mainpid)
[ "$(status_field "$pid2" Uid | awk '{print $2}')" = "$uid" ] && pass uid-ctlkit-after-restart ||
  fail uid-ctlkit-after-restart "Uid: $(status_field "$pid2" Uid)"
grep -Eiq 'SIGSYS|seccomp: system call|status=31' "$W/unit-journal.txt" &&
  fail no-seccomp-kill "$(grep -Ei 'SIGSYS|seccomp|status=31' "$W/unit-journal.txt" | head -n 2 | tr '\n' ' ')" || pass no-seccomp-kill

# 5. systemd-analyze security on the real instance.
systemd-analyze security --no-pager "$UNIT" >"$W/security.txt" 2>&1
line=$(grep -F 'Overall exposure level' "$W/security.txt" | sed 's/\x1b\[[0-9;]*m//g')
say "INFO systemd-analyze security $UNIT: ${line#*: }"
grep -Eq 'Overall exposure level.*(SAFE|OK)' "$W/security.txt" && pass security-ok ||
  fail security-ok "${line:-no score}"

# 6. A clean stop.
check stop systemctl stop "$UNIT"
v=$(systemctl show -p Result --value "$UNIT")
[ "$v" = success ] && pass stop-result || fail stop-result "Result=$v"

# 7. The dashboard (ctlkit-web.service): started as docs/installing.md
#    says, it leaves root, keeps no capability, filters its calls, serves
#    the login page on 443 with the publisher's key, and scores as well.
WUNIT=ctlkit-web.service
check web-enable-now systemctl enable --now "$WUNIT"
wait_for "journalctl -u $WUNIT -b --no-pager | grep -q 'ctlkit-web: serving'" 20 ||
  fail web-started "no 'ctlkit-web: serving' in the journal"
check web-is-active systemctl is-active --quiet "$WUNIT"
wpid=$(systemctl show -p MainPID --value "$WUNIT")
if [ -r "/proc/$wpid/status" ] && [ "$wpid" != 0 ]; then
  cp "/proc/$wpid/status" "$W/web-status.txt"
  confined web- "$wpid"
else
  fail web-proc-status "no /proc/$wpid/status (MainPID=$wpid)"
fi
# No curl in a minimal Debian: openssl's client speaks the HTTP.
web_get() {
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$ADDR" |
    timeout 10 openssl s_client -quiet -connect "$ADDR:443" 2>/dev/null | head -n 1 | tr -d '\r'
}
v=$(web_get /login)
[[ $v == "HTTP/1."[01]" 200"* ]] && pass web-login-200 || fail web-login-200 "GET https://$ADDR:443/login: ${v:-no answer}"
journalctl -u "$WUNIT" -b --no-pager >"$W/web-journal.txt"
grep -Eiq 'SIGSYS|seccomp: system call|status=31' "$W/web-journal.txt" &&
  fail web-no-seccomp-kill "$(grep -Ei 'SIGSYS|seccomp|status=31' "$W/web-journal.txt" | head -n 2 | tr '\n' ' ')" ||
  pass web-no-seccomp-kill
systemd-analyze security --no-pager "$WUNIT" >"$W/web-security.txt" 2>&1
line=$(grep -F 'Overall exposure level' "$W/web-security.txt" | sed 's/\x1b\[[0-9;]*m//g')
say "INFO systemd-analyze security $WUNIT: ${line#*: }"
grep -Eq 'Overall exposure level.*(SAFE|OK)' "$W/web-security.txt" && pass web-security-ok ||
  fail web-security-ok "${line:-no score}"
check web-stop systemctl stop "$WUNIT"
v=$(systemctl show -p Result --value "$WUNIT")
[ "$v" = success ] && pass web-stop-result || fail web-stop-result "Result=$v"

# 8. A rehearsal by the administrator (root) on the installed folder
#    cluster: it reports, and changes nothing of the cluster.
rehearsed() { # OUTPUT-FILE ARGS...: exit 0 and the report (what changed is checked apart)
  local out=$1; shift
  ctlkit rehearse "$@" -- 'set cert regen CallManager' 'utils ctl update CTLFile' >"$out" 2>&1 </dev/null || return 1
  grep -q 'Rehearsal on a throw-away copy' "$out" && grep -q '^CTL MD5 after' "$out"
}
cp "$CL/nodes/$NODE/tftp/CTLFile.tlv" "$W/ctl-before-rehearsal.tlv"
check rehearse-folder rehearsed "$W/rehearse-folder.txt" --cluster "$CL" --node "$NODE"
check rehearse-folder-changed-nothing bash -c "cmp '$W/ctl-before-rehearsal.tlv' '$CL/nodes/$NODE/tftp/CTLFile.tlv' &&
  ctlkit admin --cluster '$CL' --node '$NODE' -c 'show cert own CallManager --pem' </dev/null | cmp - '$W/cm2.pem'"

# 9. A PostgreSQL cluster (docs/installing.md, "A PostgreSQL cluster"),
#    done as written: Debian's postgresql (in the root), a role with a
#    password and a database; the password in ctlkit's ~/.pgpass (the
#    units' PGPASSFILE) and root's (the admin); a publisher and a
#    subscriber, each ctlkitd@NODE with a drop-in naming the database and
#    a configuration file naming its folder, on two loopback addresses.
#    The publisher reaches PostgreSQL over 127.0.0.1 (AF_INET), the
#    subscriber over its Unix socket (AF_UNIX), both under the unit's
#    RestrictAddressFamilies= and ProtectSystem=strict.
PGDB=cluster1 PUB=cucm-pgpub SUB=cucm-pgsub PUBADDR=127.0.0.2 SUBADDR=127.0.0.3
URL_TCP="postgresql://ctlkit@127.0.0.1:5432/$PGDB"
URL_SOCK="postgresql:///$PGDB?host=/run/postgresql&user=ctlkit"
PUNIT=ctlkitd@$PUB.service SUNIT=ctlkitd@$SUB.service
pg_q() { runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d "${2:-postgres}" -c "$1" </dev/null; }
wait_for "runuser -u postgres -- pg_isready -q" 30 && pass pg-ready ||
  fail pg-ready "PostgreSQL not ready: $(systemctl is-active postgresql@15-main.service)"
say "INFO $(pg_q 'SELECT version()' | cut -c1-60)"
pw=$(openssl rand -hex 24)
# The password reaches psql on its standard input, never a command line.
pg_make_db() {
  printf "CREATE ROLE ctlkit LOGIN CREATEROLE PASSWORD '%s';\n" "$pw" |
    runuser -u postgres -- psql -Xq -v ON_ERROR_STOP=1 &&
    runuser -u postgres -- createdb --owner ctlkit "$PGDB"
}
check pg-role-and-db pg_make_db
# Debian's pg_hba.conf lets local (socket) users in by peer only; a line
# before it lets the cluster's role in with its password.
pg_local_password() {
  local f
  f=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1) || return 1
  { echo "local   $PGDB   ctlkit   scram-sha-256"; cat "$f"; } >"$W/pg_hba.conf" && cat "$W/pg_hba.conf" >"$f" &&
    [ "$(pg_q 'SELECT pg_reload_conf()')" = t ]
}
check pg-hba-local pg_local_password
pgpass() { # FILE OWNER
  (umask 077 && printf '*:*:%s:ctlkit:%s\n' "$PGDB" "$pw" >"$1") && chown "$2:" "$1" && chmod 0600 "$1"
}
check pgpass-ctlkit pgpass /var/lib/ctlkit/.pgpass ctlkit
check pgpass-root pgpass /root/.pgpass root
check pg-cluster-init runuser -u ctlkit -- ctlkit cluster init "$URL_TCP" --dir "/var/lib/ctlkit/$PUB" \
  --publisher "$PUB=$PUBADDR" --subscriber "$SUB=$SUBADDR"
check pg-cluster-join runuser -u ctlkit -- ctlkit cluster join "$URL_SOCK" --dir "/var/lib/ctlkit/$SUB" --node "$SUB"
check pg-keys-to-root chown -R root:root "/var/lib/ctlkit/$PUB/keys" "/var/lib/ctlkit/$SUB/keys"
# Two nodes on one host: each instance its own configuration file
# (CTLKIT_CONF); on a host of its own, /etc/ctlkit/ctlkit.conf.
node_conf() { # NODE URL
  printf 'cluster = %s\ndir = /var/lib/ctlkit/%s\nnode = %s\n' "$2" "$1" "$1" >"/etc/ctlkit/$1.conf" &&
    mkdir -p "/etc/systemd/system/ctlkitd@$1.service.d" &&
    printf '[Service]\nEnvironment="CTLKIT_CLUSTER=%s"\nEnvironment=CTLKIT_CONF=/etc/ctlkit/%s.conf\n' "$2" "$1" \
      >"/etc/systemd/system/ctlkitd@$1.service.d/cluster.conf"
}
pg_drop_ins() { node_conf "$PUB" "$URL_TCP" && node_conf "$SUB" "$URL_SOCK" && systemctl daemon-reload; }
check pg-drop-ins pg_drop_ins
check pg-enable-now systemctl enable --now "$PUNIT" "$SUNIT"
for u in "$PUNIT" "$SUNIT"; do
  wait_for "journalctl -u $u -b --no-pager | grep -q 'ctlkitd .* started'" 20 ||
    fail "pg-started-${u%.service}" "no 'ctlkitd ... started' in $u's journal"
done
check pg-is-active systemctl is-active --quiet "$PUNIT" "$SUNIT"
ppid=$(systemctl show -p MainPID --value "$PUNIT") spid=$(systemctl show -p MainPID --value "$SUNIT")
for x in "pg-pub-:$ppid" "pg-sub-:$spid"; do
  if [ -r "/proc/${x#*:}/status" ] && [ "${x#*:}" != 0 ]; then confined "${x%%:*}" "${x#*:}"
  else fail "${x%%:*}proc-status" "no /proc/${x#*:}/status"; fi
done
# Each daemon's connection, as PostgreSQL sees it: the publisher's from
# 127.0.0.1, the subscriber's through the socket (no client address).
pg_conns() { # WHERE: ctlkit's connections to the cluster's database
  pg_q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PGDB' AND usename = 'ctlkit' AND $1"
}
wait_for "[ \$(pg_conns \"client_addr = '127.0.0.1'\") -ge 1 ] && [ \$(pg_conns 'client_port = -1') -ge 1 ]" 20 &&
  pass pg-daemons-connected-inet-and-unix ||
  fail pg-daemons-connected-inet-and-unix "127.0.0.1: $(pg_conns "client_addr = '127.0.0.1'"), socket: $(pg_conns 'client_port = -1')"
pgadmin() { CTLKIT_CONF=/etc/ctlkit/$PUB.conf ctlkit admin --yes -c "$1" </dev/null; }
check pg-mixed-mode pgadmin 'utils ctl set-cluster mixed-mode'
# Both nodes serve the same CTL over TFTP; the subscriber's daemon says it
# serves the published version.
ctl_version() { pg_q "SELECT max(version) FROM publishedfile WHERE name = 'CTLFile.tlv'" "$PGDB"; }
served_version() { pg_q "SELECT version FROM servedfile WHERE node = '$1' AND name = 'CTLFile.tlv'" "$PGDB"; }
same_ctl() { # MIN-VERSION: both serve the published CTL, newer than MIN-VERSION
  local v
  v=$(ctl_version) && [ -n "$v" ] && [ "$v" -gt "$1" ] && [ "$(served_version "$SUB")" = "$v" ] &&
    "$TOOLS/tftpc" get "$PUBADDR" 69 CTLFile.tlv "$W/pg-pub-ctl.tlv" -t 5 &&
    "$TOOLS/tftpc" get "$SUBADDR" 69 CTLFile.tlv "$W/pg-sub-ctl.tlv" -t 5 &&
    cmp -s "$W/pg-pub-ctl.tlv" "$W/pg-sub-ctl.tlv"
}
wait_for "same_ctl 0" 20 && pass pg-same-ctl-both-nodes ||
  fail pg-same-ctl-both-nodes "published v$(ctl_version), $SUB serves v$(served_version "$SUB")"
check pg-ctl-verifies ctlkit tlv verify "$W/pg-sub-ctl.tlv"
v0=$(ctl_version)
check pg-ctl-update pgadmin 'utils ctl update CTLFile'
wait_for "same_ctl ${v0:-0}" 20 && pass pg-update-reaches-sub ||
  fail pg-update-reaches-sub "published v$(ctl_version) (was v$v0), $SUB serves v$(served_version "$SUB")"
# The rehearsal against the running PostgreSQL cluster, by the admin.
v1=$(ctl_version)
check rehearse-pg rehearsed "$W/rehearse-pg.txt" --cluster "$URL_TCP" --dir "/var/lib/ctlkit/$PUB" --node "$PUB"
[ "$(ctl_version)" = "$v1" ] && pass rehearse-pg-changed-nothing ||
  fail rehearse-pg-changed-nothing "the published CTL went from v$v1 to v$(ctl_version)"
# PostgreSQL stopped, started and restarted under the running daemons:
# they keep serving (same
# processes, no restart of their units), reconnect, and a change made
# after the restart still reaches the subscriber.
nr0="$(systemctl show -p NRestarts --value "$PUNIT") $(systemctl show -p NRestarts --value "$SUNIT")"
# First with the database stopped for a while: both serve from their
# folders all the same.
check pg-db-stop systemctl stop postgresql
check pg-pub-serves-db-down "$TOOLS/tftpc" get "$PUBADDR" 69 CTLFile.tlv "$W/pg-pub-ctl1.tlv" -t 5
check pg-sub-serves-db-down "$TOOLS/tftpc" get "$SUBADDR" 69 CTLFile.tlv "$W/pg-sub-ctl1.tlv" -t 5
check pg-db-start systemctl start postgresql
check pg-restart systemctl restart postgresql
check pg-pub-serves-after-db-restart "$TOOLS/tftpc" get "$PUBADDR" 69 CTLFile.tlv "$W/pg-pub-ctl2.tlv" -t 5
check pg-sub-serves-after-db-restart "$TOOLS/tftpc" get "$SUBADDR" 69 CTLFile.tlv "$W/pg-sub-ctl2.tlv" -t 5
wait_for "[ \$(pg_conns \"client_addr = '127.0.0.1'\") -ge 1 ] && [ \$(pg_conns 'client_port = -1') -ge 1 ]" 30 &&
  pass pg-daemons-reconnected ||
  fail pg-daemons-reconnected "127.0.0.1: $(pg_conns "client_addr = '127.0.0.1'"), socket: $(pg_conns 'client_port = -1')"
v2=$(ctl_version)
check pg-ctl-update-after-db-restart pgadmin 'utils ctl update CTLFile'
wait_for "same_ctl ${v2:-0}" 30 && pass pg-update-reaches-sub-after-db-restart ||
  fail pg-update-reaches-sub-after-db-restart "published v$(ctl_version) (was v$v2), $SUB serves v$(served_version "$SUB")"
nr1="$(systemctl show -p NRestarts --value "$PUNIT") $(systemctl show -p NRestarts --value "$SUNIT")"
[ "$nr1" = "$nr0" ] && [ "$(systemctl show -p MainPID --value "$PUNIT") $(systemctl show -p MainPID --value "$SUNIT")" = "$ppid $spid" ] &&
  pass pg-daemons-not-restarted || fail pg-daemons-not-restarted "NRestarts $nr0 -> $nr1"
for u in "$PUNIT" "$SUNIT"; do
  journalctl -u "$u" -b --no-pager >"$W/${u%.service}-journal.txt"
  grep -Eiq 'SIGSYS|seccomp: system call|status=31' "$W/${u%.service}-journal.txt" &&
    fail "pg-no-seccomp-kill-${u%.service}" "$(grep -Ei 'SIGSYS|seccomp|status=31' "$W/${u%.service}-journal.txt" | head -n 2 | tr '\n' ' ')" ||
    pass "pg-no-seccomp-kill-${u%.service}"
done
check pg-stop systemctl stop "$PUNIT" "$SUNIT"
v="$(systemctl show -p Result --value "$PUNIT") $(systemctl show -p Result --value "$SUNIT")"
[ "$v" = "success success" ] && pass pg-stop-result || fail pg-stop-result "Result=$v"
finished=1
