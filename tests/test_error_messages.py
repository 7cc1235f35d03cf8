"""Issue 14 §5: errors that say the right thing — what is wrong, in the user's words, and where
to look — for the mistakes a new user makes in the first hour."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import cli, run_ffmpeg

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_a_missing_scene_image_is_not_found_and_a_video_is_a_video(tmp_path: Path) -> None:
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-pix_fmt", "yuv420p", str(tmp_path / "clip.mp4"))
    for image, expected, wrong in (("missing.png", "scenes[0].image: file not found", "corrupt"),
                                   ("clip.mp4", "clip.mp4 is a video, not an image", "corrupt")):
        spec = tmp_path / "s.yaml"
        spec.write_text(f'aspect: "9:16"\nscenes:\n  - image: {image}\n')
        result = cli("scenes", str(spec), "-o", str(tmp_path / "o.mp4"))
        assert result.returncode == 2 and expected in result.stderr and wrong not in result.stderr, result.stderr


def test_a_misspelt_scenes_field_suggests_the_right_one_and_the_scenes_reference(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text('aspect: "9:16"\nscenes:\n  - prompt: a red sneaker\n    captoin: Run faster\n')
    result = cli("scenes", str(spec), "-o", str(tmp_path / "o.mp4"), "--dry-run")
    assert result.returncode == 2
    assert "s.yaml:4: scenes[0].captoin: unknown field 'captoin'; did you mean 'caption'?" in result.stderr
    assert "reelforge schema scenes" in result.stderr and "docs/scenes-spec.md" in result.stderr
    assert "schema timeline" not in result.stderr and "docs/overlay.md" not in result.stderr


def test_a_field_of_another_layer_type_is_not_suggested_as_itself(tmp_path: Path) -> None:
    """`size` is a text layer's field: on an image layer the answer was "unknown field 'size';
    did you mean 'size'?". It must say the field does not belong here."""
    spec = tmp_path / "t.yaml"
    spec.write_text("canvas: {width: 320, height: 180}\nclips:\n  - duration: 1\n    layers:\n"
                    "      - {type: image, path: x.png, size: 0.5}\n")
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"), "--dry-run")
    assert result.returncode == 2
    assert "clips[0].layers[0].size: 'size' is not a field here" in result.stderr, result.stderr
    assert "did you mean 'size'" not in result.stderr


def test_the_wrong_command_for_a_spec_names_the_right_one(tmp_path: Path) -> None:
    scenes = cli("render", str(EXAMPLES / "scenes" / "product.yaml"), "-o", str(tmp_path / "o.mp4"))
    assert scenes.returncode == 2 and "is a scenes spec, not a timeline" in scenes.stderr
    assert "reelforge scenes" in scenes.stderr and "unknown field" not in scenes.stderr
    timeline = cli("scenes", str(EXAMPLES / "demo.yaml"), "-o", str(tmp_path / "o.mp4"))
    assert timeline.returncode == 2 and "is a timeline, not a scenes spec" in timeline.stderr
    assert "reelforge render" in timeline.stderr


def test_a_bad_choice_is_one_problem_in_plain_words(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-pix_fmt", "yuv420p", str(video))
    result = cli("overlay", str(video), "--text", "hi", "--position", "middle", "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2
    assert "(1 problem(s))" in result.stderr and "overlays[0].position: Input should be 'top-left'" in result.stderr
    assert "literal[" not in result.stderr and "tuple[" not in result.stderr
    typo = cli("overlay", str(video), "--text", "hi", "--position", "bottm", "-o", str(tmp_path / "o.mp4"))
    assert "did you mean 'bottom'?" in typo.stderr


def test_a_missing_key_offers_the_free_provider_and_a_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REELFORGE_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env file here
    result = cli("image", "a fox", "--provider", "gemini", "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "GEMINI_API_KEY is not set" in result.stderr
    assert "--provider local" in result.stderr and "--dry-run" in result.stderr
    assert "pip install" not in result.stderr  # google-genai is a dependency: it is installed


def test_progress_bars_print_file_names_literally() -> None:
    """Rich reads `[...]` in a progress description as markup: `shot[final].png` lost its
    brackets. Every description column is plain text."""
    cli_dir = Path(__file__).resolve().parents[1] / "src" / "reelforge" / "cli"
    for path in cli_dir.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert 'TextColumn("{task.description}")' not in source, path.name
    from rich.progress import Progress, TextColumn

    column = TextColumn("{task.description}", markup=False)
    with Progress(column, disable=True) as progress:
        task = progress.add_task("shot[final].png")
        assert column.render(progress.tasks[task]).plain == "shot[final].png"


def test_a_render_warning_is_printed_once(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("canvas: {width: 64, height: 36, fps: 10}\noutput: {hardware: nvenc}\n"
                    "clips: [{duration: 0.3, layers: [{type: color, color: '#123456'}]}]\n")
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 0, result.stderr
    if "h264_nvenc" not in result.stderr:
        pytest.skip("this machine has a working NVENC: there is no fallback to warn about")
    assert result.stderr.count("h264_nvenc is not usable here") == 1, result.stderr
