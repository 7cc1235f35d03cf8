"""Timeline → RenderPlan: frame counts, prepared stills, probed videos, checked inputs.

Consecutive static layers of a clip (images without motion, colours, gradients, text, overlays
without time windows) are flattened into one still here, so ffmpeg decodes each once and
loops it. Layers that change over time stay separate streams.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from reelforge.errors import InputError, SpecError
from reelforge.ffmpeg.probe import probe
from reelforge.imaging.load import load_image, read_header, verify_file
from reelforge.imaging.stills import (
    fit_image,
    linear_gradient,
    radial_gradient,
    solid,
    with_opacity,
)
from reelforge.imaging.text import PlainTextStyle, render_plain_text
from reelforge.imaging.text.engine import render_styled
from reelforge.render import model as m
from reelforge.render.cache import cached_still, file_digest, still_key, still_path
from reelforge.spec import timeline as t
from reelforge.spec.common import anchor_xy, even, parse_color
from reelforge.spec.text_style import Fill, Style

ALPHA_FORMATS = {"webm-alpha", "mov-prores"}


def fps_fraction(fps: float) -> Fraction:
    """29.97 → 30000/1001 (NTSC rates are exact fractions, not floats)."""
    for ntsc in (23.976, 29.97, 47.952, 59.94, 119.88):
        if abs(fps - ntsc) < 0.005:
            return Fraction(round(ntsc * 1.001) * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


class Preparer:
    def __init__(self, timeline: t.Timeline) -> None:
        self.tl = timeline
        self.size = timeline.canvas.size
        self.fps = fps_fraction(timeline.canvas.fps)
        self.short = min(self.size)
        self.alpha = timeline.output.format in ALPHA_FORMATS
        self.warnings: list[str] = []
        self._drawing: dict[str, Future[str]] = {}  # still key → its drawing on the pool
        self._pool: ThreadPoolExecutor | None = None
        self._check_canvas()

    def _check_canvas(self) -> None:
        w, h = self.size
        if (w % 2 or h % 2) and self.tl.output.format not in ("gif", "mov-prores"):
            raise SpecError(f"canvas size {w}x{h} has an odd side; H.264/H.265/VP9 in yuv420p need even sizes",
                            problems=[("canvas.width" if w % 2 else "canvas.height", None, "must be even")],
                            hint=f"use {w - w % 2}x{h - h % 2}")

    def frames(self, seconds: float) -> int:
        return max(1, round(seconds * self.fps))

    # ---- whole timeline --------------------------------------------------------------
    def plan(self) -> m.RenderPlan:
        try:
            clips = [self._clip(i, clip) for i, clip in enumerate(self.tl.clips)]
            for drawing in self._drawing.values():  # in clip order: the first failure is raised
                drawing.result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
        self._check_transitions(clips)
        music = self.tl.audio.music
        if music is not None:
            info = probe(music.path, field_name="audio.music.path")
            if info.audio is None:
                raise InputError(f"no audio stream in {music.path}", field="audio.music.path",
                                 hint="use an audio file (WAV, MP3, M4A, OGG) or a video with sound")
        return m.RenderPlan(
            width=self.size[0], height=self.size[1], fps=self.fps, background=self.tl.canvas.background,
            clips=tuple(clips), music=music, clip_audio=self.tl.audio.clip_audio,
            clip_volume=self.tl.audio.clip_volume, alpha=self.alpha,
            # Bilinear is as exact for the move (BENCHMARKS.md, "Motion"); bicubic costs ~15 % more.
            interpolation="cubic" if self.tl.output.quality == "high" else "linear",
            warnings=tuple(self.warnings),
        )

    def _check_transitions(self, clips: list[m.ClipPlan]) -> None:
        for i, (a, b) in enumerate(zip(clips, clips[1:])):
            if a.transition_frames >= min(a.frames, b.frames):
                secs = float(a.transition_frames / self.fps)
                raise SpecError(
                    f"clips[{i}].transition.duration ({secs:g} s) is not shorter than clip {i} "
                    f"({float(a.frames / self.fps):g} s) and clip {i + 1} ({float(b.frames / self.fps):g} s)",
                    hint="shorten the transition or lengthen the clips")

    # ---- one clip --------------------------------------------------------------------
    def _clip(self, index: int, clip: t.Clip) -> m.ClipPlan:
        path = f"clips[{index}]"
        videos = {j: probe(layer.file, field_name=f"{path}.layers[{j}].path")
                  for j, layer in enumerate(clip.layers) if isinstance(layer, t.VideoLayer)}
        seconds = clip.duration or self._video_length(clip, videos) or self.tl.defaults.duration
        frames = self.frames(seconds)
        layers = self._layers(path, clip, frames, videos)
        trans = clip.transition if clip.transition is not None else self.tl.defaults.transition
        is_last = index == len(self.tl.clips) - 1
        if trans is None or trans.name == "cut" or is_last:
            return m.ClipPlan(frames, tuple(layers))
        return m.ClipPlan(frames, tuple(layers), trans.name, self.frames(trans.duration))

    def _video_length(self, clip: t.Clip, videos: dict[int, Any]) -> float | None:
        for j, info in videos.items():
            layer = clip.layers[j]
            assert isinstance(layer, t.VideoLayer)
            end = layer.trim_out or info.duration
            if end and not layer.loop:
                return max(0.04, (end - layer.trim_in) / layer.speed)
        return None

    def _window(self, layer: t.LayerBase, frames: int, where: str) -> m.Window:
        start = self.frames(layer.start) if layer.start else 0
        end = min(frames, self.frames(layer.end)) if layer.end else frames
        if start >= frames:
            raise SpecError(f"{where}.start ({layer.start} s) is at or after the clip's end "
                            f"({float(frames / self.fps):g} s)", hint="lower start or lengthen the clip")
        return m.Window(start, max(1, end - start))

    def _layers(self, path: str, clip: t.Clip, frames: int, videos: dict[int, Any]) -> list[m.PreparedLayer]:
        out: list[m.PreparedLayer] = []
        group: list[tuple[int, Any]] = []
        for j, layer in enumerate(clip.layers):
            where = f"{path}.layers[{j}]"
            window = self._window(layer, frames, where)
            if self._is_static(layer, window, frames):
                group.append((j, layer))
                continue
            if group:
                out.append(self._flatten(path, group, frames, first=not out))
                group = []
            out.append(self._dynamic(where, layer, window, videos.get(j), first=not out))
        if group:
            out.append(self._flatten(path, group, frames, first=not out))
        return out

    @staticmethod
    def _is_static(layer: Any, window: m.Window, frames: int) -> bool:
        if isinstance(layer, t.VideoLayer) or (isinstance(layer, t.ImageLayer) and layer.motion):
            return False
        if getattr(layer, "fade_in", 0) or getattr(layer, "fade_out", 0):
            return False
        return window.start == 0 and window.frames == frames

    # ---- stills ----------------------------------------------------------------------
    def _flatten(self, path: str, group: list[tuple[int, Any]], frames: int, first: bool) -> m.StillLayer:
        """Draw a run of static layers into one canvas-sized still (over the background if first)."""
        whole = m.Window(0, frames)
        passthrough = self._passthrough(group, first, f"{path}.layers[{group[0][0]}]")
        if passthrough:
            return m.StillLayer(passthrough, 0, 0, whole, opaque_full=True)
        params = {"kind": "flatten", "size": self.size, "first": first, "bg": self.tl.canvas.background,
                  "layers": [self._layer_key(layer) for _, layer in group]}

        def draw() -> Image.Image:
            canvas = solid(self.size, self.tl.canvas.background if first else "transparent")
            for j, layer in group:
                image, (x, y) = self._draw_layer(f"{path}.layers[{j}]", layer)
                canvas.alpha_composite(image, (x, y))
            return canvas

        # No separate input check: the key holds each file's digest, so a cached still proves its
        # inputs were readable, and an uncached one is drawn now (raising InputError if not).
        opaque = first and parse_color(self.tl.canvas.background)[3] == 255
        still = cached_still(still_key(params), draw, self.warnings, where=path)
        return m.StillLayer(still, 0, 0, whole, opaque_full=opaque)

    def _passthrough(self, group: list[tuple[int, Any]], first: bool, where: str) -> str | None:
        """A single canvas-sized, upright, opaque image needs no re-encoding: hand ffmpeg the file."""
        if len(group) != 1 or not first or not isinstance(group[0][1], t.ImageLayer):
            return None
        layer = group[0][1]
        if (layer.width, layer.height) != (1.0, 1.0) or layer.fit == "contain-blur":
            return None
        return _as_it_is(layer.path, self.size, f"{where}.path")

    def _layer_key(self, layer: Any) -> dict[str, Any]:
        data = layer.model_dump(mode="json")
        if isinstance(layer, (t.ImageLayer, t.OverlayLayer)):
            data["digest"] = file_digest(layer.path) if _exists(layer.path) else layer.path
        return data

    def _draw_layer(self, where: str, layer: Any) -> tuple[Image.Image, tuple[int, int]]:
        """Draw one static layer; return the image and its top-left position on the canvas."""
        if isinstance(layer, t.ColorLayer):
            return solid(self.size, layer.color), (0, 0)
        if isinstance(layer, t.LinearGradientLayer):
            return linear_gradient(self.size, layer.colors, layer.angle), (0, 0)
        if isinstance(layer, t.RadialGradientLayer):
            return radial_gradient(self.size, layer.colors, layer.center, layer.radius), (0, 0)
        if isinstance(layer, t.ImageLayer):
            box = self._box(layer)
            image = fit_image(load_image(layer.path, field=f"{where}.path"), box, layer.fit)
            return image, self._place(box, layer.position, layer.margin)
        if isinstance(layer, t.TextLayer):
            image = draw_text_layer(layer, self.size, where)
            xy = self._place(image.size, layer.position, layer.margin)
            self._warn_if_clipped(where, image.size, xy)
            return image, xy
        if isinstance(layer, t.OverlayLayer):
            src = load_image(layer.path, field=f"{where}.path")
            width = max(2, round(self.size[0] * layer.scale))
            height = max(2, round(src.height * width / src.width))
            image = with_opacity(src.resize((width, height), Image.Resampling.LANCZOS), layer.opacity)
            return image, self._place(image.size, layer.position, layer.margin)
        raise TypeError(f"not a still layer: {type(layer).__name__}")

    def _box(self, layer: t.BoxedLayer) -> tuple[int, int]:
        return even(layer.width * self.size[0]), even(layer.height * self.size[1])

    def _place(self, box: tuple[int, int], anchor: str, margin: float) -> tuple[int, int]:
        px = round(margin * self.short)
        return anchor_xy(anchor, box, self.size, (px, px))

    def _styled(self, layer: t.TextLayer) -> Style:
        return styled_text(layer, self.size)

    # ---- layers that change over time -------------------------------------------------
    def _dynamic(self, where: str, layer: Any, window: m.Window, video: Any, first: bool) -> m.PreparedLayer:
        if isinstance(layer, t.VideoLayer):
            return self._video(where, layer, window, video, first)
        if isinstance(layer, t.ImageLayer) and layer.motion:
            return self._motion(where, layer, window, first)
        key = still_key({"kind": "layer", "size": self.size, "layer": self._layer_key(layer)})
        holder: dict[str, tuple[int, int]] = {}

        def draw() -> Image.Image:
            image, xy = self._draw_layer(where, layer)
            holder["xy"] = xy
            return image

        still = cached_still(key, draw, self.warnings, where=where)
        if "xy" not in holder:  # cached: recompute the position from the stored size
            with Image.open(still) as img:
                full = img.size == self.size
                holder["xy"] = (0, 0) if full else self._place(img.size, layer.position, layer.margin)
        x, y = holder["xy"]
        return m.StillLayer(still, x, y, window, fade_in=getattr(layer, "fade_in", 0.0),
                            fade_out=getattr(layer, "fade_out", 0.0))

    def _warn_if_clipped(self, where: str, box: tuple[int, int], xy: tuple[int, int]) -> None:
        """Text that runs off the frame is lost without a trace in the video; say so."""
        (w, h), (x, y), (fw, fh) = box, xy, self.size
        seen_w, seen_h = max(0, min(x + w, fw) - max(x, 0)), max(0, min(y + h, fh) - max(y, 0))
        shown = seen_w * seen_h / max(1, w * h)
        if shown < 0.98:
            self.warnings.append(f"{where}.text: the text is {w}x{h} px and only {shown:.0%} of it fits the "
                                 f"{fw}x{fh} frame; shorten it, lower its size or widen wrap_width")

    def _motion(self, where: str, layer: t.ImageLayer, window: m.Window, first: bool) -> m.MotionLayer:
        assert layer.motion is not None
        box = self._box(layer)
        x, y = self._place(box, layer.position, layer.margin)
        if layer.fit == "contain":  # the move runs over the picture itself, not its empty bars
            inner = contained_size(picture_size(layer.path), box)
            x, y, box = x + (box[0] - inner[0]) // 2, y + (box[1] - inner[1]) // 2, inner
        # Supersample so the zoomed-in part still has source pixels to show (up to 2x) — only as far
        # as the picture has them: enlarging a 1080p photo for a 1080p box adds no detail, only the
        # cost of preparing a bigger still.
        zoom = max(layer.motion.zoom_from, layer.motion.zoom_to)
        factor = 1.0 if self.tl.output.quality == "draft" else min(2.0, zoom, own_detail(layer, box))
        size = (even(box[0] * factor), even(box[1] * factor))
        fit = "cover" if layer.fit == "contain" else layer.fit  # the box has the picture's shape now
        # A plain picture already at the still's size (a canvas-sized composite or generated
        # image: the usual scenes case) is read as it is: fitting it would change no pixel.
        still = _as_it_is(layer.path, size, f"{where}.path") or self._draw_in_background(
            still_key({"kind": "motion", "size": size, "layer": self._layer_key(layer)}),
            lambda: fit_image(load_image(layer.path, field=f"{where}.path"), size, fit))
        full = box == self.size and layer.fit in ("cover", "stretch", "contain-blur")
        return m.MotionLayer(still, x, y, size, box, layer.motion, window,
                             opaque_full=full and first and window.frames > 0 and window.start == 0)

    def _draw_in_background(self, key: str, draw: Callable[[], Image.Image]) -> str:
        """The cached still for `key`, drawn on a thread pool while the next clips are prepared
        (decoding, resizing and PNG encoding release the GIL): its path now, the file once
        plan() returns. For stills that leave no notes (motion stills)."""
        path = still_path(key)
        if key not in self._drawing and not Path(path).is_file():
            if self._pool is None:
                self._pool = ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="prepare")
            self._drawing[key] = self._pool.submit(cached_still, key, draw)
        return path

    def _video(self, where: str, layer: t.VideoLayer, window: m.Window, info: Any, first: bool) -> m.VideoLayer:
        if info.video is None:
            raise InputError(f"no video stream in {layer.path}", field=f"{where}.path",
                             hint="use an image layer for stills, or a file with a video stream")
        if info.duration is not None and layer.trim_in >= info.duration:
            raise SpecError(f"{where}.trim_in ({layer.trim_in} s) is past the end of the video ({info.duration:g} s)",
                            hint="lower trim_in")
        box = self._box(layer)
        x, y = self._place(box, layer.position, layer.margin)
        full = box == self.size and layer.fit in ("cover", "stretch", "contain-blur")
        return m.VideoLayer(
            path=layer.file, x=x, y=y, box=box, fit=layer.fit, trim_in=layer.trim_in, trim_out=layer.trim_out,
            loop=layer.loop, speed=layer.speed, window=window,
            audio=bool(info.audio) and not layer.mute and self.tl.audio.clip_audio, volume=layer.volume,
            opaque_full=full and first and window.start == 0,
        )


def _exists(path: str) -> bool:
    import os

    return os.path.isfile(path)


def prepare(timeline: t.Timeline) -> m.RenderPlan:
    ungenerated = timeline.generate_blocks()
    if ungenerated:  # the generator runs in pipelines.render.RenderJob (`reelforge render`), not here
        from reelforge.errors import SpecError

        raise SpecError(f"{ungenerated[0][0]}.generate: this render cannot generate clips",
                        hint="render it with `reelforge render` (or pipelines.render.RenderJob), which generates "
                             "the clip first")
    return Preparer(timeline).plan()


def draw_text_layer(layer: t.TextLayer, size: tuple[int, int], where: str = "text") -> Image.Image:
    """The image a text layer draws on a `size` canvas (placed by `anchor_xy` with its margin).
    The scenes layout measures captions with it, so what it reserves is what gets drawn."""
    if layer.style is not None:
        return render_styled(layer.text, styled_text(layer, size), field=f"{where}.style.font")
    return render_plain_text(layer.text, plain_text_style(layer, size), field=f"{where}.font")


def text_px(layer: t.TextLayer, size: tuple[int, int]) -> int:
    return max(6, round(layer.size * size[1]) if layer.size <= 1 else round(layer.size))


def styled_text(layer: t.TextLayer, size: tuple[int, int]) -> Style:
    """The layer's style at the layer's size and wrap width; the plain fields the layer
    sets itself (font, weight, color, align, line_spacing) replace the style's."""
    assert layer.style is not None
    given = layer.model_fields_set
    update: dict[str, Any] = {"size": float(text_px(layer, size)),
                              "max_width": max(8, round(layer.wrap_width * size[0]))}
    update |= {name: getattr(layer, name) for name in ("font", "weight", "align") if name in given}
    if "line_spacing" in given:
        update["line_height"] = layer.line_spacing
    if "color" in given:
        update["fill"] = Fill(color=layer.color)
    return layer.style.model_copy(update=update)


def plain_text_style(layer: t.TextLayer, size: tuple[int, int]) -> PlainTextStyle:
    k = min(size) / 1080  # stroke/shadow sizes are given at 1080p
    size_px = round(layer.size * size[1]) if layer.size <= 1 else round(layer.size)
    return PlainTextStyle(
        font=layer.font, weight=layer.weight, size_px=max(6, size_px), color=layer.color,
        stroke_width=round(layer.stroke.width * k) if layer.stroke else 0,
        stroke_color=layer.stroke.color if layer.stroke else "#000000",
        shadow_offset=(round(layer.shadow.offset[0] * k), round(layer.shadow.offset[1] * k)) if layer.shadow else None,
        shadow_blur=layer.shadow.blur * k if layer.shadow else 0.0,
        shadow_color=layer.shadow.color if layer.shadow else "#000000b0",
        box_color=layer.box.color if layer.box else None,
        box_padding=round(layer.box.padding * size_px) if layer.box else 0,
        box_radius=round(layer.box.radius * size_px) if layer.box else 0,
        align=layer.align, max_width=round(layer.wrap_width * size[0]),
        line_spacing=layer.line_spacing,
    )


def picture_size(path: str) -> tuple[int, int]:
    """An image file's upright (w, h) without decoding it (EXIF rotations swap the sides)."""
    try:
        return read_header(path).size
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return (1, 1)  # unreadable: load_image reports it with its field when the still is drawn


def _as_it_is(path: str, size: tuple[int, int], field: str) -> str | None:
    """`path` when it is a plain picture of exactly `size` that ffmpeg or a feed can read as it
    is (no re-encoding into the cache), else None."""
    try:
        header = read_header(path)
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning):  # load_image says what is wrong with it
        return None
    if not (header.plain and header.size == size):
        return None
    verify_file(path, field=field)  # truncated files fail here, not in ffmpeg
    return path


def own_detail(layer: t.ImageLayer, box: tuple[int, int]) -> float:
    """How many times the box's resolution the picture has where it is fitted (at least 1)."""
    pw, ph = picture_size(layer.path)
    fitted = min if layer.fit == "contain-blur" else max  # contain: `box` is the picture's own shape
    return max(1.0, 1 / fitted(box[0] / pw, box[1] / ph))


def contained_size(picture: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The even (w, h) a `picture` takes when contained in `box`."""
    k = min(box[0] / picture[0], box[1] / picture[1])
    return min(box[0], even(picture[0] * k)), min(box[1], even(picture[1] * k))
