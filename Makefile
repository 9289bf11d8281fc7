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
