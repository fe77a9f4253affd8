#!/bin/bash
# ctlkitd under a real systemd (issue 15): the .debs of `make deb` installed
# with apt into a minimal Debian 12 root, booted with `systemd-nspawn -b` in
# a network namespace of its own (--private-network: its own loopback and
# nothing else), where tests/systemd/inside.sh does what docs/installing.md
# tells an administrator to do and checks the unit: ctlkitd@NODE runs as
# ctlkit with only what the unit gives it, serves the CTL and ITL over TFTP
# and answers TVS on the default ports, restarts after `set cert regen`
# (exit 75) and serves again; `systemd-analyze security` on the instance;
# the dashboard's unit; a rehearsal by the admin; then a PostgreSQL cluster
# (Debian's postgresql in the root): a publisher and a subscriber as two
# ctlkitd@ instances, a CTL update reaching the subscriber, a restart of
# PostgreSQL under them.
# Prints the PASS/FAIL lines; exit status 0 when all passed.
#
#   sudo make systemd-check                     # builds the .debs first
#   sudo DEB_DIR=build-deb tests/systemd/run-in-nspawn.sh
#
# Needs root, systemd-nspawn (systemd-container) and mmdebstrap (installed
# with apt-get when missing) and the Debian mirror this machine's apt uses.
# CACHE (/var/cache/ctlkit-nspawn) keeps the bootstrapped root and the
# downloaded packages between runs; each run works on a copy, removed at
# the end. KEEP=1 keeps the copy and the results; ROOT_ONLY=1 only makes
# the cached root. Not part of `make check`.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-/var/cache/ctlkit-nspawn}
SUITE=bookworm
NODE=${NODE:-cucm-pub}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
say() { echo "run-in-nspawn: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
now() { date +%s; }
t0=$(now)

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, systemd-nspawn)"
missing=
command -v systemd-nspawn >/dev/null || missing="$missing systemd-container"
command -v mmdebstrap >/dev/null || missing="$missing mmdebstrap"
if [ -n "$missing" ]; then
  say "installing$missing"
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 1. The root: Debian 12 minbase with systemd, from the mirror apt uses here.
mirror() {
  local u
  u=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1)
  [ -n "$u" ] || u=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk '{print $2}' | grep -v security | head -n 1)
  echo "${u:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(mirror)}
SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}
# The packages the root is made with; the cached root's name carries a
# digest of the list, so changing it makes a new root instead of reusing
# one without them. postgresql: the PostgreSQL cluster's checks (its
# postinst makes the 15/main cluster, started at boot).
INCLUDE=systemd,systemd-sysv,dbus,adduser,openssl,postgresql
base=$CACHE/$SUITE-$(printf %s "$INCLUDE" | sha256sum | cut -c1-12)
mkdir -p "$CACHE/archives/partial"
if [ ! -e "$base/.ctlkit-ready" ]; then
  say "bootstrapping Debian $SUITE from $MIRROR into $base"
  rm -rf "$base.tmp"
  mmdebstrap --mode=root --variant=minbase --include="$INCLUDE" \
    --skip=cleanup/apt/lists \
    "$SUITE" "$base.tmp" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main" >&2 ||
    die "mmdebstrap could not make a root from $MIRROR"
  # Empty: each boot gets a machine id of its own and is not a "first
  # boot" (no systemd-firstboot asking questions on the console).
  : >"$base.tmp/etc/machine-id"
  touch "$base.tmp/.ctlkit-ready"
  rm -rf "$base" && mv "$base.tmp" "$base"
fi
t_root=$(now)
[ "${ROOT_ONLY:-0}" = 1 ] && { say "root ready in $base ($((t_root - t0)) s)"; exit 0; }

# 2. The packages: DEB_DIR, or `make deb` now.
if [ -z "${DEB_DIR:-}" ]; then
  say "building the packages (make deb)"
  make -C "$SRC" deb >&2
  DEB_DIR=$SRC/build-deb
fi
DEB_DIR=$(cd "$DEB_DIR" && pwd)
debs=()
for p in ctlkit libctlkit0; do
  d=$(ls "$DEB_DIR"/${p}_*.deb 2>/dev/null | head -n 1 || true)
  [ -n "$d" ] || die "no ${p}_*.deb in $DEB_DIR"
  debs+=("$d")
done
# The package ships no TFTP or TVS client: the build's test tools, built by
# dpkg-buildpackage beside the programs (they link libctlkit.so.0, which
# the container gets from libctlkit0).
tools=()
for t in tftpc tvsquery; do
  f=$(ls "$DEB_DIR"/src/obj-*/tests/tools/$t "${CTLKIT_BIN:-$SRC/build}"/tests/tools/$t 2>/dev/null | head -n 1 || true)
  [ -n "$f" ] || die "no $t (built by make deb in $DEB_DIR/src/obj-*, or CTLKIT_BIN=BUILD-DIR)"
  tools+=("$f")
done


# 3. A copy for this run, the packages installed with apt (the host's
#    network: it fetches their dependencies; downloads are kept in CACHE).
run=$(mktemp -d "$CACHE/run.XXXXXX")
results=$run.results
mkdir -p "$results"
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then say "kept $run and $results"; else rm -rf "$run" "$results"; fi
}
trap cleanup EXIT
cp -a --reflink=auto "$base/." "$run/"
: >"$run/etc/machine-id"
mkdir -p "$run/root/debs" "$run/usr/local/lib/ctlkit-check"
cp "${debs[@]}" "$run/root/debs/"
cp "${tools[@]}" "$run/usr/local/lib/ctlkit-check/"
install -m 0755 "$SRC/tests/systemd/inside.sh" "$run/usr/local/lib/ctlkit-check/inside.sh"
nspawn=(systemd-nspawn --quiet --register=no --keep-unit -D "$run")
say "installing ${debs[*]##*/} with apt-get"
"${nspawn[@]}" --bind="$CACHE/archives:/var/cache/apt/archives" --setenv=DEBIAN_FRONTEND=noninteractive \
  sh -c 'cd /root/debs && apt-get install -y -q --no-install-recommends ./*.deb' >"$results/apt.log" 2>&1 ||
  { tail -n 20 "$results/apt.log" >&2; die "apt-get install ./*.deb failed in the container"; }
t_install=$(now)

cat >"$run/etc/systemd/system/ctlkit-check.service" <<EOF
[Unit]
Description=ctlkit under systemd: the checks (tests/systemd/inside.sh)
After=multi-user.target
[Service]
Type=simple
Environment=NODE=$NODE OUT=/ctlkit-results
ExecStart=/usr/local/lib/ctlkit-check/inside.sh
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$run/etc/systemd/system/multi-user.target.wants"
ln -sf ../ctlkit-check.service "$run/etc/systemd/system/multi-user.target.wants/ctlkit-check.service"

# 4. Boot; the checks power the container off when done. CAP_IPC_LOCK: a
# real host's services have it in their bounding set; nspawn leaves it out
# of the container's, and mlock() then fails in it even within
# RLIMIT_MEMLOCK (nspawn's own system call filter follows the capabilities
# it keeps; seen here: the unit's secure heap was refused with it out, locked
# with it in). Without it OpenSSL's secure heap would fail here only.
say "booting $run (--private-network)"
rc=0
timeout -k 10 "$BOOT_TIMEOUT" "${nspawn[@]}" -b --private-network --capability=CAP_IPC_LOCK --machine="ctlkit-check-$$" \
  --bind="$results:/ctlkit-results" >"$results/console.log" 2>&1 </dev/null || rc=$?
t_boot=$(now)
[ "$rc" = 0 ] || say "systemd-nspawn exited with $rc (console: $results/console.log)"

# 5. The report.
[ -s "$results/report" ] || { tail -n 30 "$results/console.log" >&2; die "the checks left no report"; }
cat "$results/report"
echo "TIME root $((t_root - t0)) s, install $((t_install - t_root)) s, boot+checks $((t_boot - t_install)) s, total $((t_boot - t0)) s"
grep -q '^DONE' "$results/report" || die "the checks did not finish (container exit $rc)"
if grep -q '^FAIL' "$results/report"; then
  KEEP=1
  say "FAIL: $(grep -c '^FAIL' "$results/report") checks failed; journal in $results/journal.txt"
  exit 1
fi
say "PASS: $(grep -c '^PASS' "$results/report") checks"
