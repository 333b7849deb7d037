"""Property: whatever bytes ``hpalab validate`` is given, it accepts them or refuses them as bad
input (exit 2), never with a traceback, and reads them with bounded memory.

Inputs are random bytes, and the shipped experiments and profiles mutated as a careless or
hostile user would: text edits with YAML's special characters, aliases and control characters,
and edits of the parsed data (values replaced by odd scalars, keys deleted) dumped back.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpalab.cli.validate import validate
from hpalab.errors import BadInput

REPO = Path(__file__).resolve().parents[3]
SHIPPED = sorted((REPO / "experiments").glob("*.yaml")) + sorted(
    (REPO / "loadprofiles").glob("*.yaml")
)
MEMORY_BOUND = 64 * 1024 * 1024
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

YAML_BITS = [
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "!!python/name:os",
    "|",
    ">",
    "'",
    '"',
    "#",
    "\n",
    "  ",
    "\t",
    "? ",
    "---\n",
    "...",
    "%YAML 1.1\n",
    "<<: *a",
    "\x00",
    "\x07",
    "\ufeff",
    "~",
    "null",
    "0s",
    "-1",
    "1e999",
    ".nan",
    "9" * 5000,
    "2024-13-45",
    "é",
    "\U0001f600",
]
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "0s", "-5s", "1e999", "abc", "10x", "<<.Series", "((", "*", "0"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["type", "rps", "name", "x"]), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def tree() -> Iterator[Path]:
    """A copy of the repository's spec files, so profile references still resolve."""
    root = Path(tempfile.mkdtemp(prefix="hpalab-props-"))
    for folder in ("experiments", "loadprofiles"):
        shutil.copytree(REPO / folder, root / folder)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _validate(path: Path) -> None:
    """What ``hpalab validate PATH`` runs; anything but ``BadInput`` would be a traceback."""
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            validate([path], as_json=False)
    except BadInput as error:
        assert error.exit_code == 2
        assert str(error)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"validate used {peak / 1e6:.0f} MB"


@st.composite
def text_mutations(draw: st.DrawFn) -> tuple[str, str]:
    """(relative path, text): a shipped file with a few random text edits."""
    source = draw(st.sampled_from(SHIPPED))
    text = source.read_text()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        match draw(st.sampled_from(["insert", "delete", "duplicate"])):
            case "insert":
                bit = draw(st.sampled_from(YAML_BITS) | st.text(max_size=8))
                text = text[:at] + bit + text[at:]
            case "delete":
                text = text[:at] + text[at + draw(st.integers(min_value=1, max_value=40)) :]
            case _:
                end = min(len(text), at + draw(st.integers(min_value=1, max_value=200)))
                text = text[:end] + text[at:end] + text[end:]
    return f"{source.parent.name}/mutated.yaml", text


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*prefix, index))
    return out


@st.composite
def data_mutations(draw: st.DrawFn) -> tuple[str, str]:
    """(relative path, text): a shipped file whose parsed data had a value replaced or removed."""
    source = draw(st.sampled_from(SHIPPED))
    data = yaml.safe_load(source.read_text())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ODD_VALUES)
        if not isinstance(data, dict):
            break
    return f"{source.parent.name}/mutated.yaml", yaml.safe_dump(data, allow_unicode=True)


@SETTINGS
@given(blob=st.binary(max_size=4096))
def test_random_bytes_never_crash_validate(tree, blob):
    path = tree / "random.yaml"
    path.write_bytes(blob)
    _validate(path)


@SETTINGS
@given(case=text_mutations())
def test_text_mutations_of_shipped_specs_never_crash_validate(tree, case):
    name, text = case
    path = tree / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _validate(path)


@SETTINGS
@given(case=data_mutations())
def test_data_mutations_of_shipped_specs_never_crash_validate(tree, case):
    name, text = case
    path = tree / name
    path.write_text(text, encoding="utf-8")
    _validate(path)


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: hpalab/v1\nkind: [Experiment]\n",  # was TypeError: unhashable type
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: p}\nspec:\n  stages:\n"
        "    - {type: hold, rps: 1, duration: 1000000h}\n",  # was summed for hours
    ],
    ids=["kind-is-a-list", "profile-of-years"],
)
def test_inputs_this_property_found(tree, text):
    path = tree / "found.yaml"
    path.write_text(text)
    _validate(path)
