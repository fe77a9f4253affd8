#!/bin/bash
# Interoperability with the public reference implementation of CAPF and of
# signed/encrypted configuration files (issue 12; docs/phones-capf.md,
# "Interoperability with the reference implementation"):
#   a. its capfc (phone emulator) against ctlkitd's CAPF service;
#   b. ctlkit-phone capf against its capfd (devices set with capfctl);
#   c. .sgn and .enc.sgn files: its sgnfile, stripsgn and enccnf against
#      ctlkit sgn build|verify|strip|decrypt, both ways.
#
# The reference (GPL-2 Python, usecallmanagernz/daemons and
# usecallmanagernz/certutils) is never part of ctlkit: point to checkouts of
# it with CTLKIT_REF_DAEMONS and CTLKIT_REF_CERTUTILS. Without them the
# test is skipped (exit 77). It runs with Debian's python3 and the
# python3-cryptography and python3-lxml packages (CTLKIT_REF_PYTHON names
# another interpreter).
#
# Env: CTLKIT_BIN (build dir), CTLKIT_SRC (source dir), KEEP_WORK=1 keeps
# the work directory.
DAEMONS=${CTLKIT_REF_DAEMONS:-}
CERTUTILS=${CTLKIT_REF_CERTUTILS:-}
if [ -z "$DAEMONS" ] || [ -z "$CERTUTILS" ]; then
  echo "SKIP: set CTLKIT_REF_DAEMONS and CTLKIT_REF_CERTUTILS to checkouts of the reference implementation"
  exit 77
fi
PY=${CTLKIT_REF_PYTHON:-/usr/bin/python3}
for f in "$DAEMONS/capfc" "$DAEMONS/capfd" "$DAEMONS/capfctl" "$CERTUTILS/enccnf" "$CERTUTILS/sgnfile" "$CERTUTILS/stripsgn"; do
  [ -f "$f" ] || { echo "FAIL: $f is missing (CTLKIT_REF_DAEMONS, CTLKIT_REF_CERTUTILS)" >&2; exit 1; }
done
"$PY" -c 'import cryptography, lxml' 2>/dev/null ||
  { echo "FAIL: $PY cannot import cryptography and lxml (apt-get install python3-cryptography python3-lxml)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is needed" >&2; exit 1; }

PUB_IP=127.0.0.231 SUB_IP=127.0.0.232
. "${CTLKIT_SRC:?}/tests/scenarios/phone_lib.sh"
HERE=$CTLKIT_SRC/tests/interop
REF_IP=127.0.0.233
CAPF_PORT=$((TVS_PORT + 3)) # what new_cluster gives --capf-port
REF_PORT=$((TVS_PORT + 5))
REF=$WORK/ref
mkdir -p "$REF"

capfc() { (cd "$REF" && "$PY" "$DAEMONS/capfc" "$@"); }
capfctl() { "$PY" "$DAEMONS/capfctl" "$@"; }
enccnf() { "$PY" "$CERTUTILS/enccnf" "$@"; }
sgnfile() { "$PY" "$CERTUTILS/sgnfile" "$@"; }
stripsgn() { "$PY" "$CERTUTILS/stripsgn" "$@"; }
dev() { "$CTLKIT" device "$@" --cluster "$CL" >/dev/null || fail "ctlkit device $*"; }
row() { "$CTLKIT" device show --cluster "$CL" "$1" --json | jq -r "$2"; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
# ref_parses TOOL FILE [NAME]: the reference's TOOL (enccnf or sgnfile)
# finds FILE signed by the TFTP certificate and, given NAME, its FILENAME
# field NAME. Its output is left in $REF/out.
ref_parses() {
  local tool=$1 file=$2 name=${3:-}
  "$tool" --parse "$file" --tftp "$WORK/tftp-cert.pem" >"$REF/out" 2>&1 || fail "$tool --parse $file: $(cat "$REF/out")"
  grep -qx "Valid signature" "$REF/out" || fail "$tool does not find $file valid: $(cat "$REF/out")"
  [ -z "$name" ] || grep -q "^Filename: *$name$" "$REF/out" || fail "$file's FILENAME: $(grep Filename "$REF/out")"
}

# ---------------------------------------------------------------------------
# a. The reference phone (capfc) against ctlkitd's CAPF.
new_cluster
admin pub 'utils ctl set-cluster mixed-mode' >/dev/null || fail "mixed mode"
start_node pub
for i in $(seq 1 100); do grep -q "CAPF listening on ${IP[pub]}:$CAPF_PORT" "$WORK/pub.log" && break; sleep 0.05; done
grep -q "CAPF listening on ${IP[pub]}:$CAPF_PORT" "$WORK/pub.log" || fail "CAPF is not listening on ${IP[pub]}:$CAPF_PORT"
openssl x509 -in "$CL/nodes/pub/keys/CAPF.pem" -out "$WORK/capf.pem" || fail "CAPF certificate"
CAPF_AT=${IP[pub]}:$CAPF_PORT
# capfc_installs DEVICE WHAT [CAPFC-ARGS]: capfc runs the install pending
# for DEVICE; it writes the LSC, the store holds that LSC, and it chains
# to the CAPF certificate. WHAT names the case in failures.
capfc_installs() {
  local dev=$1 what=$2
  shift 2
  capfc -h "$CAPF_AT" -A "$WORK/capf.pem" "$@" "$dev" >"$REF/out" 2>&1 || fail "capfc ($what): $(cat "$REF/out")"
  grep -q "Wrote $dev.pem" "$REF/out" || fail "capfc ($what) said: $(cat "$REF/out")"
  [ "$(row "$dev" .lsc.serial)" = "$(serial_of "$REF/$dev.pem")" ] || fail "the store's LSC is not the one capfc wrote ($what)"
  openssl verify -partial_chain -CAfile "$WORK/capf.pem" "$REF/$dev.pem" >/dev/null ||
    fail "capfc's LSC ($what) does not chain to the CAPF certificate"
}

# a1. By authentication string, RSA-2048: a wrong string, then the right one.
D1=SEP00112233AA01
dev add $D1 --model 7975 --profile encrypted --encrypted-config
dev capf $D1 --operation install --string 123456 --key rsa:2048
capfc -h "$CAPF_AT" -A "$WORK/capf.pem" -p 654321 $D1 >"$REF/out" 2>&1 || fail "capfc (wrong string): $(cat "$REF/out")"
grep -q "Server ended session: 7" "$REF/out" || fail "capfc with a wrong string said: $(cat "$REF/out")"
[ "$(row $D1 .capf.operation)" = install ] || fail "a wrong string cleared the operation"
capfc_installs $D1 string -p 123456
[ "$(row $D1 .capf.operation)" = none ] || fail "the operation stayed pending after capfc's install"
[ "$(openssl x509 -in "$REF/$D1.pem" -noout -pubkey)" = "$(openssl pkey -in "$REF/$D1.pem" -pubout)" ] ||
  fail "the LSC is not for the key capfc made"
"$CTLKIT" device show --cluster "$CL" $D1 | grep -q "^LSC  *: serial $(row $D1 .lsc.serial)" || fail "device show does not print the LSC"
pass "capfc -> ctlkitd: install by authentication string (a wrong one refused with END_SESSION 7)"

# a1b. The encrypted configuration the publisher now serves for that LSC,
# opened by the reference tools with the key capfc made.
TFTP=$CL/nodes/pub/keys/CallManager.pem
openssl x509 -in "$TFTP" -out "$WORK/tftp-cert.pem" || fail "TFTP certificate"
served=$CL/nodes/pub/tftp/$D1.cnf.xml
for i in $(seq 1 100); do [ -s "$served.enc.sgn" ] && break; sleep 0.1; done
[ -s "$served.enc.sgn" ] || fail "$D1.cnf.xml.enc.sgn not written after capfc's install"
mkdir -p "$REF/served"
cp "$served.enc.sgn" "$served.sgn" "$REF/served/"
ref_parses enccnf "$REF/served/$D1.cnf.xml.enc.sgn" "$D1.cnf.xml.enc.sgn"
ref_parses sgnfile "$REF/served/$D1.cnf.xml.sgn"
chmod 600 "$REF/$D1.pem" # capfc writes it 0644; ctlkit takes only 0600 keys
"$CTLKIT" sgn decrypt "$served.enc.sgn" --key "$REF/$D1.pem" -o "$REF/served/ck.xml" >/dev/null 2>&1 || fail "ctlkit sgn decrypt of the served file"
enccnf --remove "$REF/served/$D1.cnf.xml.enc.sgn" --key "$REF/$D1.pem" >"$REF/out" 2>&1 || fail "enccnf --remove: $(cat "$REF/out")"
cmp -s "$REF/served/$D1.cnf.xml" "$REF/served/ck.xml" || fail "enccnf and ctlkit decrypt the served file differently"
grep -q "<deviceSecurityMode>3</deviceSecurityMode>" "$REF/served/$D1.cnf.xml" || fail "the served configuration: $(head -c 300 "$REF/served/$D1.cnf.xml")"
pass "the .enc.sgn and stub ctlkitd serves for capfc's LSC: valid for sgnfile/enccnf, enccnf decrypts them"

# a2. By null string.
D2=SEP00112233AA02
dev add $D2 --model 8865
dev capf $D2 --operation install --auth null --key rsa:1024
capfc_installs $D2 "null string"
openssl x509 -in "$REF/$D2.pem" -noout -text | grep -q "Public-Key: (1024 bit)" || fail "not the RSA-1024 key asked for"
pass "capfc -> ctlkitd: install by null string"

# a2b. An EC key (P-256), by null string.
D3=SEP00112233AA03
dev add $D3 --model 8865
dev capf $D3 --operation install --auth null --key ec:256
capfc_installs $D3 EC
openssl x509 -in "$REF/$D3.pem" -noout -text | grep -q "NIST CURVE: P-256" || fail "capfc's LSC is not EC P-256"
pass "capfc -> ctlkitd: install of an EC P-256 key"

# a3. Nothing pending, and a phone the cluster does not know.
capfc -h "$CAPF_AT" -A "$WORK/capf.pem" $D2 >"$REF/out" 2>&1 || fail "capfc (nothing pending): $(cat "$REF/out")"
grep -qx "No scheduled operation" "$REF/out" || fail "capfc with nothing pending said: $(cat "$REF/out")"
capfc -h "$CAPF_AT" -A "$WORK/capf.pem" SEP00112233AAEE >"$REF/out" 2>&1 || fail "capfc (unknown): $(cat "$REF/out")"
grep -qx "Unknown device: SEP00112233AAEE" "$REF/out" || fail "capfc for an unknown phone said: $(cat "$REF/out")"
pass "capfc -> ctlkitd: no operation pending, unknown device"

# a4. Troubleshoot and delete. By null string: capfc's certificate proof
# (--lsc) cannot run on Debian's python3-cryptography (it calls OpenSSL's
# RSA_size and RSA_private_encrypt through bindings that no longer exist).
dev capf $D1 --operation troubleshoot --auth null
capfc -h "$CAPF_AT" -A "$WORK/capf.pem" $D1 >"$REF/out" 2>&1 || fail "capfc (troubleshoot): $(cat "$REF/out")"
grep -q "Stored $D1.pem" "$REF/out" || fail "capfc troubleshoot said: $(cat "$REF/out")"
[ "$(row $D1 .capf.operation)" = none ] || fail "troubleshoot stayed pending: $(row $D1 .last_result.text)"
row $D1 .last_result.text | grep -q "troubleshoot: the phone holds an LSC serial $(serial_of "$REF/$D1.pem")" ||
  fail "troubleshoot result: $(row $D1 .last_result.text)"
dev capf $D1 --operation delete --auth null
capfc -h "$CAPF_AT" -A "$WORK/capf.pem" $D1 >"$REF/out" 2>&1 || fail "capfc (delete): $(cat "$REF/out")"
grep -q "Deleted $D1.pem" "$REF/out" || fail "capfc delete said: $(cat "$REF/out")"
[ ! -f "$REF/$D1.pem" ] || fail "capfc kept the LSC"
[ "$(row $D1 .lsc.serial)" = null ] || fail "the store kept the deleted LSC"
pass "capfc -> ctlkitd: troubleshoot and delete"
stop_node pub

# ---------------------------------------------------------------------------
# b. ctlkit-phone against the reference server (capfd, capfctl).
# A CAPF certificate as the reference expects one (key and certificate in
# one PEM; CA:TRUE, pathlen:0; keyCertSign).
mkdir -p "$REF/capfd"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=CAPF-ref/O=Ref/OU=CAPF" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=digitalSignature,keyCertSign,cRLSign" \
  -keyout "$REF/capfd/key.pem" -out "$REF/capfd/cert.pem" 2>/dev/null || fail "reference CAPF certificate"
cat "$REF/capfd/key.pem" "$REF/capfd/cert.pem" >"$REF/capfd/capf.pem"
DB=$REF/capfd/capf.sqlite3
"$PY" "$HERE/bind_loopback.py" "$REF_IP" "$DAEMONS/capfd" -A "$REF/capfd/capf.pem" -p "$REF_PORT" -t 30 "$DB" "$REF/capfd" \
  >"$WORK/capfd.log" 2>&1 &
PID[capfd]=$!
capfctl --none SEP00112233BB00 "$DB" >/dev/null || fail "capfctl"
for i in $(seq 1 100); do grep -q "Listening Port: $REF_PORT" "$WORK/capfd.log" && break; sleep 0.1; done
grep -q "Listening Port: $REF_PORT" "$WORK/capfd.log" || fail "capfd did not start: $(cat "$WORK/capfd.log")"
REF_AT=$REF_IP:$REF_PORT
# rphone MAC [ARGS]: one ctlkit-phone CAPF session against capfd, as an
# 8865 (TLS 1.2 and later). A 79xx speaks TLS 1.0 only, which capfd (Python's
# default context, TLS 1.2 and later) refuses, as it refuses real 79xx phones.
rphone() {
  local mac=$1
  shift
  RC=0
  "$PHONE" capf --state "$REF/ph-$mac" --mac "$mac" --model "${MODEL:-8865}" --capf "$REF_AT" --trust "$REF/capfd/cert.pem" \
    --json "$@" >"$WORK/last.json" 2>"$WORK/phone.err" || RC=$?
}
# rphone_installs MAC WHAT [ARGS]: rphone, and the phone got an LSC that
# chains to capfd's certificate. WHAT names the case in failures.
rphone_installs() {
  local mac=$1 what=$2
  shift 2
  rphone "$mac" "$@"
  [ "$RC" = 0 ] && [ "$(q .result)" = "LSC installed" ] ||
    fail "ctlkit-phone -> capfd ($what): rc $RC $(cat "$WORK/last.json" "$WORK/phone.err")"
  openssl verify -partial_chain -CAfile "$REF/capfd/cert.pem" "$REF/ph-$mac/LSC.pem" >/dev/null ||
    fail "the LSC ($what) does not chain to capfd's certificate"
}

# b0. The TLS versions: a 79xx (TLS 1.0 only) is refused by capfd.
capfctl --install SEP00112233BB79 "$DB" >/dev/null || fail "capfctl --install"
MODEL=7975 rphone 00112233BB79
[ "$RC" = 2 ] && grep -q "TLS handshake failed" "$WORK/phone.err" || fail "a TLS 1.0 phone reached capfd: rc $RC $(cat "$WORK/phone.err")"
pass "ctlkit-phone -> capfd: a 79xx (TLS 1.0 only) is refused by capfd's TLS 1.2 minimum, as real 79xx phones are"

# b1. By password (authentication string), then null string.
M1=00112233BB01
capfctl --install SEP$M1 --password 123456 "$DB" >/dev/null || fail "capfctl --install --password"
rphone $M1 --auth-string 654321
[ "$RC" != 0 ] && [ ! -f "$REF/ph-$M1/LSC.pem" ] || fail "a wrong string was accepted by capfd: rc $RC $(cat "$WORK/last.json")"
grep -q "Error: Incorrect password" "$WORK/capfd.log" || fail "capfd did not refuse the wrong string"
rphone_installs $M1 string --auth-string 123456
cmp -s <(openssl x509 -in "$REF/ph-$M1/LSC.pem") <(capfctl --export SEP$M1 "$DB") || fail "the phone's LSC is not the one capfd recorded"
pass "ctlkit-phone -> capfd: install by authentication string (a wrong one refused)"

M2=00112233BB02
capfctl --install SEP$M2 "$DB" >/dev/null || fail "capfctl --install"
rphone_installs $M2 "null string"
pass "ctlkit-phone -> capfd: install by null string"

# b1b. An EC key (P-384). The row is set in capfd's table directly: this
# capfctl writes the curve names secp256k1/secp384p1 while this capfd
# looks for secp256r1/secp384r1 (the two disagree at these commits).
M3=00112233BB03
capfctl --install SEP$M3 "$DB" >/dev/null || fail "capfctl --install (EC)"
sqlite3 "$DB" "UPDATE devices SET key_size = NULL, curve = 'secp384r1' WHERE device_name = 'SEP$M3'"
rphone_installs $M3 EC
openssl x509 -in "$REF/ph-$M3/LSC.pem" -noout -text | grep -q "NIST CURVE: P-384" || fail "the LSC from capfd is not EC P-384"
pass "ctlkit-phone -> capfd: install of an EC P-384 key"

# b2. Nothing pending; unknown to capfd.
rphone $M2
[ "$RC" = 0 ] && [ "$(q .result)" = "no operation pending" ] || fail "nothing pending: rc $RC $(cat "$WORK/last.json" "$WORK/phone.err")"
[ -f "$REF/ph-$M2/LSC.pem" ] || fail "the phone lost its LSC with nothing pending"
rphone 00112233BBEE
[ "$RC" != 0 ] && [ "$(q .end_reason)" = 9 ] || fail "unknown device: rc $RC $(cat "$WORK/last.json" "$WORK/phone.err")"
pass "ctlkit-phone -> capfd: no operation pending, unknown device"

# b3. Fetch (troubleshoot) and delete.
capfctl --fetch SEP$M2 "$DB" >/dev/null || fail "capfctl --fetch"
rphone $M2
[ "$RC" = 0 ] || fail "ctlkit-phone -> capfd (fetch): rc $RC $(cat "$WORK/last.json" "$WORK/phone.err")"
grep -q "Result: Fetched certificate" "$WORK/capfd.log" || fail "capfd did not fetch the LSC"
cmp -s <(openssl x509 -in "$REF/ph-$M2/LSC.pem") <(capfctl --export SEP$M2 "$DB") || fail "capfd fetched another certificate"
capfctl --delete SEP$M2 "$DB" >/dev/null || fail "capfctl --delete"
rphone $M2
[ "$RC" = 0 ] && [ "$(q .result)" = "LSC deleted" ] || fail "ctlkit-phone -> capfd (delete): rc $RC $(cat "$WORK/last.json" "$WORK/phone.err")"
[ ! -f "$REF/ph-$M2/LSC.pem" ] || fail "the phone kept its LSC"
grep -q "Result: Deleted certificate" "$WORK/capfd.log" || fail "capfd did not record the delete"
pass "ctlkit-phone -> capfd: fetch and delete"
stop_node capfd

# ---------------------------------------------------------------------------
# c. Signed and encrypted configuration files, both ways.
# The TFTP signer (certificate and key in one PEM) and a phone's RSA LSC.
LSC=$REF/$D2.pem # capfc's, from a2: certificate and key
# capfc writes it with the umask's mode (0644); ctlkit takes only 0600 keys.
chmod 600 "$LSC"
C=$WORK/files
mkdir -p "$C"
cat >"$C/cnf.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<device>
<fullConfig>true</fullConfig>
<deviceSecurityMode>3</deviceSecurityMode>
<ipAddressMode>0</ipAddressMode>
<capfAuthMode>0</capfAuthMode>
<capfList><capf><phonePort>3804</phonePort><processNodeName>10.0.0.1</processNodeName></capf></capfList>
<certHash></certHash>
<encrConfig>false</encrConfig>
</device>
EOF

for digest in sha1 sha512; do
  # c1. enccnf's .enc.sgn and stub .sgn read by ctlkit.
  d=$C/ref-$digest
  mkdir -p "$d"
  cp "$C/cnf.xml" "$d/SEP001122334455.cnf.xml"
  enccnf --build "$d/SEP001122334455.cnf.xml" --tftp "$TFTP" --certificate "$LSC" --digest $digest >"$d/out" 2>&1 ||
    fail "enccnf --build: $(cat "$d/out")"
  E=$d/SEP001122334455.cnf.xml.enc.sgn S=$d/SEP001122334455.cnf.xml.sgn
  "$CTLKIT" sgn verify "$E" --cert "$WORK/tftp-cert.pem" >"$d/v" 2>&1 || fail "ctlkit sgn verify (enccnf $digest): $(cat "$d/v")"
  # The signer found by serial and issuer in the cluster's ITL, as a phone finds it.
  "$CTLKIT" sgn verify "$E" --trust "$CL/nodes/pub/tftp/ITLFile.tlv" >"$d/v" 2>&1 || fail "ctlkit sgn verify --trust (enccnf $digest): $(cat "$d/v")"
  "$CTLKIT" sgn decrypt "$E" --key "$LSC" -o "$d/plain" >"$d/v" 2>&1 || fail "ctlkit sgn decrypt (enccnf $digest): $(cat "$d/v")"
  cmp -s "$d/plain" "$C/cnf.xml" || fail "ctlkit decrypted enccnf's file ($digest) to something else"
  "$CTLKIT" sgn verify "$S" --cert "$WORK/tftp-cert.pem" >"$d/v" 2>&1 || fail "ctlkit sgn verify (enccnf stub $digest): $(cat "$d/v")"
  "$CTLKIT" sgn strip "$S" "$d/stub" >/dev/null 2>&1 || fail "ctlkit sgn strip (enccnf stub)"
  grep -q "<certHash>$(openssl x509 -in "$LSC" -outform DER | md5sum | cut -c1-32)</certHash>" "$d/stub" || fail "stub certHash"
  pass "enccnf ($digest) -> ctlkit: .enc.sgn verified and decrypted, stub .sgn verified"

  # c2. ctlkit's .enc.sgn and stub read by enccnf.
  d=$C/ck-$digest
  mkdir -p "$d"
  E=$d/SEP001122334455.cnf.xml.enc.sgn S=$d/SEP001122334455.cnf.xml.sgn
  "$CTLKIT" sgn build "$C/cnf.xml" "$E" --signer "$TFTP" --encrypt-for "$LSC" --digest $digest \
    >"$d/out" 2>&1 || fail "ctlkit sgn build --encrypt-for: $(cat "$d/out")"
  ref_parses enccnf "$E" SEP001122334455.cnf.xml.enc.sgn
  ref_parses sgnfile "$S" SEP001122334455.cnf.xml.sgn
  enccnf --remove "$E" --key "$LSC" >"$d/p" 2>&1 || fail "enccnf --remove (ctlkit $digest): $(cat "$d/p")"
  cmp -s "$d/SEP001122334455.cnf.xml" "$C/cnf.xml" || fail "enccnf decrypted ctlkit's file ($digest) to something else"
  pass "ctlkit ($digest) -> enccnf: .enc.sgn valid and decrypted, stub .sgn valid"

  # c3. Plain .sgn: sgnfile's read by ctlkit, ctlkit's by sgnfile and stripsgn.
  d=$C/sgn-$digest
  mkdir -p "$d"
  cp "$C/cnf.xml" "$d/g3-tones.xml"
  sgnfile --build "$d/g3-tones.xml" --tftp "$TFTP" --digest $digest >"$d/out" 2>&1 || fail "sgnfile --build: $(cat "$d/out")"
  "$CTLKIT" sgn verify "$d/g3-tones.xml.sgn" --cert "$WORK/tftp-cert.pem" >"$d/v" 2>&1 || fail "ctlkit sgn verify (sgnfile $digest): $(cat "$d/v")"
  "$CTLKIT" sgn strip "$d/g3-tones.xml.sgn" "$d/stripped" >/dev/null 2>&1 || fail "ctlkit sgn strip (sgnfile $digest)"
  cmp -s "$d/stripped" "$C/cnf.xml" || fail "ctlkit stripped sgnfile's file to something else"
  "$CTLKIT" sgn build "$C/cnf.xml" "$d/ck.xml.sgn" --signer "$TFTP" --digest $digest >"$d/out" 2>&1 || fail "ctlkit sgn build: $(cat "$d/out")"
  ref_parses sgnfile "$d/ck.xml.sgn" ck.xml.sgn
  stripsgn "$d/ck.xml.sgn" >/dev/null 2>&1 || fail "stripsgn (ctlkit $digest)"
  cmp -s "$d/ck.xml" "$C/cnf.xml" || fail "stripsgn stripped ctlkit's .sgn to something else"
  rm -f "$d/ck.xml"
  sgnfile --remove "$d/ck.xml.sgn" >/dev/null 2>&1 || fail "sgnfile --remove (ctlkit $digest)"
  cmp -s "$d/ck.xml" "$C/cnf.xml" || fail "sgnfile --remove stripped ctlkit's .sgn to something else"
  pass "plain .sgn ($digest): sgnfile -> ctlkit verify/strip, ctlkit -> sgnfile/stripsgn"
done
