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
    raise KeyError(name)
