# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-fast lint bench clean

run: $(STAMP)
	@scripts/run.sh

test: $(DEV_STAMP)
	@scripts/test.sh

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

$(VENV)/bin/python:
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtualenv: install python3-venv (sudo apt-get install python3-venv)"; exit 1; }
	@$(VENV)/bin/pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@touch $(STAMP) $@

clean:
	rm -rf $(VENV) var

# --- proof (issue 11): benchmarks and the long fault-and-abuse suite -----------------------------------------
# `make bench` runs every benchmark against its own database (crm_bench) and sparksim, then prints all figures.
BENCH_RESULTS ?= var/bench-results.txt

bench: $(DEV_STAMP)
	@bash -c 'set -e; source scripts/services.sh; trap stop_private_services EXIT; ensure_postgres; ensure_redis; \
	  mkdir -p var; rm -f $(BENCH_RESULTS); export BENCH_RESULTS=$$PWD/$(BENCH_RESULTS); \
	  export CHROMIUM_PATH="$${CHROMIUM_PATH:-$$(command -v chromium || echo /usr/bin/chromium)}"; \
	  $(VENV)/bin/python bench/bench_list.py; \
	  $(VENV)/bin/python bench/bench_cpu.py; \
	  $(VENV)/bin/python bench/bench_sync.py; \
	  $(VENV)/bin/python bench/bench_bulk.py --rate-limit 600/30; \
	  $(VENV)/bin/python bench/bench_activity.py; \
	  $(VENV)/bin/python bench/bench_latency.py; \
	  $(VENV)/bin/python bench/bench_load.py; \
	  echo; echo "================ all figures ================"; cat $(BENCH_RESULTS)'

test-faults-long: $(DEV_STAMP)
	@FAULTS_LONG=1 scripts/test.sh tests/faults
