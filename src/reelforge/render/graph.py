"""RenderPlan → one ffmpeg Command (inputs + filter graph). Pure: no I/O, no clock.

Every clip becomes a stream of exactly `clip.frames` frames at the canvas size, SAR 1, the
working pixel format and timebase 1/fps; clips are then chained with xfade (or concat for
cuts), so the total is Σ clips − Σ transitions, to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from reelforge.ffmpeg.command import Input
from reelforge.ffmpeg.escape import format_number
from reelforge.ffmpeg.feed import PLACEHOLDER, Feed, feeds_supported
from reelforge.ffmpeg.graph import Chain, Filter
from reelforge.render import model as m
from reelforge.render.motion import MotionFeed
from reelforge.spec.common import parse_color

F = Filter.of
AUDIO_RATE = 48000
_EASING = {
    "linear": "{p}",
    "ease-in": "({p})*({p})",
    "ease-out": "(1-(1-({p}))*(1-({p})))",
    "ease-in-out": "((1-cos(PI*({p})))/2)",
}


@dataclass
class FilterGraphBuilder:
    """Accumulates inputs and chains; `label()` hands out unique pad names."""

    plan: m.RenderPlan
    inputs: list[Input] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)
    _n: int = 0
    # Only frames [discard_before, discard_until) of the plan are kept (a single-frame render, a
    # segment); the rest are trimmed away unseen, so moving layers need not draw them.
    # clip_start is where the clip being built begins.
    discard_before: int = 0
    discard_until: int | None = None
    clip_start: int = 0

    @property
    def pix_fmt(self) -> str:
        return "yuva420p" if self.plan.alpha else "yuv420p"

    @property
    def tb(self) -> str:
        f = 1 / self.plan.fps
        return f"{f.numerator}/{f.denominator}"

    @property
    def fps(self) -> str:
        f = self.plan.fps
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"

    def label(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def add_input(self, path: str, *options: str) -> int:
        self.inputs.append(Input(path, tuple(options)))
        return len(self.inputs) - 1

    def add_feed(self, feed: Feed, *options: str) -> int:
        """An input whose frames this process makes (`pipe:@K`, K numbering the feeds)."""
        placeholder = PLACEHOLDER.format(sum(1 for i in self.inputs if i.feed is not None))
        self.inputs.append(Input(placeholder, tuple(options), feed))
        return len(self.inputs) - 1

    def chain(self, inputs: tuple[str, ...], filters: list[Filter], prefix: str) -> str:
        out = self.label(prefix)
        self.chains.append(Chain(inputs, tuple(filters), (out,)))
        return out

    def seconds(self, frames: int) -> float:
        return float(Fraction(frames) / self.plan.fps)

    # ---- colour handling: stills are RGB, the output is BT.709 limited-range YUV -------------
    def to_working(self, *, alpha: bool = False) -> list[Filter]:
        """Convert once, before looping; layers keep their alpha for the overlay."""
        pix_fmt = "yuva420p" if alpha else self.pix_fmt
        return [F("scale", out_color_matrix="bt709", out_range="tv"), F("format", pix_fmt)]

    # ---- clip sources ---------------------------------------------------------------------
    def still_stream(self, layer: m.StillLayer | m.MotionLayer, frames: int, *, alpha: bool = False) -> str:
        """Decode once, convert once, then repeat the frame `frames` times with exact timestamps."""
        # -framerate gives the still's stream the canvas rate, which xfade checks on its inputs.
        idx = self.add_input(layer.path, "-framerate", self.fps)
        return self.chain((f"{idx}:v",), [
            *self.to_working(alpha=alpha),
            F("loop", loop=frames - 1, size=1, start=0),
            F("settb", expr=self.tb), F("setpts", "N"), F("setsar", 1),
        ], "s")

    def color_base(self, frames: int) -> str:
        r, g, b, a = parse_color(self.plan.background)
        color = f"0x{r:02x}{g:02x}{b:02x}@{format_number(a / 255)}"
        return self.chain((), [
            F("color", c=color, s=f"{self.plan.width}x{self.plan.height}", r=self.fps),
            F("format", self.pix_fmt), F("trim", end_frame=frames), F("settb", expr=self.tb),
            F("setpts", "N"), F("setsar", 1),
        ], "base")

    def place(self, base: str, layer_pad: str, x: int | str, y: int | str) -> str:
        return self.chain((base, layer_pad), [F("overlay", x=x, y=y, eof_action="pass")], "ov")

    def shifted(self, pad: str, window: m.Window, fade_in: float = 0.0, fade_out: float = 0.0) -> str:
        """Apply alpha fades in the layer's own time, then move it to its window in the clip."""
        filters: list[Filter] = []
        span = self.seconds(window.frames)
        if fade_in:
            filters.append(F("fade", t="in", st=0, d=min(fade_in, span), alpha=1))
        if fade_out:
            filters.append(F("fade", t="out", st=max(0.0, span - fade_out), d=min(fade_out, span), alpha=1))
        if window.start:
            filters.append(F("setpts", f"PTS+{window.start}"))
        return self.chain((pad,), filters, "w") if filters else pad

    # ---- Ken Burns ------------------------------------------------------------------------
    def motion_stream(self, layer: m.MotionLayer) -> str:
        """The move at the box size, in the working pixel format (see render/motion.py)."""
        if not feeds_supported():
            return self.perspective_stream(layer)
        w, h = layer.box
        seen = self.seen_frames(layer.window)
        feed = MotionFeed(layer.path, layer.box, layer.motion, layer.window.frames, alpha=self.plan.alpha,
                          interpolation=self.plan.interpolation, seen=seen)
        idx = self.add_feed(feed, "-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-video_size", f"{w}x{h}",
                            "-framerate", self.fps)
        # Tagged like the stills' conversion, so xfade/overlay see one colour space on both sides.
        return self.chain((f"{idx}:v",), [
            F("setparams", range="tv", colorspace="bt709"),
            F("settb", expr=self.tb), F("setpts", "N"), F("setsar", 1),
        ], "kb")

    def seen_frames(self, window: m.Window) -> tuple[int, int]:
        """The layer's own frames [first, end) that reach the kept output; the rest may be sent
        blank. Every filter here maps a layer frame to one output frame at the same time (xfade,
        overlay, fades), so this is the kept range moved into the layer's time. Two frames of
        margin at the end: a blank frame on screen would be far worse than two wasted warps."""
        offset = self.clip_start + window.start
        first = min(window.frames, max(0, self.discard_before - offset))
        if self.discard_until is None:
            return first, window.frames
        return first, min(window.frames, max(first, self.discard_until - offset + 2))

    def perspective_stream(self, layer: m.MotionLayer) -> str:
        """The filter-only move (where pipes cannot be inherited): perspective at the still's
        oversampled size, then an area downscale — exact too, several times the CPU."""
        pad = self.still_stream(layer, layer.window.frames)
        mo = layer.motion
        last = max(1, layer.window.frames - 1)
        # perspective counts its input frames from 1 (`in` is 1 on the first frame)
        e = _EASING[mo.easing].format(p=f"min((in-1)/{last},1)")
        zoom = f"({format_number(mo.zoom_from)}+({format_number(mo.zoom_to - mo.zoom_from)})*{e})"
        half_w, half_h = f"(W/(2*{zoom}))", f"(H/(2*{zoom}))"
        start, end = mo.reachable_path()  # fitted before easing: continuous velocity
        fx = f"({format_number(start[0])}+({format_number(end[0] - start[0])})*{e})"
        fy = f"({format_number(start[1])}+({format_number(end[1] - start[1])})*{e})"
        # Centre clamped so the visible window never leaves the image (only rounding reaches it).
        cx = f"clip({fx}*W,{half_w},W-{half_w})"
        cy = f"clip({fy}*H,{half_h},H-{half_h})"
        left, right = f"({cx}-{half_w})", f"({cx}+{half_w})"
        top, bottom = f"({cy}-{half_h})", f"({cy}+{half_h})"
        # perspective samples with sub-pixel precision, so the move has no integer-rounding jitter.
        filters = [F("perspective", x0=left, y0=top, x1=right, y1=top, x2=left, y2=bottom, x3=right, y3=bottom,
                     interpolation=self.plan.interpolation, sense="source", eval="frame")]
        if layer.size != layer.box:
            filters.append(F("scale", layer.box[0], layer.box[1], flags="area"))
        return self.chain((pad,), filters, "kb")

    # ---- video -----------------------------------------------------------------------------
    @staticmethod
    def loops_segment(layer: m.VideoLayer) -> bool:
        """Looping a trimmed part is done by loop filters: `-stream_loop` with `-t` would stop after
        the first pass, and without `-t` it would loop the whole file."""
        return layer.loop and layer.trim_out is not None

    def segment_seconds(self, layer: m.VideoLayer) -> float:
        assert layer.trim_out is not None
        return (layer.trim_out - layer.trim_in) / layer.speed

    def video_input(self, layer: m.VideoLayer) -> int:
        options: list[str] = []
        if layer.loop and not self.loops_segment(layer):
            options += ["-stream_loop", "-1"]
        if layer.trim_in:
            options += ["-ss", format_number(layer.trim_in)]
        if layer.trim_out is not None:
            options += ["-t", format_number(layer.trim_out - layer.trim_in)]
        return self.add_input(layer.path, *options)

    def fit_video(self, pad: str, layer: m.VideoLayer) -> tuple[str, str, str]:
        """Scale into the box; returns the pad and overlay x/y (expressions for contain)."""
        bw, bh = layer.box
        scale = {"out_color_matrix": "bt709", "out_range": "tv", "flags": "bicubic"}
        if layer.fit == "stretch":
            return self.chain((pad,), [F("scale", bw, bh, **scale)], "fit"), str(layer.x), str(layer.y)
        if layer.fit == "cover":
            return self.chain((pad,), [F("scale", bw, bh, force_original_aspect_ratio="increase", **scale),
                                       F("crop", bw, bh)], "fit"), str(layer.x), str(layer.y)
        contain = [F("scale", bw, bh, force_original_aspect_ratio="decrease", force_divisible_by=2, **scale)]
        if layer.fit == "contain":
            x = f"{layer.x}+({bw}-overlay_w)/2"
            y = f"{layer.y}+({bh}-overlay_h)/2"
            return self.chain((pad,), contain, "fit"), x, y
        back, front = self.label("bg"), self.label("fg")
        self.chains.append(Chain((pad,), (F("split"),), (back, front)))
        blurred = self.chain((back,), [F("scale", bw, bh, force_original_aspect_ratio="increase", **scale),
                                       F("crop", bw, bh), F("boxblur", "20:2")], "blur")
        sharp = self.chain((front,), contain, "sharp")
        merged = self.chain((blurred, sharp), [F("overlay", x="(W-w)/2", y="(H-h)/2")], "cb")
        return merged, str(layer.x), str(layer.y)

    def video_stream(self, layer: m.VideoLayer, idx: int) -> tuple[str, str, str]:
        frames = layer.window.frames
        pad = self.chain((f"{idx}:v",), [
            F("setpts", f"(PTS-STARTPTS)/{format_number(layer.speed)}"), F("fps", self.fps),
        ], "v")
        pad, x, y = self.fit_video(pad, layer)
        looped: list[Filter] = []
        if self.loops_segment(layer):  # fitted to the box first, so the loop buffer stays small
            size = max(1, round(self.segment_seconds(layer) * self.plan.fps))
            looped = [F("trim", end_frame=size), F("loop", loop=-1, size=size, start=0), F("setpts", "N/FRAME_RATE/TB")]
        # Clone the last frame if the source runs out, so the layer lasts exactly its window.
        pad = self.chain((pad,), [
            F("format", self.pix_fmt), F("setsar", 1), *looped,
            F("tpad", stop=-1, stop_mode="clone"), F("trim", end_frame=frames),
            F("settb", expr=self.tb), F("setpts", "N"),
        ], "vt")
        return self.shifted(pad, layer.window), x, y

    # ---- audio -----------------------------------------------------------------------------
    def normalize_audio(self) -> list[Filter]:
        return [F("aresample", AUDIO_RATE), F("aformat", sample_fmts="fltp", channel_layouts="stereo")]

    def silence(self, seconds: float) -> str:
        return self.chain((), [F("anullsrc", r=AUDIO_RATE, cl="stereo"),
                               F("atrim", duration=format_number(seconds))], "sil")

    def video_audio(self, layer: m.VideoLayer, idx: int, clip_seconds: float) -> str:
        span = self.seconds(layer.window.frames)
        start_ms = round(self.seconds(layer.window.start) * 1000)
        filters = [F("asetpts", "PTS-STARTPTS"), *_atempo(layer.speed), *self.normalize_audio()]
        if self.loops_segment(layer):
            samples = round(self.segment_seconds(layer) * AUDIO_RATE)
            filters += [F("atrim", end_sample=samples), F("aloop", loop=-1, size=samples), F("asetpts", "N/SR/TB")]
        filters += [F("volume", format_number(layer.volume * self.plan.clip_volume)),
                    F("atrim", duration=format_number(span))]
        if start_ms:
            filters.append(F("adelay", delays=start_ms, all=1))
        filters += [F("apad", whole_dur=format_number(clip_seconds)), F("atrim", duration=format_number(clip_seconds))]
        return self.chain((f"{idx}:a",), filters, "a")


def _atempo(speed: float) -> list[Filter]:
    """atempo takes 0.5–2.0 per instance; chain instances for larger changes."""
    filters, left = [], speed
    while left > 2.0:
        filters.append(F("atempo", 2.0))
        left /= 2.0
    while left < 0.5:
        filters.append(F("atempo", 0.5))
        left /= 0.5
    if abs(left - 1.0) > 1e-9:
        filters.append(F("atempo", format_number(left)))
    return filters


def _clip_base(g: FilterGraphBuilder, clip: m.ClipPlan) -> tuple[str, int]:
    """The bottom of the clip: its first layer when that covers the canvas, else a colour."""
    first = clip.layers[0]
    if isinstance(first, m.StillLayer) and first.opaque_full and first.window.frames == clip.frames:
        return g.still_stream(first, clip.frames), 1
    if isinstance(first, m.MotionLayer) and first.opaque_full and first.window.frames == clip.frames:
        return g.motion_stream(first), 1
    return g.color_base(clip.frames), 0


def build_clip(g: FilterGraphBuilder, clip: m.ClipPlan, *, video: bool = True, audio: bool = True) -> tuple[str | None, str | None]:
    """One clip → (video pad, audio pad); either can be skipped (segments, the audio pass)."""
    base, start = _clip_base(g, clip) if video else (None, len(clip.layers))
    audio_pads: list[str] = []
    clip_seconds = g.seconds(clip.frames)
    for layer in clip.layers[start:] if video else clip.layers:
        if isinstance(layer, m.VideoLayer):
            wants_audio = audio and layer.audio and g.plan.clip_audio
            if not (video or wants_audio):
                continue
            idx = g.video_input(layer)
            if video and base is not None:
                pad, x, y = g.video_stream(layer, idx)
                base = g.place(base, pad, x, y)
            if wants_audio:
                audio_pads.append(g.video_audio(layer, idx, clip_seconds))
        elif not video or base is None:
            continue
        elif isinstance(layer, m.StillLayer):
            still = g.still_stream(layer, layer.window.frames, alpha=True)
            base = g.place(base, g.shifted(still, layer.window, layer.fade_in, layer.fade_out), layer.x, layer.y)
        else:
            base = g.place(base, g.shifted(g.motion_stream(layer), layer.window), layer.x, layer.y)
    if len(audio_pads) > 1:
        mixed = g.chain(tuple(audio_pads), [F("amix", inputs=len(audio_pads), normalize=0, duration="longest")], "amix")
        return base, mixed
    return base, (audio_pads[0] if audio_pads else None)


def join_clips(g: FilterGraphBuilder, pads: list[tuple[str | None, str | None]]) -> tuple[str | None, str | None]:
    """Chain clips with xfade/acrossfade, or concat for cuts. Audio follows the video's timing."""
    clips = g.plan.clips
    has_audio = any(a for _, a in pads)
    audio = [a or g.silence(g.seconds(c.frames)) for (_, a), c in zip(pads, clips)] if has_audio else []
    video, length = pads[0][0], clips[0].frames
    sound = audio[0] if audio else None
    for i in range(1, len(clips)):
        prev, nxt = clips[i - 1], pads[i][0]
        if prev.transition:
            offset = g.seconds(length - prev.transition_frames)
            if video is not None and nxt is not None:
                video = g.chain((video, nxt), [F("xfade", transition=prev.transition,
                                                 duration=g.seconds(prev.transition_frames), offset=offset)], "x")
            if sound:
                sound = g.chain((sound, audio[i]), [F("acrossfade", d=g.seconds(prev.transition_frames),
                                                      c1="tri", c2="tri")], "ax")
            length += clips[i].frames - prev.transition_frames
        else:
            if video is not None and nxt is not None:
                # concat outputs a 1/1000000 timebase; xfade downstream needs 1/fps again.
                video = g.chain((video, nxt), [F("concat", n=2, v=1, a=0), F("settb", expr=g.tb)], "c")
            if sound:
                sound = g.chain((sound, audio[i]), [F("concat", n=2, v=0, a=1)], "ac")
            length += clips[i].frames
    return video, sound


def music_stream(g: FilterGraphBuilder, under: str | None) -> str:
    music = g.plan.music
    assert music is not None
    options = (["-stream_loop", "-1"] if music.loop else []) + (["-ss", format_number(music.start)] if music.start else [])
    idx = g.add_input(music.path, *options)
    total = g.plan.duration
    filters = [*g.normalize_audio(), F("apad", whole_dur=format_number(total)),
               F("atrim", duration=format_number(total)), F("asetpts", "PTS-STARTPTS"),
               F("volume", format_number(music.volume))]
    if music.fade_in:
        filters.append(F("afade", t="in", st=0, d=format_number(min(music.fade_in, total))))
    if music.fade_out:
        filters.append(F("afade", t="out", st=format_number(max(0.0, total - music.fade_out)),
                         d=format_number(min(music.fade_out, total))))
    pad = g.chain((f"{idx}:a",), filters, "music")
    if under is None:
        return pad
    if music.fade_out:  # the clips' own sound ends with the music, not cut off at full level
        under = g.chain((under,), [F("afade", t="out", st=format_number(max(0.0, total - music.fade_out)),
                                     d=format_number(min(music.fade_out, total)))], "endfade")
    return g.chain((under, pad), [F("amix", inputs=2, duration="first", normalize=0)], "mix")


def build_graph(plan: m.RenderPlan, *, video: bool = True, audio: bool = True,
                g: FilterGraphBuilder | None = None) -> tuple[FilterGraphBuilder, str | None, str | None]:
    """Build every clip, join them, add music. Returns the builder and the final pads."""
    g = g or FilterGraphBuilder(plan)
    pads = []
    for clip, start in zip(plan.clips, plan.clip_starts(), strict=True):
        g.clip_start = start
        pads.append(build_clip(g, clip, video=video, audio=audio))
    video_pad, audio_pad = join_clips(g, pads)
    if audio and plan.music is not None:
        audio_pad = music_stream(g, audio_pad)
    return g, video_pad, audio_pad
