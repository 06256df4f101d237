# The tasks a person runs, and exactly what CI runs (`.ci/run` calls `make test`).
# The virtualenv is made in one place: the $(STAMP) rule below.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
# Inside the venv, so a deleted venv is rebuilt; older than pyproject.toml means reinstall.
STAMP := $(VENV)/.installed

.PHONY: .venv run test lint bench soak docs docs-build

.venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

# The embedded default: SQLite and an SQLite broker under $$DATA_DIR (./instance), the demo
# directory, one worker and the web server on $$PORT (8000).
run: .venv
	bash scripts/run.sh

test: .venv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: .venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: .venv
	$(BIN)/python -m tests.bench

# Load across nodes: 2 gunicorn web nodes, 3 workers, PostgreSQL (database `soak`, or
# $$BULKJOB_SOAK_PG) and a private Redis; prints its figures and checks; stops within 5 minutes.
soak: .venv
	timeout 300 $(BIN)/python -m tests.soak

# The documentation site (mkdocs.yml, docs/): served with live reload on 127.0.0.1:$$DOCS_PORT
# (8001), or built into site/ in strict mode (a broken link or a page missing from nav fails).
# NO_MKDOCS_2_WARNING quiets the end-of-life banner Material for MkDocs prints on every build.
docs: .venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:$${DOCS_PORT:-8001}

docs-build: .venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
