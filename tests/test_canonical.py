"""One canonical serializer (reelforge.canonical) behind step keys and prepared-still keys."""

from __future__ import annotations

import enum
import json
from pathlib import PurePosixPath

import numpy as np
import pytest

from reelforge import canonical
from reelforge.render.cache import still_key
from reelforge.runtime import keys
from reelforge.spec.timeline import Transition


class Mode(enum.Enum):
    FAST = "fast"


def test_step_keys_are_unchanged_by_the_move() -> None:
    """The key below was computed by runtime/keys.py before it used reelforge.canonical."""
    params = {"prompt": "café ☕ 寿司", "size": (1920, 1080), "scale": 0.72, "zoom": 1.0, "fps": 29.97, "seed": 7,
              "path": PurePosixPath("a/b.png"), "mode": Mode.FAST, "tags": {"b", "a"}, "blob": b"\x00\x01",
              "transition": Transition(name="fade", duration=0.5), "none": None, "flag": True,
              "nested": {"z": [1, 2.5, {"y": -0.0}]}}
    inputs = {"image": "ab" * 32, "refs": ["cd" * 32]}
    assert keys.step_key("scene.image", 3, "local", "draft-v1", params, inputs) == \
        "3f2b9f5b201ea48641877ba48cdce92dd5f4b391242f2d36a11d910339e5fd84"
    assert keys.canonical_json is canonical.canonical_json


def test_one_spelling_per_meaning() -> None:
    assert canonical.canonical_json({"b": (1, 2.0), "a": PurePosixPath("x/y")}) == '{"a":"x/y","b":[1,2]}'
    assert canonical.digest({"x": 1}) == canonical.digest({"x": 1.0})
    assert canonical.canonical_json({"e": Mode.FAST, "m": Transition(name="cut")}) == \
        '{"e":"fast","m":{"duration":0.5,"name":"cut"}}'


def test_floats_are_exact() -> None:
    assert canonical.digest(0.1 + 0.2) != canonical.digest(0.3)
    assert json.loads(canonical.canonical_json(1 / 3)) == 1 / 3


@pytest.mark.parametrize("value", [object(), np.zeros(3), {"x": {1.5: "float key"}}, {1: "a", "1": "b"}, float("nan")])
def test_refuses_what_it_cannot_spell_exactly(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical.canonical_json(value)


def test_still_keys_tell_apart_values_that_str_conflated() -> None:
    """`json.dumps(..., default=str)` printed these pairs the same; the still cache would have
    served one's pixels for the other."""
    def old(params: dict[str, object]) -> str:
        return json.dumps(params, sort_keys=True, default=str)

    for a, b in [(b"x", "b'x'"), (Mode.FAST, "Mode.FAST"), ({1, 2}, "{1, 2}")]:
        assert old({"v": a}) == old({"v": b})
        assert still_key({"v": a}) != still_key({"v": b})
    big_a, big_b = np.zeros(2000), np.zeros(2000)
    big_b[1000] = 1
    assert old({"v": big_a}) == old({"v": big_b})
    with pytest.raises(TypeError):
        still_key({"v": big_a})
