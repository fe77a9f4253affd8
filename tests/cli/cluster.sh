# Helpers for the cluster and admin-shell tests (sourced by tests/cli/*.test).
# Built on lib.sh: each test gets its own temporary folder, removed on exit.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CTLKIT=$CTLKIT_BIN/ctlkit
export USER=admin # the audit log names who did what
WORK=$TMP
cd "$WORK"

# new_cluster DIR: a two-node cluster as in the seed, on loopback.
new_cluster() {
  "$CTLKIT" cluster init "$1" --publisher cucm-1051-a-pub=127.0.0.11 \
    --subscriber cucm-1051-a-sub1=127.0.0.12 --tftp-port 16969 --tvs-port 12445 --provider-port 12444 \
    --ou TAC --o Cisco --l Krakow --st Malopolska --c PL >/dev/null
}

# admin NODE COMMAND [extra flags]: one admin command; prints what CUCM's
# CLI would, prompt and command included, and the exit code when not 0.
admin() {
  local node=$1 cmd=$2; shift 2
  echo "admin:$cmd"
  local rc=0
  "$CTLKIT" admin --cluster "$CL" --node "$node" -c "$cmd" "$@" </dev/null || rc=$?
  [ "$rc" = 0 ] || echo "[exit $rc]"
}

# Masks what changes from run to run: checksums, serials, dates, signature
# bytes, certificate hashes.
mask() {
  sed -E \
    -e 's/[0-9a-f]{32}\(MD5\)/<MD5>(MD5)/' \
    -e 's/[0-9a-f]{40}\(SHA1\)/<SHA1>(SHA1)/' \
    -e 's/(last modified on ).*/\1<DATE>/' \
    -e 's/([0-9A-F]{2}:){7,}[0-9A-F]{2}/<SERIAL>/g' \
    -e 's/\b[0-9A-F]{32}\b/<SERIAL>/g' \
    -e 's/([0-9A-F]{2} ){20}\(SHA1 Hash HEX\)/<HASH> (SHA1 Hash HEX)/' \
    -e 's/^([0-9a-f]{1,2} )*[0-9a-f]{1,2}$/<SIGNATURE BYTES>/' \
    -e 's/^[0-9a-f]{16,}$/<KEY BYTES>/' \
    -e 's/MD5 [0-9a-f]{32}/MD5 <MD5>/g' \
    -e 's/(ok|DIFFERS|missing) [0-9a-f]{8}/\1 <md5>/g' \
    -e 's/[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} [A-Z]+ [0-9]{4}/<DATE>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:]{8}Z)?/<DATE>/g' \
    -e "s#$WORK#<WORK>#g" \
  | awk '/^<[A-Z]+ BYTES>$/ { if ($0 == prev) next; prev = $0; print; next } { prev = ""; print }'
}

# compare_masked NAME FILE: FILE, masked, against tests/cli/expected/NAME.txt
# (CTLKIT_UPDATE=1 rewrites it).
compare_masked() {
  mask <"$2" >"$2.masked"
  compare_transcript "$1.txt" "$2.masked"
}

md5_of() { md5sum "$1" | cut -d' ' -f1; }
node_file() { echo "$CL/nodes/$1/tftp/$2"; }
