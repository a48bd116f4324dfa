# The kit's commands. A newcomer needs two: `make lessons` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# Quiet pip, minus this machine's notes about missing local package mirrors.
PIP_QUIET := 2>&1 | { grep -v "Location 'file:" || true; }

.PHONY: setup engine venv images browser lessons test bench clean

## Set everything up: a Docker engine, the Python environment, the base images.
setup: engine venv images

engine:
	bash scripts/engine-up.sh

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip $(PIP_QUIET)
	$(PY) -m pip install -q -r requirements.txt $(PIP_QUIET)
	$(PY) -m pip install -q --no-deps -e . $(PIP_QUIET)
	$(PY) -c "import docker, jupyterlab, ipywidgets, pandas, plotly, nbval"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp scripts/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

images: venv
	$(PY) -m helpers images

# For the test suite's real-browser test: Debian's Chromium and Python Playwright.
browser: $(VENV)/.browser
$(VENV)/.browser: requirements-dev.txt $(VENV)/.installed
	bash scripts/browser-up.sh
	$(PY) -m pip install -q -r requirements-dev.txt $(PIP_QUIET)
	touch $@

## Set up, then open the lessons in JupyterLab.
lessons: setup
	$(VENV)/bin/jupyter lab --LabApp.default_url=/lab/tree/notebooks/00-setup-check.ipynb \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

## Set up, then run the whole test suite (unit, real builds, notebooks live and recorded, a real browser)
## on the default engine, then its engine tests on Docker 26 (containerd image store) and on Podman.
test: setup browser
	PY=$(PY) bash scripts/test-all.sh

## Build times, rebuild times, sizes and layers per variant, as a table.
bench: setup
	$(PY) -m helpers benchmark

## Remove the kit's containers and images (keeps the base images).
clean: venv
	$(PY) -m helpers clean
