#!/usr/bin/env bash
# Starts / stops the project's own PostgreSQL cluster on 127.0.0.1 (Debian's package; installed
# when missing). Data under .cache/pg; the server runs as the unprivileged `postgres` user when
# we are root (PostgreSQL refuses to run as root). Stops only what it started, by PID.
#   scripts/pg.sh start|stop|status|url
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${LEARNPROOF_PG_PORT:-25432}  # below the ephemeral port range, as in kafka.sh
BASE=${LEARNPROOF_PG_DIR:-$ROOT/.cache/pg}
DATA=$BASE/data
LOG=$BASE/server.log
PIDFILE=$BASE/started-by-us.pid
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

install_pg() {
  echo "pg.sh: installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" >/dev/null 2>&1; }

start() {
  BIN=$(find_bin) || { install_pg; BIN=$(find_bin); }
  mkdir -p "$BASE"
  # One start at a time (two `make` targets starting together); the server must not inherit
  # the lock's descriptor (9>&- below).
  exec 9>"$BASE/.lock"
  flock 9
  if ready; then echo "$URL"; return 0; fi
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$BASE" postgres
    chown postgres "$BASE"
    # The server user must be able to reach the data folder through every parent directory.
    chmod o+x "$ROOT" "$ROOT/.cache" 2>/dev/null || true
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$BASE'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
  fi
  # Write-heavy settings, given on every start so clusters made by an older script get them too.
  # With the defaults (max_wal_size 1GB, checkpoint_timeout 5min, no WAL compression) an ingest
  # of a few thousand statements/s forces a checkpoint every ~30 s, and after each one the next
  # write of every touched page carries a full 8 kB page image. Measured on one machine (raw
  # ceiling, batch 100, three 6 s cells in a row): defaults 10.3k -> 8.5k -> 7.1k statements/s
  # as a checkpoint begins, these settings 9.4k / 9.1k / 9.0k (docs/benchmarks.md). Production
  # clusters want the same (docker-compose.yml).
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c port=$PORT -c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_compression=lz4" start >/dev/null 9>&-
  head -1 "$DATA/postmaster.pid" > "$PIDFILE"
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
  ready || { echo "pg.sh: PostgreSQL did not become ready; see $LOG" >&2; exit 1; }
  echo "$URL"
}

stop() {
  if [ -d "$BASE" ]; then exec 9>"$BASE/.lock"; flock 9; fi  # not in the middle of a start
  [ -f "$PIDFILE" ] || return 0
  local pid; pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid"   # fast shutdown
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) BIN=$(find_bin) && ready && echo "up $URL" || echo "down" ;;
  url) echo "$URL" ;;
  *) echo "usage: scripts/pg.sh start|stop|status|url" >&2; exit 2 ;;
esac
