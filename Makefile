# The front door. Every target bootstraps .venv from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench serve lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tern_local.demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/segments.py
	$(BIN)/python bench/refresh.py
	$(BIN)/python bench/journeys.py
	$(BIN)/python bench/exports.py

DATA ?= demo-lake
serve: $(STAMP)
	test -d $(DATA)/contacts || $(BIN)/tern data generate --out $(DATA) --contacts 20000 --org demo
	$(BIN)/tern serve --data $(DATA)

lint: $(STAMP)
	$(BIN)/ruff check layers local tests bench functions
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/cfn-lint template.yaml

clean:
	rm -rf $(VENV) demo-lake bench-lake .pytest_cache .mypy_cache .ruff_cache
