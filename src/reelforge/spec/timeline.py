"""The timeline spec: a canvas, clips of stacked layers, transitions, audio and an output preset.

Every field has a description; `reelforge schema timeline` exports this as JSON Schema and
`docs/timeline.md` is generated from it. Shorthands (a transition or motion given as a plain
string) are expanded here, once, before anything else sees the spec.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelforge.spec.common import ASPECTS, RESOLUTIONS, Anchor, Color, even
from reelforge.spec.text_style import Style
from reelforge.spec.transitions import TransitionName

FitMode = Literal["contain", "cover", "contain-blur", "stretch"]
Easing = Literal["linear", "ease-in", "ease-out", "ease-in-out"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently do nothing."""

    model_config = ConfigDict(extra="forbid")


class Canvas(Strict):
    """Frame size, rate and background of the whole video."""

    aspect: Literal["16:9", "9:16", "1:1", "4:5", "4:3", "3:4", "21:9"] = Field(
        "16:9", description="Aspect preset; ignored when width and height are given.")
    resolution: Literal["480p", "720p", "1080p", "1440p", "4k"] = Field(
        "1080p", description="Short side of the frame: 1080p at 9:16 is 1080x1920.")
    width: int | None = Field(None, ge=16, le=8192, description="Explicit width in pixels (even for H.264).")
    height: int | None = Field(None, ge=16, le=8192, description="Explicit height in pixels (even for H.264).")
    fps: float = Field(30, gt=0, le=120, description="Frames per second.")
    background: Color = Field("#000000", description="Colour behind all layers; 'transparent' for alpha outputs.")

    @field_validator("resolution", mode="before")
    @classmethod
    def _lower_resolution(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _both_or_neither(self) -> Canvas:
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither (then aspect × resolution is used)")
        return self

    @property
    def size(self) -> tuple[int, int]:
        if self.width is not None and self.height is not None:
            return self.width, self.height
        aw, ah = ASPECTS[self.aspect]
        short = RESOLUTIONS[self.resolution]
        if aw >= ah:
            return even(short * aw / ah), short
        return short, even(short * ah / aw)


class Transition(Strict):
    """How a clip hands over to the next one."""

    name: TransitionName = Field("fade", description="Any ffmpeg xfade transition name, or 'cut'.")
    duration: float = Field(0.5, gt=0, le=10, description="Seconds the two clips overlap (ignored for cut).")


class KenBurns(Strict):
    """Smooth zoom and pan over an image layer (sub-pixel accurate, no zoompan jitter)."""

    type: Literal["kenburns"] = "kenburns"
    zoom_from: float = Field(1.0, ge=1.0, le=4.0, description="Zoom at the layer's start (1 = fit).")
    zoom_to: float = Field(1.15, ge=1.0, le=4.0, description="Zoom at the layer's end.")
    focus_from: tuple[float, float] = Field((0.5, 0.5), description="Point (x, y in 0..1 of the image) at the centre at the start.")
    focus_to: tuple[float, float] = Field((0.5, 0.5), description="Point at the centre at the end.")
    easing: Easing = Field("ease-in-out", description="Speed curve of the move.")

    @field_validator("focus_from", "focus_to")
    @classmethod
    def _in_unit_square(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= v <= 1.0 for v in value):
            raise ValueError("focus coordinates are fractions of the image: 0..1")
        return value

    def reachable_path(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The move's start and end focus, moved to where the window can centre at that zoom.
        Clamping the path (not each frame) keeps the eased velocity continuous: a pan preset asks
        for 0.4 → 0.6 at zoom 1.15, where only 0.435 … 0.565 is reachable, and a per-frame clamp
        stood still, then jumped to full speed, then stopped dead. The reachable range
        [1/2z, 1 − 1/2z] is convex in the progress (1/z of a linear z), so a straight path between
        reachable end points stays reachable on every frame."""
        return reachable_focus(self.focus_from, self.zoom_from), reachable_focus(self.focus_to, self.zoom_to)


def reachable_focus(focus: tuple[float, float], zoom: float) -> tuple[float, float]:
    half = 1 / (2 * zoom)
    return (min(max(focus[0], half), 1 - half), min(max(focus[1], half), 1 - half))


# Shorthands a user can write instead of a full KenBurns object.
MOTION_PRESETS: dict[str, dict[str, Any]] = {
    "zoom-in": {"zoom_from": 1.0, "zoom_to": 1.2},
    "zoom-out": {"zoom_from": 1.2, "zoom_to": 1.0},
    "pan-left": {"zoom_from": 1.15, "zoom_to": 1.15, "focus_from": (0.6, 0.5), "focus_to": (0.4, 0.5)},
    "pan-right": {"zoom_from": 1.15, "zoom_to": 1.15, "focus_from": (0.4, 0.5), "focus_to": (0.6, 0.5)},
    "pan-up": {"zoom_from": 1.15, "zoom_to": 1.15, "focus_from": (0.5, 0.6), "focus_to": (0.5, 0.4)},
    "pan-down": {"zoom_from": 1.15, "zoom_to": 1.15, "focus_from": (0.5, 0.4), "focus_to": (0.5, 0.6)},
}


class LayerBase(Strict):
    start: float | None = Field(None, ge=0, description="Seconds into the clip when the layer appears (default 0).")
    end: float | None = Field(None, gt=0, description="Seconds into the clip when it disappears (default: clip end).")

    @model_validator(mode="after")
    def _end_after_start(self) -> LayerBase:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class BoxedLayer(LayerBase):
    """A layer drawn into a box: the whole canvas by default, or a fraction of it at an anchor."""

    width: float = Field(1.0, gt=0, le=1, description="Box width as a fraction of the canvas width.")
    height: float = Field(1.0, gt=0, le=1, description="Box height as a fraction of the canvas height.")
    position: Anchor = Field("center", description="Where the box sits on the canvas.")
    margin: float = Field(0.0, ge=0, le=0.5, description="Distance from the canvas edge, fraction of the short side.")
    fit: FitMode = Field("cover", description="How the media fills its box.")


class ImageLayer(BoxedLayer):
    """A still image (PNG/JPEG/WebP/…; EXIF rotation honoured), optionally with Ken Burns motion."""

    type: Literal["image"]
    path: str = Field(description="Image file; relative to the spec file, or `sample:NAME` for a bundled sample photo.")
    motion: KenBurns | None = Field(None, description="Ken Burns move, or a preset name: " + ", ".join(MOTION_PRESETS))

    @field_validator("motion", mode="before")
    @classmethod
    def _expand_motion(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in MOTION_PRESETS:
                raise ValueError(f"unknown motion {value!r}; use one of {', '.join(MOTION_PRESETS)} or an object")
            return {"type": "kenburns", **MOTION_PRESETS[value]}
        return value


class GenerateVideo(Strict):
    """A clip made by a video generator (`reelforge clip`) instead of a file: generated once,
    cached by content (a rerun calls nothing), then used as the layer's source."""

    prompt: str = Field("", max_length=4000, description="What the clip shows (may be empty with an image).")
    provider: Literal["local", "veo"] = Field(
        "local", description="local = the motion engine on this machine (no key, $0): Ken Burns from `image`, an "
                             "optical-flow morph from `image` to `last_frame`, or a draft card; veo = Veo (paid).")
    duration: int = Field(4, ge=1, le=60, description="Clip length in seconds (Veo: 4, 6 or 8).")
    image: str | None = Field(None, description="First frame (image-to-video), relative to the spec file.")
    last_frame: str | None = Field(None, description="Last frame (needs `image`): the clip moves from one to the other.")
    aspect: Literal["16:9", "9:16"] | None = Field(None, description="Default: 9:16 on a portrait canvas, else 16:9.")
    resolution: Literal["720p", "1080p", "4k"] = Field("720p", description="Resolution generated (Veo needs 8 s above 720p).")
    model: str | None = Field(None, description="Model id (default: REELFORGE_VEO_MODEL for veo, motion-1 locally).")
    negative_prompt: str | None = Field(None, description="What the clip should avoid.")


class VideoLayer(BoxedLayer):
    """A video file (or a generated clip), trimmed, looped, sped up or muted."""

    type: Literal["video"]
    path: str | None = Field(None, description="Video file, relative to the spec file (or give `generate`).")
    generate: GenerateVideo | None = Field(None, description="Generate the clip instead of reading a file "
                                           "(rendered with `reelforge render`, which runs the generator first).")
    trim_in: float = Field(0.0, ge=0, description="Seconds to skip at the start of the source.")
    trim_out: float | None = Field(None, gt=0, description="Source time to stop at (default: its end).")
    loop: bool = Field(False, description="Loop the source if it is shorter than the layer.")
    mute: bool = Field(False, description="Drop this layer's audio.")
    volume: float = Field(1.0, ge=0, le=4, description="Gain for this layer's audio.")
    speed: float = Field(1.0, ge=0.25, le=4, description="Playback speed (audio keeps its pitch).")

    @property
    def file(self) -> str:
        """The file the render reads: `path` (a generate block has been replaced by its clip)."""
        if self.path is None:
            raise ValueError("this video layer's clip has not been generated yet")
        return self.path

    @model_validator(mode="after")
    def _trim_order(self) -> VideoLayer:
        if (self.path is None) == (self.generate is None):
            raise ValueError("give a video layer either a path or a generate block (exactly one)")
        if self.trim_out is not None and self.trim_out <= self.trim_in:
            raise ValueError(f"trim_out ({self.trim_out}) must be after trim_in ({self.trim_in})")
        return self


class ColorLayer(LayerBase):
    """A solid colour over the whole canvas."""

    type: Literal["color"]
    color: Color = Field(description="Fill colour.")


class LinearGradientLayer(LayerBase):
    """A linear gradient over the whole canvas (dithered, so no banding after encoding)."""

    type: Literal["linear-gradient"]
    colors: list[Color] = Field(min_length=2, description="Two or more colour stops, evenly spaced.")
    angle: float = Field(180, description="Direction in degrees, CSS style: 180 = top→bottom, 90 = left→right.")


class RadialGradientLayer(LayerBase):
    """A radial gradient over the whole canvas."""

    type: Literal["radial-gradient"]
    colors: list[Color] = Field(min_length=2, description="Stops from the centre outwards.")
    center: tuple[float, float] = Field((0.5, 0.5), description="Centre (x, y) as fractions of the canvas.")
    radius: float = Field(0.75, gt=0, le=4, description="Radius as a fraction of the canvas diagonal.")


class PlainStroke(Strict):
    """An outline around the glyphs."""

    width: float = Field(3, ge=0, description="Outline width in pixels at 1080p (scaled with the canvas).")
    color: Color = Field("#000000", description="Outline colour.")


class PlainShadow(Strict):
    """A soft drop shadow behind the text."""

    offset: tuple[float, float] = Field((4, 4), description="Shadow offset (x, y) in pixels at 1080p.")
    blur: float = Field(6, ge=0, description="Blur radius in pixels at 1080p.")
    color: Color = Field("#000000b0", description="Shadow colour (alpha = strength).")


class TextBox(Strict):
    """A rounded box behind the text (captions, lower thirds)."""

    color: Color = Field("#000000a0", description="Box fill behind the text.")
    padding: float = Field(0.4, ge=0, description="Padding as a fraction of the font size.")
    radius: float = Field(0.3, ge=0, description="Corner radius as a fraction of the font size.")


def resolve_style(value: Any) -> Any:
    """`neon` → that preset; `{preset: neon, glow: …}` → the preset with those fields replaced;
    any other mapping → fields over the default style (docs/text.md)."""
    if isinstance(value, str):
        value = {"preset": value}
    if isinstance(value, dict) and "preset" in value:
        from reelforge.spec.text_presets import presets  # reads spec/text_presets.yaml once

        name = value["preset"]
        if name not in presets():
            raise ValueError(f"unknown text style {name!r}; use one of: {', '.join(presets())}")
        overrides = {k: v for k, v in value.items() if k != "preset"}
        return {**presets()[name].model_dump(exclude_unset=True), **overrides}
    return value


def _preset_name_allowed(schema: dict[str, Any]) -> None:
    """In the JSON Schema, `style` may also be a preset name (validation expands it first)."""
    schema["anyOf"].insert(0, {"type": "string", "description": "A preset name."})


class TextLayer(LayerBase):
    """Text rendered by reelforge (HarfBuzz shaping, bundled Noto fonts with emoji/CJK/RTL fallback).

    Without `style` it is plain text (one colour, optional stroke, shadow and box). With `style`
    it is drawn by the same effects engine and presets as `reelforge text`; the layer's `size`
    and `wrap_width` set the size, and `font`, `weight`, `color`, `align` and `line_spacing`,
    where given, replace the style's."""

    type: Literal["text"]
    text: str = Field(min_length=1, description="The text; newlines break lines.")
    style: Style | None = Field(None, json_schema_extra=_preset_name_allowed, description="A text style preset name (`neon`, `gold-3d`, … — "
                                      "`reelforge text --list`), or a Style object (docs/text.md); "
                                      "`{preset: neon, glow: …}` is a preset with some fields replaced.")
    font: str = Field("sans", description="Font family name (`reelforge fonts`) or a .ttf/.otf path.")
    weight: int = Field(700, ge=100, le=900, description="Weight for variable fonts (400 regular, 700 bold).")
    size: float = Field(0.07, gt=0, le=2000,
                        description="Font size: ≤ 1 is a fraction of the canvas height, > 1 pixels (at most 2000).")
    color: Color = Field("#ffffff", description="Text colour.")
    stroke: PlainStroke | None = Field(None, description="Outline around the glyphs (plain text; with `style`, use its `stroke`).")
    shadow: PlainShadow | None = Field(None, description="Drop shadow (plain text; with `style`, use its `shadow`).")
    box: TextBox | None = Field(None, description="Box behind the text.")
    align: Literal["left", "center", "right"] = Field("center", description="Alignment of lines within the block.")
    wrap_width: float = Field(0.9, gt=0, le=1, description="Maximum line width, fraction of the canvas width.")
    line_spacing: float = Field(1.2, gt=0.5, le=3, description="Line height as a multiple of the font size.")
    position: Anchor = Field("center", description="Where the text block sits on the canvas.")
    margin: float = Field(0.06, ge=0, le=0.5, description="Distance from the canvas edge, fraction of the short side.")
    fade_in: float = Field(0.0, ge=0, description="Seconds of fade-in.")
    fade_out: float = Field(0.0, ge=0, description="Seconds of fade-out.")

    _style = field_validator("style", mode="before")(classmethod(lambda cls, v: resolve_style(v)))

    @model_validator(mode="after")
    def _effects_in_one_place(self) -> TextLayer:
        plain = [name for name in ("stroke", "shadow", "box") if getattr(self, name) is not None]
        if self.style is not None and plain:
            raise ValueError(f"with `style`, give {', '.join(plain)} inside the style (stroke, shadow, background)")
        return self


class OverlayLayer(LayerBase):
    """An RGBA image (logo, sticker, watermark) placed at an anchor, with opacity and fades."""

    type: Literal["overlay"]
    path: str = Field(description="Image file (transparency kept); relative to the spec file or `sample:NAME`.")
    position: Anchor = Field("bottom-right", description="Where the overlay sits on the canvas.")
    margin: float = Field(0.04, ge=0, le=0.5, description="Distance from the edge, fraction of the short side.")
    scale: float = Field(0.2, gt=0, le=1, description="Overlay width as a fraction of the canvas width.")
    opacity: float = Field(1.0, ge=0, le=1, description="0 = invisible, 1 = as the image is.")
    fade_in: float = Field(0.0, ge=0, description="Seconds of fade-in.")
    fade_out: float = Field(0.0, ge=0, description="Seconds of fade-out.")


Layer = Annotated[
    ImageLayer | VideoLayer | ColorLayer | LinearGradientLayer | RadialGradientLayer | TextLayer | OverlayLayer,
    Field(discriminator="type"),
]
LAYER_TYPES = ("image", "video", "color", "linear-gradient", "radial-gradient", "text", "overlay")


def _expand_transition(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class Clip(Strict):
    """One shot: layers stacked bottom to top, shown for `duration` seconds."""

    duration: float | None = Field(None, gt=0, le=3600, description="Seconds; default: defaults.duration, or the video layer's length.")
    layers: list[Layer] = Field(min_length=1, description="Layers, bottom first.")
    transition: Transition | None = Field(None, description="Transition into the next clip (default: defaults.transition).")

    _expand = field_validator("transition", mode="before")(classmethod(lambda cls, v: _expand_transition(v)))


class Music(Strict):
    """A background track under the whole video."""

    path: str = Field(description="Audio (or video) file; relative to the spec file.")
    volume: float = Field(0.6, ge=0, le=4, description="Gain for the track (1 = as recorded).")
    start: float = Field(0.0, ge=0, description="Seconds to skip at the start of the track.")
    loop: bool = Field(True, description="Loop the track if it is shorter than the video.")
    fade_in: float = Field(0.5, ge=0, description="Seconds of fade-in at the start of the video.")
    fade_out: float = Field(1.5, ge=0, description="Seconds of fade-out at the end of the video.")


class Audio(Strict):
    """Sound: an optional music bed mixed under the clips' own audio."""

    music: Music | None = Field(None, description="Background track, trimmed or looped to the video.")
    clip_audio: bool = Field(True, description="Keep the audio of video layers (crossfaded with the transitions).")
    clip_volume: float = Field(1.0, ge=0, le=4, description="Gain for clip audio under the music.")


class OutputPreset(Strict):
    """Container/codec preset and quality."""

    format: Literal["mp4", "mp4-h265", "webm", "webm-alpha", "mov-prores", "gif"] = Field(
        "mp4", description="mp4 = H.264 yuv420p BT.709 +faststart; webm = VP9; *-alpha and mov-prores keep transparency.")
    quality: Literal["draft", "standard", "high"] = Field(
        "standard", description="draft = fastest encode for previews; high = slower, smaller artefacts.")
    hardware: Literal["none", "nvenc", "vaapi", "qsv"] = Field(
        "none", description="Use a hardware encoder when present; falls back to software with a warning.")


class Defaults(Strict):
    """Values every clip and layer inherits unless it sets its own (global → per type → layer)."""

    duration: float = Field(4.0, gt=0, le=3600, description="Clip duration when a clip sets none.")
    transition: Transition | None = Field(None, description="Transition between clips when a clip sets none (default: cut).")
    layer: dict[str, Any] = Field(default_factory=dict, description="Fields applied to every layer that accepts them.")
    image: dict[str, Any] = Field(default_factory=dict, description="Fields for image layers.")
    video: dict[str, Any] = Field(default_factory=dict, description="Fields for video layers.")
    text: dict[str, Any] = Field(default_factory=dict, description="Fields for text layers.")
    overlay: dict[str, Any] = Field(default_factory=dict, description="Fields for overlay layers.")

    _expand = field_validator("transition", mode="before")(classmethod(lambda cls, v: _expand_transition(v)))


class Timeline(Strict):
    """A video: canvas + clips (+ audio) → one ffmpeg render."""

    version: Literal[1] = Field(1, description="Spec format version.")
    canvas: Canvas = Field(default_factory=lambda: Canvas(), description="Frame size, rate and background.")
    defaults: Defaults = Field(default_factory=lambda: Defaults(), description="Values clips and layers inherit.")
    clips: list[Clip] = Field(min_length=1, description="The shots, in order.")
    audio: Audio = Field(default_factory=lambda: Audio(), description="Music bed and clip audio.")
    output: OutputPreset = Field(default_factory=lambda: OutputPreset(), description="Container, codec and quality.")

    def generate_blocks(self) -> list[tuple[str, VideoLayer]]:
        """The video layers that ask for a generated clip, with their field paths."""
        return [(f"clips[{i}].layers[{j}]", layer) for i, clip in enumerate(self.clips)
                for j, layer in enumerate(clip.layers) if isinstance(layer, VideoLayer) and layer.generate is not None]
