# The kit's commands. A newcomer needs two: `make lessons` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# Quiet pip, minus this machine's notes about missing local package mirrors.
PIP_QUIET := 2>&1 | { grep -v "Location 'file:" || true; }

.PHONY: setup engine venv images dev browser hub lessons test bench clean

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

# What the tests and the benchmark need beside the lessons: Playwright, dive (requirements-dev.txt).
dev: $(VENV)/.dev
$(VENV)/.dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-dev.txt $(PIP_QUIET)
	touch $@

# For the test suite's real-browser test: Debian's Chromium (Python Playwright drives it).
browser: $(VENV)/.browser
$(VENV)/.browser: $(VENV)/.dev
	bash scripts/browser-up.sh
	touch $@

# For the hub test: JupyterHub (requirements-dev.txt) and its proxy, configurable-http-proxy from npm, into
# /var/cache/kit-hub (KIT_HUB_CACHE); Node.js from Debian's packages if it is missing. Quick once installed.
hub: dev
	bash scripts/hub-up.sh

## Set up, then open the lessons in JupyterLab.
lessons: setup
	$(VENV)/bin/jupyter lab --LabApp.default_url=/lab/tree/notebooks/00-setup-check.ipynb \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

## Set up, then run the whole test suite (unit, real builds, notebooks live and recorded, a real browser,
## learners through a real JupyterHub) on the default engine, then its engine tests on Docker 26 (containerd
## image store) and on Podman.
test: setup browser hub
	PY=$(PY) bash scripts/test-all.sh

## Build times, rebuild times, sizes and layers per variant, as a table; then the kit's image reader beside
## dive on the debian variant (about 760 MB), saved once with `docker save`; then a room of 1, 2, 4 and 8 learners
## running lessons 01-06 at once (docs/INSTRUCTORS.md).
bench: setup dev
	$(PY) -m helpers benchmark
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  docker save cms-daq-workshop-debian:latest -o "$$tmp/debian.tar" && \
	  $(PY) -m helpers benchmark --inside "$$tmp/debian.tar"
	$(PY) -m helpers benchmark --room 1,2,4,8

## Remove the kit's containers and images (keeps the base images).
clean: venv
	$(PY) -m helpers clean
