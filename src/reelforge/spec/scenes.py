"""The `scenes` spec: a list of scene prompts (or image files) plus the look of the whole video.

`reelforge scenes SPEC -o OUT.mp4` turns it into a step graph (generate → check → cut out →
composite, see pipelines/scenes/) and then one timeline render. `reelforge schema scenes`
exports this model as JSON Schema; docs/scenes.md is generated from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reelforge.spec.backgrounds import Background, ContactShadow
from reelforge.spec.provider_names import CLOUD_CUTOUTS, CutoutMethod
from reelforge.spec.timeline import (
    MOTION_PRESETS,
    KenBurns,
    Music,
    Strict,
    TextLayer,
    Transition,
    _expand_transition,
)

Mode = Literal["speed", "balanced", "premium"]
MODES = ("speed", "balanced", "premium")
# Caption look when the spec sets none: a lower-third with a soft box, readable on any frame.
CAPTION_DEFAULTS: dict[str, Any] = {"position": "bottom", "size": 0.055, "box": {}, "margin": 0.07,
                                    "fade_in": 0.3, "fade_out": 0.3}


def _expand_motion(value: Any) -> Any:
    """`zoom-in` → the preset's KenBurns fields; `none` → no motion."""
    if isinstance(value, str):
        if value == "none":
            return None
        if value not in MOTION_PRESETS:
            raise ValueError(f"unknown motion {value!r}; use none, {', '.join(MOTION_PRESETS)} or an object")
        return {"type": "kenburns", **MOTION_PRESETS[value]}
    return value


def caption_fields(caption_style: dict[str, Any]) -> dict[str, Any]:
    """The text-layer fields of every caption: the defaults, then the spec's caption style. With a
    `style` (preset or Style object) the style draws its own badge, so the default box is left out."""
    defaults = {k: v for k, v in CAPTION_DEFAULTS.items() if not (k == "box" and "style" in caption_style)}
    return {**defaults, **caption_style}


def _check_caption_style(value: dict[str, Any]) -> dict[str, Any]:
    """A caption style is a text layer's fields (style, font, size, color, stroke, shadow, box, position…)."""
    bad = set(value) & {"type", "text", "start", "end"}
    if bad:
        raise ValueError(f"{', '.join(sorted(bad))} cannot be set in a caption style (they come from each scene)")
    TextLayer.model_validate({"type": "text", "text": "x", **caption_fields(value)})
    return value


class Subject(Strict):
    """How a cut-out subject sits on the background (balanced and premium modes)."""

    placement: Literal["auto", "fixed"] = Field(
        "auto", description="auto = the layout step sizes the subject from its alpha bounding box for the aspect, "
                            "keeps it clear of the caption and inside the frame through the whole zoom; fixed = "
                            "`scale` and `anchor` as given (setting either of them alone also means fixed).")
    scale: float = Field(0.72, gt=0.05, le=1, description="Fixed placement: the subject fits within this fraction of the frame's width and height.")
    anchor: Literal["center", "bottom"] = Field("bottom", description="Fixed placement: center, or bottom = standing on the floor line.")
    shadow: ContactShadow | None = Field(default_factory=lambda: ContactShadow(),
                                         description="Contact shadow under the subject; null for none.")


class CutoutSpec(Strict):
    """Which cut-out method separates a generated subject from its white backdrop."""

    method: CutoutMethod | None = Field(
        None, description="Default: auto (an exact key where the backdrop is plain, the ML mask refined by "
                          "matting where it is busy) in balanced and premium mode alike. A cloud provider "
                          f"({', '.join(CLOUD_CUTOUTS)}) is a paid, cached call and needs its key.")
    model: str = Field("u2netp", description="ML model for ml/refine/auto (`reelforge models list`).")


class QA(Strict):
    """Checks every scene image must pass, and what happens when one keeps failing."""

    retries: int = Field(2, ge=0, le=5, description="Regenerations (new seed/variation) of a scene whose image fails a check.")
    on_fail: Literal["draft-card", "skip", "fail"] = Field(
        "draft-card", description="A scene still failing after its retries: draft-card = a marked placeholder "
                                  "frame (warned in the report), skip = leave it out, fail = stop before rendering.")
    min_size: int = Field(256, ge=16, le=8192, description="Smallest acceptable short side of a generated image, pixels.")
    aspect_tolerance: float = Field(0.05, ge=0, le=1, description="Allowed relative difference from the requested aspect ratio.")
    min_contrast: float = Field(4.0, ge=0, le=128, description="An image whose pixel standard deviation (0-255) is below this is blank.")
    min_subject: float = Field(0.005, ge=0, le=1, description="Least share of the frame the cut-out subject must cover.")


class SceneVideo(Strict):
    """A generated clip in the scene's place: the scene's frame (its image, or the composite)
    animated image-to-video by a video generator (`reelforge clip`), cached as a step."""

    provider: Literal["local", "veo"] = Field(
        "local", description="local = the motion engine on this machine (Ken Burns from the frame, no key, $0); "
                             "veo = Veo image-to-video (GEMINI_API_KEY or Vertex AI; paid per second).")
    prompt: str | None = Field(None, min_length=1, max_length=4000,
                               description="What moves in the clip (default: the scene's prompt, or its caption).")
    duration: int | None = Field(None, ge=1, le=60, description="Clip length in seconds (Veo: 4, 6 or 8). Default: "
                                 "the shortest the model makes that covers the scene's duration.")
    model: str | None = Field(None, description="Model id (default: REELFORGE_VEO_MODEL for veo, motion-1 locally).")
    resolution: Literal["720p", "1080p", "4k"] = Field("720p", description="Resolution generated (the render "
                                                       "scales it to the canvas); Veo needs 8 s above 720p.")
    negative_prompt: str | None = Field(None, description="What the clip should avoid.")


class Scene(Strict):
    """One shot: a prompt to generate, or an image file, plus its own overrides."""

    prompt: str | None = Field(None, min_length=1, max_length=4000, description="What to generate.")
    image: str | None = Field(None, description="An image file instead of a prompt (relative to the spec file).")
    duration: float | None = Field(None, gt=0, le=600, description="Seconds on screen (default: the spec's duration).")
    caption: str | None = Field(None, min_length=1, description="Text shown over the scene.")
    motion: KenBurns | None | Literal["default"] = Field("default", description="Ken Burns move, a preset name, none, or default (the spec's).")
    background: Literal["none"] | Background | None = Field(
        None, description="This scene's background (default: the spec's); in speed mode `none` = no background "
                          "words in this scene's prompt (scenery brings its own setting).")
    transition: Transition | None = Field(None, description="Transition into the next scene (default: the spec's).")
    seed: int | None = Field(None, description="Seed for the generator, where it supports one.")
    video: SceneVideo | None = Field(None, description="Animate the scene: a generated clip (image-to-video from "
                                     "the scene's frame) takes its place in the timeline instead of the still.")

    @field_validator("motion", mode="before")
    @classmethod
    def _motion(cls, value: Any) -> Any:
        return value if value == "default" else _expand_motion(value)

    _transition = field_validator("transition", mode="before")(classmethod(lambda cls, v: _expand_transition(v)))

    @model_validator(mode="after")
    def _prompt_or_image(self) -> Scene:
        if (self.prompt is None) == (self.image is None):
            raise ValueError("give a scene either a prompt or an image (exactly one)")
        return self


class ScenesSpec(Strict):
    """Scene prompts or images → a finished video."""

    version: Literal[1] = Field(1, description="Spec format version.")
    aspect: Literal["16:9", "9:16", "1:1", "4:5", "4:3", "3:4", "21:9"] = Field("16:9", description="Frame aspect.")
    resolution: Literal["480p", "720p", "1080p", "1440p", "4k"] = Field("1080p", description="Short side of the frame.")
    fps: float = Field(30, gt=0, le=120, description="Frames per second.")
    provider: str = Field("local", description="Image provider (`reelforge providers`): local draws draft cards offline.")
    model: str | None = Field(None, description="Model id for the provider (default: its configured model).")
    mode: Mode = Field("balanced", description="speed = background described in the prompt, no cut-out; balanced = "
                                               "generate on white, cut out, composite; premium = balanced with the "
                                               "high-quality encode (the cut-out stays the best method for each "
                                               "image; set cutout.method for refine or a cloud cut-out).")
    background: Literal["none"] | Background = Field(
        "studio", validate_default=True,
        description="Background behind cut-out subjects. Speed mode describes it in the prompt only when you set "
                    "it (spec or scene), so scenery prompts are sent as written; `none` = never.")
    duration: float = Field(3.0, gt=0, le=600, description="Seconds per scene unless a scene sets its own.")
    transition: Transition | None = Field(default_factory=lambda: Transition(name="fade", duration=0.5),
                                          description="Transition between scenes; null or `cut` for hard cuts.")
    motion: KenBurns | None = Field(default_factory=lambda: KenBurns(zoom_from=1.0, zoom_to=1.08),
                                    description="Ken Burns move on every scene: a preset name, an object, or none.")
    caption_style: dict[str, Any] = Field(default_factory=dict, description="Text-layer fields for captions; "
                                          "a `size` ≤ 1 is a fraction of the frame's short side, and margin and "
                                          "wrap width default to the platform safe zone "
                                          "(style — a preset such as `neon` or a Style —, font, size, color, stroke, "
                                          "shadow, box, position, margin…).")
    music: Music | None = Field(None, description="Background music: a file path or an object.")
    subject: Subject = Field(default_factory=lambda: Subject(), description="Placement of cut-out subjects.")
    cutout: CutoutSpec = Field(default_factory=lambda: CutoutSpec(), description="Cut-out method for balanced/premium.")
    qa: QA = Field(default_factory=lambda: QA(), description="Image checks and the failure policy.")
    quality: Literal["draft", "standard", "high"] | None = Field(None, description="Encode quality (default: high in premium, else standard).")
    scenes: list[Scene] = Field(min_length=1, description="The scenes, in order.")

    _transition = field_validator("transition", mode="before")(classmethod(lambda cls, v: _expand_transition(v)))

    @field_validator("motion", mode="before")
    @classmethod
    def _motion(cls, value: Any) -> Any:
        return _expand_motion(value)

    @field_validator("music", mode="before")
    @classmethod
    def _music_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("resolution", mode="before")
    @classmethod
    def _lower_resolution(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    _caption = field_validator("caption_style")(classmethod(lambda cls, v: _check_caption_style(v)))

    @model_validator(mode="after")
    def _none_only_in_speed(self) -> ScenesSpec:
        if self.mode != "speed" and "none" in (self.background, *(s.background for s in self.scenes)):
            raise ValueError("background: none is for speed mode (no background words in the prompt); "
                             "balanced and premium composite the subject onto a background: give one")
        return self

    @model_validator(mode="after")
    def _video_aspect(self) -> ScenesSpec:
        if self.aspect not in ("16:9", "9:16") and any(s.video is not None for s in self.scenes):
            raise ValueError(f"a scene with `video:` needs aspect 16:9 or 9:16 (video generators make only those), "
                             f"not {self.aspect}")
        return self

    def background_words(self, scene: Scene) -> Any:
        """The background speed mode describes in a scene's prompt, or None for no words: only one
        the user set (the default studio sweep turned "a lighthouse on a cliff" into a studio shot)."""
        if scene.background is not None:
            return None if scene.background == "none" else scene.background
        if "background" not in self.model_fields_set or self.background == "none":
            return None
        return self.background

    @property
    def cutout_method(self) -> str:
        # Premium used to force `refine`, which smears exact white-backdrop edges (3.4x the alpha
        # error of a key on the benchmark's white split): auto picks the best method per image.
        return self.cutout.method or "auto"

    @property
    def encode_quality(self) -> str:
        return self.quality or ("high" if self.mode == "premium" else "standard")
