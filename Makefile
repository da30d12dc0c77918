# Everything a fresh machine needs is installed by these targets; the second run reuses it.
SHELL := /bin/bash
## The tests start hundreds of Python processes (suite runs, controllers, sinks, filesystems):
## each compiles its modules from source unless the first may leave its bytecode for the others.
unexport PYTHONDONTWRITEBYTECODE
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
WORKERS ?= 0
TEST_WORKERS ?= 6
PYTEST_ARGS ?=
BENCH_SCALE ?= full
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: all venv fuse-library assets browser conformance certify test unit lint fmt typecheck cluster-up clean kube-tools image conformance-kind certify-alert certify-strict bench docker-engine node-image kind-gate

all: test

$(STAMP): pyproject.toml | fuse-library
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,fuse]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## libfuse 3 and fusermount3 (Debian's libfuse3-dev and fuse3), installed once: pyfuse3 is built
## against them (the wheel is cached by pip) for the filesystem mounted over failing file channels.
fuse-library:
	@(command -v fusermount3 >/dev/null && pkg-config --exists fuse3) || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		fuse3 libfuse3-dev pkg-config >/dev/null)

## Find or build kube-apiserver and etcd (KUBEBUILDER_ASSETS, cache, or a one-time Go build).
assets: venv
	$(BIN)/python -m clusters.local.assets

## Debian's chromium, which the tests use to render the HTML report headless (installed once).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null)

## The main job: the suite against the reference controller on a local control plane.
conformance: assets
	$(BIN)/pytest conformance/suite -n $(WORKERS) --junitxml=reports/junit.xml $(PYTEST_ARGS)

## Certify the reference controller: YAML, JUnit and HTML reports in reports/.
certify: assets
	$(BIN)/notification-conformance certify --workers $(WORKERS) \
		--implementation reference_controller/implementation.yaml \
		--implementation-version "$$(git describe --tags --always --dirty 2>/dev/null || echo unknown)" $(PYTEST_ARGS)

## kind and kustomize, built once from their Go modules into the virtual environment: the kind
## provider's config and deploy/'s overlays are checked with the real tools (no Docker engine needed).
KIND_VERSION := v0.33.0
KUSTOMIZE_VERSION := v5.8.1
kube-tools: venv
	@$(BIN)/kind version 2>/dev/null | grep -q '^kind $(KIND_VERSION) ' || \
		GOBIN=$(abspath $(BIN)) go install sigs.k8s.io/kind@$(KIND_VERSION)
	@$(BIN)/kustomize version 2>/dev/null | grep -qx '$(KUSTOMIZE_VERSION)' || \
		GOBIN=$(abspath $(BIN)) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

## Debian's Docker engine (where no engine answers) and debootstrap, installed once; the image
## builds need no registry. clusters.kind.engine runs a command with the engine that answers or
## with a dockerd of its own (own socket, data root and pidfile), stopped afterwards.
docker-engine:
	@command -v debootstrap >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends debootstrap >/dev/null)
	@docker version >/dev/null 2>&1 || command -v dockerd >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null)
ENGINE := $(BIN)/python -m clusters.kind.engine run --

## The reference controller's image, from deploy/Dockerfile on a Debian base made with debootstrap.
IMAGE := notification-conformance/reference-controller:dev
image: venv docker-engine
	$(ENGINE) nice -n 19 $(BIN)/python -m clusters.kind.images controller

## The kind node image with the control-plane and add-on images, all built from Debian packages and Go modules.
node-image: assets docker-engine
	$(ENGINE) nice -n 19 $(BIN)/python -m clusters.kind.images node

## The CI gate: the suite against the reference controller deployed from deploy/ in a kind cluster
## (2 replicas); disruptive scenarios restart its pods. kind and kustomize come from kube-tools,
## kubectl from the node image's build. Its tolerances are the certified ones: a restart that
## outlasts a backoff window (new pods take seconds) is judged from when the controller works
## again (docs/specification.md, NR-RESTART-SAFE).
KIND_POD_SELECTOR := notification-system/app.kubernetes.io/name=notification-controller
conformance-kind: kube-tools assets docker-engine
	$(ENGINE) $(MAKE) --no-print-directory kind-gate

kind-gate:
	nice -n 19 $(BIN)/python -m clusters.kind.images controller node
	PATH="$$($(BIN)/python -m clusters.kind.images path):$(abspath $(BIN)):$$PATH" && export PATH && \
		$(BIN)/python -m clusters.kind check && \
		$(BIN)/pytest conformance/suite -n $(WORKERS) --nc-cluster kind --nc-controller-cmd "" \
		--nc-controller-pod-selector $(KIND_POD_SELECTOR) \
		--junitxml=reports/junit.xml $(PYTEST_ARGS)

## Certify a second implementation, examples/alert_controller, through its binding: reports in reports/alerting/.
certify-alert: assets
	$(BIN)/notification-conformance certify --workers $(WORKERS) --binding fixtures/bindings/alerting \
		--controller-cmd '{python} -m examples.alert_controller --kubeconfig {kubeconfig}' \
		--implementation examples/alert_controller/implementation.yaml --report-dir reports/alerting \
		--implementation-version "$$(git describe --tags --always --dirty 2>/dev/null || echo unknown)" $(PYTEST_ARGS)

## Certify a third implementation, examples/strict_controller, whose API has strict limits, through its
## binding: reports in reports/strict/.
certify-strict: assets
	$(BIN)/notification-conformance certify --workers $(WORKERS) --binding fixtures/bindings/strict \
		--controller-cmd '{python} -m examples.strict_controller --kubeconfig {kubeconfig}' \
		--implementation examples/strict_controller/implementation.yaml --report-dir reports/strict \
		--implementation-version "$$(git describe --tags --always --dirty 2>/dev/null || echo unknown)" $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(VENV)/.bench-* && touch $@

## Benchmarks of the suite, the reference controller and the project's own tests (as make test runs
## them, so with make test's tools); writes bench/results.md, .json and figures.
bench: assets kube-tools browser docker-engine image $(BENCH_STAMP)
	$(BIN)/python -m bench --scale $(BENCH_SCALE) --workers $(WORKERS) --test-workers $(TEST_WORKERS)

## The project's own tests: unit tests, then the suite proven against good and broken controllers.
## The controller's image is built first: from nothing that takes minutes (Debian packages), too
## long for one test's timeout; from the engine's cache it takes seconds.
test: assets kube-tools browser docker-engine image lint typecheck
	$(BIN)/pytest tests -n $(TEST_WORKERS) --dist worksteal --durations=25 $(PYTEST_ARGS)

## The tests that need no cluster (about 30 s): pure logic, the sink on loopback, reports in chromium.
unit: venv browser
	$(BIN)/pytest tests/unit -n 4 -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

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
