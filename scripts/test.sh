#!/usr/bin/env bash
# The whole test command: static checks, then every test. Exit code 5 from pytest (no tests
# collected) is a failure, never a pass.
#
# With no arguments, the pinned Kubernetes components (`hpalab cluster build`, cached under
# ~/.cache/hpalab) are built in the background at the lowest CPU priority while the tests that
# need no cluster run; the real-cluster tests (`-m cluster`) run once the build is done. On a
# cold cache that hides most of the build behind the tests, which spend much of their time
# waiting on real processes. With arguments, the build runs first and pytest gets them as is.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
started=$SECONDS

echo "== ruff"
"$bin/ruff" check hpalab tests benchmarks scripts
"$bin/ruff" format --check hpalab tests benchmarks scripts
echo "== mypy"
"$bin/mypy"
echo "== import-linter"
"$bin/lint-imports"

# pytest, where "no tests collected" (exit 5) fails
run_pytest() {
  local status=0
  "$bin/pytest" "$@" || status=$?
  if [[ $status -eq 5 ]]; then
    echo "pytest collected no tests: that is a failure, not a pass" >&2
    return 1
  fi
  return $status
}

if (($#)); then
  echo "== hpalab cluster build"
  "$bin/hpalab" cluster build
  echo "== pytest $*"
  run_pytest "$@"
  exit $?
fi

build_log=$(mktemp "${TMPDIR:-/tmp}/hpalab-build.XXXXXX")
build_pid=""
stop_build() {
  if [[ -n $build_pid ]] && kill -0 "$build_pid" 2>/dev/null; then
    kill -TERM -- "-$build_pid" 2>/dev/null || kill -TERM "$build_pid" 2>/dev/null || true
    wait "$build_pid" 2>/dev/null || true
  fi
  rm -f "$build_log"
}
trap stop_build EXIT
trap 'exit 130' INT TERM

echo "== hpalab cluster build, in the background (log: $build_log)"
build_started=$SECONDS
# its own process group, so that stopping it stops every compiler it started
set -m
{
  nice -n 19 "$bin/hpalab" cluster build
  status=$?
  echo "cluster build took $((SECONDS - build_started)) s"
  exit $status
} >"$build_log" 2>&1 &
build_pid=$!
set +m

echo "== pytest -m 'not cluster'"
status=0
run_pytest -m "not cluster" || status=$?
tests_took=$((SECONDS - build_started))

echo "== waiting for hpalab cluster build"
build_status=0
wait "$build_pid" || build_status=$?
build_pid=""
tail -n 30 "$build_log"
if ((build_status != 0)); then
  echo "hpalab cluster build failed (exit $build_status)" >&2
  exit 1
fi
echo "the tests beside the build took ${tests_took} s; waited $((SECONDS - build_started - tests_took)) s more for it"

# the KEDA tests (`-m keda`) need KEDA's own long build: `make fidelity` runs them
echo "== pytest -m 'cluster and not keda'"
cluster_started=$SECONDS
cluster_status=0
run_pytest -m "cluster and not keda" || cluster_status=$?
echo "cluster tests took $((SECONDS - cluster_started)) s; the whole test command $((SECONDS - started)) s"
((status == 0)) || exit $status
exit $cluster_status
