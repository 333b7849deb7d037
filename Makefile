# The two commands of the README: `make demo` and `make test`.
.PHONY: setup setup-test setup-bench demo test lint bench clean fidelity

setup:
	./scripts/setup.sh

setup-test:
	./scripts/setup.sh --test

demo: setup
	.venv/bin/hpalab run experiments/ramp.yaml

test: setup-test
	./scripts/test.sh

lint: setup-test
	.venv/bin/ruff check hpalab tests benchmarks scripts
	.venv/bin/mypy
	.venv/bin/lint-imports

# Every fidelity scenario on a cluster of its own (as root; about 30 minutes), then KEDA's
# cluster tests (`-m keda`), which `make test` leaves out: KEDA is built here, on demand
# (`hpalab cluster build --with keda`, about 13 minutes cold on 2 cores).
FIDELITY_CLUSTER ?= fidelity
fidelity: setup-test
	.venv/bin/hpalab cluster build --with keda
	.venv/bin/hpalab cluster up --name $(FIDELITY_CLUSTER)
	.venv/bin/hpalab fidelity hpa tests/fidelity/*.yaml --cluster $(FIDELITY_CLUSTER); \
	code=$$?; .venv/bin/hpalab cluster down --name $(FIDELITY_CLUSTER); exit $$code
	HPALAB_TEST_CLUSTER=$(FIDELITY_CLUSTER)-keda .venv/bin/pytest -m keda tests/cluster

setup-bench:
	./scripts/setup.sh --bench

bench: setup-bench
	for b in benchmarks/*.py; do .venv/bin/python $$b || exit 1; done

clean:
	rm -rf .venv .mypy_cache .pytest_cache .ruff_cache
