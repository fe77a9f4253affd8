#!/usr/bin/env bash
# A throw-away PostgreSQL 15 for the tests: `pg_server.sh start STATEFILE`
# runs initdb in a temporary folder as the unprivileged postgres user
# (scram-sha-256 passwords, a free port on 127.0.0.1) and writes the
# admin URL to STATEFILE; `pg_server.sh stop STATEFILE` stops it and
# removes the folder. CTest runs these as the fixture of the pg.* tests.
# `pg_server.sh down STATEFILE` stops the server but keeps its folder and
# `pg_server.sh up STATEFILE` starts it again on the same port: the fault
# tests take the database away during service (they start a server of
# their own, so that the shared fixture's tests never see it go).
set -euo pipefail
action=$1 state=$2
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "pg_server: no PostgreSQL server installed (scripts/bootstrap)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $action in
start)
  dir=$(mktemp -d /tmp/ctlkit-pg.XXXXXX)
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  pw=$(openssl rand -hex 16)
  printf '%s\n' "$pw" > "$dir/pw"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pw"
  as_pg "$pgbin/initdb" -D "$dir/data" -U ctlkit_admin --auth=scram-sha-256 --pwfile="$dir/pw" \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pw"
  # A free port: try a few random high ones until the server starts.
  for attempt in 1 2 3 4 5; do
    port=$(( (RANDOM << 8 | RANDOM) % 30000 + 20000 ))
    if as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
         -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off" start >/dev/null; then
      printf 'dir=%s\nurl=postgresql://ctlkit_admin:%s@127.0.0.1:%s/postgres\n' "$dir" "$pw" "$port" > "$state"
      exit 0
    fi
  done
  cat "$dir/server.log" >&2
  exit 1
  ;;
down)
  dir=$(sed -n 's/^dir=//p' "$state")
  as_pg "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
up)
  dir=$(sed -n 's/^dir=//p' "$state")
  port=$(sed -n 's|^url=.*@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$state")
  as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off" start >/dev/null
  ;;
stop)
  [ -f "$state" ] || exit 0
  dir=$(sed -n 's/^dir=//p' "$state")
  as_pg "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir" "$state"
  ;;
*)
  echo "usage: pg_server.sh start|stop|down|up STATEFILE" >&2
  exit 2
  ;;
esac
