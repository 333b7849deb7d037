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

# Every fidelity check: HPA scenarios, adapter configs and KEDA's ScaledObjects (as root;
# about an hour, KEDA's build included). See scripts/fidelity.sh.
FIDELITY_CLUSTER ?= fidelity
fidelity: setup-test
	FIDELITY_CLUSTER=$(FIDELITY_CLUSTER) ./scripts/fidelity.sh

setup-bench:
	./scripts/setup.sh --bench

bench: setup-bench
	for b in benchmarks/*.py; do .venv/bin/python $$b || exit 1; done

clean:
	rm -rf .venv .mypy_cache .pytest_cache .ruff_cache
