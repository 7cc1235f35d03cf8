"""Issue 21's probes of malformed specs: a clean error (exit 2, field, fix), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import cli


@pytest.mark.parametrize(("text", "expected"), [
    ("canvas: {width: 64, height: 36, fps: 10}\nclips:\n  - duration: 1\n    layers: 5\n", "clips[0].layers"),
    ("defaults: {layer: 3, text: 4}\nclips: 7\n", "defaults.layer"),
    ("clips: " + "[" * 50000 + "]" * 50000 + "\n", "nested too deeply"),
])
def test_malformed_specs_stop_with_a_clean_error(text: str, expected: str, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"), "--dry-run")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "fix:" in result.stderr
