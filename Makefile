# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JOBS   ?= 2
# The spark extra (pyspark, ~0.5 GB) lets the test suite run the Spark engine too.
EXTRAS ?= test,spark
# Browser assets from the npm registry, pinned with their hashes in package-lock.json:
# htmx (served by the web app) and axe-core (the accessibility tests only).
HTMX   := src/tallyguard/web/static/vendor/htmx.min.js
ASSETS := node_modules/.installed-stamp

.PHONY: demo test lint typecheck unit bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Without npm the web app still works (plain forms, no htmx) and the accessibility tests skip.
$(ASSETS): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && \
		mkdir -p $(dir $(HTMX)) && cp node_modules/htmx.org/dist/htmx.min.js $(HTMX) && touch $@; \
	else \
		echo "npm not found: the web app runs without htmx and the accessibility tests skip"; \
	fi

demo: $(STAMP) $(ASSETS)
	$(BIN)/tallyguard demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(ASSETS)
	$(BIN)/pytest -n $(JOBS) -q --durations=15

test: lint typecheck unit

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; \
	done

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -n $(JOBS) -q -m "not slow" tests

clean:
	rm -rf $(VENV) node_modules $(HTMX) .mypy_cache .ruff_cache .pytest_cache .hypothesis tallyguard-demo
