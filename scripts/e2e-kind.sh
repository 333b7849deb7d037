#!/usr/bin/env bash
# End to end on a real cluster: create a kind cluster, `hpalab up`, run the CI smoke experiment
# on it, check the report, `hpalab down`, delete the cluster. Needs docker, kind and kubectl;
# this is the only test of the kubernetes platform against a real API server, kubelet and HPA
# controller (the unit tests replay recorded responses).
#
#   scripts/e2e-kind.sh                 # everything, cluster deleted at the end
#   HPALAB_KEEP_CLUSTER=1 scripts/e2e-kind.sh   # keep the cluster to look around
#
# Environment: HPALAB_KIND_CLUSTER (default hpalab-e2e), HPALAB_KIND_NODE_IMAGE (default
# kindest/node:v1.33.1), HPALAB (the hpalab command, default .venv/bin/hpalab or hpalab).
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${HPALAB_KIND_CLUSTER:-hpalab-e2e}
node_image=${HPALAB_KIND_NODE_IMAGE:-kindest/node:v1.33.1}
context="kind-${cluster}"
namespace=hpalab
image=hpalab-sampleapp:e2e
experiment=experiments/ci-smoke.yaml
if [[ -n "${HPALAB:-}" ]]; then hpalab=$HPALAB
elif [[ -x .venv/bin/hpalab ]]; then hpalab=.venv/bin/hpalab
else hpalab=hpalab; fi
python=${PYTHON:-python3}
[[ -x .venv/bin/python ]] && python=.venv/bin/python

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is not installed" >&2; exit 2; }
done

step() { printf '\n== %s\n' "$*"; }

cleanup() {
  status=$?
  if [[ $status -ne 0 ]]; then
    step "failed (exit $status): cluster state"
    kubectl --context "$context" -n "$namespace" get all,hpa,servicemonitor,prometheus -o wide || true
    kubectl --context "$context" -n "$namespace" get events --sort-by=.lastTimestamp | tail -40 || true
    kubectl --context "$context" get apiservice | grep -E 'metrics' || true
    kubectl --context "$context" -n "$namespace" logs deploy/prometheus-adapter --tail=40 || true
  fi
  if [[ "${HPALAB_KEEP_CLUSTER:-0}" != 1 ]]; then
    kind delete cluster --name "$cluster" || true
  fi
  exit $status
}
trap cleanup EXIT

step "kind cluster $cluster ($node_image)"
kind create cluster --name "$cluster" --image "$node_image" \
  --config manifests/kind-config.yaml --wait 180s

step "sample app image $image (loaded into kind, no registry)"
# `kind load docker-image` fails with Docker's containerd image store when the image index names
# content that is not in the store ("content digest ... not found", kind #3795 and #4066): the
# image is built without attestations and handed to kind as an archive instead.
docker build --provenance=false --target app -t "$image" .
archive=$(mktemp --suffix=.tar)
docker save -o "$archive" "$image"
kind load image-archive "$archive" --name "$cluster"
rm -f "$archive"

step "hpalab up --dry-run needs no cluster"
KUBECONFIG=/nonexistent "$hpalab" up --platform kubernetes --dry-run "$experiment" > /tmp/hpalab-dry-run.yaml
grep -c '^kind: ' /tmp/hpalab-dry-run.yaml

step "hpalab up"
"$hpalab" up --platform kubernetes --context "$context" --namespace "$namespace" \
  --app-image "$image" "$experiment"

step "hpalab status and doctor"
"$hpalab" status --platform kubernetes --context "$context" --namespace "$namespace"
"$hpalab" doctor --platform kubernetes --context "$context" --namespace "$namespace" "$experiment"

step "hpalab run $experiment"
reports=$(mktemp -d)
"$hpalab" run "$experiment" --platform kubernetes --context "$context" --namespace "$namespace" \
  --out "$reports"

step "check the report"
"$python" - "$reports" <<'PY'
import csv, json, sys
from pathlib import Path

runs = sorted(Path(sys.argv[1]).glob("*-ci-smoke"))
assert runs, "no run directory written"
run = runs[-1]
manifest = json.loads((run / "manifest.json").read_text())
assert manifest["status"] == "complete", manifest["status"]
trials = list(csv.DictReader((run / "trials.csv").open()))
assert len(trials) == 2 and all(t["status"] == "complete" for t in trials), trials
events = list(csv.DictReader((run / "events.csv").open()))
kinds = {e["kind"] for e in events}
for needed in ("hpa_decision", "pod_created", "pod_ready"):
    assert needed in kinds, f"no {needed} event"
ready = [float(r["value"]) for r in csv.DictReader((run / "timeseries.csv").open())
         if r["signal"] == "ready_replicas"]
assert ready and max(ready) > 1, "the HPA never scaled the app up"
assert (run / "report.html").stat().st_size > 0
print(f"report ok: {run} ({len(events)} events, up to {max(ready):g} ready replicas)")
PY

step "the Grafana password is in its Secret and nowhere in the run directory"
password=$(kubectl --context "$context" -n "$namespace" get secret grafana-admin \
  -o jsonpath='{.data.admin-password}' | base64 -d)
[[ ${#password} -ge 24 && "$password" != admin ]]
if grep -rqF -- "$password" "$reports"; then echo "the Grafana password leaked into $reports" >&2; exit 1; fi

step "hpalab down"
"$hpalab" down --platform kubernetes --context "$context" --namespace "$namespace"
left=$(kubectl --context "$context" get all,apiservice,clusterrole,clusterrolebinding,crd -A \
  -l "app.kubernetes.io/managed-by=hpalab,app.kubernetes.io/instance=$namespace" -o name)
if [[ -n "$left" ]]; then
  echo "left behind after down:" >&2; echo "$left" >&2; exit 1
fi
echo "e2e ok"
