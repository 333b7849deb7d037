"""``down``'s order where the real cluster cannot show it without an operator that finalizes its
custom resources: the Prometheus CR must be gone before the operator is deleted, the operator's
kube-system/kubelet objects go with hpalab's operator only, and a stuck object is named.
(Deletion, waiting and namespaces on a real API server: tests/cluster/test_kube_teardown.py.)"""

import io

import pytest

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes.namespaces import CREATED_BY
from hpalab.platforms.kubernetes.teardown import down

LABELS = {"app.kubernetes.io/managed-by": "hpalab", "app.kubernetes.io/instance": "hpalab"}
PROMETHEUS = "/apis/monitoring.coreos.com/v1/namespaces/hpalab/prometheuses/hpalab"
OPERATOR = "/apis/apps/v1/namespaces/kube-system/deployments/prometheus-operator"
KUBELET = {
    "name": "kubelet",
    "namespace": "kube-system",
    "labels": {"app.kubernetes.io/managed-by": "prometheus-operator", "k8s-app": "kubelet"},
}


def _list(*items):
    return {"status": 200, "body": {"kind": "List", "items": list(items)}}


def _meta(name, namespace=None, **extra):
    meta = {"name": name, "labels": LABELS, **extra}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta}


def _stack(api, *, with_operator=True):
    prometheus = _meta("hpalab", "hpalab", finalizers=["monitoring.coreos.com/status-cleanup"])
    api.add("GET", "/apis/monitoring.coreos.com/v1/prometheuses", _list(prometheus))
    # The operator takes two polls to finalize the CR.
    api.add("GET", PROMETHEUS, {"status": 200, "body": prometheus}, {"status": 200, "body": {}})
    api.add("GET", PROMETHEUS, {"status": 404, "body": {"kind": "Status"}})
    operator = _meta("prometheus-operator", "kube-system")
    api.add("GET", "/apis/apps/v1/deployments", _list(*([operator] if with_operator else [])))
    crd = _meta("prometheuses.monitoring.coreos.com")
    api.add("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _list(crd))
    namespace = _meta("hpalab", annotations={CREATED_BY: "hpalab"})
    api.add("GET", "/api/v1/namespaces", _list(namespace))
    api.add("GET", "/api/v1/namespaces/kube-system/services", _list({"metadata": KUBELET}))
    api.add("GET", "/api/v1/namespaces/kube-system/endpoints", _list({"metadata": KUBELET}))


def test_custom_resources_are_gone_before_the_operator_and_the_crds_are_deleted(api, client, clock):
    _stack(api)
    deleted = down(out=io.StringIO(), client=client, clock=clock, sleep=clock.sleep)
    calls = [(r.method, r.path) for r in api.requests if r.method in ("GET", "DELETE")]
    polls = [i for i, call in enumerate(calls) if call == ("GET", PROMETHEUS)]
    deletes = [path for method, path in calls if method == "DELETE"]
    assert deletes == [
        PROMETHEUS,
        OPERATOR,
        "/api/v1/namespaces/kube-system/services/kubelet",
        "/api/v1/namespaces/kube-system/endpoints/kubelet",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/prometheuses.monitoring.coreos.com",
        "/api/v1/namespaces/hpalab",
    ]
    # polls 1 and 2 see the CR finalizing, poll 3 sees it gone; only then the operator goes
    assert polls[0] > calls.index(("DELETE", PROMETHEUS))
    assert polls[2] < calls.index(("DELETE", OPERATOR))
    assert "Service kube-system/kubelet" in deleted


def test_waiting_deletes_dependents_in_the_foreground(api, client, clock):
    _stack(api)
    down(out=io.StringIO(), client=client, clock=clock, sleep=clock.sleep)
    policies = {r.path: r.body["propagationPolicy"] for r in api.calls("DELETE")}
    assert policies[OPERATOR] == "Foreground"
    assert policies["/api/v1/namespaces/hpalab"] == "Background"


def test_someone_elses_operator_keeps_its_kubelet_objects(api, client, clock):
    _stack(api, with_operator=False)
    down(out=io.StringIO(), client=client, clock=clock, sleep=clock.sleep)
    assert not [r for r in api.calls("DELETE") if "kube-system" in r.path]


def test_a_custom_resource_that_never_goes_is_named_with_a_hint(api, client, clock):
    _stack(api)
    api.routes[("GET", PROMETHEUS)] = [{"status": 200, "body": {}}]
    with pytest.raises(PlatformError, match="still being deleted after 30 s: Prometheus") as caught:
        down(out=io.StringIO(), client=client, clock=clock, sleep=clock.sleep, timeout_s=30)
    assert "finalizers" in (caught.value.hint or "")
    assert not [r for r in api.calls("DELETE") if r.path == OPERATOR]


def test_dry_run_lists_and_deletes_nothing(api, client, clock):
    _stack(api)
    out = io.StringIO()
    names = down(out=out, client=client, dry_run=True, clock=clock, sleep=clock.sleep)
    assert names and not api.calls("DELETE")
    assert "would delete Prometheus hpalab/hpalab" in out.getvalue()
