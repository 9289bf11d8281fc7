#!/usr/bin/env bash
# `make test`: the whole suite against real PostgreSQL, Redis, sparksim and Celery workers.
set -euo pipefail
source "$(dirname "$0")/services.sh"
trap stop_private_services EXIT
cd "$ROOT"

ensure_postgres
ensure_redis
mkdir -p "$VAR/staticfiles"
if ! command -v chromium >/dev/null 2>&1; then
  if _can_apt; then _apt_install chromium; else
    echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1
  fi
fi
# Tests run with the development keys and plain HTTP (tests/test_security.py checks the production settings).
export CRM_ENV="${CRM_ENV:-development}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"
"$ROOT/.venv/bin/pytest" "$@"
