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

.PHONY: venv run ui test lint imports typecheck bench bench-quick bench-ui clean

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
	$(PY) -m timecard.local_airflow --host $(UI_HOST) --port $(UI_PORT)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory imports typecheck
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory imports typecheck

# The import contract (pyproject.toml [tool.importlinter]; tests/test_layering.py checks the rest).
imports: $(STAMP)
	$(VENV)/bin/lint-imports

# mypy over timecard/, transforms/ and schemas/ (pyproject.toml [tool.mypy]).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The standard workload (5,000 agents x 32 days): gzipped NDJSON and Parquet as Firehose writes it
# and compacted; concatenated JSON and JSON-text Parquet at 1,000 agents, since concatenated JSON
# of the standard size is 133 GB. Then the scale workload: 50,000 agents x 9 days of Parquet
# (about 19 GB of generated files under bench/data/scale; delete them when done).
bench: $(STAMP)
	$(PY) -m bench.run --workload standard --kinds ndjson-gz,parquet-pyarrow,parquet-compacted
	$(PY) -m bench.run --workload standard --agents 1000 --kinds concatenated,parquet-glue-string
	$(PY) -m bench.run --workload scale

bench-quick: $(STAMP)
	$(PY) -m bench.run --workload quick

# Generate → rendered table through the real `make ui` stack and headless Chromium, 5 runs on a
# cold cache and 5 on a warm one (bench/results/generate_latency.json).
bench-ui: $(STAMP)
	$(PY) -m bench.generate_latency --runs 5

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache
