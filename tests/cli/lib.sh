# Shared helpers for the CLI transcript tests (tests/cli/*.test).
#
#   . "$(dirname "$0")/lib.sh"
#
# Environment (set by CTest): CTLKIT_BIN = build directory, CTLKIT_SRC =
# source directory. Set CTLKIT_UPDATE=1 to rewrite expected transcripts
# instead of comparing (then review the diff before committing).
set -euo pipefail

CTLKIT_SRC=${CTLKIT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CTLKIT_BIN=${CTLKIT_BIN:-$CTLKIT_SRC/build}
CTLKIT_VECTORS=${CTLKIT_VECTORS:-$CTLKIT_SRC/tests/data/vectors}
EXPECTED=$CTLKIT_SRC/tests/cli/expected
export LC_ALL=C TZ=UTC

# A private scratch directory, removed on exit.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctlkit-cli-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
  [ "$1" == "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
  case "$1" in
    *"$2"*) ;;
    *) fail "${3:-output} does not contain '$2'; it was: $1" ;;
  esac
}

# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() {
  case "$1" in
    *"$2"*) fail "${3:-output} contains '$2'; it was: $1" ;;
    *) ;;
  esac
}

# run CMD [ARGS...]: runs a command without tripping `set -e`; leaves its
# stdout in $OUT, stderr in $ERR and exit status in $RC.
run() {
  local o="$TMP/.run.out" e="$TMP/.run.err"
  RC=0
  "$@" >"$o" 2>"$e" || RC=$?
  OUT=$(cat "$o")
  ERR=$(cat "$e")
}

# expect_status WANT CMD [ARGS...]: run, then check the exit status.
expect_status() {
  local want=$1
  shift
  run "$@"
  [ "$RC" -eq "$want" ] || fail "'$*' exited $RC, expected $want; stdout: $OUT; stderr: $ERR"
}

# compare_transcript NAME ACTUAL_FILE [SED_EXPR ...]
# Masks ACTUAL_FILE with each sed -E expression, then compares it with
# tests/cli/expected/NAME (or writes it there when CTLKIT_UPDATE=1).
compare_transcript() {
  local name=$1 actual=$2
  shift 2
  local masked="$TMP/.masked.$name" args=()
  for expr in "$@"; do args+=(-e "$expr"); done
  if [ ${#args[@]} -gt 0 ]; then
    sed -E "${args[@]}" "$actual" >"$masked"
  else
    cp "$actual" "$masked"
  fi
  if [ "${CTLKIT_UPDATE:-0}" = 1 ]; then
    cp "$masked" "$EXPECTED/$name"
    echo "updated $EXPECTED/$name"
    return 0
  fi
  [ -f "$EXPECTED/$name" ] || fail "no expected transcript $EXPECTED/$name (run with CTLKIT_UPDATE=1)"
  if ! diff -u "$EXPECTED/$name" "$masked" >&2; then
    fail "transcript $name differs (above: expected vs actual)"
  fi
}

# transcript FILE CMD [ARGS...]: appends "$ CMD", its stdout and stderr, and
# its exit status to FILE, with $TMP and the source/build paths shortened.
transcript() {
  local file=$1
  shift
  run "$@"
  {
    echo "\$ $*"
    [ -n "$OUT" ] && printf '%s\n' "$OUT"
    [ -n "$ERR" ] && printf '%s\n' "$ERR"
    echo "[exit $RC]"
  } | sed -e "s#$TMP#\$TMP#g" -e "s#$CTLKIT_VECTORS#\$VECTORS#g" -e "s#$CTLKIT_BIN/##g" -e "s#$CTLKIT_SRC/##g" >>"$file"
}
