"""Upstream components (prometheus-operator, metrics-server): pinned, verified, cached.

Manifests come from, in this order: ``--manifests-dir`` (put the release files named in
``data/upstream.yaml`` there), the component's Go module (the default: the module proxy is
reachable where GitHub's release downloads may not be; see :mod:`.modules`), then the release
URL. A module is checked against its pinned go.sum checksum, a release file against its pinned
SHA-256; a mismatch is an error, and so is a missing pin: nothing unpinned is ever applied.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.platforms.kubernetes.objects import INSTANCE, MANAGED_BY, NAME, Obj
from hpalab.specs import yamlsafe

Downloader = Callable[[str], bytes]
VERSION_ANNOTATION = "hpalab.dev/upstream-version"
"""On every upstream object hpalab applies: the component's version, so a later ``up`` or
``run`` knows it need not apply it again."""
PROMETHEUS_OPERATOR = "prometheus-operator"
METRICS_SERVER = "metrics-server"


@dataclass(frozen=True, slots=True)
class Component:
    """One pinned upstream release file."""

    name: str
    version: str
    url: str
    file: str
    sha256: str
    """Hex SHA-256 of the release file; empty when not pinned (the file is then refused)."""
    module: str = ""
    """The Go module that carries the same manifests."""
    module_sum: str = ""
    """Its ``h1:`` checksum, as go.sum records it."""
    module_file: str = ""
    """The release file's path in the module (prometheus-operator's ``bundle.yaml``)."""
    module_kustomize: str = ""
    """Or the kustomize overlay in the module the release is built from (metrics-server)."""


def components(text: str | None = None) -> dict[str, Component]:
    """The pinned components, from ``data/upstream.yaml`` (or ``text`` in the same format)."""
    if text is None:
        text = resources.files(__package__).joinpath("data/upstream.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {
        name: Component(name=name, **{k: str(v or "") for k, v in fields.items()})
        for name, fields in data["components"].items()
    }


def cache_dir() -> Path:
    """Where downloaded release files are kept."""
    if env := os.environ.get("HPALAB_CACHE_DIR"):
        return Path(env) / "upstream"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hpalab" / "upstream"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _verify(component: Component, data: bytes, *, where: str) -> None:
    expected = component.sha256
    if expected and sha256(data) != expected:
        raise PlatformError(
            f"{component.name} {component.version} from {where} has SHA-256 {sha256(data)}, "
            f"expected {expected}",
            hint="delete the file and fetch it again; if it persists, the release changed or "
            "the download was tampered with",
        )


def _download(url: str) -> bytes:
    import httpx

    response = httpx.get(url, follow_redirects=True, timeout=60.0)
    response.raise_for_status()
    return response.content


def local_file(component: Component, *, manifests_dir: Path | None, cache: Path) -> Path | None:
    """The release file if it is already here (manifests directory first, then the cache)."""
    for folder in (manifests_dir, cache):
        if folder is not None and (folder / component.file).is_file():
            return folder / component.file
    return None


def fetch(
    component: Component,
    *,
    manifests_dir: Path | None = None,
    cache: Path | None = None,
    download: Downloader | None = None,
    warn: Callable[[str], None] = lambda _: None,
) -> bytes:
    """The verified manifests' bytes: from ``manifests_dir``, the Go module, or the release URL.

    Raises:
        PrerequisiteError: ``manifests_dir`` is given but lacks the file (offline clusters must
            supply every file), or the download failed.
        PlatformError: the file or module does not match its pin, or it has no pin.
    """
    cache = cache or cache_dir()
    if manifests_dir is None and component.module:
        return _from_module(component, cache=cache, download=download)
    if not component.sha256:
        raise PlatformError(
            f"the {component.name} {component.version} release file has no pinned SHA-256",
            hint="pin it in data/upstream.yaml (`python -m hpalab.platforms.kubernetes.upstream "
            "pin` on a machine that reaches the release URL); unpinned files are never applied",
        )
    found = local_file(component, manifests_dir=manifests_dir, cache=cache)
    if found is None and manifests_dir is not None:
        raise PrerequisiteError(
            f"{manifests_dir / component.file} is missing",
            hint=f"download {component.url} into {manifests_dir}",
        )
    if found is not None:
        data = found.read_bytes()
        _verify(component, data, where=str(found))
        return data
    try:
        data = (download or _download)(component.url)
    except Exception as error:
        raise PrerequisiteError(
            f"cannot download {component.name} {component.version}: {error}",
            hint="check the network, or supply the file with --manifests-dir",
        ) from error
    _verify(component, data, where=component.url)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / component.file).write_bytes(data)
    return data


def _from_module(component: Component, *, cache: Path, download: Downloader | None) -> bytes:
    from hpalab.platforms.kubernetes import modules

    data = modules.module_zip(
        component.module, component.version, component.module_sum, cache=cache, download=download
    )
    if component.module_file:
        text = modules.read(data, component.module, component.version, component.module_file)
        _verify(component, text, where=f"{component.module}@{component.version}")
        return text
    docs = modules.kustomize(data, component.module, component.version, component.module_kustomize)
    return yaml.safe_dump_all(docs, sort_keys=False).encode()


def upstream_objects(
    component: Component, data: bytes, *, instance: str, kubelet_insecure_tls: bool = False
) -> list[Obj]:
    """The release file's objects, labelled as hpalab's so ``down`` removes them.

    ``kubelet_insecure_tls`` adds ``--kubelet-insecure-tls`` to metrics-server, which clusters
    with self-signed kubelet certificates (kind, minikube) need.
    """
    try:
        # release files can come from --manifests-dir: read them as every user YAML is read,
        # with room for CRDs, whose schemas hold tens of thousands of values each
        docs = [d for d in yamlsafe.load_all(data, max_values=1_000_000) if isinstance(d, dict)]
    except yaml.YAMLError as error:
        raise PlatformError(
            f"{component.file} is not YAML: {error}", hint="fetch it again"
        ) from error
    for doc in docs:
        labels = doc.setdefault("metadata", {}).setdefault("labels", {}) or {}
        labels.update({MANAGED_BY: "hpalab", INSTANCE: instance})
        labels.setdefault(NAME, component.name)
        doc["metadata"]["labels"] = labels
        annotations = doc["metadata"].get("annotations") or {}
        annotations[VERSION_ANNOTATION] = component.version
        doc["metadata"]["annotations"] = annotations
        if (
            kubelet_insecure_tls
            and component.name == METRICS_SERVER
            and doc.get("kind") == "Deployment"
        ):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                args = container.setdefault("args", [])
                if "--kubelet-insecure-tls" not in args:
                    args.append("--kubelet-insecure-tls")
    return docs


def _pin(download: Downloader = _download) -> int:
    """Print ``name sha256`` for every component (run on a machine with network access)."""
    for component in components().values():
        print(f"{component.name} {component.version} sha256: {sha256(download(component.url))}")
    return 0


if __name__ == "__main__":
    sys.exit(_pin() if sys.argv[1:] == ["pin"] else 2)
