"""Pinned upstream release files: checksum verification, the cache, offline directories."""

import pytest

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.platforms.kubernetes import upstream
from hpalab.platforms.kubernetes.upstream import Component, fetch, sha256

DATA = (
    b"apiVersion: v1\nkind: ServiceAccount\n"
    b"metadata:\n  name: metrics-server\n  namespace: kube-system\n"
)


def _component(pinned: str = "") -> Component:
    return Component(
        "metrics-server", "v0.7.2", "https://example.invalid/components.yaml", "ms.yaml", pinned
    )


class Downloads:
    def __init__(self, data: bytes = DATA) -> None:
        self.data, self.urls = data, []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.data


def test_the_shipped_pins_name_release_urls_files_and_modules():
    components = upstream.components()
    assert set(components) == {"prometheus-operator", "metrics-server"}
    for c in components.values():
        assert c.version in c.url and c.url.startswith("https://github.com/")
        assert c.version in c.file
        assert c.sha256 == "" or len(c.sha256) == 64
        assert c.module and c.module_sum.startswith("h1:")
        assert bool(c.module_file) != bool(c.module_kustomize)


def test_a_pinned_file_is_downloaded_once_then_served_from_the_cache(tmp_path):
    download = Downloads()
    component = _component(sha256(DATA))
    assert fetch(component, cache=tmp_path, download=download) == DATA
    assert fetch(component, cache=tmp_path, download=download) == DATA
    assert download.urls == [component.url]
    assert (tmp_path / "ms.yaml").read_bytes() == DATA


def test_a_download_that_does_not_match_its_pin_is_refused_and_not_cached(tmp_path):
    with pytest.raises(PlatformError, match="expected"):
        fetch(_component("0" * 64), cache=tmp_path, download=Downloads())
    assert not (tmp_path / "ms.yaml").exists()


def test_a_tampered_cache_file_is_refused(tmp_path):
    component = _component(sha256(DATA))
    fetch(component, cache=tmp_path, download=Downloads())
    (tmp_path / "ms.yaml").write_bytes(DATA + b"# changed\n")
    with pytest.raises(PlatformError, match="SHA-256"):
        fetch(component, cache=tmp_path, download=Downloads())


def test_an_unpinned_release_file_is_refused(tmp_path):
    download = Downloads()
    with pytest.raises(PlatformError, match="no pinned SHA-256"):
        fetch(_component(), cache=tmp_path, download=download)
    assert download.urls == []


def test_an_offline_directory_is_used_and_verified(tmp_path):
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "ms.yaml").write_bytes(DATA)
    download = Downloads()
    assert (
        fetch(
            _component(sha256(DATA)), manifests_dir=offline, cache=tmp_path / "c", download=download
        )
        == DATA
    )
    assert download.urls == []
    with pytest.raises(PlatformError):
        fetch(_component("f" * 64), manifests_dir=offline, cache=tmp_path / "c", download=download)


def test_an_offline_directory_without_the_file_is_an_error_with_the_url(tmp_path):
    with pytest.raises(PrerequisiteError) as caught:
        fetch(
            _component(sha256(DATA)),
            manifests_dir=tmp_path,
            cache=tmp_path / "c",
            download=Downloads(),
        )
    assert "https://example.invalid/components.yaml" in caught.value.hint


def test_a_failed_download_says_how_to_work_offline(tmp_path):
    def broken(url: str) -> bytes:
        raise OSError("network unreachable")

    with pytest.raises(PrerequisiteError) as caught:
        fetch(_component(sha256(DATA)), cache=tmp_path, download=broken)
    assert "--manifests-dir" in caught.value.hint


def test_upstream_objects_are_labelled_and_not_yaml_is_an_error():
    objects = upstream.upstream_objects(_component(), DATA, instance="lab")
    assert objects[0]["metadata"]["labels"]["app.kubernetes.io/instance"] == "lab"
    with pytest.raises(PlatformError, match="not YAML"):
        upstream.upstream_objects(_component(), b"a: [", instance="lab")
