# Sourced by crash.sh (uses its helpers): the publisher's ctlkitd killed
# at each test hook point it passes while a client (the CTL Client, a
# phone's CAPF session) has it publish. The operations that use this are
# in crash_provider.sh and crash_capf.sh.
#
# crash_pub_daemon LABEL PREP RUN SNAP KILLED HEALED
#   PREP    runs before each attempt, the daemons serving;
#   RUN K   the client's attempt K (0 is the recording run), bounded by a
#           timeout: sets RC, its output in $WORK/client.out;
#   SNAP    prints the store's state that the operation changes, with one
#           line "audit:N", the operation's audit rows;
#   KILLED BEFORE AFTER STEP K   checks the folders right after the kill
#           (the publisher's daemon is dead: they are read on disk);
#   HEALED STEP K   checks after the restart (the nodes serving again)
#           and has the client try again where the protocol says so.
# After each kill: the client ended with an error (not a hang, not a
# timeout), the audit log has a row exactly when the store changed, no
# temporary is in a TFTP folder and the nodes come to the store's CTL and
# ITL; KILLED and HEALED check the rest.
crash_pub_daemon() {
  local label=$1 prep=$2 run=$3 snap=$4 killed=$5 healed=$6 points k step rc before after audit0 audit1
  local unreached='' n_unreached=0
  $prep
  wait_for converged || fail "$label: the nodes do not serve the store's files before the recording"
  stop_daemon pub
  rm -f "$WORK/ppoints"
  start_daemon pub CTLKITD_ALLOW_ROOT=1 CTLKIT_TEST_POINTS="$WORK/ppoints"
  wait_started pub
  $run 0
  [ "$RC" = 0 ] || fail "$label (recording) exited $RC: $(cat "$WORK/client.out")"
  stop_daemon pub # before a periodic pass adds points the operation does not pass
  [ -s "$WORK/ppoints" ] || fail "$label: the publisher's daemon passed no test hook point"
  points=$(wc -l <"$WORK/ppoints")
  start_daemon pub CTLKITD_ALLOW_ROOT=1
  wait_started pub
  wait_for converged || fail "$label: the nodes do not serve the store's files after the recording"
  $healed recording 0
  for k in $(seq 1 "$points"); do
    step=$(sed -n "${k}p" "$WORK/ppoints" | cut -d' ' -f2)
    $prep
    wait_for converged || fail "$label: the nodes do not serve the store's files before the kill at $step"
    before=$($snap)
    # The daemon started afresh counts points from 1: its start passes
    # none (its folder is the store's), so point k is the operation's.
    stop_daemon pub
    start_daemon pub CTLKITD_ALLOW_ROOT=1 CTLKIT_TEST_KILL_AT_N=$k
    wait_started pub
    $run "$k"
    if ! exited_within "${PID[pub]}" 5; then
      # Not reached this time (the recording's daemon made a pass this one
      # did not): then the operation must have succeeded as usual.
      [ "$RC" = 0 ] || fail "$label: ctlkitd not killed at $step, and the client exited $RC: $(cat "$WORK/client.out")"
      stop_daemon pub
      unreached="$unreached $step" n_unreached=$((n_unreached + 1))
      start_daemon pub CTLKITD_ALLOW_ROOT=1
      wait_started pub
      wait_for converged || fail "$label: not killed at $step, the nodes do not serve the store's files"
      $healed "$step" "$k"
      continue
    fi
    rc=0
    wait "${PID[pub]}" || rc=$?
    unset "PID[pub]"
    [ "$rc" -eq 137 ] || fail "$label: ctlkitd was not killed at $step (exit $rc)"
    # The client: a clear error, in time (timeout's 124 is a hang).
    [ "$RC" != 0 ] && [ "$RC" != 124 ] && [ -s "$WORK/client.out" ] ||
      fail "$label: killed at $step, the client exited $RC: $(cat "$WORK/client.out")"
    after=$($snap)
    audit0=$(audit_in "$before") audit1=$(audit_in "$after")
    if [ "$(echo "$before" | grep -v ^audit:)" = "$(echo "$after" | grep -v ^audit:)" ]; then
      [ "$audit1" = "$audit0" ] || fail "$label killed at $step: audited, but the store did not change"
    else
      [ "$audit1" = $((audit0 + 1)) ] ||
        fail "$label killed at $step: the store changed with $((audit1 - audit0)) audit rows"
    fi
    ls -A "${DIR[pub]}/tftp" "${DIR[sub]}/tftp" | grep -e '\.tmp\.' -e '\.prev' &&
      fail "$label killed at $step: a temporary is in a TFTP folder"
    $killed "$before" "$after" "$step" "$k"
    [ -z "${CRASH_TRACE:-}" ] || echo "$(date +%T.%N) $label $step checked" >&2
    start_daemon pub CTLKITD_ALLOW_ROOT=1
    wait_started pub
    wait_for converged || fail "$label killed at $step: the nodes do not come to the store's files"
    $healed "$step" "$k"
  done
  [ -z "$unreached" ] || echo "# $label: not reached when killed at them (another path on this run):$unreached"
  [ "$n_unreached" -lt "$points" ] || fail "$label: ctlkitd was killed at none of its $points points"
  PASSED_POINTS="$((points - n_unreached)) of its $points points ($(cut -d' ' -f2 "$WORK/ppoints" | tr '\n' ' '))"
}

# on_disk_one_of NODE NAME MD5...: NODE's folder holds NAME with one of
# these MD5s ('' = no file). For a node whose daemon is dead.
on_disk_one_of() {
  local f="${DIR[$1]}/tftp/$2" got='' m
  shift 2
  [ ! -e "$f" ] || got=$(md5 "$f")
  for m in "$@"; do [ "$got" = "$m" ] && return 0; done
  echo "$f has MD5 '$got', none of: $*" >&2
  return 1
}
