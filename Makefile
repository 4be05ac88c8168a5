# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-proxy clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed: set PYTHON=python3.11")'
	@command -v java >/dev/null || [ -n "$$JAVA_HOME" ] || { echo "Java 17 is needed (konlpy and Spark run on the JVM): apt-get install openjdk-17-jre-headless, or set JAVA_HOME." >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nlpfeat demo

test: $(STAMP)
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m pytest $(PYTEST_ARGS)

# ruff (lint + format) over the tree; mypy over the packages, strict on `contracts` (pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/bench_analyze.py
	$(PY) benchmarks/bench_analyzers.py
	$(PY) benchmarks/bench_instructions.py
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) benchmarks/bench_featurize.py
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) benchmarks/bench_analyze_report.py
	$(PY) benchmarks/bench_serving.py
	$(PY) benchmarks/bench_hops.py
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) benchmarks/bench_accuracy.py

bench-proxy: $(STAMP)
	$(PY) benchmarks/bench_proxy.py

clean:
	rm -rf .demo .pytest_cache spark-warehouse
