"""The CRI v1 stubs, generated from the pinned ``k8s.io/cri-api`` module's proto.

Nothing of the proto is committed: ``ensure()`` asks the Go command for the module (verified
against the kubernetes wrapper's go.sum and the Go checksum database) and runs grpcio-tools'
protoc on its ``api.proto``, into ``~/.cache/hpalab/cri/<version>/``.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from hpalab.cluster.building import cache_root, find_go, required_go
from hpalab.cluster.versions import pins
from hpalab.errors import PlatformError

PROTO = "pkg/apis/runtime/v1/api.proto"
STEM = "cri_api"


def cri_api_version() -> str:
    """k8s.io/cri-api is published as v0.<minor>.<patch> of the pinned Kubernetes release."""
    return "v0." + pins()["kubernetes"].version.lstrip("v").split(".", 1)[1]


def stub_dir() -> Path:
    return cache_root() / "cri" / cri_api_version()


def _module_dir() -> Path:
    pin = pins()["kubernetes"]
    go = find_go(required_go(pin))
    result = subprocess.run(
        [str(go.path), "mod", "download", "-json", f"k8s.io/cri-api@{cri_api_version()}"],
        cwd=pin.wrapper_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return Path(json.loads(result.stdout)["Dir"])
    except (ValueError, KeyError) as e:
        raise PlatformError(
            f"could not download k8s.io/cri-api {cri_api_version()}: {result.stderr.strip()}",
            hint="the Go module proxy must be reachable the first time",
        ) from e


def ensure() -> Path:
    """Generate the stubs unless they exist; return their directory."""
    out = stub_dir()
    if (out / f"{STEM}_pb2_grpc.py").is_file():
        return out
    from grpc_tools import protoc  # type: ignore[import-untyped]

    work = out.with_name(out.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copyfile(_module_dir() / PROTO, work / f"{STEM}.proto")
    status = protoc.main(
        [
            "protoc",
            f"-I{work}",
            f"--python_out={work}",
            f"--grpc_python_out={work}",
            f"{STEM}.proto",
        ]
    )
    if status != 0:
        raise PlatformError("protoc failed on the CRI proto", hint="check grpcio-tools")
    (work / f"{STEM}.proto").unlink()
    shutil.rmtree(out, ignore_errors=True)
    work.replace(out)
    return out


def load() -> tuple[ModuleType, ModuleType]:
    """The generated messages module and services module."""
    directory = str(ensure())
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return importlib.import_module(f"{STEM}_pb2"), importlib.import_module(f"{STEM}_pb2_grpc")
