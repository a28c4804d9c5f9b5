# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NB_STAMP := $(VENV)/.installed-notebooks
SPARK_STAMP := $(VENV)/.installed-spark
PACKAGES := core features training scoring kpi monitoring serving reports churn
CHURN_HOME_DIR := $(or $(CHURN_HOME),$(CURDIR)/.churn)

.PHONY: setup demo test lint lock bench bench-real notebooks clean

# --compile-bytecode: every process (each command, each server worker) then reads compiled
# modules instead of compiling MLflow, BentoML and pandas from source each time it starts.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c requirements.lock -e ".[dev]"
	touch $(STAMP)

# JupyterLab and its dependencies, pinned in the same lock, only for `make notebooks`.
$(NB_STAMP): $(STAMP)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c requirements.lock -e ".[dev,notebooks]"
	touch $(NB_STAMP)

# pyspark for the Spark engine's tests: kept out of the demo's set, because pandera imports
# pyspark.pandas whenever pyspark is installed, which slows every command that loads data.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c requirements.lock -e ".[dev,spark]"
	touch $(SPARK_STAMP)

setup: $(STAMP)

## Main job end to end on generated demo data.
demo: $(STAMP)
	-sh scripts/ensure_fonts.sh
	$(BIN)/churn demo

## JupyterLab on the demo's data (`churn demo` runs first when its output is missing), loopback only.
notebooks: $(NB_STAMP)
	test -d "$(CHURN_HOME_DIR)/demo-run/data" || CHURN_HOME="$(CHURN_HOME_DIR)" $(BIN)/churn demo
	CHURN_HOME="$(CHURN_HOME_DIR)" CHURN_DATA="$(CHURN_HOME_DIR)/demo-run/data" \
		$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir notebooks \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)  # Jupyter refuses root without it (containers)

## The whole test suite (fast and slow tests), as CI runs it.
test: $(SPARK_STAMP)
	sh scripts/ensure_chromium.sh
	sh scripts/ensure_fonts.sh
	sh scripts/ensure_postgres.sh
	sh scripts/ensure_java.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m compileall -q $(PACKAGES)  # every test's subprocess and server reads it
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && $(BIN)/mypy

## Re-resolve the pinned dependency set after changing pyproject.toml.
lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev --extra notebooks --extra spark pyproject.toml -o requirements.lock

## Speed figures on generated data (see each script's --help for sizes).
bench: $(STAMP)
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/serving.py
	$(BIN)/python benchmarks/explain.py
	$(BIN)/python benchmarks/cli_startup.py

## Real public data sets in ../shared/data; writes docs/benchmarks.md.
bench-real: $(STAMP)
	$(BIN)/churn bench

clean:
	rm -rf $(VENV) .churn
