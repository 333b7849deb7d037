"""Resource names for kinds: the API server's discovery first, Kubernetes' own guess otherwise.

The HPA controller asks the custom metrics API for an Object metric at
``namespaces/<ns>/<resource>/<name>/<metric>``, where ``<resource>`` is the kind's plural as
discovery serves it, qualified with its group (``ingresses.networking.k8s.io``, ``pods``);
hpalab reads the same path. Where no cluster is at hand (rendering the adapter's RBAC),
:func:`guess_plural` applies the rule the API machinery itself falls back to
(``UnsafeGuessKindToResource``): ``-s`` takes ``-es``, ``-y`` takes ``-ies`` (except after a
vowel: ``gateways``, as the Gateway API names it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpalab.errors import PlatformError

if TYPE_CHECKING:
    from hpalab.platforms.kubernetes.client import KubeClient

_UNPLURALIZED = ("endpoints",)
_SINGULAR_S_ENDINGS = ("ss", "us")
"""Names that end in ``s`` but are singular (``ingress``, ``ingressclass``, ``status``)."""


def guess_plural(name: str) -> str:
    """The plural of a kind or resource name, as Kubernetes guesses it; a name that already
    looks plural (``pods``, ``ingresses``) is returned as it is (lowercased)."""
    lower = name.lower()
    if lower.endswith(_UNPLURALIZED):
        return lower
    if lower.endswith("s") and not lower.endswith(_SINGULAR_S_ENDINGS):
        return lower  # already plural
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


def qualified(plural: str, api_version: str) -> str:
    """``ingresses.networking.k8s.io``; core resources stay unqualified (``pods``)."""
    group = api_version.split("/", maxsplit=1)[0] if "/" in api_version else ""
    return f"{plural}.{group}" if group else plural


def discovered_plural(client: KubeClient, api_version: str, kind: str) -> str:
    """The plural the API server serves ``kind`` of ``api_version`` under.

    Raises:
        PlatformError: the API server does not serve that group version, or not that kind.
    """
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    found = client.discovery(root)
    for resource in (found or {}).get("resources", []):
        if resource.get("kind") == kind and "/" not in resource.get("name", "/"):
            return str(resource["name"])
    raise PlatformError(
        f"the API server does not serve kind {kind} in {api_version}",
        hint="check describedObject's apiVersion and kind (`kubectl api-resources` lists them)",
    )
