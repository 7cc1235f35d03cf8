"""Load a spec file (YAML or JSON): parse, expand defaults, validate, resolve paths.

Validation errors name the field path (`clips[3].layers[1].path`) and, when the document came
from a file, the line it is on.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from reelforge.errors import SpecError
from reelforge.spec.bounds import check_document, check_file_size, check_timeline_counts
from reelforge.spec.timeline import (
    ColorLayer,
    ImageLayer,
    LinearGradientLayer,
    OverlayLayer,
    RadialGradientLayer,
    TextLayer,
    Timeline,
    VideoLayer,
)
from reelforge.spec.transitions import TRANSITION_NAMES

_LAYER_MODELS = {
    "image": ImageLayer, "video": VideoLayer, "color": ColorLayer,
    "linear-gradient": LinearGradientLayer, "radial-gradient": RadialGradientLayer,
    "text": TextLayer, "overlay": OverlayLayer,
}


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so `aspect: 16:9` stays the string '16:9'."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0o?[0-7_]+)$"), list("-+0123456789")
)
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def format_loc(loc: tuple[Any, ...]) -> str:
    """('clips', 3, 'layers', 1, 'image', 'path') -> 'clips[3].layers[1].path'.

    Pydantic puts the discriminator tag of a union member in the location; drop it."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i > 0 and loc[i - 1] == "layers" or (i > 0 and isinstance(loc[i - 1], int) and part in _LAYER_MODELS and i >= 2 and loc[i - 2] == "layers"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Follow a validation error location through the YAML node tree to a 1-based line."""
    best = node
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                continue  # a union tag or a missing key: keep the parent's line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            continue
        best = node
    return best.start_mark.line + 1 if best is not None else None


# Where each spec model's reference lives: named in "unknown field" errors and in the fix line.
_REFERENCES = {"Timeline": ("timeline", "docs/timeline.md"), "ScenesSpec": ("scenes", "docs/scenes-spec.md"),
               "OverlayJob": ("overlay", "docs/overlay.md"), "Style": ("text", "docs/text.md")}


def _reference(model: type[BaseModel]) -> tuple[str | None, str | None]:
    return _REFERENCES.get(model.__name__, (None, None))


def _field_names(model: Any, seen: set[int] | None = None) -> set[str]:
    """Every field name anywhere in a model's tree (for "did you mean" on a misspelt one)."""
    seen = set() if seen is None else seen
    if id(model) in seen:
        return set()
    seen.add(id(model))
    names: set[str] = set()
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            names |= _field_names(info.annotation, seen)
        return names
    for arg in getattr(model, "__args__", ()) or ():
        names |= _field_names(arg, seen)
    return names


def _unknown_field(err: dict[str, Any], model: type[BaseModel]) -> str:
    name = str(err["loc"][-1]) if err.get("loc") else ""
    close = difflib.get_close_matches(name, sorted(_field_names(model)), n=1, cutoff=0.75)
    schema, doc = _reference(model)
    where = f"`reelforge schema {schema}` and {doc} list the fields" if schema else "check the spelling"
    if close and close[0] == name:  # spelt right, but a field of another layer type or section
        return f"{name!r} is not a field here (other parts of the spec have it; {where})"
    return f"unknown field {name!r}; did you mean {close[0]!r}? ({where})" if close else f"unknown field ({where})"


def _friendly(err: dict[str, Any], model: type[BaseModel] = Timeline) -> str:
    msg = str(err.get("msg", "invalid"))
    value = err.get("input")
    if err.get("type") == "literal_error" and isinstance(value, str):
        expected = err.get("ctx", {}).get("expected", "")
        if "'cut'" in expected:
            close = difflib.get_close_matches(value, TRANSITION_NAMES, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; run `reelforge schema timeline` for the list"
            return f"unknown transition {value!r}{hint}"
        choices = [c.strip(" '") for c in expected.replace(" or ", ", ").split(",") if c.strip(" '")]
        close = difflib.get_close_matches(value, choices, n=1)
        if close:
            return f"{value!r} is not one of {expected}; did you mean {close[0]!r}?"
    if err.get("type") == "extra_forbidden":
        return _unknown_field(err, model)
    if err.get("type") == "union_tag_invalid":
        return f"unknown layer type {err.get('ctx', {}).get('tag')!r}; use one of {', '.join(_LAYER_MODELS)}"
    return msg.removeprefix("Value error, ")


def _is_union_branch(part: Any) -> bool:
    """Pydantic names the union member it tried in the location: `literal['top',…]`,
    `tuple[union[str,float],…]`, `function-after[…]`. People never wrote those."""
    return isinstance(part, str) and "[" in part and part.endswith("]")


def _problems(exc: ValidationError, model: type[BaseModel], root: yaml.Node | None,
              prefix: tuple[Any, ...] = ()) -> list[tuple[str, int | None, str]]:
    """One problem per field: a value that fits none of a union's members is one problem, said
    with the most telling member's message (the list of allowed words, when there is one)."""
    by_field: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for e in exc.errors():
        loc = tuple(part for part in e["loc"] if not _is_union_branch(part))
        by_field.setdefault(loc, []).append(dict(e))
    problems = []
    for loc, errors in by_field.items():
        best = next((e for e in errors if e.get("type") == "literal_error"), errors[0])
        full = prefix + loc
        problems.append((format_loc(full) or "(root)", _line_of(root, full), _friendly(best, model)))
    return problems


def apply_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """Cascade defaults: global `defaults.layer` → `defaults.<type>` → the layer's own fields.

    Only keys the layer type accepts are inherited, so `defaults.layer.fade_in` reaches text
    and overlay layers but not colour layers."""
    doc = copy.deepcopy(doc)
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        return doc
    # anything of the wrong shape is left as it is, for validation to report with its field and line
    common = defaults.get("layer") or {}
    clips = doc.get("clips")
    if not isinstance(common, dict) or not isinstance(clips, list):
        return doc
    for clip in clips:
        if not isinstance(clip, dict) or not isinstance(clip.get("layers"), list):
            continue
        for i, layer in enumerate(clip["layers"]):
            if not isinstance(layer, dict) or layer.get("type") not in _LAYER_MODELS:
                continue
            model = _LAYER_MODELS[layer["type"]]
            per_type = defaults.get(layer["type"]) or {}
            if not isinstance(per_type, dict):
                continue
            merged = {k: v for k, v in {**common, **per_type}.items() if k in model.model_fields}  # type: ignore[attr-defined]
            clip["layers"][i] = {**merged, **layer}
    return doc


def validate_timeline(doc: Any, *, source: str | None = None, root: yaml.Node | None = None) -> Timeline:
    if not isinstance(doc, dict):
        raise SpecError("a timeline spec must be a mapping with at least a `clips` list", source=source,
                        hint="see examples/demo.yaml")
    check_document(doc, source)
    check_timeline_counts(doc, source)
    if "scenes" in doc and "clips" not in doc:
        raise SpecError(f"{source or 'spec'} is a scenes spec, not a timeline", source=source,
                        hint=f"render it with `reelforge scenes {source or 'FILE'} -o out.mp4`")
    try:
        return Timeline.model_validate(apply_defaults(doc))
    except ValidationError as exc:
        problems = _problems(exc, Timeline, root)
        raise SpecError(f"{source or 'spec'} is not a valid timeline ({len(problems)} problem(s)):",
                        source=source, problems=problems,
                        hint="fix the fields listed above; `reelforge schema timeline` and docs/timeline.md "
                             "show every field") from None


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_model(model: type[ModelT], doc: Any, *, what: str, source: str | None = None,
                   root: yaml.Node | None = None, prefix: tuple[Any, ...] = ()) -> ModelT:
    """Validate any spec document; errors list each field path (after `prefix`, e.g. the
    preset's name) with its YAML line when the document came from a file."""
    check_document(doc, source)
    if model.__name__ == "ScenesSpec" and isinstance(doc, dict) and "clips" in doc and "scenes" not in doc:
        raise SpecError(f"{source or 'spec'} is a timeline, not a scenes spec", source=source,
                        hint=f"render it with `reelforge render {source or 'FILE'} -o out.mp4`")
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        problems = _problems(exc, model, root, prefix)
        schema, doc_page = _reference(model)
        where = f"`reelforge schema {schema}` and {doc_page} show every field" if schema else \
            "`reelforge schema` shows every spec's fields"
        raise SpecError(f"{source or 'spec'} is not a valid {what} ({len(problems)} problem(s)):",
                        source=source, problems=problems, hint=f"fix the fields listed above; {where}") from None


def read_document(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse YAML or JSON; return the data and the YAML node tree (for line numbers)."""
    try:
        check_file_size(path.stat().st_size, str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {path}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {path}: {exc}", hint="save it as UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_SpecLoader)
        root = yaml.compose(text, Loader=_SpecLoader)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}", hint="fix the syntax at that line") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be a spec (lists or mappings inside each other "
                        f"hundreds of levels down)", hint="a spec nests a few levels: clips → layers → fields") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}",
                        hint="fix the syntax at that line (indentation, quotes, colons)") from None
    check_document(data, str(path))
    return data, root


def resolve_path(value: str, base_dir: Path) -> str:
    """`sample:NAME` → a bundled sample photo; relative paths → relative to the spec file."""
    if value.startswith("sample:"):
        from reelforge.samples import sample_path

        return str(sample_path(value.removeprefix("sample:")))
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base_dir / p))


def _resolve_paths(timeline: Timeline, base_dir: Path) -> Timeline:
    for clip in timeline.clips:
        for layer in clip.layers:
            if isinstance(layer, (ImageLayer, VideoLayer, OverlayLayer)) and layer.path is not None:
                layer.path = resolve_path(layer.path, base_dir)
            if isinstance(layer, VideoLayer) and layer.generate is not None:
                for name in ("image", "last_frame"):
                    value = getattr(layer.generate, name)
                    if value is not None:
                        setattr(layer.generate, name, resolve_path(value, base_dir))
            if isinstance(layer, TextLayer) and layer.font.lower().endswith((".ttf", ".otf", ".ttc")):
                layer.font = resolve_path(layer.font, base_dir)
    if timeline.audio.music is not None:
        timeline.audio.music.path = resolve_path(timeline.audio.music.path, base_dir)
    return timeline


def load_timeline(spec: str | Path | dict[str, Any], *, base_dir: str | Path | None = None) -> Timeline:
    """Load and validate a timeline from a file path or an already-parsed dict."""
    if isinstance(spec, dict):
        timeline = validate_timeline(spec)
        return _resolve_paths(timeline, Path(base_dir or ".").resolve())
    path = Path(spec)
    data, root = read_document(path)
    timeline = validate_timeline(data, source=str(path), root=root)
    return _resolve_paths(timeline, Path(base_dir) if base_dir else path.resolve().parent)
