"""The pinned versions, the wrapper modules and the image map agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hpalab.cluster import building, versions
from hpalab.cluster.runtime import images, wheels
from hpalab.cluster.runtime.containers import container_env
from hpalab.platforms.kubernetes.render_app import APP_REQUIREMENTS


@pytest.mark.parametrize("component", sorted(versions.pins()))
def test_each_pin_is_what_its_wrapper_module_requires(component: str) -> None:
    pin = versions.pins()[component]
    gomod = (pin.wrapper_dir / "go.mod").read_text()
    assert (pin.wrapper_dir / "go.sum").is_file()
    if pin.own:
        assert f"module {pin.module}\n" in gomod
        return
    line = rf"^(require |\t){re.escape(pin.module)} {re.escape(pin.version)}( // indirect)?$"
    assert re.search(line, gomod, re.M)
    building.check_pin(pin)  # raises unless go.sum pins the same checksum


def test_kubernetes_staging_modules_are_replaced_by_the_same_release() -> None:
    pin = versions.pins()["kubernetes"]
    gomod = (pin.wrapper_dir / "go.mod").read_text()
    minor_patch = pin.version.removeprefix("v1.")
    replaced = re.findall(r"^\t(k8s\.io/\S+) => \1 (v\S+)$", gomod, re.M)
    assert len(replaced) > 20
    assert {version for _, version in replaced} == {f"v0.{minor_patch}"}


def test_a_changed_checksum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    pin = versions.pins()["etcd"].model_copy(update={"sum": "h1:" + "A" * 43 + "="})
    with pytest.raises(Exception, match="does not pin"):
        building.check_pin(pin)


def test_kubernetes_binaries_report_the_pinned_version() -> None:
    flags = building.ldflags(versions.pins()["kubernetes"])
    assert "k8s.io/component-base/version.gitVersion=v1.37.2" in flags
    assert "-s -w" in flags


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("python", "python"),
        ("python:3.12-slim", "python"),
        ("docker.io/library/python:3.12", "python"),
        ("registry.k8s.io/coredns/coredns:v1.12.0", "registry.k8s.io/coredns/coredns"),
        ("localhost:5000/hpalab/sample-app:dev", "localhost:5000/hpalab/sample-app"),
        ("hpalab/sample-app@sha256:" + "a" * 64, "hpalab/sample-app"),
    ],
)
def test_image_repository(reference: str, repository: str) -> None:
    assert images.repository(reference) == repository


def test_every_mapped_image_names_a_known_program() -> None:
    for entry in images.image_map().images.values():
        for ref in [entry.program, *entry.paths.values()]:
            kinds = (ref.built is not None, ref.python, ref.script is not None, ref.host)
            assert sum(map(bool, kinds)) == 1
            if ref.built:
                assert ref.built in versions.all_programs()
            if ref.script:  # pip and locust: installed with hpalab
                assert ref.resolve() is not None, ref.script


def test_an_unmapped_image_is_not_found() -> None:
    assert images.lookup("nginx:1.27") is None


def test_command_and_args_follow_docker_rules() -> None:
    entry = images.ImageEntry.model_validate(
        {"program": {"host": "sh"}, "entrypoint": ["/ep"], "cmd": ["--default"]}
    )
    assert images.argv_of(entry, command=[], args=[]) == ["/ep", "--default"]
    assert images.argv_of(entry, command=[], args=["--x"]) == ["/ep", "--x"]
    assert images.argv_of(entry, command=["/c"], args=[]) == ["/c"]
    assert images.argv_of(entry, command=["/c"], args=["a"]) == ["/c", "a"]


def test_the_python_image_installs_the_apps_pins_from_the_wheelhouse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HPALAB_CACHE_DIR", str(tmp_path))
    entry = images.lookup("python:3.12-slim")
    assert entry is not None
    assert sorted(entry.wheels) == sorted(APP_REQUIREMENTS)
    env = container_env("python:3.12-slim", {"PIP_NO_INDEX": "0"}, "pod")
    assert env["PIP_FIND_LINKS"] == str(wheels.wheelhouse(entry.wheels))
    assert env["PIP_FIND_LINKS"].startswith(str(tmp_path))
    assert env["PIP_NO_INDEX"] == "0", "the pod's own env wins over the image's"
    assert [entry.wheels] == wheels.missing()
    assert "PIP_FIND_LINKS" not in container_env("hpalab/sample-app:dev", {}, "pod")


def test_keda_is_built_only_on_demand() -> None:
    keda = list(versions.pins()["keda"].programs)
    assert keda == ["keda-operator", "keda-metrics-apiserver", "keda-admission-webhooks"]
    assert not set(keda) & set(versions.default_programs())
    assert set(keda) <= set(versions.default_programs(("keda",)))
    building.check_pin(versions.pins()["keda"])  # the wrapper's go.sum pins KEDA's h1: sum
    assert "-X github.com/kedacore/keda/v2/version.Version=2.20.2" in building.ldflags(
        versions.pins()["keda"]
    )


def test_an_unknown_optional_component_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    from hpalab.cli.main import run

    assert run(["cluster", "build", "--with", "nope"]) == 2
    assert "choose from keda" in capsys.readouterr().err
