# needlewise — the two set-up commands are `make run` and `make test`.
# Everything they need is installed here, into .venv, from pinned versions
# (pyproject.toml pins direct dependencies, constraints.txt pins the rest).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PIPOPT := --disable-pip-version-check --quiet -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 8000
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck unit pdf-deps browser-deps bench docs messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "needlewise needs Python 3.11 or newer (found " + sys.version.split()[0] + ")"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(PIPOPT) -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(PIPOPT) -e '.[test]'
	@touch $@ $(VENV)/.run-deps

## run: install (first time), then start the server on http://$(HOST):$(PORT) with the
## demo clinic (loaded into ./var/needlewise.db the first time; its logins are printed),
## the worker and a local mail catcher (emails kept in ./var/mail; Ctrl-C stops all three)
run: $(VENV)/.run-deps pdf-deps
	$(BIN)/needlewise demo --host $(HOST) --port $(PORT)

## test: install test dependencies, then lint, type-check and run the whole suite
test: lint typecheck unit

lint: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

## Debian packages, installed when missing (apt lists refreshed only if the install fails):
## Pango and a font with every Spanish letter for the PDFs (consent copy, take-home sheet),
## and Chromium for the browser tests (never `playwright install`, which downloads)
APT := $(SUDO) apt-get install -y -q --no-install-recommends
pdf-deps:
	@dpkg -s libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || { \
	  echo "installing pango and DejaVu fonts (Debian packages, for the PDFs)"; \
	  $(APT) libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null && $(APT) libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; }; }

browser-deps: pdf-deps
	@command -v chromium >/dev/null || { echo "installing chromium (Debian package, for the browser tests)"; \
	  $(APT) chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q >/dev/null && $(APT) chromium >/dev/null; }; }

unit: $(VENV)/.test-deps browser-deps
	$(BIN)/pytest

## bench: run the benchmarks (figures go in bench/README.md); installs Debian's wrk if missing
bench: $(VENV)/.test-deps
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; \
	  $(SUDO) apt-get install -y -q wrk >/dev/null; }
	$(BIN)/python bench/screen_bench.py
	$(BIN)/python bench/freetext_bench.py
	$(BIN)/python bench/bulk_screen_bench.py
	$(BIN)/python bench/pages_bench.py
	cd bench && ../$(BIN)/python api_bench.py
	cd bench && ../$(BIN)/python cds_hooks_bench.py
	$(BIN)/python bench/worker_bench.py
	$(BIN)/python bench/escalation_bench.py
	$(BIN)/python bench/session_schedule_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

## messages: extract every message of the pages (babel.cfg) into var/messages.pot, the
## template for a new or updated catalog (see docs/knowledge.md, "Adding a language")
messages: $(VENV)/.test-deps
	@mkdir -p var
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -o var/messages.pot --no-location --sort-output .
	@echo "wrote var/messages.pot ($$(grep -c '^msgid ' var/messages.pot) messages)"

## docs: regenerate the generated reference docs (CLI, settings, rules) and README examples
## (tools/docgen.py, a development tool that is not installed with the package)
docs: $(VENV)/.test-deps
	$(BIN)/python tools/docgen.py --root .

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
