# Sourced by scripts/run.sh and scripts/test.sh: make sure PostgreSQL and Redis are reachable.
# Order: use the ones already listening (DATABASE_URL, REDIS_URL); else start private instances under var/
# from installed binaries; else install them with apt-get where we can; else stop and say what to install.
# Private instances are stopped again when the calling script exits.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
VAR="$ROOT/var"
mkdir -p "$VAR"
PRIVATE_PG_PORT="${PRIVATE_PG_PORT:-54329}"
PRIVATE_REDIS_PORT="${PRIVATE_REDIS_PORT:-63799}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
_started_pg=""
_started_redis=""

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

_can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

_apt_install() {
  say "Installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

_pg_reachable() {
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
psycopg.connect(urlunsplit(u._replace(path="/postgres")), connect_timeout=3).close()
PYEOF
}

_pg_create_db() {
  "$PY" - "$1" <<'PYEOF'
import sys, psycopg
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
name = u.path.lstrip("/") or "crm"
with psycopg.connect(urlunsplit(u._replace(path="/postgres")), autocommit=True) as conn:
    if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
        conn.execute(f'create database "{name}"')
        print(f"Created database {name}")
PYEOF
}

_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

_as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_postgres() {
  if _pg_reachable "$DATABASE_URL"; then
    _pg_create_db "$DATABASE_URL"
    return 0
  fi
  local bin; bin="$(_pg_bin)"
  if [ -z "$bin" ]; then
    if _can_apt; then _apt_install postgresql; bin="$(_pg_bin)"; fi
  fi
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not reachable at $DATABASE_URL and no PostgreSQL binaries are installed." >&2
    echo "Install PostgreSQL 15 or newer (Debian: sudo apt-get install postgresql), or set DATABASE_URL." >&2
    exit 1
  fi
  say "Starting a private PostgreSQL under var/pg on port $PRIVATE_PG_PORT"
  if [ ! -f "$VAR/pg/PG_VERSION" ]; then
    mkdir -p "$VAR/pg"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$VAR/pg"
    _as_pg_user "$bin/initdb" -D "$VAR/pg" -U postgres --auth=trust >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$VAR/pg"
  _as_pg_user "$bin/pg_ctl" -D "$VAR/pg" -l "$VAR/pg/server.log" -w \
    -o "-p $PRIVATE_PG_PORT -c listen_addresses=127.0.0.1 -k $VAR/pg" start >/dev/null
  _started_pg="$bin"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PRIVATE_PG_PORT/crm"
  _pg_create_db "$DATABASE_URL"
}

_redis_reachable() {
  "$PY" -c "import sys, redis; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()" "$1" >/dev/null 2>&1
}

ensure_redis() {
  if _redis_reachable "$REDIS_URL"; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    if _can_apt; then _apt_install redis-server; fi
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not reachable at $REDIS_URL and redis-server is not installed." >&2
    echo "Install Redis 6 or newer (Debian: sudo apt-get install redis-server), or set REDIS_URL." >&2
    exit 1
  fi
  say "Starting a private Redis under var/ on port $PRIVATE_REDIS_PORT"
  redis-server --port "$PRIVATE_REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$VAR" --pidfile "$VAR/redis.pid" --logfile "$VAR/redis.log"
  _started_redis=1
  export REDIS_URL="redis://127.0.0.1:$PRIVATE_REDIS_PORT/0"
  for _ in $(seq 50); do _redis_reachable "$REDIS_URL" && return 0; sleep 0.1; done
  echo "The private Redis did not start; see var/redis.log" >&2
  exit 1
}

stop_private_services() {
  if [ -n "$_started_pg" ]; then
    _as_pg_user "$_started_pg/pg_ctl" -D "$VAR/pg" -m fast stop >/dev/null 2>&1 || true
    _started_pg=""
  fi
  if [ -n "$_started_redis" ] && [ -f "$VAR/redis.pid" ]; then
    kill "$(cat "$VAR/redis.pid")" 2>/dev/null || true
    _started_redis=""
  fi
}
