"""Every rendered manifest against the Kubernetes OpenAPI schemas of three recent versions, and
the prometheus-operator objects against the pinned CRD schemas."""

import json
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from hpalab.platforms.kubernetes import render_adapter, render_app
from hpalab.platforms.kubernetes.objects import StackOptions
from hpalab.platforms.kubernetes.stack import all_objects, plan, variant_steps
from hpalab.specs import load_experiment
from hpalab.specs.adapter import AdapterConfig
from tests.unit.kubernetes.conftest import EXPERIMENTS

VERSIONS = ("1.33.0", "1.34.0", "1.35.0")
CRD_SCHEMAS = Path(__file__).parent / "data" / "prometheus-operator-v0.81.0-crd-schemas.json"
EXPERIMENT_FILES = sorted(EXPERIMENTS.glob("*.yaml"))
IMAGES = (None, "ghcr.io/example/hpalab-sampleapp:0.1.0")


@cache
def _crd_validators() -> dict[str, jsonschema.Draft7Validator]:
    data = json.loads(CRD_SCHEMAS.read_text())
    return {key: jsonschema.Draft7Validator(schema) for key, schema in data["schemas"].items()}


def validate(body: dict, version: str) -> list[str]:
    """Problems of one object: OpenAPI (strict) for built-in kinds, the pinned CRD schema for
    prometheus-operator kinds."""
    key = f"{body['apiVersion']}/{body['kind']}"
    if key in _crd_validators():
        return [f"{list(e.path)}: {e.message}" for e in _crd_validators()[key].iter_errors(body)]
    try:
        kubernetes_validate.validate(body, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{list(error.path)}: {error.message}"]
    return []


def _variant_objects(path: Path, image: str | None) -> list[dict]:
    loaded = load_experiment(path)
    options = StackOptions(app_image=image)
    out = []
    for variant in loaded.variants:
        steps = plan(variant.spec, options, upstream={}, grafana_password=None)
        out += all_objects(steps) + all_objects(variant_steps(variant.spec, options))
    return out


@pytest.mark.parametrize("image", IMAGES, ids=["configmap-source", "built-image"])
@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: p.stem)
def test_every_rendered_object_validates_on_three_kubernetes_versions(path, image):
    objects = _variant_objects(path, image)
    unique = {json.dumps(o, sort_keys=True): o for o in objects}.values()
    problems = [
        f"{version} {o['kind']}/{o['metadata']['name']}: {p}"
        for o in unique
        for version in VERSIONS
        for p in validate(o, version)
    ]
    assert problems == []


def test_the_schemas_cover_at_least_three_recent_versions():
    assert len(VERSIONS) >= 3
    for version in VERSIONS:
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
            version,
            strict=True,
        )


def test_validation_catches_a_misspelt_field(smoke_spec, options):
    deployment = render_app.deployment(smoke_spec, options)
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert validate(deployment, VERSIONS[0])
    service_monitor = render_app.service_monitor(smoke_spec, options)
    service_monitor["spec"]["endpoints"][0]["interval"] = "5 seconds"
    assert validate(service_monitor, VERSIONS[0])
    service_monitor["spec"]["endpoints"][0] = {"port": "http", "intervall": "5s"}
    assert validate(service_monitor, VERSIONS[0])


def test_every_object_is_labelled_for_down(smoke_spec, options):
    for body in all_objects(plan(smoke_spec, options, upstream={}, grafana_password=None)):
        labels = body["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "hpalab", body["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == options.instance


def _rules(objects):
    for body in objects:
        if body["kind"] in ("Role", "ClusterRole"):
            yield body["metadata"]["name"], body["rules"]


def test_rbac_names_every_verb_and_resource_and_has_no_wildcard(smoke_spec, options):
    objects = all_objects(plan(smoke_spec, options, upstream={}, grafana_password=None))
    rules = dict(_rules(objects))
    assert rules, "no roles rendered"
    for name, role_rules in rules.items():
        for rule in role_rules:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert "*" not in rule.get(key, []), f"{name}: {key} has a wildcard"
                assert not any("*" in value for value in rule.get(key, [])), name
            assert set(rule["verbs"]) <= {"get", "list", "watch", "create"}, name
    reader = rules["hpalab-prometheus-adapter-reader"]
    assert reader[0] == {
        "apiGroups": [""],
        "resources": ["namespaces", "pods"],
        "verbs": ["get", "list", "watch"],
    }
    delegator = rules["hpalab-prometheus-adapter-delegator"]
    assert {r["resources"][0]: r["verbs"] for r in delegator} == {
        "tokenreviews": ["create"],
        "subjectaccessreviews": ["create"],
    }
    auth_reader = rules["hpalab-prometheus-adapter-auth-reader"][0]
    assert auth_reader["resourceNames"] == ["extension-apiserver-authentication"]


def test_adapter_reads_the_resources_its_rules_map_to(smoke_spec, options):
    spec = smoke_spec.model_copy(deep=True)
    spec.adapter["rules"][0]["resources"]["overrides"]["deployment"] = {
        "group": "apps",
        "resource": "deployment",
    }
    reader = render_adapter.rbac(spec, options)[1]["rules"]
    assert {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["get", "list", "watch"],
    } in reader


def test_adapter_config_is_the_experiments_and_a_new_one_rolls_the_adapter():
    loaded = load_experiment(EXPERIMENTS / "ramp.yaml")
    options = StackOptions()
    first = loaded.variants[0].spec
    text = render_adapter.configmap(first, options)["data"]["config.yaml"]
    assert AdapterConfig.model_validate(yaml.safe_load(text)) == AdapterConfig.model_validate(
        first.adapter
    )
    by_window: dict[str, set[str]] = {}
    for variant in loaded.variants:
        deployment = render_adapter.deployment(variant.spec, options)
        digest = deployment["spec"]["template"]["metadata"]["annotations"]["hpalab.io/config-hash"]
        by_window.setdefault(variant.spec.adapter["rules"][0]["metricsQuery"], set()).add(digest)
    assert len(by_window) == 2  # the ramp compares rate() over 30s and 2m
    assert all(len(digests) == 1 for digests in by_window.values())  # same config, no roll
    assert len(set().union(*by_window.values())) == 2  # a new config rolls the adapter


def test_hpa_is_the_experiments_spec_pointed_at_the_app(smoke_spec, options):
    hpa = render_app.hpa(smoke_spec, options)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "sampleapp",
    }
    assert hpa["spec"]["metrics"] == smoke_spec.hpa.to_kubernetes()["metrics"]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 10


def test_the_app_follows_the_experiment(smoke_spec, options):
    pod = render_app.deployment(smoke_spec, options)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert float(env["HPALAB_APP_CPU"]) == pytest.approx(0.001)
    assert float(env["HPALAB_APP_STARTUP"]) == pytest.approx(0.5)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # the fault file scrapeDelay and appSlowdown write, in an emptyDir of the pod
    assert container["args"][-2:] == ["--fault-file", render_app.FAULT_FILE]
    (faults,) = [v for v in pod["volumes"] if v["name"] == "faults"]
    assert faults["emptyDir"] == {}
    assert {"name": "faults", "mountPath": render_app.FAULT_DIR} in container["volumeMounts"]
    assert container["resources"]["requests"] == {"cpu": "200m", "memory": "64Mi"}
    assert pod["initContainers"][0]["args"] == list(render_app.APP_REQUIREMENTS)
    monitor = render_app.service_monitor(smoke_spec, options)
    assert monitor["spec"]["endpoints"][0]["interval"] == "1s"


def test_the_source_configmap_carries_the_app_and_its_paths_import(smoke_spec, options):
    data = render_app.source_configmap(options)["data"]
    assert "def create_app" in data["sampleapp-app.py"]
    volumes = render_app.deployment(smoke_spec, options)["spec"]["template"]["spec"]["volumes"]
    (items,) = [v["configMap"]["items"] for v in volumes if "configMap" in v]
    assert {i["key"] for i in items} == set(data)
    # every module of the app's package, so that what it imports is there (faults.py was
    # once missing, and the app could not start in the stock image)
    package = Path(render_app.__file__).parents[2] / "sampleapp"
    modules = {f"hpalab/sampleapp/{f.name}" for f in package.glob("*.py")}
    assert "hpalab/sampleapp/faults.py" in modules
    assert {i["path"] for i in items} == {"hpalab/__init__.py", *modules}


def test_dockerfile_pins_the_same_dependencies_as_the_configmap_default():
    dockerfile = (EXPERIMENTS.parent / "Dockerfile").read_text()
    for requirement in render_app.APP_REQUIREMENTS:
        assert requirement in dockerfile


def test_in_cluster_load_validates_and_indexes_its_workers(options):
    from hpalab.platforms.kubernetes.render_locust import LOAD_ID, locust_objects

    def render(job_json: str = "{}", workers: int = 4):
        return locust_objects(
            options, job_json=job_json, locustfile="# locustfile\n", workers=workers, duration_s=60
        )

    objects = render()
    for body in objects:
        for version in VERSIONS:
            assert validate(body, version) == [], body["kind"]
    configmap, master, master_service, job = objects
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 4
    assert job["spec"]["completionMode"] == "Indexed"
    worker = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in worker["env"]}
    assert "job-completion-index" in env["HPALAB_LOAD_WORKER"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert env["HPALAB_TARGET_URL"]["value"] == f"http://sampleapp.{options.namespace}.svc"
    # the workers find this load's master by its Service, which selects only its pod
    assert f"--master-host={master_service['metadata']['name']}" in worker["args"]
    assert (
        master_service["spec"]["selector"].items()
        <= master["spec"]["template"]["metadata"]["labels"].items()
    )
    assert "--headless" in master["spec"]["template"]["spec"]["containers"][0]["args"]
    # both stop by themselves, and both read this load's ConfigMap
    for body in (master, job):
        assert body["spec"]["activeDeadlineSeconds"] >= 60
        volume = body["spec"]["template"]["spec"]["volumes"][0]
        assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    # another load is another set of objects (a Job's template cannot be updated)
    other = render(job_json='{"other": 1}')
    assert {o["metadata"]["name"] for o in other}.isdisjoint(o["metadata"]["name"] for o in objects)
    assert other[1]["metadata"]["labels"][LOAD_ID] != master["metadata"]["labels"][LOAD_ID]
    with pytest.raises(ValueError):
        render(workers=0)


def test_selectors_match_the_pods_they_select(smoke_spec, options):
    objects = all_objects(plan(smoke_spec, options, upstream={}, grafana_password=None))
    pod_labels = [
        o["spec"]["template"]["metadata"]["labels"] for o in objects if o["kind"] == "Deployment"
    ]
    for body in objects:
        if body["kind"] == "Deployment":
            assert (
                body["spec"]["selector"]["matchLabels"].items()
                <= body["spec"]["template"]["metadata"]["labels"].items()
            )
        if body["kind"] == "Service" and body["metadata"]["name"] != "prometheus":
            assert any(
                body["spec"]["selector"].items() <= labels.items() for labels in pod_labels
            ), body["metadata"]["name"]
        if body["kind"] == "ServiceMonitor":
            services = [o for o in objects if o["kind"] == "Service"]
            assert any(
                body["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
                for s in services
            )


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: p.stem)
def test_the_adapter_config_is_what_hpalab_adapter_render_prints(path):
    from hpalab.cli.adapter import configmap as cli_configmap

    for variant in load_experiment(path).variants:
        config = AdapterConfig.model_validate(variant.spec.adapter)
        printed = cli_configmap(config, name="x", namespace="y")["data"]["config.yaml"]
        assert render_adapter.adapter_config_text(variant.spec) == printed
