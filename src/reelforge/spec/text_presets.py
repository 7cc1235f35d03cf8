"""Named text styles, defined as data in `text_presets.yaml` and validated as `Style` models."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from reelforge.errors import SpecError
from reelforge.spec.loader import read_document, validate_model
from reelforge.spec.text_style import Style

PRESETS_FILE = Path(__file__).with_name("text_presets.yaml")


@lru_cache(maxsize=1)
def presets() -> dict[str, Style]:
    """Every preset by name (validated once; an invalid file names the preset and field)."""
    data, root = read_document(PRESETS_FILE)
    return {name: validate_model(Style, doc, what="text style", source=str(PRESETS_FILE), root=root,
                                 prefix=(name,)) for name, doc in data.items()}


def preset_names() -> list[str]:
    return list(presets())


def get_style(name: str | None, overrides: dict[str, Any] | None = None) -> Style:
    """A preset (or the default style when `name` is None) with `overrides` applied and the
    result validated again, so `--size -3` fails naming `size`."""
    if name is not None and name not in presets():
        raise SpecError(f"unknown text style {name!r}",
                        hint=f"use one of: {', '.join(preset_names())} (`reelforge text --list`)")
    base = presets()[name].model_dump(exclude_unset=True) if name else {}
    merged = {**base, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    source = f"style {name!r} with the given options" if name else "the given style options"
    return validate_model(Style, merged, what="text style", source=source)
