# Sourced by crash.sh (uses its helpers and crash_daemon.sh's loop): the
# CTL Provider's publish. The CTL Client, with two SoftHSM2 eTokens
# (tests/tokens/make-tokens), submits an updated CTL to the publisher's
# ctlkitd, which is killed at each hook point of that publish. After each
# kill: every node's CTL is the old or the new one, the client said so in
# words (no hang), the audit row is there exactly when the store changed,
# and the restarted daemon brings every node to the store's CTL.
SRC=${CTLKIT_SRC:?}
PV_TOK=$WORK/tokens
PV_T1=SAST-ADN008580ef PV_T2=SAST-ADN0054f509

# The provider's admin: a cluster user, in the publisher's node folder
# across hosts.
printf 'Admin-pass1\n' >"$WORK/admin.pw"
printf 'Cisco123\n' >"$WORK/token.pin"
if [ "$BACKEND" = sqlite ]; then
  "$CTLKIT" user add --cluster "$CL" admin --password-file "$WORK/admin.pw" >"$WORK/user.out" 2>&1
else
  "$CTLKIT" user add --cluster "$URL" --dir "${DIR[pub]}" --node pub admin --password-file "$WORK/admin.pw" >"$WORK/user.out" 2>&1
fi || fail "user add: $(cat "$WORK/user.out")"
TOKEN_BITS=1024 bash "$SRC/tests/tokens/make-tokens" "$PV_TOK" >/dev/null 2>"$WORK/make-tokens.out" ||
  fail "make-tokens: $(cat "$WORK/make-tokens.out")"
# shellcheck disable=SC1091
. "$PV_TOK/env"
admin pub "set cert import trust CTL-eToken-issuer-trust $PV_TOK/ca/ca.pem" >/dev/null ||
  fail "importing the tokens' issuer"

# pv_client ACTION: the CTL Client with both tokens; RC, $WORK/client.out.
pv_client() {
  RC=0
  timeout 60 "$CTLKIT" ctl-client --host "${IP[pub]}:$((TVS_PORT + 1))" --user admin --password-file "$WORK/admin.pw" \
    --pin-file "$WORK/token.pin" --yes --action "$1" --token $PV_T1 --token $PV_T2 </dev/null >"$WORK/client.out" 2>&1 ||
    RC=$?
}
# The tokens' CTL replaces the tokenless one: from non-secure mode (the
# signer of a mixed cluster's CTL must be in it).
to_nonsecure
pv_client mixed
[ "$RC" = 0 ] || fail "ctl-client --action mixed exited $RC: $(cat "$WORK/client.out")"
wait_for converged || fail "the nodes do not serve the CTL Client's CTL"

pv_run() { pv_client update; }
pv_snap() { state 'CTL Client via CTL Provider'; }
pv_killed() {
  local before=$1 after=$2 step=$3
  lists_old_or_new on_disk_one_of "$before" "$after" "CTL Provider publish killed at $step"
  grep -q "ctl-client: the CTL Provider closed the connection before answering the submitted CTL" "$WORK/client.out" ||
    fail "CTL Provider publish killed at $step: the CTL Client's words: $(cat "$WORK/client.out")"
}
# converged (checked by the loop) is all there is after the restart: the
# next attempt's update is the CTL Client run again.
pv_healed() { :; }
crash_pub_daemon "CTL Provider publish" true pv_run pv_snap pv_killed pv_healed
pv_client update
[ "$RC" = 0 ] || fail "ctl-client after the crashes exited $RC: $(cat "$WORK/client.out")"
[ -z "$(leftovers)" ] || fail "CTL Provider publish: leftovers after the next publish: $(leftovers)"
wait_for converged || fail "the nodes do not serve the store's files after the CTL Provider crashes"
pass "CTL Provider publish: ctlkitd killed at $PASSED_POINTS: old or new, store and files agree, audit honest, the CTL Client says so"
