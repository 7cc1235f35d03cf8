"""The story over HTTP: characters added by multipart upload (list, show, remove, a duplicate
409, a non-image 415), and a `story` job that films a one-segment script with a library character."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

from tests.service.conftest import wait_for


def character_png(colour: tuple[int, int, int] = (240, 120, 40)) -> bytes:
    img = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(img).ellipse((40, 30, 160, 180), fill=colour)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def add(client: Any, name: str, *images: bytes, description: str = "an orange furball") -> Any:
    files = [("images", (f"{name}-{n}.png", data, "image/png")) for n, data in enumerate(images)]
    return client.post("/v1/characters", data={"name": name, "description": description}, files=files)


def test_character_library_over_http(client: Any) -> None:
    created = add(client, "Floof", character_png(), character_png((230, 110, 30)))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "Floof" and len(body["images"]) == 2 and body["profile_source"] == "local"
    assert body["profile"]["palette"][0].startswith("#e") or body["profile"]["palette"][0].startswith("#f")
    assert "orange furball" in body["profile"]["prompt_description"]

    assert add(client, "Floof", character_png()).status_code == 409
    refused = client.post("/v1/characters", data={"name": "Text"},
                          files=[("images", ("notes.txt", b"just words, not a picture", "text/plain"))])
    assert refused.status_code == 415
    assert [c["name"] for c in client.get("/v1/characters").json()] == ["Floof"]
    assert client.get("/v1/characters/Floof").json()["images"][0]["filename"] == "Floof-0.png"
    assert client.delete("/v1/characters/Floof").json() == {"removed": "Floof"}
    assert client.get("/v1/characters/Floof").status_code == 404
    assert client.delete("/v1/characters/Floof").status_code == 404


def test_story_job_films_a_script_with_a_library_character(client: Any) -> None:
    assert add(client, "Floof", character_png()).status_code == 201
    script = {"title": "Floof waves", "characters": [{"name": "Floof"}],
              "segments": [{"scene": "a room", "action": "Floof waves", "first_frame": "Floof standing",
                            "last_frame": "Floof waving", "duration": 1}]}
    job = client.post("/v1/jobs", json={"kind": "story", "spec": {"script": script}}).json()
    done = wait_for(client, job["id"], timeout=240)
    assert done["status"] == "succeeded", done.get("error")
    names = {a["name"] for a in done["artifacts"]}
    assert {"story.mp4", "thumbnail.png", "thumbnail_vertical.png", "report.json", "script.yaml"} <= names


def test_story_spec_needs_one_of_idea_and_script(client: Any) -> None:
    answer = client.post("/v1/jobs", json={"kind": "story", "spec": {"character": "Floof"}})
    assert answer.status_code == 422
    assert "idea or a script" in answer.json()["detail"]
