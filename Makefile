# The two commands of the README. Both create .venv when it is missing.
# The first Python >= 3.11 on PATH (newest first); `make PYTHON=/path/to/python` chooses another.
PYTHON ?= $(shell for candidate in python3.13 python3.12 python3.11 python3 python; do \
	if command -v $$candidate >/dev/null 2>&1 && \
	   $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
		echo $$candidate; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
# Engines the suite runs on, one full run each; both always run.
ENGINES ?= jax torch
PYTEST_WORKERS ?= 2

.PHONY: demo test lint bench clean

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "lamina needs Python 3.11 or newer, and none was found on PATH (tried python3.13 ... python)."; \
		echo "Install one, or name it: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)"; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet scikit-learn
	$(BIN)/python examples/digits_convnet.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts

test: lint
	$(BIN)/python scripts/run_tests.py --engines $(ENGINES) -- -n $(PYTEST_WORKERS)

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
