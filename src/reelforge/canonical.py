"""Canonical JSON and the sha256 digest of it: the one serializer behind every cache key (runtime
step keys, prepared-still keys). Equal data gives equal text in every process and on every
machine; Python's `hash()` (salted per process) is never used.

Only types with one exact spelling are accepted; anything else raises TypeError rather than
being printed with `str()`, which can make two different values look the same (a numpy array's
`str` elides its middle; `str(b"x")` equals the text "b'x'").
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

__all__ = ["canonical_json", "digest", "normalize"]


def normalize(value: Any) -> Any:
    """`value` as plain JSON data with one spelling per meaning: tuples are lists, sets are sorted,
    paths are POSIX strings, enums their value, pydantic models their JSON dump, bytes their
    sha256, integral floats ints (1.0 and 1 are the same number), other floats exact."""
    if isinstance(value, Mapping):
        return _normalize_mapping(value)
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((normalize(v) for v in value), key=canonical_json)
    if isinstance(value, Enum):
        return normalize(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, float):
        return _normalize_float(value)
    if hasattr(value, "model_dump"):  # pydantic models
        return normalize(value.model_dump(mode="json"))
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot serialize a {type(value).__name__} exactly (convert it first): {value!r:.80}")


def _normalize_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise TypeError(f"mapping keys must be str or int, not {type(key).__name__}: {key!r:.80}")
        if str(key) in out:
            raise TypeError(f"mapping has two keys that both read {str(key)!r}")
        out[str(key)] = normalize(item)
    return out


def _normalize_float(value: float) -> float | int:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    # json writes a float as its repr: the shortest text that reads back as the same float
    return int(value) if value.is_integer() else value


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text: equal data gives equal strings."""
    return json.dumps(normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def digest(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
