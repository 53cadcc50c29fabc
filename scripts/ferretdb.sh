#!/usr/bin/env bash
# FerretDB 1.24 (a MongoDB-compatible server on PostgreSQL, or SQLite) for lockstep's MongoDB tests.
#
#   scripts/ferretdb.sh start   build it if missing, start it on 127.0.0.1:27017, wait until it answers
#   scripts/ferretdb.sh stop    stop the instance this script started
#
# Telemetry is always off: nothing here may try to reach outside the machine.
#
# Why not a plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the module as
# published has no build/version/version.txt, so that binary panics at start-up ("Invalid
# build/version/version.txt file content"). We fetch the same module through Go's proxy and
# cache (`go mod download`), copy it, write version.txt and build the copy; Go's build cache
# makes a rebuild take seconds.
#
# Environment:
#   FERRETDB_BIN      binary to use (default: $LOCKSTEP_CACHE/ferretdb-v1.24.2, built if missing)
#   FERRETDB_ADDR     listen address (default 127.0.0.1:27017)
#   LOCKSTEP_CACHE    where the binary is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/lockstep)
#   FERRETDB_RUN_DIR  data, state, log and pid file (default ${TMPDIR:-/tmp}/lockstep-ferretdb)
#   FERRETDB_BACKEND  postgresql (default) or sqlite (files under the run dir). On SQLite FerretDB
#                     scans a collection for every lookup and commits each update alone: the
#                     datalab batch runs ~4x slower there and the MongoDB tests take much longer.
#   FERRETDB_POSTGRESQL_URL  the postgresql backend's database (default
#                     postgres://postgres@127.0.0.1:5432/lockstep_ferretdb, created with psql if
#                     missing and then dropped by stop (never one it did not create); its name is
#                     outside the tests' lockstep_t_ prefix)
set -euo pipefail

FERRETDB_VERSION="v1.24.2"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"
ADDR="${FERRETDB_ADDR:-127.0.0.1:27017}"
HOST="${ADDR%:*}"
PORT="${ADDR##*:}"
CACHE="${LOCKSTEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lockstep}"
BIN="${FERRETDB_BIN:-$CACHE/ferretdb-$FERRETDB_VERSION}"
RUN_DIR="${FERRETDB_RUN_DIR:-${TMPDIR:-/tmp}/lockstep-ferretdb}"
BACKEND="${FERRETDB_BACKEND:-postgresql}"
PG_URL="${FERRETDB_POSTGRESQL_URL:-postgres://postgres@127.0.0.1:5432/lockstep_ferretdb}"
PID_FILE="$RUN_DIR/ferretdb.pid"
LOG_FILE="$RUN_DIR/ferretdb.log"
# The postgresql backend's database when start created it (server URL, name): stop drops that one only.
CREATED_FILE="$RUN_DIR/created-database"

log() { echo "ferretdb.sh: $*" >&2; }

listening() {
  # bash's /dev/tcp: no nc or node needed for a TCP check.
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

works() {
  [ -x "$1" ] && "$1" --version >/dev/null 2>&1
}

build() {
  if ! command -v go >/dev/null 2>&1; then
    log "Go is not installed: install Go, or set FERRETDB_BIN to a FerretDB $FERRETDB_VERSION binary"
    exit 1
  fi
  # A binary from an earlier `go install` is reused when it runs.
  local installed
  installed="$(go env GOPATH)/bin/ferretdb"
  if works "$installed" && "$installed" --version | grep -q "version: $FERRETDB_VERSION"; then
    mkdir -p "$(dirname "$BIN")"
    cp "$installed" "$BIN"
    return
  fi
  log "building FerretDB $FERRETDB_VERSION (module from Go's proxy/cache)"
  local dir src
  dir="$(go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    log "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
    exit 1
  fi
  src="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-src.XXXXXX")"
  cp -r "$dir/." "$src"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  mkdir -p "$(dirname "$BIN")"
  (cd "$src" && GOFLAGS=-mod=mod go build -buildvcs=false -o "$BIN.tmp" ./cmd/ferretdb)
  mv "$BIN.tmp" "$BIN"
  rm -rf "$src"
  works "$BIN" || {
    log "the built binary $BIN does not run"
    exit 1
  }
}

# The postgresql backend's database (the URL's path) and its server's maintenance database.
pg_database() {
  local db="${PG_URL##*/}"
  echo "${db%%\?*}"
}
pg_server_url() {
  echo "${PG_URL%/*}/postgres"
}

# The postgresql backend needs its database to exist; psql creates it (FerretDB does not).
ensure_pg_database() {
  local db server
  db="$(pg_database)"
  server="$(pg_server_url)"
  if ! command -v psql >/dev/null 2>&1; then
    log "psql not found: create the database $db yourself (FERRETDB_POSTGRESQL_URL=$PG_URL)"
    return
  fi
  if [ -z "$(psql "$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    psql "$server" -qc "CREATE DATABASE \"$db\"" >/dev/null
    # stop drops only what start created, on the server start used (whatever stop's environment says).
    (umask 077 && printf '%s\n%s\n' "$server" "$db" >"$CREATED_FILE")
  fi
}

start() {
  if listening; then
    log "something already listens on $ADDR: using it"
    return
  fi
  works "$BIN" || build
  mkdir -p "$RUN_DIR/data" "$RUN_DIR/state"
  local backend_args
  case "$BACKEND" in
    sqlite) backend_args=(--handler=sqlite --sqlite-url="file:$RUN_DIR/data/") ;;
    postgresql)
      ensure_pg_database
      backend_args=(--handler=postgresql --postgresql-url="$PG_URL")
      ;;
    *)
      log "FERRETDB_BACKEND must be sqlite or postgresql, not $BACKEND"
      exit 2
      ;;
  esac
  "$BIN" \
    "${backend_args[@]}" \
    --state-dir="$RUN_DIR/state" \
    --listen-addr="$ADDR" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=WARN \
    >"$LOG_FILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  for _ in $(seq 1 100); do
    if listening; then
      log "FerretDB $FERRETDB_VERSION listening on $ADDR (pid $pid, data in $RUN_DIR)"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "FerretDB exited during start-up; its log ($LOG_FILE):"
      cat "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep 0.1
  done
  log "FerretDB did not accept connections on $ADDR within 10 s; its log is $LOG_FILE"
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  exit 1
}

stop() {
  if [ ! -f "$PID_FILE" ]; then
    log "no pid file at $PID_FILE: nothing started by this script is running"
    return
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "stopped FerretDB (pid $pid)"
  fi
  rm -f "$PID_FILE"
  rm -rf "$RUN_DIR/data" "$RUN_DIR/state"
  if [ -f "$CREATED_FILE" ] && command -v psql >/dev/null 2>&1; then
    local server db
    server="$(sed -n 1p "$CREATED_FILE")"
    db="$(sed -n 2p "$CREATED_FILE")"
    psql "$server" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null || true
  fi
  rm -f "$CREATED_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
