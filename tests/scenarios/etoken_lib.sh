# Shared set-up for the eToken scenarios (tests/scenarios/etoken_*.test):
# phone_lib.sh's cluster, daemons and fleets, plus SoftHSM2 eTokens made by
# tests/tokens/make-tokens in the test's own folder, a CTL Provider admin,
# and the CTL Client.
#
#   PUB_IP=127.0.0.51 SUB_IP=127.0.0.52 . "$(dirname "$0")/etoken_lib.sh"
#
# The CTL Provider runs inside the publisher's ctlkitd in cluster mode
# (`ctlkitd --cluster DIR --node NAME`). CTLKIT_TEST_PROVIDER may name a
# program run as `PROG ADDR:PORT CLUSTER_DIR CERT_KEY_PEM` that serves the
# provider alone, for daemons without cluster mode.
. "$(dirname "$0")/phone_lib.sh"

SRC=${CTLKIT_SRC:?CTLKIT_SRC must name the source directory}
PROVIDER_PORT=$((TFTP_PORT + 2))
TOK=$WORK/tokens
T1=SAST-ADN008580ef
T2=SAST-ADN0054f509
NODES_ALL=(pub sub1)

# The cluster, with the CTL Provider on the publisher's IP and a high port.
new_cluster() {
  "$CTLKIT" cluster init "$CL" --publisher "pub=${IP[pub]}" --subscriber "sub1=${IP[sub1]}" \
    --tftp-port "$TFTP_PORT" --tvs-port "$TVS_PORT" --provider-port "$PROVIDER_PORT" --capf-port "$((TVS_PORT + 3))" \
    --ou TAC --o Cisco --l Krakow --st Malopolska --c PL >/dev/null || fail "cluster init"
  printf 'Admin-pass1\n' >"$WORK/admin.pw"
  printf 'Cisco123\n' >"$WORK/token.pin"
  "$CTLKIT" provider passwd --cluster "$CL" admin --password-file "$WORK/admin.pw" >/dev/null ||
    fail "provider passwd"
}

# The tokens, and their test "Cisco Manufacturing CA" trusted as the
# cluster's eToken issuer (as an admin imports the real one), so that the
# CTL Provider accepts them. Call after new_cluster. MAKE_TOKENS_ARGS=--etoken
# makes certificates shaped like a real eToken's (tests/tokens/make-tokens);
# PUB_NODE names the publisher when the test uses the seed's node names.
make_tokens() {
  # shellcheck disable=SC2086
  TOKEN_BITS=1024 bash "$SRC/tests/tokens/make-tokens" ${MAKE_TOKENS_ARGS:-} "$TOK" >/dev/null 2>"$WORK/make-tokens.log" ||
    fail "make-tokens: $(cat "$WORK/make-tokens.log")"
  # shellcheck disable=SC1091
  . "$TOK/env"
  admin "${PUB_NODE:-pub}" "set cert import trust CTL-eToken-issuer-trust $TOK/ca/ca.pem" >"$WORK/issuer.log" 2>&1 ||
    fail "importing the test manufacturing CA: $(cat "$WORK/issuer.log")"
}

# Makes sure a CTL Provider answers on the publisher; skips the test when
# this build has none to run.
PROVIDER_PID=
start_provider() {
  if have_cluster_mode; then
    local i
    for i in $(seq 1 100); do
      grep -q "CTL Provider listening" "$WORK/${PUB_NODE:-pub}.log" 2>/dev/null && return 0
      sleep 0.05
    done
    fail "the publisher's ctlkitd runs no CTL Provider"
  elif [ -n "${CTLKIT_TEST_PROVIDER:-}" ]; then
    "$CTLKIT_TEST_PROVIDER" "${IP[pub]}:$PROVIDER_PORT" "$CL" "$CL/nodes/pub/keys/CallManager.pem" \
      >"$WORK/provider.log" 2>&1 &
    PROVIDER_PID=$!
    PID[provider]=$PROVIDER_PID
    local i
    for i in $(seq 1 100); do
      grep -q "CTL Provider listening" "$WORK/provider.log" 2>/dev/null && return 0
      sleep 0.05
    done
    fail "the CTL Provider did not start: $(cat "$WORK/provider.log")"
  else
    echo "SKIP: ctlkitd has no --cluster mode yet, so no CTL Provider runs (set CTLKIT_TEST_PROVIDER to test)"
    exit 0
  fi
}

provider_log() { if have_cluster_mode; then cat "$WORK/${PUB_NODE:-pub}.log"; else cat "$WORK/provider.log"; fi; }

# ctl_client ARGS...: the CTL Client, non-interactive; OUT, ERR, RC.
ctl_client() {
  RC=0
  "$CTLKIT" ctl-client --host "${IP[pub]}:$PROVIDER_PORT" --user admin --password-file "$WORK/admin.pw" \
    --pin-file "$WORK/token.pin" --yes "$@" </dev/null >"$WORK/cc.out" 2>"$WORK/cc.err" || RC=$?
  OUT=$(cat "$WORK/cc.out")
  ERR=$(cat "$WORK/cc.err")
}

# md5 of every node's CTLFile.tlv ("none" when absent), one line.
node_ctls() {
  local n
  for n in "${NODES_ALL[@]}"; do
    if [ -f "$CL/nodes/$n/tftp/CTLFile.tlv" ]; then md5sum <"$CL/nodes/$n/tftp/CTLFile.tlv" | cut -c1-32; else echo none; fi
  done | tr '\n' ' '
}

security_mode() {
  admin pub "run sql select paramvalue from processconfig where paramname='ClusterSecurityMode'" | tail -n 1 | tr -d ' '
}
