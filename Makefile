# Everything a fresh machine needs is installed by these targets; the second run reuses it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
WORKERS ?= 8
PYTEST_ARGS ?=
BENCH_SCALE ?= full
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: all venv assets conformance bench test lint fmt typecheck cluster-up clean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## Find or build kube-apiserver and etcd (KUBEBUILDER_ASSETS, cache, or a one-time Go build).
assets: venv
	$(BIN)/python -m clusters.local.assets

## The main job: the suite against the reference controller on a local control plane.
conformance: assets
	$(BIN)/pytest conformance/suite -n $(WORKERS) --junitxml=reports/junit.xml $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(VENV)/.bench-* && touch $@

## Benchmarks of the suite and the reference controller; writes bench/results.md, .json and figures.
bench: assets $(BENCH_STAMP)
	$(BIN)/python -m bench --scale $(BENCH_SCALE) --workers $(WORKERS)

## The project's own tests: unit tests, then the suite proven against good and broken controllers.
test: assets lint typecheck
	$(BIN)/pytest tests $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Format and fix what can be fixed automatically.
fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy

## A local control plane on its own, until Ctrl-C; prints how to point kubectl at it.
cluster-up: assets
	$(BIN)/python -m clusters up

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
