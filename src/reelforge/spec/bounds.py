"""Size bounds for spec documents, checked before anything is planned.

A spec is small: a few hundred clips of a few layers. Without bounds a 50 MB file, or an 11 KB
YAML whose anchors expand into a million layers, keeps the planner busy for minutes and eats
gigabytes before anything fails — in a service that is a denial of service. Each bound names
itself in the error together with the variable that raises it, for the rare real spec that needs
more."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from reelforge.errors import SpecError


@dataclass(frozen=True)
class Bound:
    variable: str
    default: int
    what: str

    @property
    def value(self) -> int:
        raw = os.environ.get(self.variable, "")
        return int(raw) if raw.strip().isdigit() else self.default


SPEC_BYTES = Bound("REELFORGE_MAX_SPEC_BYTES", 8 * 1024 * 1024, "bytes in a spec file")
SPEC_VALUES = Bound("REELFORGE_MAX_SPEC_VALUES", 250_000, "values once YAML anchors are expanded")
SPEC_STRING = Bound("REELFORGE_MAX_SPEC_STRING", 20_000, "characters in one string")
CLIPS = Bound("REELFORGE_MAX_CLIPS", 5_000, "clips in one timeline")
LAYERS = Bound("REELFORGE_MAX_LAYERS", 200, "layers in one clip")


def _too_big(source: str | None, bound: Bound, found: str, where: str = "") -> SpecError:
    at = f" ({where})" if where else ""
    return SpecError(f"{source or 'spec'}: {found}{at}; the limit is {bound.value:,} {bound.what}",
                     source=source,
                     hint=f"split it into smaller specs, or raise the limit with {bound.variable}=<n>")


def check_file_size(size: int, source: str) -> None:
    if size > SPEC_BYTES.value:
        raise _too_big(source, SPEC_BYTES, f"the file is {size:,} bytes")


def check_document(data: Any, source: str | None = None) -> None:
    """Count the document's values as the planner will see them (an alias counts every time it
    is used) without expanding it: shared lists and mappings are counted once and reused. Also
    refuse strings longer than the bound and documents that contain themselves."""
    limit, longest = SPEC_VALUES.value, SPEC_STRING.value
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def count(node: Any, path: str) -> int:
        if isinstance(node, str):
            if len(node) > longest:
                raise _too_big(source, SPEC_STRING, f"a string of {len(node):,} characters", path or "(root)")
            return 1
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SpecError(f"{source or 'spec'}: {path or '(root)'} contains itself (a YAML alias to one of "
                            f"its own parents)", source=source, hint="a spec is a tree: use each anchor outside itself")
        active.add(key)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        total = 1
        for name, child in items:
            total += count(child, (f"{path}.{name}" if path else str(name)) if isinstance(node, dict)
                           else f"{path}[{name}]")
            if total > limit:
                raise _too_big(source, SPEC_VALUES, f"the spec expands to over {limit:,} values", path or "(root)")
        active.discard(key)
        sizes[key] = total
        return total

    try:
        count(data, "")
    except RecursionError:
        raise SpecError(f"{source or 'spec'}: nested too deeply to be a spec", source=source,
                        hint="a spec nests a few levels: clips → layers → fields") from None


def check_timeline_counts(doc: dict[str, Any], source: str | None = None) -> None:
    clips = doc.get("clips")
    if not isinstance(clips, list):
        return
    if len(clips) > CLIPS.value:
        raise _too_big(source, CLIPS, f"the timeline has {len(clips):,} clips", "clips")
    for i, clip in enumerate(clips):
        layers = clip.get("layers") if isinstance(clip, dict) else None
        if isinstance(layers, list) and len(layers) > LAYERS.value:
            raise _too_big(source, LAYERS, f"clip {i} has {len(layers):,} layers", f"clips[{i}].layers")
