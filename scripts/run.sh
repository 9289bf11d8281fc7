#!/usr/bin/env bash
# `make run`: bring up everything and serve the app. Ctrl-C stops every process this started.
set -euo pipefail
source "$(dirname "$0")/services.sh"
trap stop_private_services EXIT
cd "$ROOT"

ensure_postgres
ensure_redis
mkdir -p "$VAR/staticfiles"
# A local run: the development SECRET_KEY and encryption key, plain HTTP (production requires real keys).
export CRM_ENV="${CRM_ENV:-development}"
export WEB_PORT="${WEB_PORT:-8000}"
export SPARKSIM_PORT="${SPARKSIM_PORT:-8765}"
export SPARK_API_BASE="${SPARK_API_BASE:-http://127.0.0.1:$SPARKSIM_PORT}"
export DEMO_CONTACTS="${DEMO_CONTACTS:-300}"
say "Applying migrations"
"$PY" manage.py migrate --noinput >/dev/null
say "Starting sparksim, the Celery workers (writes; background) and beat, and the web server (Ctrl-C stops them all)"
exec_honcho() { "$ROOT/.venv/bin/honcho" -f "$ROOT/Procfile" start; }
exec_honcho
