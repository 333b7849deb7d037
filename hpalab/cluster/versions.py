"""The pinned upstream programs (``data/versions.yaml``) and the wrapper modules that build them."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DATA = Path(__file__).parent / "data"
WRAPPERS = Path(__file__).parent / "go"


class Pin(BaseModel):
    """One upstream module and the programs built from it."""

    model_config = ConfigDict(extra="forbid")

    module: str = Field(description="the upstream Go module path")
    own: bool = Field(default=False, description="hpalab's own program, not an upstream one")
    optional: bool = Field(
        default=False, description="built only on demand (`hpalab cluster build --with NAME`)"
    )
    version: str = Field(default="", description="its pinned version (vX.Y.Z)")
    sum: str | None = Field(
        default=None, pattern=r"^h1:[A-Za-z0-9+/]{43}=$", description="its go.sum checksum"
    )
    wrapper: str = Field(description="the wrapper module's directory under hpalab/cluster/go")
    programs: dict[str, str] = Field(description="program name → Go package path of its main")

    @property
    def wrapper_dir(self) -> Path:
        return WRAPPERS / self.wrapper

    @property
    def build_version(self) -> str:
        """The version in the cache path: the pin's, or a digest of hpalab's own source."""
        if not self.own:
            return self.version
        digest = hashlib.sha256()
        for path in sorted(self.wrapper_dir.iterdir()):
            digest.update(path.name.encode() + path.read_bytes())
        return "src-" + digest.hexdigest()[:12]


@cache
def pins() -> dict[str, Pin]:
    """Component name → its pin, from ``data/versions.yaml``."""
    raw = yaml.safe_load((DATA / "versions.yaml").read_text())
    return {name: Pin.model_validate(body) for name, body in raw.items()}


def kubernetes_version() -> str:
    return pins()["kubernetes"].version


def program_pin(program: str) -> Pin:
    """The pin a program (``kubelet``, ``etcd``…) is built from."""
    for pin in pins().values():
        if program in pin.programs:
            return pin
    raise KeyError(program)


def all_programs() -> list[str]:
    return [program for pin in pins().values() for program in pin.programs]


def default_programs(with_: tuple[str, ...] = ()) -> list[str]:
    """The programs `hpalab cluster build` builds: all but optional components not in ``with_``."""
    return [
        program
        for name, pin in pins().items()
        if not pin.optional or name in with_
        for program in pin.programs
    ]
