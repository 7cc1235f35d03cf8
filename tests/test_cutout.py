"""Cut-out engine: alpha against exact ground truth, holes, white parts, shadows, halos, the
CLI batch with bad files. Ground truth comes from bench/cutout_data.py (drawn subjects)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cutout_data import sample
from reelforge.imaging.cutout import models
from reelforge.imaging.cutout.engine import cut_local
from reelforge.imaging.cutout.key import key
from reelforge.pipelines.cutout import cutout
from tests.conftest import cli

needs_model = pytest.mark.skipif(not models.model_path("u2netp").is_file(),
                                 reason="u2netp not installed (make test installs it)")


def alpha_of(image: Image.Image) -> np.ndarray:
    return np.asarray(image.getchannel("A"), np.float32) / 255.0


def scores(result_image: Image.Image, s) -> dict[str, float]:  # noqa: ANN001
    rgba = np.asarray(result_image, np.float32) / 255.0
    a, f = rgba[..., 3], rgba[..., :3]
    band = (s.alpha > 0.01) & (s.alpha < 0.99)
    over_black = np.abs(a[..., None] * f - s.alpha[..., None] * s.foreground)
    return {"mae": float(np.abs(a - s.alpha).mean() * 255),
            "iou": float(((a > 0.5) & (s.alpha > 0.5)).sum() / ((a > 0.5) | (s.alpha > 0.5)).sum()),
            "halo": float(over_black[band].mean() * 255)}


def test_key_on_white_matches_ground_truth_and_opens_the_handle_hole() -> None:
    s = sample("a", "mug", 384)
    result = cut_local(s.image, "key")
    m = scores(result.image, s)
    assert m["mae"] < 1.0 and m["iou"] > 0.99 and m["halo"] < 10, m
    a = alpha_of(result.image)
    hole = (round(384 * 0.72), round(384 * 0.515))  # centre of the handle hole (x, y)
    assert a[hole[1], hole[0]] == 0.0, "the hole inside the mug handle must be transparent"
    rim = (round(384 * 0.4), round(384 * 0.28))  # the white rim band is part of the mug
    assert a[rim[1], rim[0]] == 1.0
    assert result.details["holes"] >= 1


def test_light_sneaker_on_white_keeps_its_white_parts() -> None:
    s = sample("a", "sneaker", 384)
    m = scores(cut_local(s.image, "key").image, s)
    assert m["mae"] < 1.0 and m["iou"] > 0.985, m


def test_edges_are_decontaminated_no_white_fringe_over_black() -> None:
    s = sample("a", "headphones", 384)
    rgba = np.asarray(cut_local(s.image, "key").image, np.float32) / 255.0
    edge = (s.alpha > 0.05) & (s.alpha < 0.95)
    assert edge.sum() > 200
    truth = s.foreground * s.alpha[..., None]  # the subject over black, as it should look
    ours = rgba[..., :3] * rgba[..., 3:4]
    naive = (s.image.astype(np.float32) / 255.0) * rgba[..., 3:4]  # same alpha, colours not un-composited
    assert np.abs(ours - truth)[edge].mean() < 0.02
    assert np.abs(naive - truth)[edge].mean() > 5 * np.abs(ours - truth)[edge].mean()  # the white fringe


def test_gradient_jpeg_backdrop_is_fitted_and_keyed() -> None:
    s = sample("c", "headphones", 384)
    result = cut_local(s.image, "auto")
    assert result.method == "key" and "gradient" in result.reason
    m = scores(result.image, s)
    assert m["mae"] < 2.0 and m["iou"] > 0.98, m


def test_soft_shadow_is_background_by_default_and_kept_on_request() -> None:
    s = sample("b", "headphones", 384)
    plain = key(s.image)
    shadow_truth = (s.alpha < 0.01) & (s.image.mean(axis=2) < 200)  # darkened backdrop pixels
    assert shadow_truth.sum() > 500
    assert plain.alpha[shadow_truth].mean() < 0.05
    kept = key(s.image, keep_shadow=True)
    assert 0.1 < kept.alpha[shadow_truth].mean() < 0.6
    assert np.median(kept.foreground[shadow_truth & (kept.alpha > 0.1)]) < 0.05  # shadows: see-through black


def test_isolated_specks_are_removed() -> None:
    s = sample("a", "mug", 384)
    image = s.image.copy()
    rng = np.random.default_rng(1)
    for y, x in rng.integers(5, 60, (12, 2)):  # dust in the empty top-left corner
        image[y:y + 2, x:x + 2] = 90
    out = key(image)
    assert out.alpha[:70, :70].max() == 0.0
    assert out.details["specks_removed"] >= 10


def test_qa_flags_empty_and_border_touching_subjects() -> None:
    blank = np.full((128, 128, 3), 255, np.uint8)
    assert "empty-mask" in cut_local(blank, "key").qa.flags
    s = sample("a", "mug", 256)
    cropped = s.image[:, 60:]  # the mug now touches the left edge
    assert "touches-border" in cut_local(cropped, "key").qa.flags


@needs_model
def test_ml_and_refine_on_a_photo_backdrop() -> None:
    s = sample("d", "photo", 320)
    ml = scores(cut_local(s.image, "ml").image, s)
    refined = scores(cut_local(s.image, "refine").image, s)
    assert ml["iou"] > 0.8, ml
    assert refined["iou"] > 0.8 and refined["mae"] < ml["mae"] * 1.2, (ml, refined)


@needs_model
def test_ml_mask_is_rembgs_own_at_full_size() -> None:
    """predict_mask hands rembg the image at the network's size and scales the mask back itself:
    the result must stay rembg's answer (same shrink; only the upscale filter differs)."""
    from rembg import remove

    from reelforge.imaging.cutout.ml import _network_size, predict_mask, session

    assert _network_size(session("u2netp")) == (320, 320)  # the shortcut is taken
    s = sample("d", "headphones", 640)  # a busy photo: where the model is most sensitive to its input
    ours = predict_mask(s.image, "u2netp")
    theirs = np.asarray(remove(Image.fromarray(s.image), session=session("u2netp"), only_mask=True),
                        np.float32) / 255.0
    assert ours.shape == (640, 640) and ours.dtype == np.float32
    assert np.abs(ours - theirs).mean() < 0.005 and np.abs(ours - theirs).max() < 0.15


@needs_model
def test_refine_keeps_pymattings_warnings_off_stdout(capfd) -> None:  # noqa: ANN001
    """On this image pymatting's unshifted incomplete Cholesky fails and prints a warning."""
    s = sample("d", "sneaker", 400)
    result = cut_local(s.image, "refine")
    assert capfd.readouterr().out == ""
    assert result.method == "refine" and 0.05 < result.qa.coverage < 0.95


@needs_model
def test_auto_explains_its_choice() -> None:
    plain = cut_local(sample("a", "mug", 256).image, "auto")
    assert plain.method == "key" and plain.reason.startswith("auto: uniform backdrop")
    busy = cut_local(sample("d", "mug", 256).image, "auto")
    assert busy.method == "refine" and "busy backdrop" in busy.reason


def test_python_api_returns_rgba_with_metadata(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "mug.png"
    Image.fromarray(sample("a", "mug", 256).image).save(path)
    out = cutout(path, method="key")
    assert out.mode == "RGBA" and out.size == (256, 256)
    meta = out.info["cutout"]
    assert meta["method"] == "key" and 0.2 < meta["qa"]["coverage"] < 0.4


def _write_inputs(folder) -> None:  # noqa: ANN001
    folder.mkdir()
    good = Image.fromarray(sample("a", "mug", 256).image)
    good.save(folder / "mug.png")
    good.convert("CMYK").save(folder / "cmyk.jpg")
    good.convert("L").save(folder / "grey.png")
    good.convert("P").save(folder / "palette.png")
    Image.fromarray(np.asarray(good.convert("L"), np.uint16) * 257).save(folder / "deep16.png")
    good.save(folder / "anim.gif", save_all=True, append_images=[good.rotate(10)], duration=100)
    transparent = good.convert("RGBA")
    transparent.putalpha(Image.new("L", good.size, 0).resize(good.size))
    transparent.paste((255, 0, 0, 255), (100, 100, 150, 150))
    transparent.save(folder / "already.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    data = (folder / "mug.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.new("RGB", (16, 16), "white").save(folder / "tiny.png")
    (folder / "notes.txt").write_text("not an image")  # not an image suffix: ignored in folders


def test_cli_batch_continues_past_bad_files_and_reports_them(tmp_path) -> None:  # noqa: ANN001
    src, out = tmp_path / "in", tmp_path / "out"
    _write_inputs(src)
    result = cli("cutout", str(src), "-o", str(out), "--method", "key", "--mask", "-j", "2")
    assert result.returncode == 2, result.stderr
    written = sorted(p.name for p in out.iterdir())
    good = ["already", "anim", "cmyk", "deep16", "grey", "mug", "palette"]
    assert written == sorted([f"{n}.png" for n in good] + [f"{n}.mask.png" for n in good])
    for name in ("corrupt", "truncated", "tiny"):
        assert name in result.stdout
    assert "3 failed" in result.stdout and "too small" in result.stdout
    assert "first frame" in result.stdout  # the animated GIF warning
    assert "kept" in result.stdout  # the already-transparent input kept its alpha
    kept = np.asarray(Image.open(out / "already.png"))
    assert kept[0, 0, 3] == 0 and kept[120, 120, 3] == 255
    for name in good:
        rgba = Image.open(out / f"{name}.png")
        assert rgba.mode == "RGBA" and rgba.size == (256, 256)


def test_cli_single_file_with_background_and_crop(tmp_path) -> None:  # noqa: ANN001
    src = tmp_path / "mug.png"
    Image.fromarray(sample("a", "mug", 256).image).save(src)
    out = tmp_path / "mug-on-black.png"
    result = cli("cutout", str(src), "-o", str(out), "--method", "key", "--bg", "#000000", "--crop")
    assert result.returncode == 0, result.stderr
    img = Image.open(out)
    assert img.size[0] < 200 and img.size[1] < 200  # trimmed to the mug plus a margin
    rgb = np.asarray(img.convert("RGB"))
    assert tuple(rgb[0, 0]) == (0, 0, 0)  # composited on black, no white left


def test_cli_rejects_unknown_method(tmp_path) -> None:  # noqa: ANN001
    result = cli("cutout", str(tmp_path), "-o", str(tmp_path / "o"), "--method", "magic")
    assert result.returncode == 2 and "magic" in result.stderr


def test_models_list_shows_the_installed_model() -> None:
    result = cli("models", "list")
    assert result.returncode == 0
    if models.model_path("u2netp").is_file():
        assert any(line.startswith("u2netp") and "installed" in line for line in result.stdout.splitlines())


def test_cli_cloud_method_talks_to_the_configured_base_url(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from tests.fakes.cutout_servers import APIS, TEST_KEY, FakeCutoutServer

    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        Image.fromarray(sample("a", "mug", 96, seed=i).image).save(src / f"mug{i}.png")
    with FakeCutoutServer(APIS["removebg"], ("ok",)) as server:
        monkeypatch.setenv("REMOVEBG_API_KEY", TEST_KEY)
        monkeypatch.setenv("REELFORGE_REMOVEBG_BASE_URL", server.url)
        result = cli("cutout", str(src), "-o", str(tmp_path / "out"), "--method", "removebg", "-j", "1")
        assert result.returncode == 0, result.stdout + result.stderr
        # the two files have the same pixels (sample ignores the seed here): one step key, paid once
        assert len(server.calls) == 1
    assert Image.open(tmp_path / "out" / "mug0.png").mode == "RGBA"
    monkeypatch.delenv("REMOVEBG_API_KEY")
    result = cli("cutout", str(src / "mug0.png"), "-o", str(tmp_path / "x.png"), "--method", "removebg")
    # a missing key fails before any file is read or call made, saying what to set
    assert result.returncode == 2 and "REMOVEBG_API_KEY" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_decompression_bomb_is_refused_without_decoding(tmp_path) -> None:  # noqa: ANN001
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_050, 10_050)).save(bomb)  # 101 MP, a few KB on disk
    result = cli("cutout", str(bomb), "-o", str(tmp_path / "bomb-out.png"))
    assert result.returncode == 2 and "too large" in result.stdout
    assert list(tmp_path.iterdir()) == [bomb]


def test_cutout_example_script_runs(tmp_path) -> None:  # noqa: ANN001
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "cutout.sh"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(script), str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["headphones-on-white.mask.png", "headphones-on-white.png", "mug-on-grey.mask.png",
                     "mug-on-grey.png", "mug-on-navy.png"]
    cut = np.asarray(Image.open(tmp_path / "headphones-on-white.png"))
    assert cut[5, 5, 3] == 0 and cut.shape == (640, 640, 4)
    navy = Image.open(tmp_path / "mug-on-navy.png").convert("RGB")
    assert navy.size[0] < 640 and navy.getpixel((0, 0)) == (0x1B, 0x2A, 0x4A)


@pytest.mark.parametrize("outcome", ["downloaded", "network down"])
def test_installing_a_downloaded_model_leaves_only_the_model(outcome: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """rembg downloads into `<U2NET_HOME>/models/<name>/`: that showed as `models/models/…` and an
    empty folder stayed behind after a failed download. Only `<models>/<name>.onnx` may remain."""
    import os

    from rembg.sessions import sessions

    from reelforge.errors import ProviderUnavailable
    from reelforge.imaging.cutout import models
    from reelforge.settings import get_settings

    monkeypatch.setenv("REELFORGE_MODELS", str(tmp_path / "models"))
    get_settings.cache_clear()
    session = sessions["u2net"]

    def download(*args: object, **kwargs: object) -> str:  # what rembg does, minus the network
        if outcome == "network down":
            raise OSError("Failed to resolve 'github.com'")
        folder = Path(os.environ["U2NET_HOME"]) / "models" / "u2net"
        folder.mkdir(parents=True)
        (folder / "u2net.onnx").write_bytes(b"onnx bytes")
        return str(folder / "u2net.onnx")

    monkeypatch.setattr(session, "download_models", download)
    try:
        if outcome == "network down":
            with pytest.raises(ProviderUnavailable, match="needs internet"):
                models.install("u2net")
            assert list((tmp_path / "models").iterdir()) == []
        else:
            assert models.install("u2net") == tmp_path / "models" / "u2net.onnx"
            assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["u2net.onnx"]
        assert os.environ["U2NET_HOME"] == str(tmp_path / "models")  # rembg loads from the models folder again
    finally:
        get_settings.cache_clear()
