"""A Gemini fake for the story pipeline: one generateContent endpoint on 127.0.0.1 (the strict
route, key and field checks of image_apis) that answers a structured-text request (a writer:
`responseMimeType: application/json` with a JSON Schema) with a script, and any other request
with an image — as the one real endpoint does for Gemini text and Gemini image models.

Text modes (`text_script`, then "ok"): ok (the script in `answer`), badjson, badschema, short
(one segment fewer than asked). Image requests use FakeImageAPI's modes (`script`/`default`; a
text request also takes one of those, so script one kind of request per test)."""

from __future__ import annotations

import json
import threading
from typing import Any

from .image_apis import Call, FakeImageAPI, GeminiRoute, Reply, _json


def script_answer(segments: int, duration: int = 4, name: str = "Floof") -> dict[str, Any]:
    """A valid StoryScript document, as a model would write it."""
    return {"title": f"{name} and the box", "logline": "A furball finds a box.", "format": "story", "draft": False,
            "characters": [{"name": name, "description": "a round orange furball"}], "allow_dialogue": True,
            "creature_language": None, "style": "soft 3D animation",
            "segments": [{"scene": f"room {n}", "action": f"{name} does thing {n}", "camera": "medium shot",
                          "first_frame": f"{name} in room {n}, start", "last_frame": f"{name} in room {n}, end",
                          "dialogue": [{"speaker": name, "text": f"Line {n}!"}], "sounds": [], "duration": duration}
                         for n in range(1, segments + 1)]}


class FakeGeminiStory(FakeImageAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("gemini", **kwargs)
        self.text_script: list[str] = []
        self.answer: Any = script_answer(3)
        self._text_lock = threading.Lock()

    @staticmethod
    def is_text(call: Call) -> bool:
        config = call.body.get("generationConfig") or {} if isinstance(call.body, dict) else {}
        return config.get("responseMimeType") == "application/json"

    def text_calls(self) -> list[Call]:
        return [c for c in self.calls if isinstance(c.body, dict) and self.is_text(c)]

    def image_calls(self) -> list[Call]:
        return [c for c in self.calls if isinstance(c.body, dict) and not self.is_text(c)]

    @staticmethod
    def images_in(call: Call) -> int:
        parts = call.body["contents"][-1]["parts"]
        return sum(1 for p in parts if "inlineData" in p or "inline_data" in p)

    def _gate(self, call: Call) -> Reply | None:
        refused = super()._gate(call)
        if refused is not None or not self.is_text(call):
            return refused
        schema = (call.body.get("generationConfig") or {}).get("responseJsonSchema")
        if not isinstance(schema, dict) or schema.get("type") != "object" or "properties" not in schema:
            return GeminiRoute.invalid("responseJsonSchema is not a JSON Schema object", "")
        return None

    def _reply(self, call: Call) -> Reply:
        if not self.is_text(call):
            return super()._reply(call)
        with self._text_lock:
            mode = self.text_script.pop(0) if self.text_script else "ok"
        call.mode = f"text-{mode}"
        answer = self.answer
        if mode == "short":
            answer = {**answer, "segments": answer["segments"][:-1]}
        text = {"ok": json.dumps(answer), "short": json.dumps(answer), "badjson": "Here is your script: a box!",
                "badschema": json.dumps({"name": "no title here"})}[mode]
        return _json(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                           "finishReason": "STOP", "index": 0}],
                           "usageMetadata": {"promptTokenCount": 500, "candidatesTokenCount": 900,
                                             "totalTokenCount": 1400},
                           "modelVersion": "gemini-2.5-flash"})
