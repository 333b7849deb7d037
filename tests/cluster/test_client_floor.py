"""The oldest ``kubernetes`` client pyproject.toml allows really works: client_floor.py runs
KubeClient with that version (installed once, by pip, into hpalab's cache) against the real API
server, in an interpreter of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hpalab.cluster.config import ClusterConfig
from tests.cluster.conftest import Kube

ROOT = Path(__file__).resolve().parents[2]


def _floor() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'"kubernetes>=([\d.]+)', text)
    assert found, "pyproject.toml names no kubernetes floor"
    return found.group(1)


def _installed(version: str) -> Path:
    """``kubernetes==version`` with the dependencies it declares (29 still needs ``six``,
    which newer clients dropped), in a directory put first on the interpreter's path."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = base / "hpalab" / "client-floor" / f"kubernetes-{version}"
    if not (target / "kubernetes").is_dir():
        pip = [sys.executable, "-m", "pip", "install", "-q", "--target"]
        done = subprocess.run(
            [*pip, str(target), f"kubernetes=={version}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"pip could not install kubernetes=={version}: {done.stderr}"
    return target


def test_the_oldest_allowed_client_works_against_the_api_server(
    kube: Kube, cluster: ClusterConfig
) -> None:
    floor = _floor()
    site = _installed(floor)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    script = ROOT / "tests" / "cluster" / "client_floor.py"
    done = subprocess.run(
        [sys.executable, str(script), str(cluster.kubeconfig), kube.namespace],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ok, version = done.stdout.split()
    assert ok == "ok" and version.startswith(floor), done.stdout
