"""Hostile and broken YAML, through every command that reads YAML: exit 2 with file:line.

Billion laughs, deep nesting, characters YAML forbids and values Python cannot hold must be
refused at a line of the file, never a traceback, with memory bounded (measured with
tracemalloc; no durations are asserted).
"""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest
import yaml

from hpalab.cli.main import run
from hpalab.errors import PrerequisiteError, SpecError
from hpalab.specs import load_spec
from hpalab.specs.adapter import load_config_text
from hpalab.specs.yamlsafe import MAX_DEPTH, MAX_VALUES, check_kubeconfigs, load, load_all

SMOKE = Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml"
HEADER = "apiVersion: hpalab/v1\nkind: Experiment\nmetadata:\n  name: x\n"


def billion_laughs(levels: int = 10) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# (id, text, expected line, expected substrings)
HOSTILE = [
    ("nul-byte", HEADER + "spec:\x00\n", 5, ["0x0000", "not allowed in YAML"]),
    ("bell-character", HEADER + "spec: a\x07b\n", 5, ["0x0007", "not allowed"]),
    ("billion-laughs", billion_laughs(), 5, ["the document holds more than", "alias *l"]),
    ("deep-flow", "a: " + "[" * 5000 + "\n", 1, ["values nest"]),
    (
        "deep-block",
        "a:\n" + "".join("  " * i + "- \n" for i in range(MAX_DEPTH + 20)),
        MAX_DEPTH + 1,
        ["values nest"],
    ),
    ("deep-mapping", "a: " + "{a: " * 3000 + "\n", 1, ["values nest"]),
    ("huge-integer", HEADER + "spec:\n  seed: " + "9" * 5000 + "\n", 6, ["cannot read this"]),
    ("bad-timestamp", HEADER + "spec:\n  seed: 2024-13-45\n", 6, ["month must be in 1..12"]),
    ("python-tag", HEADER + "spec: !!python/object/apply:os.system [id]\n", 5, ["python"]),
    ("complex-key", HEADER + "? [a, b]\n: c\n", 5, ["a key must be a plain name"]),
    ("undefined-alias", HEADER + "spec: *nothing\n", 5, ["undefined alias"]),
    ("unclosed-quote", HEADER + 'spec: "abc\n', 6, ["YAML syntax error"]),
]


def _validate(capsys, path):
    code = run(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("case", "text", "line", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_yaml_is_refused_with_its_line(capsys, write, case, text, line, expected):
    path = write(text)
    code, output = _validate(capsys, path)
    assert code == 2, output
    assert "Traceback" not in output
    assert re.search(rf"{re.escape(str(path))}:{line}:\d+: ", output), output
    for part in expected:
        assert part in output, output


def test_billion_laughs_is_refused_with_bounded_memory(write):
    path = write(billion_laughs(levels=12))
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match="the document holds more than"):
            load_spec(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the expanded document would hold 9**12 strings; reading it must cost kilobytes
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_aliases_within_the_bound_still_work():
    text = "base: &b {a: 1, b: [1, 2, 3]}\none: *b\ntwo: {<<: *b, a: 2}\n"
    assert load(text) == {
        "base": {"a": 1, "b": [1, 2, 3]},
        "one": {"a": 1, "b": [1, 2, 3]},
        "two": {"a": 2, "b": [1, 2, 3]},
    }


def test_the_value_bound_counts_every_alias_use():
    block = "[" + ",".join(["1"] * 999) + "]"
    uses = MAX_VALUES // 1000 + 1
    text = f"a: &a {block}\nb: [" + ",".join(["*a"] * uses) + "]\n"
    with pytest.raises(yaml.YAMLError, match=r"holds more than .* \(alias \*a adds 1,000\)"):
        load(text)
    fewer = f"a: &a {block}\nb: [" + ",".join(["*a"] * (uses - 3)) + "]\n"
    assert len(load(fewer)["b"]) == uses - 3


def test_a_file_of_too_many_plain_values_is_refused_early():
    text = "".join(f"k{i}: {i}\n" for i in range(MAX_VALUES))
    with pytest.raises(yaml.YAMLError, match=f"holds more than {MAX_VALUES:,} values") as caught:
        load(text)
    assert "alias" not in str(caught.value)


def test_each_document_of_a_stream_has_its_own_bound():
    document = "".join(f"k{i}: {i}\n" for i in range(MAX_VALUES // 4))
    assert len(list(load_all("---\n".join([document] * 3)))) == 3
    with pytest.raises(yaml.YAMLError, match="holds more than 1,000 values"):
        list(load_all(document, max_values=1_000))


def test_devices_and_pipes_are_not_read(capsys):
    code = run(["validate", "/dev/zero"])
    assert code == 2
    assert "not a regular file" in capsys.readouterr().err


def test_aliases_cannot_smuggle_depth_past_the_bound():
    half = MAX_DEPTH // 2 + 5
    text = f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    with pytest.raises(yaml.YAMLError, match="nest more than"):
        load(text)


def test_multi_document_streams_are_bounded_too():
    assert list(load_all("a: 1\n---\nb: 2\n")) == [{"a": 1}, {"b": 2}]
    with pytest.raises(yaml.YAMLError, match="holds more than"):
        list(load_all("a: 1\n---\n" + billion_laughs()))


def test_adapter_config_text_is_read_with_the_bounded_loader():
    with pytest.raises(yaml.YAMLError, match="holds more than"):
        load_config_text(billion_laughs())
    with pytest.raises(yaml.YAMLError):
        load_config_text("rules: []\x00\n")
    with pytest.raises(yaml.YAMLError, match="already set"):
        load_config_text("rules: []\nrules: []\n")
    # conformance cases carry configs in JSON strings, where "\ud800" is a lone surrogate
    with pytest.raises(yaml.YAMLError, match="lone surrogate"):
        load_config_text("rules: \ud800\n")


def test_a_hostile_profile_referenced_by_an_experiment_is_named(capsys, write):
    write(billion_laughs(), name="profiles/bad.yaml")
    smoke = SMOKE.read_text()
    stages = smoke[smoke.index("    stages:") : smoke.index("    arrivals:")]
    path = write(smoke.replace(stages, "    profile: profiles/bad.yaml\n"))
    code, output = _validate(capsys, path)
    assert code == 2, output
    assert "cannot load profile 'profiles/bad.yaml'" in output
    assert re.search(r"bad.yaml:5:\d+: the document holds more than", output), output


@pytest.mark.parametrize("text", [billion_laughs(), "kind: x\x00\n"], ids=["laughs", "nul"])
def test_adapter_commands_refuse_hostile_configs(capsys, write, text):
    path = write(text, name="adapter.yaml")
    for argv in (["adapter", "lint", str(path)], ["adapter", "render", str(path)]):
        code = run(argv)
        captured = capsys.readouterr()
        output = captured.out + captured.err
        assert code == 2, output
        assert "Traceback" not in output
        assert re.search(rf"{re.escape(str(path))}:\d+:\d+: ", output), output


def test_explain_refuses_a_hostile_hpa_manifest(capsys, write):
    path = write("kind: HorizontalPodAutoscaler\nspec:\n" + billion_laughs(), name="hpa.yaml")
    code = run(["explain", str(path), "--value", "cpu=50%"])
    output = capsys.readouterr().err
    assert code == 2, output
    assert re.search(r"hpa.yaml:7:\d+: the document holds more than", output), output


def test_a_hostile_lock_file_is_refused_on_resume(capsys, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "experiment.lock.yaml").write_text(billion_laughs())
    code = run(["run", "--resume", str(run_dir), "--dry-run"])
    output = capsys.readouterr().err
    assert code == 2, output
    assert re.search(r"experiment.lock.yaml:5:\d+: the document holds more than", output), output


def test_hostile_kubeconfigs_are_refused_before_the_client_reads_them(tmp_path, monkeypatch):
    bad = tmp_path / "kubeconfig"
    bad.write_text("apiVersion: v1\nkind: Config\nclusters:\n" + billion_laughs())
    with pytest.raises(PrerequisiteError) as caught:
        check_kubeconfigs(bad)
    assert re.search(r"kubeconfig:8:\d+: the document holds more than", str(caught.value))
    good = tmp_path / "good"
    good.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    monkeypatch.setenv("KUBECONFIG", f"{good}:{tmp_path / 'missing'}:{bad}")
    with pytest.raises(PrerequisiteError, match="kubeconfig:8"):
        check_kubeconfigs(None)
    monkeypatch.setenv("KUBECONFIG", str(good))
    check_kubeconfigs(None)
    check_kubeconfigs(tmp_path / "missing")  # left to the client, whose hint says what to do
    with pytest.raises(PrerequisiteError, match="not a regular file"):
        check_kubeconfigs(Path("/dev/zero"))


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--platform", "kubernetes"],
        ["down", "--platform", "kubernetes"],
        ["up", "--platform", "kubernetes"],
        ["doctor", "--platform", "kubernetes"],
    ],
    ids=lambda argv: argv[0],
)
def test_kubernetes_commands_refuse_a_hostile_kubeconfig(capsys, tmp_path, argv):
    bad = tmp_path / "kubeconfig"
    bad.write_bytes(b"apiVersion: v1\nkind: Config\x00\n")
    code = run([*argv, "--kubeconfig", str(bad)])
    output = capsys.readouterr().err
    assert code == 2, output
    assert "Traceback" not in output
    assert f"{bad}:2:13: character 0x0000" in output, output


def test_kubernetes_run_checks_kubeconfig_from_the_environment(capsys, monkeypatch, tmp_path):
    bad = tmp_path / "kubeconfig"
    bad.write_text(billion_laughs())
    monkeypatch.setenv("KUBECONFIG", str(bad))
    code = run(["run", str(SMOKE), "--platform", "kubernetes", "--out", str(tmp_path)])
    output = capsys.readouterr().err
    assert code == 2, output
    assert "holds more than" in output
    assert list(tmp_path.iterdir()) == [bad], "nothing may be written"


def test_release_files_from_a_manifests_dir_are_read_with_the_bounded_loader():
    from hpalab.errors import PlatformError
    from hpalab.platforms.kubernetes import upstream

    component = upstream.components()["metrics-server"]
    with pytest.raises(PlatformError, match="holds more than"):
        upstream.upstream_objects(component, billion_laughs().encode(), instance="lab")
