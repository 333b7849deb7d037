"""The cluster's components, one module each: how to start it and how to tell it is healthy.

:data:`ORDER` is the start order; ``down`` stops them in reverse.
"""

from __future__ import annotations

from hpalab.cluster.components import (
    apiserver,
    controller_manager,
    etcd,
    kubelet,
    proxy,
    runtime,
    scheduler,
    streaming,
)
from hpalab.cluster.components.base import Component

ORDER: tuple[Component, ...] = (
    etcd.COMPONENT,
    apiserver.COMPONENT,
    controller_manager.COMPONENT,
    scheduler.COMPONENT,
    streaming.COMPONENT,
    runtime.COMPONENT,
    kubelet.COMPONENT,
    proxy.COMPONENT,
)

__all__ = ["ORDER", "Component"]
