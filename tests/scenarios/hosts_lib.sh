# Shared set-up for the scenarios of a cluster across two "hosts" on
# PostgreSQL (tests/scenarios/hosts_pg_*.test, issue 10): each node's
# commands and daemon run in their own mount namespace in which the other
# node's folder is hidden under an empty tmpfs.
#
#   HOSTS_TIMEOUT=120 PUB_IP=127.0.0.91 SUB_IP=127.0.0.92 . "$(dirname "$0")/hosts_lib.sh"
#
# OWN_PG=1 starts a PostgreSQL of this test's own (tests/tools/pg_server.sh)
# instead of using the pg fixture's, for tests that stop the database.
# Env: CTLKIT_BIN, CTLKIT_SRC, CTLKIT_TEST_PG_STATE (the pg fixture).
set -euo pipefail
[ -n "${HOSTS_INNER:-}" ] || HOSTS_INNER=1 exec timeout -k 5 "${HOSTS_TIMEOUT:-180}" bash "$0" "$@"
BIN=${CTLKIT_BIN:?} SRC=${CTLKIT_SRC:?}
CTLKIT=$BIN/ctlkit CTLKITD=$BIN/ctlkitd TFTPC=$BIN/tests/tools/tftpc TVSQ=$BIN/tests/tools/tvsquery
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
WORK=$(mktemp -d /tmp/ctlkit-hosts.XXXXXX)
PUBD=$WORK/pub SUBD=$WORK/sub
declare -A IP=([pub]=${PUB_IP:?} [sub]=${SUB_IP:?})
declare -A DIR=([pub]=$PUBD [sub]=$SUBD)
declare -A PID=()
TFTP_PORT=$((20000 + RANDOM % 12000)) TVS_PORT=$((TFTP_PORT + 1))
DB=hosts_$$_$RANDOM
PG_STATE=
cleanup() {
  local n
  for n in "${!PID[@]}"; do kill -CONT "${PID[$n]}" 2>/dev/null || true; kill "${PID[$n]}" 2>/dev/null || true; wait "${PID[$n]}" 2>/dev/null || true; done
  if [ -n "$PG_STATE" ]; then
    bash "$SRC/tests/tools/pg_server.sh" stop "$PG_STATE" || true
  else
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "FAIL: timed out or interrupted" >&2; exit 124' TERM INT
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
pass() { echo "ok - $*"; }
# wait_for CONDITION [TENTHS]: polls CONDITION every 0.1 s (default 10 s).
wait_for() { local i; for i in $(seq 1 "${2:-100}"); do if eval "$1"; then return 0; fi; sleep 0.1; done; return 1; }
md5() { md5sum "$1" | cut -d' ' -f1; }

if [ "${OWN_PG:-0}" = 1 ]; then
  PG_STATE=$WORK/pg.state
  bash "$SRC/tests/tools/pg_server.sh" start "$PG_STATE" || fail "cannot start a PostgreSQL of this test's own"
  ADMIN_URL=$(sed -n 's/^url=//p' "$PG_STATE")
else
  ADMIN_URL=$(sed -n 's/^url=//p' "${CTLKIT_TEST_PG_STATE:?the state file of the pg fixture}")
fi
PW=$(printf '%s' "$ADMIN_URL" | sed -n 's|^postgresql://[^:]*:\([^@]*\)@.*|\1|p')
[ -n "$PW" ] || fail "no password in the server's URL"
URL=${ADMIN_URL%/*}/$DB
db_down() { bash "$SRC/tests/tools/pg_server.sh" down "$PG_STATE"; }
db_up() { bash "$SRC/tests/tools/pg_server.sh" up "$PG_STATE"; }

mkdir -p "$PUBD" "$SUBD"
# on_host NODE CMD...: runs CMD on NODE's "host": a mount namespace where
# the other node's folder is an empty tmpfs. exec, so that a command run in
# the background is the process whose pid the test holds.
hide_other='mount -t tmpfs -o size=1m,mode=0755 hidden "$0" && exec "$@"'
other_of() { if [ "$1" = sub ]; then echo "$PUBD"; else echo "$SUBD"; fi; }
on_host() { local n=$1; shift; unshare -m sh -c "$hide_other" "$(other_of "$n")" "$@"; }
if ! on_host pub true 2>/dev/null; then echo "SKIP: unshare -m and mount are not permitted here"; exit 77; fi

# admin NODE COMMAND: one confirmed admin: command on NODE's host.
admin() { on_host "$1" "$CTLKIT" admin --cluster "$URL" --dir "${DIR[$1]}" --node "$1" --yes -c "$2" </dev/null; }
# bg_admin KEY NODE OUT [VAR=VALUE...] COMMAND: admin in the background
# on NODE's host (the process itself: PID[KEY], killed by cleanup), the
# variables in its environment, its output in OUT.
bg_admin() {
  local key=$1 n=$2 out=$3
  shift 3
  env "${@:1:$#-1}" unshare -m sh -c "$hide_other" "$(other_of "$n")" \
    "$CTLKIT" admin --cluster "$URL" --dir "${DIR[$n]}" --node "$n" --yes -c "${!#}" </dev/null >"$out" 2>&1 &
  PID[$key]=$!
}
# wait_bg KEY: waits for a bg_admin and returns its exit status.
wait_bg() { local rc=0; wait "${PID[$1]}" || rc=$?; unset "PID[$1]"; return $rc; }
# sql QUERY: the rows, one a line, straight from the database.
sql() { psql -Atq "$URL" -c "$1"; }

# make_cluster [INIT OPTIONS...]: the database, init on the publisher's
# host, join on the subscriber's.
make_cluster() {
  psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null || fail "cannot create the test database"
  on_host pub "$CTLKIT" cluster init "$URL" --dir "$PUBD" --publisher "pub=${IP[pub]}" --subscriber "sub=${IP[sub]}" \
    --tftp-port $TFTP_PORT --tvs-port $TVS_PORT --provider-port $((TVS_PORT + 1)) --capf-port $((TVS_PORT + 3)) "$@" >"$WORK/init.out" 2>&1 ||
    fail "init: $(cat "$WORK/init.out")"
  on_host sub "$CTLKIT" cluster join "$URL" --dir "$SUBD" --node sub >"$WORK/join.out" 2>&1 ||
    fail "join: $(cat "$WORK/join.out")"
}

# start_daemon NODE [VAR=VALUE...] [-- DAEMON OPTIONS...]: NODE's ctlkitd on
# its host, the variables in its environment; waits until it serves.
start_daemon() {
  local n=$1 envs=() opts=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; opts=("$@"); }
  : >"$WORK/$n.log"
  env "${envs[@]}" unshare -m sh -c "$hide_other" "$(other_of "$n")" \
    "$CTLKITD" --cluster "$URL" --dir "${DIR[$n]}" --node "$n" --foreground "${opts[@]}" 2>>"$WORK/$n.log" &
  PID[$n]=$!
  wait_for "grep -q 'ctlkitd .* started' '$WORK/$n.log'" || fail "ctlkitd on $n did not start"
}
stop_daemon() {
  local n=$1
  [ -n "${PID[$n]:-}" ] || return 0
  kill "${PID[$n]}" 2>/dev/null || true
  wait "${PID[$n]}" 2>/dev/null || true
  unset "PID[$n]"
}

# served NODE FILE OUT: FILE from NODE's TFTP.
served() { "$TFTPC" get "${IP[$1]}" $TFTP_PORT "$2" "$3" -t 5 >/dev/null 2>&1; }
# store_ctl_md5: the MD5 of the CTL the database holds (empty if none).
store_ctl_md5() { "$CTLKIT" cluster status "$URL" --json | sed -n '/"ctl": {/,/}/s/.*"md5": "\([0-9a-f]*\)".*/\1/p' | head -n 1; }
# both_serve MD5: both nodes serve the CTL with this MD5, byte for byte alike.
both_serve() {
  served pub CTLFile.tlv "$WORK/pub.ctl" && served sub CTLFile.tlv "$WORK/sub.ctl" &&
    cmp -s "$WORK/pub.ctl" "$WORK/sub.ctl" && [ "$(md5 "$WORK/sub.ctl")" = "$1" ]
}
# one_db_error OUT: the failed command's output names the database (its
# password masked) and the reason in exactly one line.
one_db_error() {
  [ "$(grep -c 'cluster database' "$1")" = 1 ] && grep -q 'postgresql://ctlkit_admin:\*\*\*@127\.0\.0\.1:[0-9]*/'"$DB" "$1"
}
# no_password: no output or log of the run holds the database password.
no_password() {
  if grep -rlF -- "$PW" "$WORK"/*.log "$WORK"/*.out 2>/dev/null; then fail "a password reached the output"; fi
}
