"""The wheelhouse ``pip install`` in a pod is served from: pods cannot reach beyond this machine.

An image entry with ``wheels`` (the stock ``python`` image) gets ``PIP_NO_INDEX`` and
``PIP_FIND_LINKS`` in its containers' environment, pointing at a directory of wheels that
``hpalab cluster build`` (or ``up``) downloads once, on the host, from the package index the
machine's pip uses. An init container's ``pip install`` then installs the same pinned wheels
it would fetch from PyPI, without a network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from hpalab.cluster.building import cache_root
from hpalab.cluster.runtime import images
from hpalab.errors import PlatformError

COMPLETE = ".complete"


def wheelhouse(requirements: list[str]) -> Path:
    """The directory for these requirements: one per set, named by its digest."""
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]
    return cache_root() / "wheels" / digest


def required() -> list[list[str]]:
    """Every requirement set the image map serves from a wheelhouse."""
    return [entry.wheels for entry in images.image_map().images.values() if entry.wheels]


def missing() -> list[list[str]]:
    return [reqs for reqs in required() if not (wheelhouse(reqs) / COMPLETE).is_file()]


def ensure(requirements: list[str]) -> Path:
    """Download the wheels unless they are there; return the wheelhouse."""
    dest = wheelhouse(requirements)
    if (dest / COMPLETE).is_file():
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    argv += ["--only-binary=:all:", "--dest", str(partial), *requirements]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise PlatformError(
            f"could not download the wheels for {', '.join(requirements)}: {tail}",
            hint="pip needs its package index (PyPI or PIP_INDEX_URL) the first time",
        )
    (partial / COMPLETE).touch()
    shutil.rmtree(dest, ignore_errors=True)
    partial.replace(dest)
    return dest


def ensure_all() -> list[Path]:
    return [ensure(reqs) for reqs in required()]


def pip_env(requirements: list[str]) -> dict[str, str]:
    """pip's settings for a container of an image served from this wheelhouse."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse(requirements)),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
    }
