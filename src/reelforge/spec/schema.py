"""JSON Schema export of the spec documents."""

from __future__ import annotations

from typing import Any


def json_schema(name: str) -> dict[str, Any]:
    if name == "timeline":
        from reelforge.spec.timeline import Timeline

        schema = Timeline.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "reelforge timeline"
        return schema
    if name in ("text", "overlay"):
        from reelforge.spec.overlay import OverlayJob
        from reelforge.spec.text_style import Style

        model = Style if name == "text" else OverlayJob
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"reelforge {name} {'style' if name == 'text' else 'job'}"
        return schema
    if name == "scenes":
        from reelforge.spec.scenes import ScenesSpec

        schema = ScenesSpec.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "reelforge scenes"
        return schema
    if name == "story":
        from reelforge.spec.story import StoryScript

        schema = StoryScript.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "reelforge story script"
        return schema
    raise KeyError(name)
