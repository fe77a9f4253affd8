# Shared set-up for the TFTP end-to-end scenarios (tests/scenarios/tftp_*.test):
# a temporary TFTP root, ctlkitd started on 127.0.0.1 at a random high port
# (another is tried if the port is taken), the tftpc test client
# (tests/tools/tftpc.c) and, where it fits, tftp-hpa's `tftp`.
#
# Env: CTLKIT_BIN (build dir), CTLKIT_SRC (source dir).
set -euo pipefail

BIN=${CTLKIT_BIN:?CTLKIT_BIN must name the build directory}
SRC=${CTLKIT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CTLKITD=$BIN/ctlkitd
TFTPC=$BIN/tests/tools/tftpc
for b in "$CTLKITD" "$TFTPC"; do
  [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/ctlkit-tftp-test.XXXXXX)
ROOT=$WORK/root
mkdir -p "$ROOT"
LOG=$WORK/ctlkitd.log
PORT=
DPID=
cleanup() {
  if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$LOG" ] && tail -n 30 "$LOG" >&2; exit 1; }
pass() { echo "ok - $*"; }

# start_daemon [ctlkitd options...]: ctlkitd in the foreground on 127.0.0.1:$PORT.
start_daemon() {
  local try
  for try in 1 2 3 4 5; do
    PORT=$(( 20000 + RANDOM % 40000 ))
    "$CTLKITD" --foreground --tftp "127.0.0.1:$PORT" --tftp-root "$ROOT" "$@" 2> "$LOG" &
    DPID=$!
    local i
    for i in $(seq 1 50); do
      if grep -q "TFTP: serving" "$LOG" 2>/dev/null; then return 0; fi
      if ! kill -0 "$DPID" 2>/dev/null; then break; fi
      sleep 0.1
    done
    wait "$DPID" 2>/dev/null || true
    DPID=
    grep -q "cannot bind" "$LOG" || fail "ctlkitd did not start"
  done
  fail "no free port found"
}

# stop_daemon: SIGTERM, and checks that it stopped cleanly.
stop_daemon() {
  kill -TERM "$DPID"
  local rc=0
  wait "$DPID" || rc=$?
  DPID=
  [ "$rc" -eq 0 ] || fail "ctlkitd exited with $rc on SIGTERM"
  grep -q "ctlkitd stopped" "$LOG" || fail "no 'ctlkitd stopped' line"
}

# random_file PATH BYTES: deterministic pseudo-random content.
random_file() {
  head -c "$2" /dev/zero | openssl enc -aes-128-ctr -nosalt -K 00112233445566778899aabbccddeeff \
    -iv "$(printf '%032x' "$2")" 2>/dev/null > "$1"
  [ "$(stat -c %s "$1")" -eq "$2" ] || fail "random_file $1"
}

# get FILE OUT [tftpc options...]: prints tftpc's output; fails unless it says OK.
get() {
  local file=$1 out=$2; shift 2
  local res
  res=$("$TFTPC" get 127.0.0.1 "$PORT" "$file" "$out" "$@") || fail "get $file $*: $res"
  echo "$res"
}

# raw HEX: the daemon's answer to these bytes (ERROR code text, NOREPLY, ...).
raw() { "$TFTPC" raw 127.0.0.1 "$PORT" "$1"; }

# hex STRING: the bytes of STRING in hex ('\0' written as |).
hex() { printf '%s' "$1" | tr '|' '\0' | od -An -v -tx1 | tr -d ' \n'; }

# wait_log PATTERN [SECS]: waits until the log has a line matching PATTERN.
wait_log() {
  local i
  for i in $(seq 1 $(( ${2:-5} * 10 ))); do
    grep -q -- "$1" "$LOG" && return 0
    sleep 0.1
  done
  fail "no log line matching '$1'"
}
