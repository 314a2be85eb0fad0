# jdeval — two commands on a fresh Debian machine with Python 3.11:  make report ; make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
YEAR   ?= 2024
DATA   ?= data/synthetic
JOBS   ?= 2
STAMP  := $(VENV)/.installed

.PHONY: setup report data test test-all lint format bench clean

setup: $(STAMP)

# Idempotent: re-installs only when pyproject.toml changed.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3-venv is missing: apt-get install -y python3-venv"; exit 1; }
	$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -e ".[dev]"
	@touch $(STAMP)

data: setup
	@test -f $(DATA)/truth.json || $(VENV)/bin/jdeval synth --out $(DATA)
	$(VENV)/bin/jdeval validate $(DATA)

report: data
	$(VENV)/bin/jdeval build --year $(YEAR) --data $(DATA) --out reports/$(YEAR) --jobs $(JOBS)

# Fast suite + every notebook executed by nbval on the bundled data (lax: the key values
# are compared by tests/test_notebooks_suite.py against values computed independently).
test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow" --nbval-lax tests notebooks

test-all: setup
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[dev,bench]"
	$(PY) -m pytest --nbval-lax tests notebooks

bench: setup
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[dev,bench]"
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_effects.py
	$(PY) benchmarks/bench_build.py

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
