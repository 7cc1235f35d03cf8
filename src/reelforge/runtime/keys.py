"""Canonical JSON and sha256 keys. A step's key must be the same in every process and on every
machine, so it is built from a canonical serialization — never from Python's `hash()`, which is
salted per process."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

from reelforge.canonical import canonical_json  # the one serializer; re-exported for step keys

_CHUNK = 1 << 20


def normalize(value: Any) -> Any:
    """Turn `value` into plain JSON data with one spelling per meaning (1.0 and 1 are the same
    number, tuples are lists, sets are sorted, paths are strings, bytes are their digest)."""
    if isinstance(value, Mapping):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((normalize(v) for v in value), key=canonical_json)
    if isinstance(value, Enum):
        return normalize(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, bytes):
        return {"sha256": sha256_bytes(value)}
    if isinstance(value, float):
        return _normalize_float(value)
    if hasattr(value, "model_dump"):  # pydantic models
        return normalize(value.model_dump(mode="json"))
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot build a key from a {type(value).__name__}: {value!r}")


def _normalize_float(value: float) -> float | int:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return int(value) if value.is_integer() else float(f"{value:.12g}")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | PurePath) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def step_key(kind: str, version: int, provider: str | None, model: str | None,
             params: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """The cache key of a step: sha256 of the canonical JSON of everything that decides its output."""
    return sha256_text(canonical_json({
        "kind": kind, "version": version, "provider": provider, "model": model,
        "params": params, "inputs": inputs,
    }))
