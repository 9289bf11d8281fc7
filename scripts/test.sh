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
# Two test processes by default, each with its own test database, Celery queue, cache prefix, sparksim, workers and
# browser: most tests wait on real processes (a worker's delivery, a page's poll), so two overlap well even on two
# cores. A file stays in one process (its fixtures are built once). TEST_WORKERS=0 runs everything in this process.
workers="${TEST_WORKERS:-2}"
xdist=()
if [ "$workers" != "0" ]; then xdist=(-n "$workers" --dist loadfile); fi
"$ROOT/.venv/bin/pytest" "${xdist[@]}" "$@"
