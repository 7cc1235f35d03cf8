"""Ken Burns quality, measured on what the renderer writes: a synthetic checkerboard panned at
1 px/frame and zoomed 1.0 → 1.2, decoded back losslessly (FFV1 in MKV keeps every pixel) so
the encoder's loss does not blur the measurement.

- per-frame displacement by phase correlation follows the eased path within 0.1 px (no
  integer-rounding jitter, no stand-still-then-jump);
- a static-textured region does not shimmer: its temporal variance after undoing the known
  motion stays below a bound.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.registration import phase_cross_correlation

from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import Command, Input, OutputFile, compile_argv, feeds_of
from reelforge.ffmpeg.graph import FilterGraph
from reelforge.ffmpeg.run import run_ffmpeg
from reelforge.imaging.motion.warp import Move, eased
from reelforge.render.api import prepare_render

W, H, FPS = 640, 360, 30
FRAMES = 60


def checkerboard(size: tuple[int, int], cell: int = 12) -> Image.Image:
    """Checkerboard under a smooth blur (an ideal edge would alias whatever the resampler),
    plus faint smooth noise: a pure board is periodic, and phase correlation could lock onto
    a neighbouring cell."""
    import cv2

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    board = (((xx // cell) + (yy // cell)) % 2).astype(np.float32) * 160 + 48
    noise = cv2.GaussianBlur(np.random.default_rng(5).normal(0, 250, (h, w)).astype(np.float32), (0, 0), 3.0)
    board = cv2.GaussianBlur(board, (0, 0), 1.2) + noise
    gray = np.clip(board, 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB")


def render_luma(tmp_path: Path, image: Path, motion: dict, frames: int = FRAMES) -> np.ndarray:
    """The renderer's own command for one clip with `motion`, its video written as raw luma
    instead of H.264 (lossless, so the measurement sees the resampler, not the encoder)."""
    spec = {"canvas": {"width": W, "height": H, "fps": FPS},
            "clips": [{"duration": frames / FPS, "layers": [{"type": "image", "path": str(image), "motion": motion}]}]}
    work = prepare_render(spec, tmp_path / "unused.mp4")
    assert work.command is not None
    raw = tmp_path / "luma.gray"
    out = work.command.outputs[0]
    cmd = replace(work.command, outputs=(OutputFile(str(raw), out.maps[:1], ("-f", "rawvideo", "-pix_fmt", "gray")),))
    run_ffmpeg(compile_argv(cmd, ffmpeg=ffmpeg_path()), feeds=feeds_of(cmd))
    return np.fromfile(raw, np.uint8).reshape(-1, H, W).astype(np.float64)


def shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dx, dy) that moves a's content onto b's."""
    (dy, dx), _, _ = phase_cross_correlation(b, a, upsample_factor=100, normalization=None)
    return float(dx), float(dy)


def expected_pan(move: Move, source: tuple[int, int], box: tuple[int, int]) -> np.ndarray:
    """Per-frame horizontal content displacement (output px) the eased path asks for."""
    lefts = np.array([move.window(n, source)[0] for n in range(move.frames)])
    widths = np.array([move.window(n, source)[2] for n in range(move.frames)])
    return -np.diff(lefts) * box[0] / widths[1:]


@pytest.mark.parametrize("easing", ["linear", "ease-in-out"])
def test_pan_follows_the_eased_path_within_a_tenth_of_a_pixel(tmp_path: Path, easing: str) -> None:
    """At zoom 1.2 the still is prepared at 1.2x the box: a focus travel of 1 box px per frame
    is (1/(1.2·W)) of the still per frame. Linear: every frame moves exactly 1 px."""
    zoom, span = 1.2, (FRAMES - 1) / (1.2 * W)
    motion = {"zoom_from": zoom, "zoom_to": zoom, "focus_from": [0.5 - span / 2, 0.5],
              "focus_to": [0.5 + span / 2, 0.5], "easing": easing}
    image = tmp_path / "board.png"
    checkerboard((W * 2, H * 2)).save(image)
    frames = render_luma(tmp_path, image, motion)
    assert len(frames) == FRAMES
    source = (round(W * zoom), round(H * zoom))
    move = Move(zoom, zoom, (0.5 - span / 2, 0.5), (0.5 + span / 2, 0.5), easing, FRAMES)
    expected = expected_pan(move, source, (W, H))
    if easing == "linear":
        assert np.allclose(expected, -1.0, atol=1e-9)
    measured = np.array([shift(frames[n - 1][60:300, 160:480], frames[n][60:300, 160:480])
                         for n in range(1, FRAMES)])
    assert np.abs(measured[:, 0] - expected).max() < 0.1, (measured[:, 0] - expected).round(3)
    assert np.abs(measured[:, 1]).max() < 0.1  # no vertical wobble


def test_zoom_follows_the_eased_path_within_a_tenth_of_a_pixel(tmp_path: Path) -> None:
    """Zoom 1.0 → 1.2 about the centre (the `zoom-in` preset). Frame n is frame n−1 scaled by
    z[n]/z[n−1] about the centre; undo that expected step and what is left, measured on two
    patches on opposite sides of the centre, must be under 0.1 px (a wrong zoom rate shows as
    opposite residual shifts, a jitter as a common one)."""
    import cv2

    image = tmp_path / "board.png"
    checkerboard((W * 2, H * 2)).save(image)
    frames = render_luma(tmp_path, image, "zoom-in")
    assert len(frames) == FRAMES
    zooms = np.array([1.0 + 0.2 * eased("ease-in-out", n, FRAMES) for n in range(FRAMES)])
    centre = np.array([W / 2 - 0.5, H / 2 - 0.5])  # in pixel-index coordinates
    errors = []
    for n in range(1, FRAMES):
        r = zooms[n] / zooms[n - 1]
        back = np.array([[r, 0, (1 - r) * centre[0]], [0, r, (1 - r) * centre[1]]])  # n's pixel of n−1's point
        undone = cv2.warpAffine(frames[n].astype(np.float32), back, (W, H), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
        for cx, cy in ((170, 110), (470, 250)):
            patch = (slice(cy - 64, cy + 64), slice(cx - 64, cx + 64))
            errors.append(max(map(abs, shift(frames[n - 1][patch], undone[patch]))))
    assert max(errors) < 0.1, np.round(errors, 3)


def test_a_static_textured_region_does_not_shimmer(tmp_path: Path) -> None:
    """A slow sub-pixel pan over fine texture: undo the known motion (shift each frame back by
    the eased path) and the region must stay still — its per-pixel temporal standard deviation
    small next to the texture's own contrast. Integer rounding (zoompan) or aliasing fails it."""
    zoom, span = 1.2, 0.3 * (FRAMES - 1) / (1.2 * W)  # 0.3 px a frame: every phase is visited
    motion = {"zoom_from": zoom, "zoom_to": zoom, "focus_from": [0.5 - span / 2, 0.5],
              "focus_to": [0.5 + span / 2, 0.5], "easing": "linear"}
    image = tmp_path / "board.png"
    checkerboard((W * 2, H * 2), cell=6).save(image)
    frames = render_luma(tmp_path, image, motion)
    import cv2

    offsets = np.cumsum([0.0, *[0.3] * (FRAMES - 1)])
    region = (slice(100, 260), slice(200, 440))
    aligned = []
    for frame, dx in zip(frames, offsets):
        back = np.float32([[1, 0, -dx], [0, 1, 0]])  # content moved left by dx: move it back right
        undone = cv2.warpAffine(frame.astype(np.float32), back, (W, H), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
        aligned.append(undone[region])
    stack = np.stack(aligned)
    texture = stack.mean(axis=0).std()
    shimmer = stack.std(axis=0).mean()
    assert texture > 20  # the region has real texture to shimmer with
    assert shimmer < 0.08 * texture, (shimmer, texture)


def test_local_i2v_kenburns_starts_on_the_still_and_follows_its_path(tmp_path: Path) -> None:
    """The local motion engine (clip provider `local`) uses the same warp: a frame already at
    the output size (a clip's last frame, to extend) is frame 0 unchanged, and the pan moves
    content along the smoothstep path within 0.1 px per frame (zoom kept at 1.0 + tiny drift)."""
    from reelforge.imaging.motion.kenburns import kenburns

    still = np.asarray(checkerboard((W, H)))
    frames = [f[..., 1].astype(np.float64) for f in kenburns(still, (W, H), 40, zoom=1.0, pan=(0.0, 0.0))]
    assert np.array_equal(frames[0], still[..., 1])
    big = np.asarray(checkerboard((W * 2, H * 2)))
    frames = [f[..., 1].astype(np.float64) for f in kenburns(big, (W, H), 40, zoom=1.1, pan=(0.03, 0.0))]
    move = Move(1.0, 1.1, (0.5, 0.5), (0.53, 0.5), "smoothstep", 40)
    source = (round(W * 1.1 / 2) * 2, round(H * 1.1 / 2) * 2)
    import cv2

    for n in range(1, 40):
        (l0, t0, w0, h0), (l1, t1, w1, h1) = move.window(n - 1, source), move.window(n, source)
        # frame n−1's pixel x shows source point l0 + (x + ½)·w0/W − ½, which frame n shows at
        # (l0 − l1)·W/w1 + (x + ½)·w0/w1 − ½: undo that and frame n must be frame n−1.
        rx, ry = w0 / w1, h0 / h1
        back = np.array([[rx, 0, (l0 - l1) * W / w1 + 0.5 * rx - 0.5], [0, ry, (t0 - t1) * H / h1 + 0.5 * ry - 0.5]])
        undone = cv2.warpAffine(frames[n].astype(np.float32), back, (W, H), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
        dx, dy = shift(frames[n - 1][80:280, 160:480], undone[80:280, 160:480])
        assert max(abs(dx), abs(dy)) < 0.1, (n, dx, dy)


def test_a_feed_that_fails_fails_the_run_instead_of_a_short_video(tmp_path: Path) -> None:
    """ffmpeg sees a failed feed as an early end of file and would write a shorter video:
    the run must raise the feed's error."""
    class Broken:
        def chunks(self):  # two good frames, then the still turns out unreadable
            yield bytes(64 * 64 * 3 // 2)
            yield bytes(64 * 64 * 3 // 2)
            raise OSError("still vanished")

    out = tmp_path / "short.mp4"
    cmd = Command((Input("pipe:@0", ("-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", "64x64",
                                     "-framerate", "30"), Broken()),), FilterGraph(()),
                  (OutputFile(str(out), ("0:v",), ("-c:v", "libx264")),))
    with pytest.raises(OSError, match="still vanished"):
        run_ffmpeg(compile_argv(cmd, ffmpeg=ffmpeg_path()), feeds=feeds_of(cmd))


def test_without_inheritable_pipes_the_filter_path_renders_the_same_move(tmp_path: Path, monkeypatch) -> None:
    """Where pipes cannot be handed to ffmpeg (not POSIX) the move is ffmpeg's perspective
    filter: same frame count, and frames that match the fed path closely."""
    import reelforge.render.graph as graph

    image = tmp_path / "board.png"
    checkerboard((W * 2, H * 2)).save(image)
    fed = render_luma(tmp_path, image, "zoom-in", frames=20)
    monkeypatch.setattr(graph, "feeds_supported", lambda: False)
    filtered = render_luma(tmp_path, image, "zoom-in", frames=20)
    assert fed.shape == filtered.shape == (20, H, W)
    import cv2

    for n in range(20):  # the same picture at the same moment (resamplers differ: compare blurred)
        a, b = cv2.GaussianBlur(fed[n], (0, 0), 2), cv2.GaussianBlur(filtered[n], (0, 0), 2)
        assert np.abs(a - b).mean() < 3, n
        assert max(map(abs, shift(fed[n], filtered[n]))) < 0.15, n


def test_raw_yuv_frames_keep_their_colours_through_write_mp4(tmp_path: Path) -> None:
    """The local engine hands write_mp4 BT.709 planes. Tagging only the output made ffmpeg read
    them as BT.601 and convert: every local clip came out darker (Y 68 → 62)."""
    import subprocess

    from reelforge.ffmpeg.binary import ffmpeg_path
    from reelforge.ffmpeg.frames import write_mp4
    from reelforge.imaging.motion.warp import rgb_to_yuv420

    colour = (80, 50, 100)
    flat = np.zeros((64, 64, 3), np.uint8)
    flat[:] = colour
    planes = np.concatenate([p.ravel() for p in rgb_to_yuv420(flat)])
    write_mp4([planes] * 3, tmp_path / "flat.mp4", (64, 64), 24, pix_fmt="yuv420p")
    rgb = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(tmp_path / "flat.mp4"), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    assert max(abs(a - b) for a, b in zip(rgb[:3], colour)) <= 2, list(rgb[:3])


def test_frames_drawn_in_the_feed_process_are_the_frames_drawn_in_threads(tmp_path: Path, monkeypatch) -> None:
    """`reelforge serve` draws moving layers in a child process (REELFORGE_FEED_PROCESS=1) so the
    API's interpreter never does that work: the pixels must not depend on where they were drawn,
    and no writer thread may run in this process."""
    from reelforge.ffmpeg.feed import Feeding
    from reelforge.settings import get_settings

    image = tmp_path / "board.png"
    checkerboard((W * 2, H * 2)).save(image)
    threaded = render_luma(tmp_path, image, "zoom-in", frames=20)
    monkeypatch.setenv("REELFORGE_FEED_PROCESS", "1")
    get_settings.cache_clear()
    try:
        work = prepare_render({"canvas": {"width": W, "height": H, "fps": FPS}, "clips": [
            {"duration": 1, "layers": [{"type": "image", "path": str(image), "motion": "zoom-in"}]}]},
            tmp_path / "x.mp4")
        assert work.command is not None
        feeding = Feeding(compile_argv(work.command), feeds_of(work.command))
        assert feeding.in_process and feeding.threads == []
        feeding.finish_quietly()
        drawn_apart = render_luma(tmp_path, image, "zoom-in", frames=20)
    finally:
        get_settings.cache_clear()
    assert np.array_equal(threaded, drawn_apart)


def test_a_still_that_breaks_in_the_feed_process_fails_the_run_naming_it(tmp_path: Path, monkeypatch) -> None:
    """The feed process reports its error on stderr; the run raises it (not a short video). A
    broken picture is the user's error: it comes back as the same InputError (exit code 2)."""
    from reelforge.errors import InputError
    from reelforge.ffmpeg.feed import FeedError
    from reelforge.render.motion import MotionFeed
    from reelforge.settings import get_settings
    from reelforge.spec.timeline import KenBurns

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    feed = MotionFeed(str(broken), (64, 64), KenBurns(zoom_from=1.0, zoom_to=1.2), 30)
    out = tmp_path / "never.mp4"
    cmd = Command((Input("pipe:@0", ("-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", "64x64",
                                     "-framerate", "30"), feed),), FilterGraph(()),
                  (OutputFile(str(out), ("0:v",), ("-c:v", "libx264")),))
    monkeypatch.setenv("REELFORGE_FEED_PROCESS", "1")
    get_settings.cache_clear()
    try:
        with pytest.raises(InputError, match="corrupt or truncated: .*broken.png") as raised:
            run_ffmpeg(compile_argv(cmd, ffmpeg=ffmpeg_path()), feeds=feeds_of(cmd))
        assert raised.value.exit_code == 2 and raised.value.hint
        # anything else (a bug) comes back as the feed process's account of it
        fine = tmp_path / "fine.png"
        Image.new("RGB", (64, 64), "teal").save(fine)
        bug = replace(feed, path=str(fine), interpolation="no-such-interpolation")
        cmd = replace(cmd, inputs=(replace(cmd.inputs[0], feed=bug),))
        with pytest.raises(FeedError, match="KeyError.*no-such-interpolation"):
            run_ffmpeg(compile_argv(cmd, ffmpeg=ffmpeg_path()), feeds=feeds_of(cmd))
    finally:
        get_settings.cache_clear()


def test_feeds_that_cannot_reach_the_feed_process_fail_the_run_and_leave_no_ffmpeg(tmp_path: Path, monkeypatch) -> None:
    """A feed the feed process cannot receive (it does not pickle) fails the run at once: ffmpeg,
    already started on the pipes, is killed instead of waiting for frames that never come."""
    import subprocess

    from reelforge.settings import get_settings

    class Local:  # a class inside a function does not pickle
        def chunks(self):
            yield bytes(64 * 64 * 3 // 2)

    cmd = Command((Input("pipe:@0", ("-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", "64x64",
                                     "-framerate", "30"), Local()),), FilterGraph(()),
                  (OutputFile(str(tmp_path / "never.mp4"), ("0:v",), ("-c:v", "libx264")),))
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setenv("REELFORGE_FEED_PROCESS", "1")
    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    get_settings.cache_clear()
    try:
        with pytest.raises((AttributeError, TypeError, pickle_error())):
            run_ffmpeg(compile_argv(cmd, ffmpeg=ffmpeg_path()), feeds=feeds_of(cmd))
    finally:
        get_settings.cache_clear()
    assert started and all(proc.poll() is not None for proc in started)  # ffmpeg and the feed process ended


def pickle_error() -> type[Exception]:
    import pickle

    return pickle.PicklingError


def count_warps(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Count the moving layers' OpenCV warps (one per plane per drawn frame): a list that grows."""
    import cv2

    import reelforge.imaging.motion.warp as warp

    calls: list[int] = []
    real_warp = cv2.warpAffine

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real_warp(*args, **kwargs)

    monkeypatch.setattr(warp.cv2, "warpAffine", counting)
    return calls


def test_a_single_frame_of_a_moving_clip_draws_only_what_it_shows(tmp_path: Path, monkeypatch) -> None:
    """`reelforge frame` and the contact sheet render one frame: the frames before it are
    trimmed away unseen, so the moving layers send them undrawn. The picture must be the same
    pixel for pixel as when every frame is drawn, inside a clip and inside a fade, and the warp
    must run for the frame shown (and what follows in the pipe), not for the whole clip so far."""

    import reelforge.render.api as api
    from reelforge.render.api import render_frame

    board = tmp_path / "board.png"
    checkerboard((W * 2, H * 2)).save(board)
    spec = {"canvas": {"width": W, "height": H, "fps": FPS}, "clips": [
        {"duration": 3, "transition": {"name": "fade", "duration": 0.5},
         "layers": [{"type": "image", "path": str(board), "motion": "zoom-in"}]},
        {"duration": 3, "layers": [{"type": "color", "color": "#203040"},
                                   {"type": "image", "path": str(board), "motion": "pan-right", "width": 0.5,
                                    "start": 0.5}]}]}
    calls = count_warps(monkeypatch)
    real_builder = api.FilterGraphBuilder
    for at in (2.0, 2.7, 4.5):
        calls.clear()
        quick = np.asarray(Image.open(render_frame(spec, at, tmp_path / f"quick-{at}.png")))
        drawn_quick = len(calls)
        with monkeypatch.context() as m:
            m.setattr(api, "FilterGraphBuilder", lambda plan, **_: real_builder(plan))
            calls.clear()
            full = np.asarray(Image.open(render_frame(spec, at, tmp_path / f"full-{at}.png")))
            drawn_full = len(calls)
        assert np.array_equal(quick, full), at
        assert drawn_quick < drawn_full / 2, (at, drawn_quick, drawn_full)


def test_segments_draw_only_the_frames_they_keep(tmp_path: Path, monkeypatch) -> None:
    """A segmented render also builds the clips next to each cut: the clip a segment fades into
    (it keeps only the fade) and the clip the next segment starts with (its fade was already
    shown). Those trimmed frames are sent undrawn. The video must be the same pixel for pixel
    as when every frame is drawn, with the same frame count, and fewer warps must run."""

    import reelforge.render.api as api
    from reelforge.ffmpeg.frames import read_frames
    from reelforge.render.api import render
    from reelforge.settings import get_settings

    board = tmp_path / "board.png"
    checkerboard((W * 2, H * 2)).save(board)
    moves = ["zoom-in", "pan-right", "zoom-out", "pan-left", "pan-up", "zoom-in"]
    spec = {"canvas": {"width": W, "height": H, "fps": FPS}, "output": {"quality": "high"},
            "defaults": {"duration": 1.5, "transition": {"name": "fade", "duration": 0.5}},
            "clips": [{"layers": [{"type": "image", "path": str(board), "motion": move}]} for move in moves]}
    calls = count_warps(monkeypatch)
    monkeypatch.setenv("REELFORGE_SEGMENT_CLIPS", "2")
    get_settings.cache_clear()
    real_builder = api.FilterGraphBuilder
    try:
        kept = render(spec, tmp_path / "kept.mp4")
        drawn_kept = len(calls)
        with monkeypatch.context() as m:
            m.setattr(api, "FilterGraphBuilder", lambda plan, **_: real_builder(plan))
            calls.clear()
            every = render(spec, tmp_path / "every.mp4")
            drawn_every = len(calls)
    finally:
        get_settings.cache_clear()
    assert len(kept.commands) >= 4  # three segments and the join
    a = np.stack(list(read_frames(tmp_path / "kept.mp4")))
    b = np.stack(list(read_frames(tmp_path / "every.mp4")))
    assert len(a) == len(b) == kept.frames == every.frames
    assert np.array_equal(a, b)  # x264 is deterministic: equal inputs, equal pictures
    assert a.reshape(len(a), -1).max(axis=1).min() > 100  # no blank frame reached the output
    planes, clip_frames, cuts = 3, 45, len(kept.commands) - 2  # Y, U, V: a warp each per drawn frame
    # each clip drawn once (both sides of a fade are), plus at most two frames of margin at each
    # cut (ffmpeg may finish a segment before the feed has drawn them)
    drawn = len(moves) * clip_frames
    assert planes * drawn <= drawn_kept <= planes * (drawn + 2 * cuts), (drawn_kept, cuts)
    assert drawn_kept < drawn_every * 0.85, (drawn_kept, drawn_every)


def test_a_canvas_sized_picture_moves_without_a_prepared_copy(tmp_path: Path, monkeypatch) -> None:
    """A plain picture already the size of the moving still (a canvas-sized composite, the usual
    scenes case) is read as it is: nothing is drawn into the cache, and the frames are the same
    pixel for pixel as those moved from a prepared copy (the same picture as RGBA, which is not
    plain and so is prepared). A larger photo is still prepared, and an EXIF-rotated one too."""
    from reelforge.render.api import render_frame
    from reelforge.settings import get_settings

    monkeypatch.setenv("REELFORGE_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    try:
        picture = checkerboard((W, H))
        plain, rgba = tmp_path / "plain.png", tmp_path / "rgba.png"
        picture.save(plain)
        picture.convert("RGBA").save(rgba)

        def moved(path: Path, name: str) -> np.ndarray:
            spec = {"canvas": {"width": W, "height": H, "fps": FPS},
                    "clips": [{"duration": 2, "layers": [{"type": "image", "path": str(path), "motion": "zoom-in"}]}]}
            work = prepare_render(spec, tmp_path / "unused.mp4")
            assert (work.plan.clips[0].layers[0].path == str(path)) == (path == plain)
            return np.asarray(Image.open(render_frame(spec, 1.5, tmp_path / f"{name}.png")))

        stills = tmp_path / "cache" / "stills"
        as_is = moved(plain, "plain")
        assert not list(stills.rglob("*.png"))  # nothing prepared
        prepared = moved(rgba, "rgba")
        assert len(list(stills.rglob("*.png"))) == 1
        assert np.array_equal(as_is, prepared)

        big = tmp_path / "big.png"
        checkerboard((W * 2, H * 2)).save(big)
        moved(big, "big")
        assert len(list(stills.rglob("*.png"))) == 2  # a larger photo is fitted into a prepared still

        turned = tmp_path / "turned.png"
        exif = picture.getexif()
        exif[0x0112] = 3  # rotate 180°: ffmpeg and the feed would ignore it, so it must be prepared
        picture.save(turned, exif=exif)
        upright = moved(turned, "turned")
        assert len(list(stills.rglob("*.png"))) == 3
        # a centred zoom of the picture turned upright is the plain picture's frame turned round
        assert np.abs(upright.astype(int) - as_is[::-1, ::-1].astype(int)).mean() < 1
        assert np.abs(upright.astype(int) - as_is.astype(int)).mean() > 5  # not the file as stored
    finally:
        get_settings.cache_clear()
