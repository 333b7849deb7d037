"""Cluster addresses, names, and the PKI's certificates."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from hpalab.cluster import pki
from hpalab.cluster.config import ClusterConfig, ControllerFlags, check_name, free_index
from hpalab.errors import UsageError


@pytest.fixture(autouse=True)
def clusters_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HPALAB_CLUSTER_DIR", str(tmp_path))
    return tmp_path


def test_addresses_of_two_clusters_never_overlap() -> None:
    a = ClusterConfig(name="a", index=0, kubernetes_version="v1.37.2")
    b = ClusterConfig(name="b", index=1, kubernetes_version="v1.37.2")
    nets = [
        ipaddress.ip_network(c) for c in (a.pod_cidr, a.service_cidr, b.pod_cidr, b.service_cidr)
    ]
    assert not any(x.overlaps(y) for i, x in enumerate(nets) for y in nets[i + 1 :])
    assert ipaddress.ip_address(a.dns_ip) in ipaddress.ip_network(a.service_cidr)
    assert a.host_veth != b.host_veth and a.netns != b.netns and a.cgroup_root != b.cgroup_root
    assert len(ClusterConfig(name="x", index=63, kubernetes_version="").host_veth) <= 15


@pytest.mark.parametrize("name", ["", "Upper", "1st", "has space", "a" * 21, "under_score"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError):
        check_name(name)


def test_indexes_are_reused_and_distinct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hpalab.cluster import config

    monkeypatch.setattr(config, "SYS_NET", tmp_path / "no-links")  # whatever runs on this host
    ClusterConfig(name="a", index=free_index("a"), kubernetes_version="").save()
    ClusterConfig(name="b", index=free_index("b"), kubernetes_version="").save()
    assert free_index("a") == 0 and free_index("b") == 1 and free_index("c") == 2


def test_saved_configuration_round_trips() -> None:
    flags = ControllerFlags(hpa_sync_period="5s", hpa_tolerance=0.05)
    config = ClusterConfig(name="rt", index=3, kubernetes_version="v1.37.2", controller=flags)
    config.save()
    assert ClusterConfig.load("rt") == config
    assert "--horizontal-pod-autoscaler-tolerance=0.05" in config.controller.args()


def test_pki_has_every_certificate_with_the_right_names() -> None:
    config = ClusterConfig(name="pki", index=2, kubernetes_version="v1.37.2")
    pki.ensure(config)
    directory = config.path("pki")
    serving = x509.load_pem_x509_certificate((directory / "apiserver.crt").read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert {config.node_ip, config.kubernetes_service_ip} <= ips
    assert "kubernetes.default.svc.cluster.local" in sans.get_values_for_type(x509.DNSName)
    for key in directory.glob("*.key"):
        assert key.stat().st_mode & 0o077 == 0, key
    admin = yaml.safe_load(config.kubeconfig.read_text())
    assert admin["clusters"][0]["cluster"]["server"] == config.server
    before = (directory / "ca.crt").read_bytes()
    pki.ensure(config)
    assert (directory / "ca.crt").read_bytes() == before  # a second up keeps the identity


def test_a_cluster_is_stale_only_when_its_up_died_before_finishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import subprocess
    import sys

    from hpalab.cluster import lifecycle

    monkeypatch.setenv("HPALAB_CLUSTER_DIR", str(tmp_path))
    config = ClusterConfig(name="a", index=0, kubernetes_version="v1.37.2")
    config.save()
    assert not lifecycle.is_stale(config), "no up was ever started: a finished cluster"
    lifecycle._mark_starting(config)
    assert not lifecycle.is_stale(config), "this process is the up, alive"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    mark = json.loads(config.path(lifecycle.STARTING).read_text())
    config.path(lifecycle.STARTING).write_text(json.dumps({**mark, "pid": int(gone.stdout)}))
    assert lifecycle.is_stale(config), "the up is gone"
    config.path(lifecycle.STARTING).write_text(json.dumps({**mark, "created": 1.0}))
    assert lifecycle.is_stale(config), "the pid was reused by another process"


def test_an_index_whose_veth_exists_on_the_host_is_not_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpalab.cluster import config

    monkeypatch.setenv("HPALAB_CLUSTER_DIR", str(tmp_path / "clusters"))
    links = tmp_path / "net"
    (links / "hpl-0").mkdir(parents=True)  # a cluster of another state directory
    monkeypatch.setattr(config, "SYS_NET", links)
    assert config.free_index("new") == 1


def test_pod_addresses_go_round_so_a_replacement_does_not_take_a_killed_pods_address() -> None:
    from hpalab.cluster.runtime.sandboxes import allocate

    config = ClusterConfig(name="t", index=1, kubernetes_version="v1.37.2")
    base = config.pod_cidr.rsplit(".", 1)[0]
    first = allocate(config, set())
    assert first == f"{base}.2"  # the bridge has .1
    second = allocate(config, {first}, after=first)
    # the first pod is gone: its address is free, but the next one is given
    assert allocate(config, {second}, after=second) == f"{base}.4"
    # at the end of the range it wraps around to the lowest free one
    assert allocate(config, {f"{base}.2"}, after=f"{base}.254") == f"{base}.3"
