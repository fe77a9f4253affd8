# shellcheck shell=bash disable=SC2154 # root: set by the bench that sources this
# Shared by the benches that drive ctlkitd with the measuring tools of the
# shared folder (tools/tftpstorm.c, tools/tvsstorm.c): bench/tracking,
# bench/onpg and bench/soak. Source it after setting `root` (the repository).
#
#   storm_build WORK        compiles tftpstorm and tvsstorm into WORK
#                           (TOOLS, or ../shared/tools, or /work/shared/tools)
#   proc_cpu PID            utime + stime of PID in clock ticks
#   storm_tftp WORK HOST PORT FILE TOTAL CONC
#   storm_tvs WORK HOST PORT CERT TOTAL THREADS
#                           one storm; prints "rate ok failed" (failed is
#                           "?" when the tool printed nothing, e.g. killed)
#   median                  the middle line of its input by the first field

storm_build() {
  local w=$1 t tools=${TOOLS:-}
  for t in "$tools" "$root/../shared/tools" /work/shared/tools; do
    if [ -n "$t" ] && [ -f "$t/tftpstorm.c" ]; then tools=$t; break; fi
  done
  [ -f "$tools/tftpstorm.c" ] || { echo "tftpstorm.c not found (set TOOLS)" >&2; return 2; }
  cc -O2 -o "$w/tftpstorm" "$tools/tftpstorm.c" || return 2
  cc -O2 -o "$w/tvsstorm" "$tools/tvsstorm.c" -lssl -lcrypto -lpthread || return 2
}

proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# storm_parse OUTPUT: "rate ok failed" from a storm tool's summary line.
storm_parse() {
  local ok failed r
  ok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$1")
  failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$1")
  r=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$1")
  echo "${r:-0} ${ok:-0} ${failed:-?}"
}

# Block size 1428 as phones ask for; no expected size: a publish may change
# the file's length while a storm runs.
storm_tftp() { storm_parse "$(timeout 300 "$1/tftpstorm" "$2" "$3" "$4" "$5" "$6" 1428 2>&1)"; }

# Expects a valid answer (status 0) for every request.
storm_tvs() { storm_parse "$(timeout 300 "$1/tvsstorm" "$2" "$3" "$4" "$5" "$6" 0 2>&1)"; }

median() { sort -n -k1,1 | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
