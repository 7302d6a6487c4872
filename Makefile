# Every target sets up what it needs: a virtual environment in .venv with the companion and the
# book/test tools (torch pinned to 2.13.0; the README says how pip picks its CPU build).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup book test lint unit nbval html notebooks list reproduce bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build .
	@echo "Book written to _build/html/index.html"

# ruff (pyflakes, pycodestyle, import order, bugbear, docstrings) on companion/, tests/ and the chapters' code
lint: $(STAMP)
	$(BIN)/ruff check companion tests book

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

nbval: $(STAMP)
	$(BIN)/python -m pytest -q --nbval --nbval-current-env book/

html: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: lint unit nbval  # unit includes tests/test_site.py: a -W -n book build and checks of its HTML

notebooks: $(STAMP)
	for nb in book/*.ipynb; do $(BIN)/jupyter-execute --inplace --timeout=600 "$$nb" || exit 1; done

list: $(STAMP)
	$(BIN)/python -m companion list

# every experiment of the registry at paper scale, resuming what was stored or checkpointed; one worker per
# core unless JOBS is set (make reproduce JOBS=4)
reproduce: $(STAMP)
	$(BIN)/python -m companion reproduce --all $(if $(JOBS),--jobs $(JOBS))

bench: $(STAMP)
	$(BIN)/python -m companion bench --json results/bench.json

clean:
	rm -rf _build
