"""Generate the spec reference (docs/timeline.md) from the JSON Schema.

    python -m reelforge.spec.docs > docs/timeline.md
"""

from __future__ import annotations

import json
from typing import Any

from reelforge.spec.schema import json_schema

HEADER = """\
# Timeline spec reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs`); do not edit by hand.
`reelforge schema timeline` prints the same schema as JSON Schema.

A timeline is YAML or JSON. Paths are relative to the spec file; `sample:NAME` picks a sample
photo bundled with scikit-image (`coffee.png`, `astronaut.png`, `rocket.jpg`, `chelsea.png`, …).
Defaults cascade: `defaults.layer` → `defaults.<type>` → the layer's own fields.
A transition (or a motion) can be written as a plain name: `transition: wipeleft`, `motion: zoom-in`.
"""


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].split("/")[-1]
        return f"[{name}](#{name.lower()})"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "oneOf" in prop:
        return " or ".join(_type(p) for p in prop["oneOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_type(p) for p in prop["prefixItems"]) + "]"
        return f"list of {_type(prop.get('items', {}))}"
    return str(kind)


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in prop:
        return ""
    return f"`{json.dumps(prop['default'], ensure_ascii=False)}`"


def _model(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += ["| field | type | default | description |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        desc = " ".join(prop.get("description", "").split()).replace("|", "\\|")
        lines.append(f"| `{field}` | {_type(prop)} | {_default(prop, field in required)} | {desc} |")
    return lines + [""]


def render_markdown() -> str:
    schema = json_schema("timeline")
    parts = [HEADER, *_model("Timeline", schema)]
    for name, sub in schema.get("$defs", {}).items():
        parts += _model(name, sub)
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
