"""Run by ``test_client_floor.py`` in a separate interpreter whose ``kubernetes`` package is the
oldest version pyproject.toml allows: KubeClient's every kind of call against the real API
server. Prints ``ok <kubernetes version>`` and exits 0 when all of them work.

    python tests/cluster/client_floor.py KUBECONFIG NAMESPACE
"""

from __future__ import annotations

import sys

import kubernetes

from hpalab.platforms.kubernetes.client import ApiStatusError, KubeClient, load_api_client


def main(kubeconfig: str, namespace: str) -> None:
    client = KubeClient(load_api_client(context=None, config_file=kubeconfig), timeout_s=20)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "floor", "namespace": namespace, "labels": {"t": "floor"}},
        "data": {"a": "1"},
    }
    listed = client.get(path)
    assert listed is not None, "list"
    applied = client.apply(body)
    managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
    assert "hpalab" in managers, managers
    assert [c["data"] for c in client.list(path, label_selector="t=floor")] == [{"a": "1"}]
    assert client.get(f"{path}/absent") is None
    events = client.watch(path, resource_version=listed["metadata"]["resourceVersion"], timeout_s=5)
    first = next(events)
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "floor", first
    events.close()
    try:
        client.apply({**body, "metadata": {"name": "Not_A_Name", "namespace": namespace}})
    except ApiStatusError as error:
        assert error.status == 422 and "Not_A_Name" in error.message, error.message
    else:
        raise AssertionError("an invalid name was accepted")
    assert client.delete(f"{path}/floor") is True
    print("ok", kubernetes.__version__)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
