from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path):
    def _write(text: str | bytes, name: str = "exp.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write
