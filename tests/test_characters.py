"""The character library: rows in the project database (migration 0005, SQLite and PostgreSQL),
images in the artifact store, a profile from a vision model through the real SDK (a cached
step: adding the same images again asks nothing) or, offline, the palette and the user's words."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import inspect

from reelforge.errors import InputError
from reelforge.pipelines.story.characters import add_character, palette, store_for
from reelforge.runtime import Artifact
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings
from tests.fakes.vision_apis import TEST_KEY, FakeGeminiVision

ADMIN = os.environ.get("REELFORGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PROFILE = {"appearance": "a round orange furball with two black eyes", "palette": ["#f07828", "#000000"],
           "clothing": "none", "personality": "curious", "prompt_description": "a small round orange furball"}


def image(path: Path, colour: tuple[int, int, int] = (240, 120, 40)) -> Path:
    img = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(img).ellipse((30, 20, 130, 150), fill=colour)
    img.save(path)
    return path


def context(tmp: Path, **settings: Any) -> RuntimeContext:
    return RuntimeContext.from_settings(Settings(_env_file=None, data_dir=tmp / "data", **settings))  # type: ignore[call-arg]


def test_offline_profile_is_the_palette_and_the_users_words(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    character = asyncio.run(add_character(ctx, "Floof", [image(tmp_path / "f.png")], "an orange furball"))
    assert character.profile.palette[0] == "#f07828"  # the body, not the white background
    assert character.prompt_description.startswith("an orange furball; main colours #f07828")
    tables = set(inspect(ctx.records.engine).get_table_names())  # type: ignore[union-attr]
    assert {"characters", "character_images"} <= tables
    stored = store_for(ctx).get("Floof").images[0]
    kept = ctx.store.path_of(Artifact(stored.digest, stored.media_type, 0))  # type: ignore[attr-defined]
    assert kept.read_bytes() == (tmp_path / "f.png").read_bytes()
    with pytest.raises(InputError, match="already in the library"):
        asyncio.run(add_character(ctx, "Floof", [image(tmp_path / "g.png")]))
    with pytest.raises(InputError, match="not a PNG, JPEG or WebP"):
        (tmp_path / "x.png").write_bytes(b"not an image at all")
        asyncio.run(add_character(ctx, "Other", [tmp_path / "x.png"]))
    assert [c.name for c in store_for(ctx).list()] == ["Floof"]
    ctx.close_sync()


def test_profile_from_gemini_vision_is_a_cached_step(tmp_path: Path) -> None:
    images = [image(tmp_path / "a.png"), image(tmp_path / "b.png", (230, 110, 30))]
    with FakeGeminiVision() as fake:
        fake.answer = PROFILE
        ctx = context(tmp_path, gemini_api_key=TEST_KEY, gemini_base_url=fake.url)
        floof = asyncio.run(add_character(ctx, "Floof", images, "likes boxes", vision="gemini"))
        assert fake.images_sent(0) == 2
        schema = fake.calls[0].body["generationConfig"]["responseJsonSchema"]
        assert "prompt_description" in schema["properties"]
        assert floof.profile.appearance == PROFILE["appearance"] and floof.profile_source == "gemini"
        assert floof.prompt_description == "likes boxes; a small round orange furball"
        store_for(ctx).remove("Floof")
        again = asyncio.run(add_character(ctx, "Floof", images, "likes boxes", vision="gemini"))
        assert len(fake.calls) == 1 and again.profile == floof.profile  # the same images: no second call
        ctx.close_sync()


def test_palette_reads_the_character_not_the_backdrop(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.open(image(tmp_path / "c.png", (40, 90, 220))).save(buffer, "PNG")
    assert palette(buffer.getvalue())[0] == "#285adc"


@pytest.fixture
def postgres() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg", reason="pip install 'psycopg[binary]' (in the dev extra)")
    try:
        admin = psycopg.connect(ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {ADMIN} ({exc})")
    name = f"reelforge_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def test_the_library_on_postgres(postgres: str, tmp_path: Path) -> None:
    ctx = context(tmp_path, database_url=postgres)
    asyncio.run(add_character(ctx, "Floof", [image(tmp_path / "f.png")], "an orange furball"))
    assert store_for(ctx).get("Floof").images[0].filename == "f.png"
    assert store_for(ctx).remove("Floof").name == "Floof" and store_for(ctx).list() == []
    ctx.close_sync()
