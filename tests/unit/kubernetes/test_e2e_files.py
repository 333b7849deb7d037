"""The kind workflow is wired: the script parses, names files that exist, and the workflow runs
it. (It runs for real only where Docker is available.)"""

import re
import subprocess

import yaml

from tests.unit.kubernetes.conftest import ROOT

SCRIPT = ROOT / "scripts" / "e2e-kind.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "e2e-kind.yml"


def test_the_script_is_valid_bash_and_executable():
    assert SCRIPT.stat().st_mode & 0o111
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_the_script_uses_files_that_exist_and_every_step():
    text = SCRIPT.read_text()
    for path in re.findall(r"(?:manifests|experiments)/[\w.-]+\.yaml", text):
        assert (ROOT / path).is_file(), path
    for step in (
        "kind create cluster",
        "kind load image-archive",
        "up --platform kubernetes",
        'run "$experiment" --platform kubernetes',
        "down --platform kubernetes",
        "kind delete cluster",
    ):
        assert step in text, step


def test_the_workflow_runs_the_script_on_a_kind_capable_runner():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["e2e"]["steps"]
    assert any(step.get("run") == "scripts/e2e-kind.sh" for step in steps)
    assert workflow["jobs"]["e2e"]["runs-on"].startswith("ubuntu")


def test_the_script_loads_the_image_as_an_archive_not_from_the_docker_store():
    # `kind load docker-image` fails with Docker's containerd image store (kind #3795, #4066).
    commands = [
        line for line in SCRIPT.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    assert not [line for line in commands if "kind load docker-image" in line]


def _controller_args(patch: dict) -> dict[str, str]:
    args = patch["controllerManager"]["extraArgs"]
    if isinstance(args, list):  # kubeadm v1beta4: a list of name/value pairs
        return {arg["name"]: arg["value"] for arg in args}
    return dict(args)


def test_the_kind_config_sets_the_same_hpa_flags_for_kubeadm_v1beta3_and_v1beta4():
    config = yaml.safe_load((ROOT / "manifests" / "kind-config.yaml").read_text())
    patches = [yaml.safe_load(p) for p in config["nodes"][0]["kubeadmConfigPatches"]]
    by_version = {p["apiVersion"]: _controller_args(p) for p in patches}
    assert set(by_version) == {"kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4"}
    flags = by_version["kubeadm.k8s.io/v1beta3"]
    assert flags == by_version["kubeadm.k8s.io/v1beta4"]
    assert flags["horizontal-pod-autoscaler-sync-period"] == "2s"


def test_the_workflow_runs_on_changes_to_anything_the_e2e_path_uses():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # PyYAML reads the key `on` as the boolean True.
    paths = set(workflow[True]["pull_request"]["paths"])
    for needed in (
        "pyproject.toml",
        "hpalab/orchestration/**",
        "hpalab/load/**",
        "experiments/ci-smoke.yaml",
        "hpalab/platforms/kubernetes/**",
        "scripts/e2e-kind.sh",
    ):
        assert needed in paths, needed
