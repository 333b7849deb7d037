from pathlib import Path

import pytest

from hpalab.platforms.kubernetes.client import KubeClient, load_api_client
from hpalab.platforms.kubernetes.objects import StackOptions
from hpalab.platforms.kubernetes.waiting import Waiter
from hpalab.specs import load_experiment
from tests.unit.kubernetes.fakeapi import NAMESPACE, FakeApi, FakeServer

ROOT = Path(__file__).resolve().parents[3]
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def server(api, tmp_path):
    running = FakeServer(api)
    yield running
    running.close()


@pytest.fixture
def kubeconfig(server, tmp_path) -> Path:
    return server.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def client(kubeconfig) -> KubeClient:
    return KubeClient(load_api_client(context="fake", config_file=kubeconfig), timeout_s=5)


@pytest.fixture
def options() -> StackOptions:
    return StackOptions()


class FakeClock:
    """Virtual time: sleeping advances it instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def waiter(client, clock) -> Waiter:
    """Waits in virtual time, with the default time limit the captured commands ran with, for
    the stack in the recordings' namespace."""
    options = StackOptions(namespace=NAMESPACE, instance=NAMESPACE)
    return Waiter(client, options, timeout_s=300, poll_s=2, clock=clock, sleep=clock.sleep)


@pytest.fixture(scope="session")
def smoke_spec():
    loaded = load_experiment(EXPERIMENTS / "ci-smoke.yaml")
    return loaded.variant(loaded.baseline).spec


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HPALAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def stand_in_upstream(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pins for the reduced stand-in release files in ``data/upstream`` (offline-directory
    mode), so tests of the apply logic need neither the 4 MB bundle nor the module proxy."""
    import dataclasses

    from hpalab.platforms.kubernetes import upstream

    directory = Path(__file__).parent / "data" / "upstream"
    shipped = upstream.components()
    stand_ins = {
        name: dataclasses.replace(
            c, sha256=upstream.sha256((directory / c.file).read_bytes()), module=""
        )
        for name, c in shipped.items()
        if (directory / c.file).is_file()
    }
    monkeypatch.setattr(upstream, "components", lambda text=None: stand_ins)
    return directory
