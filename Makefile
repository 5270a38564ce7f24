# Three commands for a newcomer: `make run`, `make ui` and `make test`. Each builds .venv first
# if needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Local runtime state (Airflow home, sample events, cache, published reports) lives under var/.
export TIMECARD_HOME ?= $(CURDIR)/var
# `make ui` listens on loopback only; `make ui UI_HOST=0.0.0.0` exposes it on purpose.
UI_HOST ?= 127.0.0.1
UI_PORT ?= 8080

.PHONY: venv run ui test lint bench bench-quick clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	# --compile-bytecode: imports stay fast even where PYTHONDONTWRITEBYTECODE is set.
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements-dev.txt -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m timecard.main_job

ui: $(STAMP)
	$(PY) -m timecard.ui_server --host $(UI_HOST) --port $(UI_PORT)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The standard workload (5,000 agents x 32 days) for the kinds with targets; concatenated JSON and
# JSON-text Parquet at 1,000 agents, since concatenated JSON of the standard size is 133 GB.
bench: $(STAMP)
	$(PY) -m bench.run --workload standard --kinds ndjson-gz,parquet-pyarrow
	$(PY) -m bench.run --workload standard --agents 1000 --kinds concatenated,parquet-glue-string

bench-quick: $(STAMP)
	$(PY) -m bench.run --workload quick

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
