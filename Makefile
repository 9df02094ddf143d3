# The two commands a newcomer needs: `make drill` and `make test`. Both set up what is
# missing first (Debian packages, the virtualenv, the WAL-G build), so they work on a
# fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup system-packages python-packages walg lint test drill bench bench-reproduce clean cluster-tools cluster cluster-test

setup: system-packages python-packages walg

system-packages:
	bash scripts/install-system-packages.sh

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

python-packages: $(VENV)/.installed

# WAL-G from source (docker/build-walg.sh), cached under .tools/; a build that fails
# stops `make drill` and `make test` with its one-line reason.
walg: python-packages
	@$(PY) -m harness.toolchain >/dev/null

lint: python-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

test: setup lint
	$(VENV)/bin/pytest

drill: setup
	$(PY) -m drill run

clean:
	rm -rf .drill

# Benchmarks are separate from the tests: pgbench scales 10, 50 and 150, 3 runs each (33
# minutes on 2 cores); BENCH_ARGS="--scales 2 --runs 1 ..." for a quick check.
# Their S3 server is SeaweedFS, built from source on the first run (about 4 minutes, then
# cached under .tools/); BENCH_ARGS="--storage moto" runs them against moto instead.
bench: setup
	$(PY) -m bench $(BENCH_ARGS)

# A second run into bench/reproduction/, compared with the committed bench/results.json:
# every ratio of the goals within 20% (python -m bench.reproduce).
bench-reproduce: setup
	$(PY) -m bench $(BENCH_ARGS) --out bench/reproduction
	$(PY) -m bench.reproduce bench/results.json bench/reproduction/results.json > bench/reproduction/comparison.json; \
		status=$$?; cat bench/reproduction/comparison.json; exit $$status

# The local Kubernetes (README "A local Kubernetes"): its toolchain built from source and
# cached in .tools/ (15 to 20 minutes cold on 2 cores, seconds when cached).
cluster-tools: setup
	$(PY) -m cluster.toolchain

# A running local stack: the cluster up and `pulumi up` of Pulumi.local.yaml.
cluster: cluster-tools
	$(PY) -m cluster deploy

# The end-to-end scenario on a cluster of its own, then the machine check.
cluster-test: cluster-tools
	$(PY) -m cluster scenario
	$(VENV)/bin/pytest -m cluster
