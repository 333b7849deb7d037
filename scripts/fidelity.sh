#!/usr/bin/env bash
# `make fidelity`: every fidelity check, on a cluster of its own (as root).
#   1. `hpalab fidelity hpa` on every scenario of tests/fidelity/ (about 30 minutes);
#   2. `hpalab fidelity adapter` on every config of tests/fidelity/adapter/, on a
#      kubernetes-platform stack of that cluster;
#   3. KEDA's cluster tests (`pytest -m keda`: a KEDA experiment end to end and `hpalab fidelity
#      keda` on every ScaledObject of tests/fidelity/keda/), on a cluster of their own.
# KEDA is built first, on demand (`hpalab cluster build --with keda`, about 13 minutes cold on
# 2 cores): `make test` leaves it out. Every step runs even when an earlier one disagrees; the
# exit status is 0 only when all agree. The clusters are taken down however it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
name=${FIDELITY_CLUSTER:-fidelity}
status=0

"$bin/hpalab" cluster build --with keda || exit 1
"$bin/hpalab" cluster up --name "$name" || exit 1
trap '"$bin/hpalab" cluster down --name "$name" >/dev/null' EXIT
trap 'exit 130' INT TERM

echo "== hpalab fidelity hpa"
"$bin/hpalab" fidelity hpa tests/fidelity/*.yaml --cluster "$name" || status=1

echo "== hpalab fidelity adapter"
KUBECONFIG=$("$bin/hpalab" cluster kubeconfig --name "$name")
export KUBECONFIG
if "$bin/hpalab" up --platform kubernetes --namespace fa >/dev/null; then
  "$bin/hpalab" fidelity adapter tests/fidelity/adapter/*.yaml --cluster "$name" --namespace fa \
    || status=1
else
  status=1
fi
"$bin/hpalab" cluster down --name "$name"
trap - EXIT
unset KUBECONFIG

echo "== KEDA (pytest -m keda)"
keda=0
HPALAB_TEST_CLUSTER="$name-keda" "$bin/pytest" -m keda tests/cluster || keda=$?
if ((keda == 5)); then
  echo "pytest collected no KEDA tests: that is a failure, not a pass" >&2
fi
((keda == 0)) || status=1
exit $status
