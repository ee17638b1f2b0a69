# loa: one command to set up and run the station, one to set up and run the tests.
#   make run    install what is missing, check config.toml, scan the library, run the station
#   make test   install what is missing, then ruff and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint deps venv bench clean

deps:
	@scripts/install-debian-deps.sh

$(BIN)/loa: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(BIN)/loa

venv: $(BIN)/loa

run: deps venv
	$(BIN)/loa config check
	$(BIN)/loa run --demo

test: deps venv lint
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	@scripts/install-debian-deps.sh --bench
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
