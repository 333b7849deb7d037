"""KEDA's release manifests, rendered from the kustomize tree in its Go module (``config/``).

KEDA's release file is ``kustomize build config/default`` with the images and the
``app.kubernetes.io/version`` label set to the release. Its tree uses a little more of kustomize
than metrics-server's (see :func:`hpalab.platforms.kubernetes.modules.kustomize`): JSON 6902
``patches`` on the CRDs, ``labels`` with selectors, and a ``LabelTransformer``. Those are
rendered here; any other kustomize field is an error, never ignored.
"""

from __future__ import annotations

import copy
from pathlib import PurePosixPath
from typing import Any

import yaml

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes import modules

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "patches",
    "labels",
    "transformers",
    "images",
}
VERSION_LABEL = "app.kubernetes.io/version"


def render(data: bytes, module: str, version: str, overlay: str) -> list[dict[str, Any]]:
    """The objects of ``overlay`` (``config/default``) as KEDA ``version`` releases them."""
    tag = version.lstrip("v")
    docs = _build(data, module, version, PurePosixPath(overlay))
    for doc in docs:
        labels = (doc.get("metadata") or {}).get("labels") or {}
        if VERSION_LABEL in labels:
            labels[VERSION_LABEL] = tag
        for container in _containers(doc):
            image = container["image"].rsplit(":", 1)[0]
            container["image"] = f"{image}:{tag}"
    return docs


def _read_yaml(data: bytes, module: str, version: str, path: PurePosixPath) -> list[Any]:
    text = modules.read(data, module, version, str(path))
    return list(yaml.safe_load_all(text))


def _build(
    data: bytes, module: str, version: str, directory: PurePosixPath
) -> list[dict[str, Any]]:
    spec = dict(_read_yaml(data, module, version, directory / "kustomization.yaml")[0] or {})
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise PlatformError(f"{directory}: kustomize fields {sorted(unknown)} not supported")
    docs = modules.resources(
        data,
        module,
        version,
        directory,
        names=spec.get("resources", []),
        build=lambda target: _build(data, module, version, target),
    )
    _transform(docs, spec, lambda path: _read_yaml(data, module, version, directory / path)[0])
    return docs


def _transform(docs: list[dict[str, Any]], spec: dict[str, Any], load: Any) -> None:
    """A kustomization's ``patches``, ``labels`` and ``transformers``, in kustomize's order."""
    for patch in spec.get("patches", []):
        ops = load(patch["path"])
        for doc in docs:
            if _matches(doc, patch.get("target") or {}):
                for op in ops:
                    _json_patch(doc, op)
    for entry in spec.get("labels", []):
        for doc in docs:
            _label(doc, entry.get("pairs") or {}, selectors=bool(entry.get("includeSelectors")))
    for path in spec.get("transformers", []):
        transformer = load(path)
        if transformer.get("kind") != "LabelTransformer":
            raise PlatformError(f"{path}: only LabelTransformer is supported")
        for doc in docs:
            _label(doc, transformer.get("labels") or {}, selectors=False)


def _matches(doc: dict[str, Any], target: dict[str, str]) -> bool:
    group = doc.get("apiVersion", "").rpartition("/")[0]
    wanted = {
        "kind": doc.get("kind"),
        "name": doc.get("metadata", {}).get("name"),
        "group": group,
    }
    return all(wanted[key] == value for key, value in target.items() if key in wanted)


def _json_patch(doc: dict[str, Any], op: dict[str, Any]) -> None:
    """One RFC 6902 ``add`` or ``remove`` (the only operations KEDA's patches use)."""
    *parents, last = op["path"].lstrip("/").split("/")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if op["op"] == "remove":
        del node[int(last) if isinstance(node, list) else last]
    elif op["op"] == "add":
        value = copy.deepcopy(op["value"])
        if isinstance(node, list):
            node.append(value) if last == "-" else node.insert(int(last), value)
        else:
            node[last] = value
    else:
        raise PlatformError(f"JSON patch operation {op['op']!r} not supported")


def _label(doc: dict[str, Any], labels: dict[str, str], *, selectors: bool) -> None:
    metadata = doc.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    spec = doc.get("spec")
    if not selectors or not isinstance(spec, dict):
        return
    if doc.get("kind") == "Service":
        spec["selector"] = {**(spec.get("selector") or {}), **labels}
    if "template" in spec:
        spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(labels)
        template = spec["template"].setdefault("metadata", {})
        template["labels"] = {**(template.get("labels") or {}), **labels}


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [*pod.get("containers", []), *pod.get("initContainers", [])]
