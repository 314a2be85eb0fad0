# jdeval — two commands on a fresh Debian machine with Python 3.11:  make report ; make test
#
# make report                         the bundled synthetic data → reports/2024/
# make report DATA=data/real_2024     your data (read only, never written) → reports/real_2024/2024/
# make report NARRATIVE=… ASSESSMENTS=… AS_OF=2025-06-30 TARGETS=… OUT=…   the evaluator's inputs
# make report YEARS="2023 2024 2025"  every year in one batch (parallel), with one index page
# make lab                            JupyterLab on the notebooks, with the project's kernel
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JDEVAL := $(VENV)/bin/jdeval
YEAR   ?= 2024
BUNDLED_DATA := data/synthetic
DATA   ?= $(BUNDLED_DATA)
JOBS   ?= 2
STAMP  := $(VENV)/.installed
# Report folder named after the data, so a real-data report and the bundled demo never
# overwrite each other (an explicit OUT= is obeyed as given).
ifeq ($(abspath $(DATA)),$(abspath $(BUNDLED_DATA)))
REPORTS_DIR := reports
else
REPORTS_DIR := reports/$(notdir $(abspath $(DATA)))
endif
OUT    ?= $(if $(YEARS),$(REPORTS_DIR),$(REPORTS_DIR)/$(YEAR))
# Optional inputs: empty = the documented defaults (see README "Your inputs").
NARRATIVE   ?=
ASSESSMENTS ?=
AS_OF       ?=
TARGETS     ?=
BUILD_OPTS = --data $(DATA) --out $(OUT) --jobs $(JOBS) \
  $(if $(TARGETS),--targets $(TARGETS)) $(if $(NARRATIVE),--narrative $(NARRATIVE)) \
  $(if $(ASSESSMENTS),--assessments $(ASSESSMENTS)) $(if $(AS_OF),--as-of $(AS_OF))

.PHONY: setup report data lab test test-all lint format bench clean

setup: $(STAMP)

# Idempotent: re-installs only when pyproject.toml changed.  Says what it is doing.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
	@echo "==> [1/3] 创建虚拟环境 creating the virtual environment $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3-venv is missing: apt-get install -y python3-venv"; exit 1; }
	@echo "==> [2/3] 安装 pip/uv installing pip and uv"
	$(PY) -m pip install --progress-bar on --upgrade pip uv
	@echo "==> [3/3] 安装 jdeval 及依赖（含 JupyterLab，约一分钟）installing jdeval, its dependencies and JupyterLab (about a minute)"
	$(VENV)/bin/uv pip install --compile-bytecode --python $(PY) -e ".[dev]"
	@touch $(STAMP)
	@echo "==> 安装完成 setup done"

# Only the bundled dataset is ever generated; any other DATA folder is validated as it
# is and never written to.
data: setup
ifeq ($(abspath $(DATA)),$(abspath $(BUNDLED_DATA)))
	@test -f $(DATA)/truth.json || { echo "==> 生成自带合成数据 generating the bundled synthetic data"; \
	  $(JDEVAL) synth --out $(DATA); }
else
	@test -d $(DATA) || { echo "数据目录不存在 data folder not found: $(DATA)"; exit 2; }
endif
	@echo "==> 校验数据 validating $(DATA)"
	$(JDEVAL) validate $(DATA)

report: data
ifneq ($(strip $(YEARS)),)
	$(JDEVAL) build --year $(YEARS) $(BUILD_OPTS)
else
	$(JDEVAL) build --year $(YEAR) $(BUILD_OPTS)
endif

# JupyterLab on the notebooks with the project's kernel (the .venv Python).
lab: data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# Fast suite + every notebook executed by nbval on the bundled data (lax: the key values
# are compared by tests/test_notebooks_suite.py against values computed independently).
test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow" --nbval-lax tests notebooks

# Adds the slow Monte Carlo and large checks, the peer benchmarks' packages and Dask
# (for the batch build on a Dask cluster).
test-all: setup
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[dev,bench,dask]"
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
