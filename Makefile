# probe-demo: the two targets that matter are `make demo` and `make test` (see README.md).
# Every target is idempotent; tools, binaries and images are cached in $(CACHE), outside the clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CACHE ?= $(HOME)/.cache/probe-demo
export DEMO_CACHE_DIR := $(CACHE)
TOOLS_BIN := $(CACHE)/tools/bin
# The cluster's Kubernetes; `make cluster-up KUBE_VERSION=v1.34.2` starts the previous one instead.
KUBE_VERSION ?= $(shell cat cluster/kubernetes-version)
export KUBE_VERSION
KUBE_BIN := $(CACHE)/kubernetes/$(KUBE_VERSION)/bin
# Nodes of the cluster: 1 is the machine alone; `make cluster-up NODES=3` adds nodes 2 and 3
# (network namespaces, cluster/node.sh). The e2e tests run on 3, so the multi-node ones run.
NODES ?= 1
E2E_NODES := 3
export NODES E2E_NODES
export PATH := $(CURDIR)/.venv/bin:$(TOOLS_BIN):$(KUBE_BIN):$(PATH)
export HELM_PLUGINS := $(CACHE)/tools/helm-plugins
export KUBECONFIG := /var/lib/probe-demo-cluster/admin.kubeconfig
CHART := charts/probe-demo
VENV_STAMP := .venv/.installed-$(shell cat services/pyproject.toml requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: help deps apt-deps venv tools chart-tools kubernetes containerd check lint test test-services test-chart test-e2e \
        test-docs cluster-up cluster-down image demo bench-status bench-rollout bench-start \
        chart-docs screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

deps: apt-deps venv tools ## install everything the targets below need (idempotent)

apt-deps: ## Debian packages: containerd, runc, CNI plugins, etcd, buildah, registry, qemu, chromium
	@bash tools/apt-deps.sh

venv: $(VENV_STAMP) ## Python virtualenv in .venv with the services and the test tools
$(VENV_STAMP):
	python3 -m venv .venv
	.venv/bin/pip install --quiet -e 'services[test,check]' -r requirements-dev.txt
	rm -f .venv/.installed-* && touch $@

tools: chart-tools kubernetes containerd ## everything below: the chart tools, the Kubernetes and containerd binaries

chart-tools: ## helm (+ Helm 4 as helm4), helm-unittest, ct, kubeconform (+ schemas), helm-docs
	@bash tools/install.sh

kubernetes: ## the cluster's binaries, kubectl among them, built from the Go module proxy
	@bash cluster/build-kubernetes.sh

containerd: ## containerd, its runc shim and ctr, built from the Go module proxy
	@bash cluster/build-containerd.sh

check: venv chart-tools ## the quick checks, well under a minute warm: ruff, shellcheck, helm unittest, pytest (no browser, no cluster)
	ruff check services tests tools benchmarks
	shellcheck .ci/run cluster/*.sh image/*.sh tools/*.sh
	helm unittest $(CHART)
	pytest -q -n 4 --ignore services/tests/server/test_ui_browser.py services/tests tests/chart tests/docs

lint: apt-deps venv chart-tools ## ruff, shellcheck, hadolint, helm lint, ct lint, yamllint
	ruff check services tests tools benchmarks
	shellcheck .ci/run cluster/*.sh image/*.sh tools/*.sh
	hadolint Dockerfile
	helm lint --strict $(CHART)
	ct lint --config ct.yaml --lint-conf ct/lintconf.yaml --chart-yaml-schema ct/chart_schema.yaml

test-services: apt-deps venv ## pytest for the services (Flask test client, real server processes, /ui in Chromium), two at a time
	pytest -q -n 2 services/tests

test-chart: venv chart-tools ## helm-unittest suites, bad-values rejection, kubeconform, docs in sync
	helm unittest $(CHART)
	pytest -q -n 2 tests/chart

cluster-up: apt-deps chart-tools kubernetes containerd ## start the offline Kubernetes cluster (+ image registry); NODES=3 for three nodes
	@bash cluster/up.sh

cluster-down: ## stop the cluster and remove everything it left behind
	@bash cluster/down.sh

image: cluster-up ## build the multi-arch image offline and push it to the cluster's registry
	@bash image/build.sh

test-docs: venv chart-tools ## the guides' commands match presets, targets and flags; actionlint
	pytest -q tests/docs

test-e2e test bench-rollout: NODES = $(E2E_NODES)
test-e2e: venv image ## every scenario on the real cluster (3 at a time, a namespace each), helm test, ct install
	pytest -q -n 3 --dist loadgroup tests/e2e

test: lint test-services test-chart test-docs test-e2e ## everything CI runs

demo: venv image ## bring up the cluster and install the zero-downtime scenario
	helm upgrade --install demo $(CHART) -f $(CHART)/presets/zero-downtime.yaml --wait --timeout 180s
	kubectl get pods -l app.kubernetes.io/instance=demo -o wide
	@echo "KUBECONFIG=$(KUBECONFIG)  (export it to use kubectl and helm directly)"

chart-docs: venv chart-tools ## regenerate the README table and what the chart takes from the package (tools/chart_variants.py)
	helm-docs --chart-search-root charts --template-files README.md.gotmpl
	python tools/chart_variants.py

screenshots: venv image ## the guides' pictures of /ui, taken on the cluster at each seed's key moment
	PROBE_DEMO_SCREENSHOTS=$(CURDIR)/docs/images pytest -q -n 3 tests/e2e/test_ui.py

bench-status: venv ## memory, start-up, /status req/s, probes under load (BENCH_ARGS="--against REF")
	@command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	python benchmarks/status.py $(BENCH_ARGS)

bench-rollout: venv image ## lost requests: each disruption x {zero-downtime, naive} x {service, gateway} x {new, keep-alive}, 500 req/s
	python benchmarks/zero_downtime.py $(BENCH_ARGS)

bench-start: venv image ## time from container start to readiness 200, in a pod
	python benchmarks/container_start.py
