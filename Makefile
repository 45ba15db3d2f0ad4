# Development, test, benchmark and Binder checks for routilux_nb.
#
#   make lab           set up .venv (if needed) and start JupyterLab on notebooks/
#   make test          lint (ruff, mypy), unit + browser tests, notebook regression tests (nbval)
#   make bench         run the benchmark suite (benchmarks/run_all.py)
#   make binder-check  check binder/ with repo2docker and run the notebooks in a
#                      venv built only from binder/requirements.txt
#   make clean         remove caches, build output, test artifacts and tool venvs
#   make distclean     clean + remove .venv

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
UV          := $(VENV)/bin/uv
STAMP       := $(VENV)/.routilux-nb-installed
TOOLS_VENV  := .venv-tools
BINDER_VENV := .venv-binder
CHROMIUM    := /usr/bin/chromium
ARTIFACTS   := test-artifacts
LINT_PATHS  := routilux_nb tests benchmarks
NOTEBOOKS   ?= notebooks

# Time limits (seconds) for the long steps.
T_INSTALL   ?= 900
T_APT       ?= 600
T_LINT      ?= 300
T_TESTS     ?= 2100
T_NOTEBOOKS ?= 1200
T_BENCH     ?= 1800
T_BINDER    ?= 1200

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup lab test lint unit-tests notebook-tests chromium bench \
        binder-check binder-repo2docker binder-emulate clean distclean

help:
	@sed -n '1,/^$$/s/^#   //p' $(firstword $(MAKEFILE_LIST))

# --------------------------------------------------------------------------- setup
# The stamp is newer than pyproject.toml once the install succeeded; editing
# pyproject.toml (newer mtime) triggers a reinstall.
$(STAMP): pyproject.toml
	@if [ ! -x "$(PY)" ]; then \
	    echo ">>> creating $(VENV) with $(PYTHON)"; \
	    $(PYTHON) -m venv $(VENV); \
	fi
	@if [ ! -x "$(UV)" ]; then \
	    echo ">>> installing uv into $(VENV)"; \
	    timeout $(T_INSTALL) $(PY) -m pip install --quiet uv; \
	fi
	@echo ">>> installing routilux_nb[all,dev] (editable)"
	timeout $(T_INSTALL) $(UV) pip install --python $(PY) --compile-bytecode -e ".[all,dev]"
	@touch $@

setup: $(STAMP)

# ----------------------------------------------------------------------------- lab
# LAB_ARGS adds options, e.g. `make lab LAB_ARGS="--port 8899 --no-browser"`.
LAB_ARGS ?=
lab: $(STAMP)
	@mkdir -p $(NOTEBOOKS)
	@$(PY) binder/install_lab_settings.py
	$(VENV)/bin/jupyter lab $(NOTEBOOKS)/ --ip=127.0.0.1 $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

# ---------------------------------------------------------------------------- test
# Debian's chromium drives the browser tests (never `playwright install`).
chromium:
	@if [ -x "$(CHROMIUM)" ]; then \
	    echo ">>> chromium present: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = "0" ]; then \
	    echo ">>> installing Debian chromium with apt-get"; \
	    timeout $(T_APT) bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium' \
	        || echo "!!! apt-get could not install chromium; browser tests will be skipped (or fail when CI is set)"; \
	else \
	    echo "!!! $(CHROMIUM) is missing and this is not root, so it cannot be installed here."; \
	    echo "!!! Install it with: sudo apt-get install --no-install-recommends chromium"; \
	    echo "!!! Browser tests will be SKIPPED locally and FAIL when CI is set."; \
	fi

lint: $(STAMP)
	timeout $(T_LINT) $(VENV)/bin/ruff check $(wildcard $(LINT_PATHS))
	timeout $(T_LINT) $(VENV)/bin/ruff format --check $(wildcard $(LINT_PATHS))
	timeout $(T_LINT) $(VENV)/bin/mypy routilux_nb

# The browser tests run in a pytest process of their own: Playwright's sync API leaves an
# event loop attached to the main thread, which later asyncio.run() calls would trip over.
unit-tests: $(STAMP)
	@mkdir -p $(ARTIFACTS)
	@rc=0; \
	timeout $(T_TESTS) $(VENV)/bin/pytest -ra tests --ignore=tests/browser || rc=$$?; \
	timeout $(T_TESTS) $(VENV)/bin/pytest -ra tests/browser || rc=$$?; \
	exit $$rc

# An empty notebooks/ folder (pytest exit code 5: nothing collected) is a success.
notebook-tests: $(STAMP)
	@if [ ! -d "$(NOTEBOOKS)" ]; then echo ">>> no $(NOTEBOOKS)/ folder: nothing to check"; exit 0; fi; \
	rc=0; timeout $(T_NOTEBOOKS) $(VENV)/bin/pytest --nbval --nbval-current-env "$(NOTEBOOKS)/" || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo ">>> no notebooks collected in $(NOTEBOOKS)/: nothing to check"; rc=0; fi; \
	exit $$rc

# Every step runs even if an earlier one failed; the target fails if any did.
test: $(STAMP) chromium
	@failed=""; \
	for step in lint unit-tests notebook-tests; do \
	    echo ">>> make $$step"; \
	    $(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then echo "!!! make test: failed steps:$$failed"; exit 1; fi; \
	echo ">>> make test: all steps passed"

# --------------------------------------------------------------------------- bench
bench: $(STAMP)
	@if [ -f benchmarks/run_all.py ]; then \
	    timeout $(T_BENCH) $(PY) benchmarks/run_all.py; \
	else \
	    echo ">>> benchmarks/run_all.py not found: nothing to run"; \
	fi

# -------------------------------------------------------------------------- binder
# repo2docker lives in its own venv so it never touches the project's .venv.
$(TOOLS_VENV)/bin/repo2docker: | $(STAMP)
	@rm -rf $(TOOLS_VENV)
	$(PYTHON) -m venv --without-pip $(TOOLS_VENV)
	@echo '*' > $(TOOLS_VENV)/.gitignore
	timeout $(T_INSTALL) $(UV) pip install --python $(TOOLS_VENV)/bin/python --compile-bytecode jupyter-repo2docker

# (a) repo2docker reads binder/ and prints the Dockerfile it would build (no docker needed).
binder-repo2docker: $(TOOLS_VENV)/bin/repo2docker
	@echo ">>> repo2docker --no-build --debug ."
	@out=$$(mktemp); \
	if ! timeout 300 $(TOOLS_VENV)/bin/repo2docker --no-build --debug . >"$$out" 2>&1; then \
	    cat "$$out"; echo "!!! repo2docker failed"; rm -f "$$out"; exit 1; \
	fi; \
	grep -E 'Building conda environment for python=|binder/requirements.txt|binder/postBuild' "$$out" | sed 's/^/    /'; \
	for want in 'python=3.11' 'pip install --no-cache-dir -r "binder/requirements.txt"' './binder/postBuild'; do \
	    if ! grep -qF -- "$$want" "$$out"; then cat "$$out"; echo "!!! repo2docker plan lacks: $$want"; rm -f "$$out"; exit 1; fi; \
	done; \
	rm -f "$$out"; echo ">>> repo2docker: binder/ OK"

# (b) Emulate Binder: a fresh venv with only binder/requirements.txt, then
#     binder/postBuild, then execute every notebook.
binder-emulate: $(STAMP)
	@rm -rf $(BINDER_VENV)
	$(PYTHON) -m venv $(BINDER_VENV)
	@echo '*' > $(BINDER_VENV)/.gitignore
	timeout $(T_INSTALL) $(UV) pip install --python $(BINDER_VENV)/bin/python --compile-bytecode -r binder/requirements.txt
	PATH="$(CURDIR)/$(BINDER_VENV)/bin:$$PATH" timeout $(T_INSTALL) ./binder/postBuild
	@cd /tmp && $(CURDIR)/$(BINDER_VENV)/bin/python -c "import routilux_nb; print('>>> routilux_nb installed at', routilux_nb.__file__)"
	@shopt -s nullglob; nbs=("$(NOTEBOOKS)"/*.ipynb); \
	if [ $${#nbs[@]} -eq 0 ]; then echo ">>> no notebooks in $(NOTEBOOKS)/: nothing to execute"; exit 0; fi; \
	out=$$(mktemp -d /tmp/routilux-binder-nb.XXXXXX); jdir=$$(mktemp -d /tmp/routilux-binder-jupyter.XXXXXX); \
	export PATH="$(CURDIR)/$(BINDER_VENV)/bin:$$PATH" JUPYTER_CONFIG_DIR="$$jdir/config" \
	       JUPYTER_DATA_DIR="$$jdir/data" JUPYTER_RUNTIME_DIR="$$jdir/runtime" IPYTHONDIR="$$jdir/ipython" MPLBACKEND=Agg; \
	failed=(); \
	for nb in "$${nbs[@]}"; do \
	    echo ">>> executing $$nb"; \
	    if ! timeout $(T_BINDER) jupyter nbconvert --to notebook --execute \
	            --ExecutePreprocessor.timeout=600 --output-dir "$$out" "$$nb"; then \
	        failed+=("$$nb"); \
	    fi; \
	done; \
	rm -rf "$$jdir"; \
	if [ $${#failed[@]} -ne 0 ]; then echo "!!! notebooks failed in the Binder environment: $${failed[*]}"; exit 1; fi; \
	echo ">>> Binder emulation: $${#nbs[@]} notebook(s) executed OK (outputs in $$out)"

binder-check: binder-repo2docker binder-emulate

# --------------------------------------------------------------------------- clean
clean:
	rm -rf $(ARTIFACTS) $(TOOLS_VENV) $(BINDER_VENV) .pytest_cache .ruff_cache .mypy_cache build dist
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
