# Shared set-up for the phone scenarios (tests/scenarios/phone_*.test): a
# two-node cluster made with `ctlkit cluster init`, one ctlkitd per node on
# its own loopback address, and ctlkit-phone fleets booting against them.
#
#   PUB_IP=127.0.0.21 SUB_IP=127.0.0.22 . "$(dirname "$0")/phone_lib.sh"
#
# Env: CTLKIT_BIN (build dir), CTLKIT_SRC (source dir).
set -euo pipefail
# The whole test is bounded: a hung daemon or phone must not hang CTest.
# (timeout, not a background sleeper: a sleeper would hold CTest's pipe.)
[ -n "${PHONE_TEST_INNER:-}" ] || PHONE_TEST_INNER=1 exec timeout -k 10 "${PHONE_TEST_TIMEOUT:-240}" bash "$0" "$@"

BIN=${CTLKIT_BIN:?CTLKIT_BIN must name the build directory}
CTLKITD=$BIN/ctlkitd
CTLKIT=$BIN/ctlkit
PHONE=$BIN/ctlkit-phone
for b in "$CTLKITD" "$CTLKIT" "$PHONE"; do
  [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is needed by the phone scenarios" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ctlkit-phone-test.XXXXXX)
CL=$WORK/cluster
FLEET=$WORK/fleet
NODES=(pub sub1)
declare -A IP=([pub]=${PUB_IP:?} [sub1]=${SUB_IP:?})
declare -A PID=()
# Ports above 1024, one pair per run so that parallel tests do not meet.
TFTP_PORT=$((20000 + RANDOM % 12000))
TVS_PORT=$((TFTP_PORT + 1))

cleanup() {
  local n
  for n in "${!PID[@]}"; do
    kill "${PID[$n]}" 2>/dev/null || true
    wait "${PID[$n]}" 2>/dev/null || true
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "FAIL: timed out or interrupted" >&2; exit 124' TERM INT

fail() {
  echo "FAIL: $*" >&2
  local n
  for n in "${NODES[@]}"; do
    [ -f "$WORK/$n.log" ] && { echo "--- $n.log (tail)" >&2; tail -n 15 "$WORK/$n.log" >&2; }
  done
  exit 1
}
pass() { echo "ok - $*"; }

# CLUSTER_INIT_ARGS: more `cluster init` options (the *_1024 scenarios run
# the same steps on the seed's RSA-1024 SHA1withRSA cluster).
new_cluster() {
  # shellcheck disable=SC2086
  "$CTLKIT" cluster init "$CL" --publisher "pub=${IP[pub]}" --subscriber "sub1=${IP[sub1]}" \
    --tftp-port "$TFTP_PORT" --tvs-port "$TVS_PORT" --provider-port "$((TVS_PORT + 1))" --capf-port "$((TVS_PORT + 3))" ${CLUSTER_INIT_ARGS:-} >/dev/null ||
    fail "cluster init"
}

# admin NODE COMMAND: one admin: command, confirmed.
admin() {
  "$CTLKIT" admin --cluster "$CL" --node "$1" --yes -c "$2" </dev/null
}

# `ctlkitd --cluster DIR --node NAME` when the daemon has it; until then the
# same service from explicit flags: the node's TFTP directory, its TVS key,
# the cluster's CTL, and the database certificates (every node's
# CallManager as SAST + CCM+TFTP, every TVS) that `ctlkit cluster init` made.
# The help is read whole first: piped into `grep -q`, which stops at the
# first match, ctlkitd (still writing its 4 KB+ of help) could die of
# SIGPIPE, which pipefail takes for "no cluster mode".
have_cluster_mode() {
  local help
  help=$("$CTLKITD" --help 2>&1)
  [[ $help == *--cluster* ]]
}

start_node() {
  local n=$1 log=$WORK/$1.log
  # The daemons keep their per-address cap on TFTP transfers: each simulated
  # phone speaks from its own 127.64.x.y (docs/phones.md, "Source addresses").
  if have_cluster_mode; then
    "$CTLKITD" --cluster "$CL" --node "$n" --foreground >"$log" 2>&1 &
  else
    local db=() m
    for m in "${NODES[@]}"; do
      db+=(--tvs-db-cert "$CL/nodes/$m/keys/CallManager.pem:SAST,CCM+TFTP" --tvs-db-cert "$CL/nodes/$m/keys/TVS.pem:TVS")
    done
    "$CTLKITD" --foreground --log-level info --tftp "${IP[$n]}:$TFTP_PORT" --tftp-root "$CL/nodes/$n/tftp" \
      --tvs "${IP[$n]}:$TVS_PORT" --tvs-cert "$CL/nodes/$n/keys/TVS.pem" --tvs-ctl "$CL/nodes/$n/tftp/CTLFile.tlv" \
      --tvs-workers 1 "${db[@]}" >"$log" 2>&1 &
  fi
  PID[$n]=$!
  # `utils service restart` signals the daemon through this file
  mkdir -p "$CL/nodes/$n/run"
  have_cluster_mode || echo "${PID[$n]}" >"$CL/nodes/$n/run/ctlkitd.pid"
  local i
  for i in $(seq 1 100); do
    grep -q "tvs: listening" "$log" 2>/dev/null && grep -q "started" "$log" 2>/dev/null && return 0
    kill -0 "${PID[$n]}" 2>/dev/null || fail "ctlkitd on $n exited: $(cat "$log")"
    sleep 0.05
  done
  fail "ctlkitd on $n did not start"
}

stop_node() {
  local n=$1
  [ -n "${PID[$n]:-}" ] || return 0
  kill "${PID[$n]}" 2>/dev/null || true
  wait "${PID[$n]}" 2>/dev/null || true
  unset "PID[$n]"
}

# wait_served NAME: until the publisher's TFTP serves NAME as its folder
# holds it. `ctlkit device capf` (or import) rewrites the phones' files
# itself; the daemon's cache follows the folder a moment later, and a phone
# booting in between gets the previous configuration (or none).
wait_served() {
  local i
  for i in $(seq 1 100); do
    "$BIN/tests/tools/tftpc" get "${IP[pub]}" "$TFTP_PORT" "$1" "$WORK/served.tmp" -t 2 >/dev/null 2>&1 &&
      cmp -s "$WORK/served.tmp" "$CL/nodes/pub/tftp/$1" && return 0
    sleep 0.1
  done
  fail "the publisher does not serve the new $1"
}

# "Restart the TFTP and Cisco CallManager services on all nodes".
restart_nodes() {
  local n
  for n in "${NODES[@]}"; do stop_node "$n"; done
  for n in "${NODES[@]}"; do start_node "$n"; done
}

# fleet ARGS...: new fleet over both nodes, JSON to $WORK/last.json, exit in $RC.
fleet_new() {
  RC=0
  "$PHONE" fleet --state "$FLEET" --tftp "${IP[pub]}:$TFTP_PORT" --tftp "${IP[sub1]}:$TFTP_PORT" \
    --tvs "${IP[pub]}:$TVS_PORT" --tvs "${IP[sub1]}:$TVS_PORT" --json "$@" >"$WORK/last.json" || RC=$?
}
fleet_reset() {
  RC=0
  "$PHONE" fleet reset --state "$FLEET" --json "$@" >"$WORK/last.json" || RC=$?
}

# q JQ-FILTER: runs a filter over the last fleet JSON.
q() { jq -r "$1" "$WORK/last.json"; }

# show_ctl_sum md5|sha1: the publisher's `show ctl` checksum.
show_ctl_sum() {
  local kind=$1 out
  out=$(admin pub 'show ctl') || fail "show ctl"
  printf '%s\n' "$out" | awk -v k="($(echo "$kind" | tr a-z A-Z))" 'index($0, k) && !done { sub(/\(.*/, ""); print; done = 1 }'
}
