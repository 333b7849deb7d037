"""The image map (``data/images.yaml``): which image references run, and as what program."""

from __future__ import annotations

import hashlib
import shutil
import sys
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from hpalab.cluster.versions import DATA

IMAGE_MAP = DATA / "images.yaml"


class ProgramRef(BaseModel):
    """Exactly one of: a built program, the Python interpreter, one of its scripts, a command
    on the host."""

    model_config = ConfigDict(extra="forbid")

    built: str | None = Field(default=None, description="a program `hpalab cluster build` makes")
    python: bool = Field(default=False, description="the interpreter hpalab runs on")
    script: str | None = Field(
        default=None, description="a console script beside that interpreter (pip, locust)"
    )
    host: str | None = Field(default=None, description="a command on this machine's PATH")

    def resolve(self) -> Path | None:
        """The executable on this machine, or ``None`` when it is not there (yet)."""
        if self.built:
            from hpalab.cluster.building import binary_path

            path = binary_path(self.built)
            return path if path.is_file() else None
        if self.python:
            return Path(sys.executable)
        if self.script:
            path = Path(sys.executable).parent / self.script
            return path if path.is_file() else None
        found = shutil.which(self.host or "")
        return Path(found) if found else None

    def describe(self) -> str:
        if self.built:
            return f"{self.built} (built)"
        if self.script:
            return f"{self.script} (hpalab's interpreter)"
        return "python (hpalab's interpreter)" if self.python else f"{self.host} (host)"


class ImageEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    program: ProgramRef
    entrypoint: list[str] = Field(default_factory=list)
    cmd: list[str] = Field(default_factory=list)
    paths: dict[str, ProgramRef] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    host_path: bool = Field(default=False, alias="hostPath")
    wheels: list[str] = Field(default_factory=list)
    """Requirements `pip install` in this image is served from a local wheelhouse."""
    user: int | None = None
    """The image's numeric ``USER`` (uid, and gid the same): what the kubelet's
    ``runAsNonRoot`` check reads, and who a container without ``runAsUser`` runs as."""


class ImageMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    images: dict[str, ImageEntry]


@cache
def image_map() -> ImageMap:
    return ImageMap.model_validate(yaml.safe_load(IMAGE_MAP.read_text()))


def repository(reference: str) -> str:
    """``docker.io/library/python:3.12@sha256:…`` → ``python``: the part the map is keyed by."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def lookup(reference: str) -> ImageEntry | None:
    return image_map().images.get(repository(reference))


def image_id(reference: str) -> str:
    entry = lookup(reference)
    program = entry.program.resolve() if entry else None
    seed = f"{repository(reference)}|{program}"
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def image_size(reference: str) -> int:
    entry = lookup(reference)
    program = entry.program.resolve() if entry else None
    try:
        return program.stat().st_size if program else 0
    except OSError:
        return 0


def resolve_command(entry: ImageEntry, word: str, env_path: str) -> str | None:
    """What the container's ``argv[0]`` runs on this machine, or ``None`` if nothing."""
    mapped = entry.paths.get(word)
    if mapped is not None:
        found = mapped.resolve()
        return str(found) if found else None
    if entry.host_path:
        return shutil.which(word, path=env_path) or shutil.which(word)
    return None


def argv_of(entry: ImageEntry, *, command: list[str], args: list[str]) -> list[str]:
    """Docker's rule: ``command`` replaces the entrypoint, ``args`` replaces the cmd."""
    if command:
        return [*command, *args]
    return [*entry.entrypoint, *(args or entry.cmd)]
