"""The CRI log format the shim writes (what `kubectl logs` parses)."""

from __future__ import annotations

import re
from pathlib import Path

from hpalab.cluster.runtime.shim import LogWriter

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (stdout|stderr) F (.*)$")


def test_lines_are_split_and_tagged_by_stream(tmp_path: Path) -> None:
    log = LogWriter(tmp_path / "0.log")
    log.write("stdout", b"one\ntw")
    log.write("stderr", b"err\n")
    log.write("stdout", b"o\nthree")
    log.close("stdout")
    log.close("stderr")
    lines = [LINE.match(line) for line in (tmp_path / "0.log").read_text().splitlines()]
    assert all(lines)
    assert [(m.group(1), m.group(2)) for m in lines if m] == [
        ("stdout", "one"),
        ("stderr", "err"),
        ("stdout", "two"),
        ("stdout", "three"),
    ]


def test_reopen_follows_rotation(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    log = LogWriter(path)
    log.write("stdout", b"before\n")
    path.rename(tmp_path / "0.log.1")
    log.reopen_wanted = True
    log.write("stdout", b"after\n")
    assert "after" in path.read_text() and "after" not in (tmp_path / "0.log.1").read_text()
