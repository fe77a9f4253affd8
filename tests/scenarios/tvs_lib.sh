# Shared set-up for the TVS end-to-end scenarios (tests/scenarios/tvs_*.test):
# certificates made with the openssl command line, a CTL built with the
# ctlkit CLI, ctlkitd started on 127.0.0.1 at a high port, and the
# tvsquery client (tests/tools/tvsquery.c).
#
# Env: CTLKIT_BIN (build dir), CTLKIT_SRC (source dir).
set -euo pipefail

BIN=${CTLKIT_BIN:?CTLKIT_BIN must name the build directory}
SRC=${CTLKIT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CTLKITD=$BIN/ctlkitd
CTLKIT=$BIN/ctlkit
TVSQUERY=$BIN/tests/tools/tvsquery
for b in "$CTLKITD" "$CTLKIT" "$TVSQUERY"; do
  [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/ctlkit-tvs-test.XXXXXX)
TVSD_PID=
cleanup() {
  if [ -n "$TVSD_PID" ]; then kill "$TVSD_PID" 2>/dev/null || true; wait "$TVSD_PID" 2>/dev/null || true; fi
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# A test killed (or whose output pipe closed) must not leave its daemon behind.
trap 'exit 1' INT TERM HUP PIPE

fail() { echo "FAIL: $*" >&2; [ -f "$WORK/tvsd.log" ] && tail -n 30 "$WORK/tvsd.log" >&2; exit 1; }
pass() { echo "ok - $*"; }

# cert NAME SUBJECT [openssl req options...]: NAME.key, NAME.crt, NAME.pem (key + cert)
cert() {
  local name=$1 subj=$2; shift 2
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/$name.key" -out "$WORK/$name.crt" \
    -days 30 -subj "$subj" "$@" 2>/dev/null || fail "openssl req $name"
  cat "$WORK/$name.key" "$WORK/$name.crt" > "$WORK/$name.pem"
  chmod 600 "$WORK/$name.pem" # ctlkitd refuses a key others can read
}

# The cluster of the seed: publisher and subscriber CallManager, CAPF, the
# node's TVS, an eToken issued by a (test) Cisco Manufacturing CA, and a
# stranger nobody trusts.
make_certs() {
  cert tvs "/CN=cucm-1051-a-pub-tvs/OU=TAC/O=Cisco/L=Krakow/ST=Malopolska/C=PL"
  cert pub "/CN=cucm-1051-a-pub/OU=TAC/O=Cisco/L=Krakow/ST=Malopolska/C=PL"
  cert sub "/CN=cucm-1051-a-sub1/OU=TAC/O=Cisco/L=Krakow/ST=Malopolska/C=PL"
  cert capf "/CN=CAPF-e41e7d87/OU=TAC/O=Cisco/L=Krakow/ST=Malopolska/C=PL"
  cert stranger "/CN=stranger/O=Nobody"
  cert mfgca "/CN=Cisco Manufacturing CA/O=Cisco Systems"
  openssl req -newkey rsa:2048 -nodes -keyout "$WORK/etoken.key" -out "$WORK/etoken.csr" \
    -subj "/CN=SAST-ADN008580ef /OU=IPCBU/O=Cisco Systems" 2>/dev/null || fail "etoken csr"
  openssl x509 -req -in "$WORK/etoken.csr" -CA "$WORK/mfgca.crt" -CAkey "$WORK/mfgca.key" \
    -set_serial 0x83E9080000005545AF31 -days 30 -out "$WORK/etoken.crt" 2>/dev/null || fail "etoken sign"
}

# A tokenless CTL signed by the publisher: pub as SAST and CCM+TFTP, CAPF, sub.
make_ctl() {
  local out=${1:-$WORK/CTLFile.tlv}
  "$CTLKIT" tlv build "$out" --sast "$WORK/pub.pem" --ccm-tftp "$WORK/pub.crt" --capf "$WORK/capf.crt" \
    --ccm-tftp "$WORK/sub.crt" --filename CTLFile.tlv > /dev/null || fail "ctlkit tlv build"
}

# Below the kernel's ephemeral range (32768-60999), so that no client socket
# of a parallel test holds it.
pick_port() { echo $(( 20000 + RANDOM % 12000 )); }

# start_tvs [ctlkitd options...]: starts ctlkitd with a TVS on $PORT (another
# port when the one picked is taken).
start_tvs() {
  for _ in 1 2 3 4 5; do
    start_tvs_once "$@" && return 0
  done
  fail "ctlkitd did not start: $(cat "$WORK/tvsd.log")"
}

start_tvs_once() {
  PORT=$(pick_port)
  mkdir -p "$WORK/tftp"
  "$CTLKITD" --foreground --log-level "${LOG_LEVEL:-info}" --tftp "127.0.0.1:$((PORT + 1))" \
    --tftp-root "$WORK/tftp" --tvs "127.0.0.1:$PORT" --tvs-cert "$WORK/tvs.pem" "$@" \
    > "$WORK/tvsd.log" 2>&1 &
  TVSD_PID=$!
  for _ in $(seq 1 100); do
    grep -q "tvs: listening on" "$WORK/tvsd.log" 2>/dev/null && return 0
    if ! kill -0 "$TVSD_PID" 2>/dev/null; then
      grep -q "in use" "$WORK/tvsd.log" || fail "ctlkitd exited: $(cat "$WORK/tvsd.log")"
      TVSD_PID=
      return 1
    fi
    sleep 0.05
  done
  fail "ctlkitd did not start"
}

stop_tvs() {
  kill "$TVSD_PID" 2>/dev/null || true
  wait "$TVSD_PID" 2>/dev/null || true
  TVSD_PID=
}

# q ARGS...: tvsquery against the running TVS; output in $OUT.
q() { OUT=$("$TVSQUERY" -t 20 "$@" 127.0.0.1 "$PORT" 2>&1) || true; }

expect_out() { # expect_out REGEX WHAT
  grep -Eq -- "$1" <<< "$OUT" || fail "$2: expected /$1/ in: $OUT"
}

expect_log() { # expect_log FIXED-STRING WHAT   (waits up to 6 s: the CTL watch looks every second)
  for _ in $(seq 1 120); do
    grep -Fq -- "$1" "$WORK/tvsd.log" && return 0
    sleep 0.05
  done
  fail "$2: log lacks \"$1\""
}

still_serving() {
  q -c "$WORK/pub.crt"
  expect_out "status=valid roles=0,2" "TVS still serving after $1"
}
