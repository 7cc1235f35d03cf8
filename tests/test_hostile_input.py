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


# --- size bounds: a small file must not expand into minutes of planning --------------------------

_CANVAS = "canvas: {width: 64, height: 36, fps: 10}\n"
_TEN = ", ".join(["{type: text, text: x}"] * 10)
_ALIAS_BOMB = _CANVAS + ("clips:\n  - duration: 1\n    layers: &e [&d [&c [&b [&a [" + _TEN + "],"
                         + ",".join(["*a"] * 9) + "]," + ",".join(["*b"] * 9) + "]," + ",".join(["*c"] * 9) + "],"
                         + ",".join(["*d"] * 9) + "]\n")


@pytest.mark.parametrize(("text", "env", "expected"), [
    (_ALIAS_BOMB, {}, "REELFORGE_MAX_SPEC_VALUES"),  # 11 KB of anchors → 100,000 layers
    (_CANVAS + "clips: &c [{duration: 1, layers: *c}]\n", {}, "contains itself"),
    (_CANVAS + "clips: [{duration: 1, layers: [{type: text, text: '" + "x" * 30_000 + "'}]}]\n", {},
     "REELFORGE_MAX_SPEC_STRING"),
    (_CANVAS + "clips:\n" + "  - {duration: 1, layers: [{type: color, color: '#000'}]}\n" * 4,
     {"REELFORGE_MAX_CLIPS": "3"}, "REELFORGE_MAX_CLIPS"),
    (_CANVAS + "clips:\n  - {duration: 1, layers: [" + ", ".join(["{type: color, color: '#000'}"] * 4) + "]}\n",
     {"REELFORGE_MAX_LAYERS": "3"}, "clips[0].layers"),
    (_CANVAS + "clips: [{duration: 1, layers: [{type: color, color: '#000'}]}]\n",
     {"REELFORGE_MAX_SPEC_BYTES": "64"}, "REELFORGE_MAX_SPEC_BYTES"),
])
def test_specs_over_a_bound_stop_before_planning(text: str, env: dict[str, str], expected: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.errors import SpecError
    from reelforge.spec.loader import load_timeline

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = tmp_path / "big.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_timeline(spec)
    shown = f"{caught.value} {caught.value.hint}"
    assert expected in shown, shown
    if env:  # the variable the message names really raises the bound
        name = next(iter(env))
        monkeypatch.setenv(name, str(10 * len(text)))
        assert load_timeline(spec).clips


def test_an_alias_bomb_fails_fast_from_the_cli(tmp_path: Path) -> None:
    spec = tmp_path / "bomb.yaml"
    spec.write_text(_ALIAS_BOMB)
    assert spec.stat().st_size < 2000
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "250,000 values" in result.stderr and "REELFORGE_MAX_SPEC_VALUES" in result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_a_huge_font_size_names_the_field(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(_CANVAS + "clips: [{duration: 1, layers: [{type: text, text: hi, size: 100000}]}]\n")
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"), "--dry-run")
    assert result.returncode == 2 and "clips[0].layers[0].size" in result.stderr and "2000" in result.stderr


def test_text_that_runs_off_the_frame_is_reported_every_time(tmp_path: Path) -> None:
    from reelforge.render.api import render

    words = "lorem ipsum dolor " * 300
    spec = {"canvas": {"width": 320, "height": 180, "fps": 10},
            "clips": [{"duration": 0.5, "layers": [{"type": "text", "text": words}]}]}
    for _ in range(2):  # the second render takes the text still from the cache
        result = render(spec, tmp_path / "o.mp4")
        (warning,) = [w for w in result.warnings if "clips[0].layers[0].text" in w]
        assert "fits the 320x180 frame" in warning
        shown = int(warning.split("only ")[1].split("%")[0])
        assert shown < 20
    moved = render({**spec, "clips": [{"duration": 0.5, "layers": [{"type": "text", "text": "fits"}]}, *spec["clips"]]},
                   tmp_path / "m.mp4")  # the same (cached) text as the second clip: named as such
    assert [w.split(":")[0] for w in moved.warnings] == ["clips[1].layers[0].text"]
    fits = render({**spec, "clips": [{"duration": 0.5, "layers": [{"type": "text", "text": "fits"}]}]},
                  tmp_path / "p.mp4")
    assert not fits.warnings


# --- a video damaged mid-file renders, but says so, naming the file and the time --------------------

@pytest.fixture(scope="module")
def damaged_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import random

    from .conftest import run_ffmpeg

    folder = tmp_path_factory.mktemp("damaged")
    clean, damaged = folder / "clean.mp4", folder / "damaged.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4", "-c:v", "libx264", "-g", "25",
               "-pix_fmt", "yuv420p", str(clean))
    data = bytearray(clean.read_bytes())
    rng = random.Random(1)
    middle = len(data) // 2
    data[middle:middle + 3000] = bytes(rng.randrange(256) for _ in range(3000))
    damaged.write_bytes(bytes(data))
    return clean, damaged


def test_a_damaged_video_is_named_with_the_time_of_the_damage(damaged_video: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    from reelforge.render.api import render

    clean, damaged = damaged_video
    for path, expect_warning in ((clean, False), (damaged, True)):
        spec = {"canvas": {"width": 320, "height": 240, "fps": 25},
                "clips": [{"layers": [{"type": "video", "path": str(path)}]}]}
        result = render(spec, tmp_path / f"{path.stem}.mp4")
        found = [w for w in result.warnings if "is damaged" in w]
        assert bool(found) == expect_warning, result.warnings
        if expect_warning:
            assert str(damaged) in found[0]
            seconds = float(found[0].split("from about ")[1].split(" s")[0])
            assert 1.0 <= seconds <= 3.0, found[0]  # the bytes replaced are in the middle of 4 s


def test_overlay_marks_a_damaged_input_in_its_summary(damaged_video: tuple[Path, Path], tmp_path: Path) -> None:
    clean, damaged = damaged_video
    result = cli("overlay", str(clean), str(damaged), "--text", "hi", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rows = {Path(line.split("│")[1].strip()).name: line.split("│")[2] for line in result.stdout.splitlines()
            if line.count("│") > 3 and ".mp4" in line}
    assert "damaged input" in rows["damaged.mp4"] and "damaged" not in rows["clean.mp4"], result.stdout
    assert f"warning: {damaged} is damaged from about" in result.stderr


def write_broken_jpeg(path: Path) -> None:
    """A canvas-sized (320x180) JPEG whose markers are intact but whose second half of data is
    garbage: it passes the up-front checks and fails when decoded."""
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (180, 320, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    for i in range(len(data) // 2, len(data) - 10, 5):
        data[i] = 0xFF if i % 2 else 0xD9
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("feed_process", ["0", "1"])
def test_a_corrupt_full_frame_jpeg_that_moves_is_named(tmp_path: Path, feed_process: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A canvas-sized JPEG under Ken Burns is read as it is by the frame feed (in threads, or in
    the feed process that `serve` uses): broken data must end the render with exit 2 and a
    message naming the file, with no traceback and no output left behind."""
    write_broken_jpeg(tmp_path / "frame.jpg")
    spec = tmp_path / "s.yaml"
    spec.write_text("canvas: {width: 320, height: 180, fps: 10}\nclips:\n  - duration: 1\n"
                    "    layers: [{type: image, path: frame.jpg, motion: zoom-in}]\n")
    monkeypatch.setenv("REELFORGE_FEED_PROCESS", feed_process)
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2, result.stderr
    assert f"image file is corrupt or truncated: {tmp_path / 'frame.jpg'}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.mp4").exists() and not list(tmp_path.glob(".o.*"))


def test_a_corrupt_full_frame_jpeg_handed_to_ffmpeg_is_named(tmp_path: Path) -> None:
    """A canvas-sized JPEG goes to ffmpeg as it is (no re-encode); when its data is broken ffmpeg
    fails, and the error must name the file, not show ffmpeg's log."""
    write_broken_jpeg(tmp_path / "frame.jpg")
    spec = tmp_path / "s.yaml"
    spec.write_text("canvas: {width: 320, height: 180, fps: 10}\nclips:\n  - duration: 1\n"
                    "    layers: [{type: image, path: frame.jpg}]\n")
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2, result.stderr
    assert f"{tmp_path / 'frame.jpg'} cannot be decoded" in result.stderr and "libx264" not in result.stderr
    assert not (tmp_path / "o.mp4").exists() and not list(tmp_path.glob(".o.*"))
