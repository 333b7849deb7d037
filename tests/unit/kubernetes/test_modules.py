"""Manifests from Go module zips: the h1: checksum, the proxy's path encoding, kustomize."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes import modules
from hpalab.platforms.kubernetes.upstream import Component, fetch

MODULE, VERSION = "example.com/Some/mod", "v1.2.3"
PREFIX = f"{MODULE}@{VERSION}/"
FILES = {
    "manifests/base/kustomization.yaml": (
        "commonLabels:\n  k8s-app: thing\nresources:\n- deployment.yaml\n- service.yaml\n"
    ),
    "manifests/base/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: thing}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "      - {name: c, image: 'staging/thing:dev'}\n"
    ),
    "manifests/base/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: thing}\nspec: {}\n"
    ),
    "manifests/release/kustomization.yaml": (
        "kind: Component\nimages:\n"
        "- {name: staging/thing, newName: registry/thing, newTag: v1.2.3}\n"
    ),
    "manifests/overlays/release/kustomization.yaml": (
        "resources:\n- ../../base\ncomponents:\n- ../../release\n"
    ),
    "bundle.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
}


def _zip(files: dict[str, str] = FILES) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(PREFIX + name, text)
    return buffer.getvalue()


def test_the_proxy_path_escapes_upper_case():
    assert modules.escape("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"


def test_a_module_is_used_only_when_it_matches_its_pin(tmp_path):
    data = _zip()
    urls: list[str] = []

    def download(url: str) -> bytes:
        urls.append(url)
        return data

    pinned = modules.hash1(data)
    assert modules.module_zip(MODULE, VERSION, pinned, cache=tmp_path, download=download) == data
    assert urls == [f"https://proxy.golang.org/example.com/!some/mod/@v/{VERSION}.zip"]
    # Cached now: no second download.
    modules.module_zip(MODULE, VERSION, pinned, cache=tmp_path, download=download)
    assert len(urls) == 1
    changed = _zip({**FILES, "bundle.yaml": "changed on the way"})
    with pytest.raises(PlatformError, match="expected"):
        modules.module_zip(
            MODULE, VERSION, pinned, cache=tmp_path / "new", download=lambda u: changed
        )
    with pytest.raises(PlatformError, match="no pinned checksum"):
        modules.module_zip(MODULE, VERSION, "", cache=tmp_path, download=download)


def test_kustomize_applies_common_labels_and_images():
    docs = modules.kustomize(_zip(), MODULE, VERSION, "manifests/overlays/release")
    deployment, service = docs
    assert deployment["metadata"]["labels"] == {"k8s-app": "thing"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"k8s-app": "thing"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"k8s-app": "thing"}
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry/thing:v1.2.3"
    )
    assert service["spec"]["selector"] == {"k8s-app": "thing"}


def test_an_unknown_kustomize_field_is_an_error_not_ignored():
    files = {**FILES, "manifests/base/kustomization.yaml": "patches: []\nresources: []\n"}
    with pytest.raises(PlatformError, match="not supported"):
        modules.kustomize(_zip(files), MODULE, VERSION, "manifests/base")


def test_fetch_takes_a_file_from_the_module_and_checks_its_pin(tmp_path):
    data = _zip()
    component = Component(
        "x",
        VERSION,
        "https://example.invalid/bundle.yaml",
        "x.yaml",
        "",
        module=MODULE,
        module_sum=modules.hash1(data),
        module_file="bundle.yaml",
    )
    assert (
        fetch(component, cache=tmp_path, download=lambda url: data) == FILES["bundle.yaml"].encode()
    )
    wrong = dataclasses.replace(component, sha256="0" * 64)
    with pytest.raises(PlatformError, match="SHA-256"):
        fetch(wrong, cache=tmp_path, download=lambda url: data)
