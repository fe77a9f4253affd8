# Sourced by crash.sh (uses its helpers and crash_daemon.sh's loop): the
# CAPF issue. A phone (ctlkit-phone capf) enrols an LSC with the
# publisher's CAPF, which is killed at each hook point of the issue (LSC
# signed, device row and audit committed, the device's files written, the
# phone's answer received). The device has an encrypted profile with TFTP
# Encrypted Config in mixed mode, so the LSC changes its files: the
# SEP<MAC>.cnf.xml.enc.sgn encrypted for the LSC and the stub .sgn. Each
# attempt re-installs with a new key (from a pool, so that the test holds
# every private key). After each kill:
#   - the row is either still pending with the old LSC, or done with an
#     LSC for this attempt's key; never pending with another key;
#   - each of the device's files in each folder is the old one or a whole
#     signed file (never torn), no plaintext configuration;
#   - after the restart, within one reload, every node serves the files
#     the row makes: the .enc.sgn signed by the node, opened by the key of
#     the LSC on record, saying whether an operation is pending as the row
#     does; the stub beside it;
#   - the phone tries again: a pending install completes, a done one
#     answers "no operation pending" (END_SESSION NO_ACTION), as CAPF does.
CF_DEV=SEP00112233CAF1 CF_MAC=00112233CAF1
CF_CAPF=${IP[pub]}:$((TVS_PORT + 2))

cf_dev() {
  local sub=$1
  shift
  # shellcheck disable=SC2046
  if [ "$BACKEND" = sqlite ]; then
    "$CTLKIT" device "$sub" --cluster "$CL" "$@"
  else
    "$CTLKIT" device "$sub" --cluster "$URL" --dir "${DIR[pub]}" --node pub "$@"
  fi
}
cf_dev add $CF_DEV --model 7975 --profile encrypted --encrypted-config >"$WORK/dev.out" 2>&1 ||
  fail "device add: $(cat "$WORK/dev.out")"
"$BIN/ctlkit-phone" keypool --dir "$WORK/pool" --count 24 >"$WORK/pool.out" 2>&1 || fail "keypool: $(cat "$WORK/pool.out")"
for f in "$WORK"/pool/key-*.pem; do openssl pkey -in "$f" -pubout -out "${f%.pem}.pub" 2>/dev/null || fail "pool key $f"; done
openssl x509 -in "${DIR[pub]}/keys/CAPF.pem" -out "$WORK/capf.pem" || fail "the CAPF certificate"
for n in pub sub; do
  admin $n 'show cert own CallManager --pem' >"$WORK/cm-$n.pem" || fail "the CallManager certificate of $n"
done

cf_key() { printf '%s/pool/key-%06d.pem' "$WORK" "$1"; }
cf_prep() {
  cf_dev capf $CF_DEV --operation install --auth string --string 2468 --key rsa:2048 >"$WORK/dev.out" 2>&1 ||
    fail "device capf: $(cat "$WORK/dev.out")"
}
# cf_run K: the phone's session with pool key K.
cf_run() {
  RC=0
  timeout 60 "$BIN/ctlkit-phone" capf --state "$WORK/ph-$CF_MAC" --mac $CF_MAC --model 7975 --capf "$CF_CAPF" \
    --trust "$WORK/capf.pem" --auth-string 2468 --key "$(cf_key "$1")" --json >"$WORK/client.out" 2>&1 || RC=$?
}
cf_row() { cf_dev show $CF_DEV --json | jq -r "$1"; }
cf_row_two() { cf_dev show $CF_DEV --json | jq -r '.capf.operation, .lsc.pem'; }
cf_snap() {
  state "CAPF $CF_DEV:"
  sql "select 'device:' || capfoperation || ':' || lscserial from device where name = '$CF_DEV'"
}
# cf_lsc_key [PEM]: the pool key of the LSC on record (or of PEM), or
# nothing.
cf_lsc_key() {
  local pub f
  pub=$(if [ $# -gt 0 ]; then echo "$1"; else cf_row .lsc.pem; fi | openssl x509 -noout -pubkey 2>/dev/null) || return 0
  for f in "$WORK"/pool/key-*.pub; do
    [ "$(<"$f")" != "$pub" ] || { echo "${f%.pub}.pem"; return 0; }
  done
}
# cf_files_ok NODE GET KEY OP: the device's files, fetched by GET (a
# function: GET NODE NAME OUT, failing when there is no file), are the
# ones the row makes: no plaintext, the .enc.sgn signed by the node's
# CallManager certificate and opened by KEY, its capfAuthMode nonzero
# exactly when OP (the row's operation) is pending, the stub .sgn signed
# and naming the encrypted configuration.
cf_files_ok() {
  local n=$1 get=$2 key=$3 op=$4 d=$WORK/cf-$1 mode
  rm -rf "$d" && mkdir -p "$d"
  ! $get "$n" $CF_DEV.cnf.xml "$d/plain" || { echo "$n serves a plaintext configuration" >&2; return 1; }
  $get "$n" $CF_DEV.cnf.xml.enc.sgn "$d/enc" || { echo "$n serves no .enc.sgn" >&2; return 1; }
  "$CTLKIT" sgn verify "$d/enc" --cert "$WORK/cm-$n.pem" >/dev/null 2>&1 || { echo "$n: the .enc.sgn does not verify" >&2; return 1; }
  "$CTLKIT" sgn decrypt "$d/enc" --key "$key" -o "$d/xml" >/dev/null 2>&1 ||
    { echo "$n: the .enc.sgn is not for the LSC on record" >&2; return 1; }
  mode=$(sed -n 's:.*<capfAuthMode>\([0-9]*\)</capfAuthMode>.*:\1:p' "$d/xml")
  { [ "$op" = none ] && [ "$mode" = 0 ]; } || { [ "$op" != none ] && [ -n "$mode" ] && [ "$mode" != 0 ]; } ||
    { echo "$n: the configuration has capfAuthMode '$mode', the row operation '$op'" >&2; return 1; }
  $get "$n" $CF_DEV.cnf.xml.sgn "$d/sgn" || { echo "$n serves no stub .sgn" >&2; return 1; }
  "$CTLKIT" sgn verify "$d/sgn" --cert "$WORK/cm-$n.pem" >/dev/null 2>&1 || { echo "$n: the stub .sgn does not verify" >&2; return 1; }
  "$CTLKIT" sgn strip "$d/sgn" "$d/stub" >/dev/null 2>&1 && grep -q '<encrConfig>true</encrConfig>' "$d/stub" ||
    { echo "$n: the .sgn is not the encrypted configuration's stub" >&2; return 1; }
}
# The files as the folder holds them (what TFTP serves from: converged
# checks that it serves the folder's CTL and ITL; its cache lags a folder
# by a moment, which a check over TFTP would only wait out).
cf_disk_get() { [ -f "${DIR[$1]}/tftp/$2" ] && cp "${DIR[$1]}/tftp/$2" "$3"; }
cf_agree() {
  local row key op n
  row=$(cf_row_two) op=${row%%$'\n'*}
  key=$(cf_lsc_key "${row#*$'\n'}")
  [ -n "$key" ] || { echo "the LSC on record is for none of the phone's keys" >&2; return 1; }
  for n in pub sub; do cf_files_ok $n cf_disk_get "$key" "$op" || return 1; done
}

cf_killed() {
  local before=$1 after=$2 step=$3 k=$4 b a m name f
  b=$(echo "$before" | sed -n 's/^device://p') a=$(echo "$after" | sed -n 's/^device://p')
  # Pending with the old LSC, or done with this attempt's.
  if [ "${a%%:*}" = none ]; then
    [ "${a#*:}" != "${b#*:}" ] && [ "$(cf_lsc_key)" = "$(cf_key "$k")" ] ||
      fail "CAPF issue killed at $step: done, but the LSC on record is not for the phone's key ($b -> $a)"
  else
    [ "$a" = "$b" ] || fail "CAPF issue killed at $step: pending, but the LSC on record changed ($b -> $a)"
  fi
  # Each file in each folder: as before, or whole and signed; never the
  # plaintext (the device had an LSC before).
  for m in pub sub; do
    [ ! -e "${DIR[$m]}/tftp/$CF_DEV.cnf.xml" ] || fail "CAPF issue killed at $step: a plaintext configuration on $m"
    for name in cnf.xml.enc.sgn cnf.xml.sgn; do
      f=${DIR[$m]}/tftp/$CF_DEV.$name
      [ -e "$f" ] || fail "CAPF issue killed at $step: $m has no $CF_DEV.$name"
      [ "$(md5 "$f")" = "${CF_MD5[$m.$name]}" ] || "$CTLKIT" sgn verify "$f" --cert "$WORK/cm-$m.pem" >/dev/null 2>&1 ||
        fail "CAPF issue killed at $step: a torn $CF_DEV.$name on $m"
    done
  done
  grep -q . "$WORK/client.out" || fail "CAPF issue killed at $step: the phone said nothing"
}
declare -A CF_MD5=()
# cf_enc_changed OLD_PUB OLD_SUB: both nodes' .enc.sgn differ from these.
cf_enc_changed() {
  [ "$(md5 "${DIR[pub]}/tftp/$CF_DEV.cnf.xml.enc.sgn")" != "$1" ] &&
    [ "$(md5 "${DIR[sub]}/tftp/$CF_DEV.cnf.xml.enc.sgn")" != "$2" ]
}
cf_prep_md5() {
  local m name p s
  p=$(md5 "${DIR[pub]}/tftp/$CF_DEV.cnf.xml.enc.sgn") s=$(md5 "${DIR[sub]}/tftp/$CF_DEV.cnf.xml.enc.sgn")
  cf_prep
  # The operation is in the configuration (capfAuthMode): every .enc.sgn
  # is rewritten, across hosts by the subscriber's daemon (a moment later).
  wait_for "cf_enc_changed $p $s" || fail "CAPF: the device's files do not follow the new operation"
  for m in pub sub; do
    for name in cnf.xml.enc.sgn cnf.xml.sgn; do CF_MD5[$m.$name]=$(md5 "${DIR[$m]}/tftp/$CF_DEV.$name"); done
  done
}
cf_healed() {
  local step=$1 k=$2 op want
  wait_for cf_agree 2>/dev/null || { cf_agree; fail "CAPF issue killed at $step: the files do not come to the row"; }
  op=$(cf_row .capf.operation)
  cf_run "$k"
  if [ "$op" = none ]; then want="no operation pending"; else want="LSC installed"; fi
  [ "$RC" = 0 ] && [ "$(jq -r .result "$WORK/client.out" 2>/dev/null)" = "$want" ] ||
    fail "CAPF issue killed at $step, $op: the phone's retry: $RC $(cat "$WORK/client.out")"
  [ "$(cf_row .capf.operation)" = none ] && [ "$(cf_lsc_key)" = "$(cf_key "$k")" ] ||
    fail "CAPF issue killed at $step: after the retry the row is not done with the phone's LSC"
  # (The files after an uninterrupted session are capf_enrol's concern.)
}

# The first LSC, so that each attempt replaces one.
cf_prep
cf_run 23
[ "$RC" = 0 ] || fail "the first enrolment: $RC $(cat "$WORK/client.out")"
crash_pub_daemon "CAPF issue" cf_prep_md5 cf_run cf_snap cf_killed cf_healed
pass "CAPF issue: ctlkitd killed at $PASSED_POINTS: row pending or done with the phone's key, files whole and following the row, the phone's retry answered, audit honest"
