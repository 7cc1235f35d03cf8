"""The layout of a scene's frame, shared by the composite step and the timeline it ends in.

The caption's text-layer fields are decided here once (safe-zone margin and wrap width, unless the
spec sets them), so that the caption the composite step measures and keeps the subject away from
is the very caption the renderer draws. See imaging/layout.py for the geometry."""

from __future__ import annotations

from typing import Any

from reelforge.imaging.layout import caption_fit
from reelforge.spec.scenes import Scene, ScenesSpec, caption_fields


def auto_layout(spec: ScenesSpec) -> bool:
    """The layout step places subjects, unless the spec asks for fixed placement (or sets the old
    `scale`/`anchor` fields without saying `placement`)."""
    subject = spec.subject
    if "placement" in subject.model_fields_set:
        return subject.placement == "auto"
    return not ({"scale", "anchor"} & subject.model_fields_set)


def caption_layer(spec: ScenesSpec, text: str, size: tuple[int, int]) -> dict[str, Any]:
    """The caption's text layer: the spec's caption style, fitted into the platform safe zone."""
    fields = caption_fields(spec.caption_style)
    fit = caption_fit(spec.aspect, size, fields["position"])
    given = spec.caption_style
    fields |= {name: value for name, value in fit.items() if name not in given}
    if fields["size"] <= 1:  # a fraction of the short side: a 9:16 caption is as wide as a 16:9 one
        fields["size"] = max(6, round(fields["size"] * min(size)))
    return {"type": "text", "text": text, **fields}


def scene_motion(spec: ScenesSpec, scene: Scene) -> dict[str, Any] | None:
    motion = spec.motion if scene.motion == "default" else scene.motion
    return None if motion is None else motion.model_dump(mode="json")


def placement_params(spec: ScenesSpec, scene: Scene, size: tuple[int, int]) -> dict[str, Any]:
    """The composite step's placement: fixed (scale, anchor) or the layout's inputs."""
    subject = spec.subject
    shadow = None if subject.shadow is None else subject.shadow.model_dump(mode="json")
    if not auto_layout(spec):
        return {"scale": subject.scale, "anchor": subject.anchor, "shadow": shadow}
    caption = caption_layer(spec, scene.caption, size) if scene.caption else None
    return {"layout": "auto", "aspect": spec.aspect, "caption": caption, "motion": scene_motion(spec, scene),
            "shadow": shadow}
