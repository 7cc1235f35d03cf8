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


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims width x height (only the header: Pillow refuses it before decoding)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_a_900_megapixel_still_is_refused_cleanly(tmp_path: Path) -> None:
    _png_header_only(tmp_path / "huge.png", 30000, 30000)
    spec = tmp_path / "s.yaml"
    spec.write_text("canvas: {width: 64, height: 36, fps: 10}\nclips:\n  - duration: 1\n"
                    "    layers: [{type: image, path: huge.png}]\n")
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2, result.stderr
    assert "too large" in result.stderr and "Traceback" not in result.stderr
