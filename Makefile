# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_PATIENTS ?= 50

.PHONY: run test lint bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

# The demo set is generated, never shipped: the repo holds no patient data, not even synthetic.
# `make run` loads it into an empty store only, so it never writes over a user's edits;
# `make demo` loads it again on purpose (changed demo records get their demo content back).
demo: $(VENV)/.installed
	$(BIN)/chartkeeper demo --reset --patients $(DEMO_PATIENTS)

# Name, place and hospital lists for de-identification, compiled once from the public
# reference files when they are there; without them the scrubber uses built-in word lists.
REFERENCE ?= ../shared/data/reference/names-places
GAZETTEER := data/deid/gazetteer.json.gz

$(GAZETTEER): | $(VENV)/.installed
	@if [ -d $(REFERENCE) ]; then $(BIN)/chartkeeper deid import-gazetteers $(REFERENCE); \
	else echo "no $(REFERENCE): de-identification will use its built-in word lists"; fi

run: $(VENV)/.installed $(GAZETTEER)
	$(BIN)/chartkeeper demo --patients $(DEMO_PATIENTS)
	$(BIN)/chartkeeper serve --host 127.0.0.1 --port 8000

test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto -q

bench: $(VENV)/.installed
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) data .pytest_cache
