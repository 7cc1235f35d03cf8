"""Canonical JSON and sha256 keys. A step's key must be the same in every process and on every
machine, so it is built from a canonical serialization — never from Python's `hash()`, which is
salted per process."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from reelforge.canonical import canonical_json  # the one serializer; re-exported for step keys

_CHUNK = 1 << 20


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
