"""Upstream manifests taken from the components' Go modules, verified by their go.sum checksum.

Release files on GitHub cannot be downloaded everywhere; the Go module proxy usually can, and a
module's zip carries the same manifests (prometheus-operator's ``bundle.yaml``, metrics-server's
kustomize ``manifests/``). The zip is checked against the pinned ``h1:`` checksum, the one
``go.sum`` records and the Go checksum database vouches for, computed here exactly as the Go
command does (golang.org/x/mod/sumdb/dirhash ``Hash1``), so no Go toolchain is needed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from hpalab.errors import PlatformError, PrerequisiteError

Downloader = Callable[[str], bytes]


def proxy_url() -> str:
    """The first HTTP(S) entry of ``$GOPROXY`` (default: the public Go module proxy)."""
    for entry in os.environ.get("GOPROXY", "https://proxy.golang.org").replace("|", ",").split(","):
        if entry.startswith(("http://", "https://")):
            return entry.rstrip("/")
    return "https://proxy.golang.org"


def escape(module: str) -> str:
    """The module proxy's case encoding: each upper-case letter becomes ``!`` + lower-case."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in module)


def hash1(data: bytes) -> str:
    """The ``h1:`` checksum of a module zip, as go.sum records it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        summary = "".join(f"{hashlib.sha256(archive.read(n)).hexdigest()}  {n}\n" for n in names)
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def _download(url: str) -> bytes:
    import httpx

    response = httpx.get(url, follow_redirects=True, timeout=120.0)
    response.raise_for_status()
    return response.content


def module_zip(
    module: str, version: str, expected: str, *, cache: Path, download: Downloader | None = None
) -> bytes:
    """The module's zip, from the cache or the proxy, verified against ``expected`` (h1:…).

    Raises:
        PrerequisiteError: not cached and the proxy cannot be reached.
        PlatformError: the zip does not match its pinned checksum.
    """
    if not expected:
        raise PlatformError(
            f"{module} {version} has no pinned checksum",
            hint="pin its h1: sum (from go.sum) in data/upstream.yaml; an unpinned module is "
            "never used",
        )
    path = cache / "modules" / f"{escape(module).replace('/', '_')}@{version}.zip"
    if path.is_file():
        data = path.read_bytes()
    else:
        url = f"{proxy_url()}/{escape(module)}/@v/{version}.zip"
        try:
            data = (download or _download)(url)
        except Exception as error:
            raise PrerequisiteError(
                f"cannot download {module} {version} from {url}: {error}",
                hint="check GOPROXY and the network, or supply the file with --manifests-dir",
            ) from error
    found = hash1(data)
    if found != expected:
        path.unlink(missing_ok=True)
        raise PlatformError(
            f"{module} {version} has checksum {found}, expected {expected}",
            hint="the download was changed on the way or the pin is wrong; nothing was applied",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def read(data: bytes, module: str, version: str, path: str) -> bytes:
    """One file of a module zip (``path`` relative to the module root)."""
    name = f"{module}@{version}/{path}"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            return archive.read(name)
        except KeyError:
            raise PlatformError(f"{module} {version} has no {path}") from None


def _kustomization(data: bytes, prefix: str, directory: PurePosixPath) -> dict[str, Any]:
    text = read(
        data,
        prefix.split("@", maxsplit=1)[0],
        prefix.split("@")[1],
        f"{directory}/kustomization.yaml",
    )
    return dict(yaml.safe_load(text) or {})


def _label_everything(doc: dict[str, Any], labels: dict[str, str]) -> None:
    """kustomize's ``commonLabels``: metadata, selectors and pod templates."""
    doc.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return
    if doc.get("kind") == "Service":
        spec.setdefault("selector", {}).update(labels)
    if "template" in spec:
        spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(labels)
        spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(labels)


def kustomize(data: bytes, module: str, version: str, overlay: str) -> list[dict[str, Any]]:
    """Build a kustomize overlay of the module the way its release does.

    Only what the pinned manifests use is supported: ``resources`` (files and directories),
    ``components``, ``commonLabels`` and ``images``. Anything else is an error, never ignored.
    """
    prefix = f"{module}@{version}"
    supported = {"apiVersion", "kind", "resources", "components", "commonLabels", "images"}

    def build(directory: PurePosixPath) -> list[dict[str, Any]]:
        spec = _kustomization(data, prefix, directory)
        unknown = set(spec) - supported
        if unknown:
            raise PlatformError(f"{directory}: kustomize fields {sorted(unknown)} not supported")
        docs = resources(
            data, module, version, directory, names=spec.get("resources", []), build=build
        )
        for doc in docs:
            _label_everything(doc, spec.get("commonLabels", {}))
        for component in spec.get("components", []):
            target = PurePosixPath(os.path.normpath(directory / component))
            _set_images(docs, _kustomization(data, prefix, target).get("images", []))
        _set_images(docs, spec.get("images", []))
        return docs

    return build(PurePosixPath(overlay))


def resources(
    data: bytes,
    module: str,
    version: str,
    directory: PurePosixPath,
    *,
    names: list[str],
    build: Callable[[PurePosixPath], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """A kustomization's ``resources``: YAML files read, directories built with ``build``."""
    docs: list[dict[str, Any]] = []
    for resource in names:
        target = PurePosixPath(os.path.normpath(directory / resource))
        if resource.endswith((".yaml", ".yml")):
            text = read(data, module, version, str(target))
            docs += [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        else:
            docs += build(target)
    return docs


def _set_images(docs: list[dict[str, Any]], images: list[dict[str, str]]) -> None:
    for doc in docs:
        pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            name = container["image"].split(":")[0]
            for image in images:
                if image["name"] == name:
                    tag = image.get("newTag") or container["image"].partition(":")[2]
                    container["image"] = f"{image.get('newName', name)}:{tag}"
