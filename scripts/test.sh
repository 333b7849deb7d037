#!/usr/bin/env bash
# The whole test command: static checks, then every test. Exit code 5 from pytest (no tests
# collected) is a failure, never a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin

echo "== ruff"
"$bin/ruff" check hpalab tests benchmarks scripts
"$bin/ruff" format --check hpalab tests benchmarks scripts
echo "== mypy"
"$bin/mypy"
echo "== import-linter"
"$bin/lint-imports"
echo "== hpalab cluster build (the pinned Kubernetes components, cached under ~/.cache/hpalab)"
build_started=$SECONDS
"$bin/hpalab" cluster build
echo "cluster build took $((SECONDS - build_started)) s"
echo "== pytest"
set +e
"$bin/pytest" "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit $status
