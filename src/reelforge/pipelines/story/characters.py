"""The character library: named characters with reference images (in the artifact store) and a
profile (appearance, palette, clothing, a prompt description), in the project database next to
the jobs and run records (tables from migration 0005; SQLite by default, PostgreSQL by URL).

The profile comes from the Vision capability (Gemini or an OpenAI-compatible model, as a cached
runtime step); offline (`--vision local`) it is the images' colour palette plus the description
the user gives. Blocking store calls: async callers run them on a thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from reelforge.errors import InputError

if TYPE_CHECKING:
    from reelforge.runtime.context import RuntimeContext

NAME = re.compile(r"^[\w][\w .'-]{0,79}$")
MEDIA = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


class CharacterProfile(BaseModel):
    """What the vision model is asked for (and what the offline profile fills in)."""

    model_config = ConfigDict(extra="forbid")
    appearance: str = Field("", max_length=1200, description="Body, face, colours, distinctive features.")
    palette: list[str] = Field(default_factory=list, max_length=8, description="Main colours as #rrggbb.")
    clothing: str = Field("", max_length=600, description="What it wears, if anything.")
    personality: str = Field("", max_length=300, description="What its look suggests (e.g. friendly, shy).")
    prompt_description: str = Field("", max_length=1200, description="One sentence that an image model can use to "
                                    "draw exactly this character.")


PROFILE_PROMPT = ("These images show one character for an animated video. Describe it so that an image model "
                  "can draw it again identically: appearance (body, face, colours, distinctive features), its "
                  "main colours as hex codes, clothing, the personality its look suggests, and a one-sentence "
                  "prompt_description. Answer with JSON only.{extra}")


class Base(DeclarativeBase):
    pass


class CharacterRow(Base):
    __tablename__ = "characters"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    profile: Mapped[str] = mapped_column(Text, default="{}")
    profile_source: Mapped[str] = mapped_column(String(64), default="local")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CharacterImageRow(Base):
    __tablename__ = "character_images"
    character_id: Mapped[str] = mapped_column(ForeignKey("characters.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")


@dataclass(frozen=True)
class StoredImage:
    digest: str
    media_type: str
    filename: str = ""


@dataclass
class Character:
    name: str
    description: str
    profile: CharacterProfile
    profile_source: str
    images: list[StoredImage] = field(default_factory=list)
    id: str = ""
    created_at: str = ""

    @property
    def prompt_description(self) -> str:
        """What keyframe prompts say about the character: the profile's sentence, else the user's words."""
        return self.profile.prompt_description or self.description or self.profile.appearance

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "profile": self.profile.model_dump(), "profile_source": self.profile_source,
                "images": [{"digest": i.digest, "media_type": i.media_type, "filename": i.filename}
                           for i in self.images], "created_at": self.created_at}


class CharacterStore:
    """The library's rows (blocking; the engine is the run records' one)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def add(self, character: Character) -> Character:
        with self._session() as s:
            if s.scalar(select(CharacterRow).where(CharacterRow.name == character.name)) is not None:
                raise InputError(f"a character named {character.name!r} is already in the library", field="name",
                                 hint=f"pick another name, or `reelforge characters remove {character.name}` first")
            row = CharacterRow(id=secrets.token_hex(8), name=character.name, description=character.description,
                               profile=character.profile.model_dump_json(), profile_source=character.profile_source,
                               created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
            s.add(row)
            s.flush()
            for n, image in enumerate(character.images):
                s.add(CharacterImageRow(character_id=row.id, position=n, digest=image.digest,
                                        media_type=image.media_type, filename=image.filename))
            s.commit()
        return self.get(character.name)

    def get(self, name: str) -> Character:
        with self._session() as s:
            row = s.scalar(select(CharacterRow).where(CharacterRow.name == name))
            if row is None:
                known = ", ".join(s.scalars(select(CharacterRow.name).order_by(CharacterRow.name)).all()[:10])
                raise InputError(f"no character named {name!r} in the library", field="character",
                                 hint=f"add it with `reelforge characters add {name} IMAGE`"
                                      + (f" (known: {known})" if known else ""))
            return self._character(s, row)

    def list(self) -> list[Character]:
        with self._session() as s:
            return [self._character(s, row) for row in s.scalars(select(CharacterRow).order_by(CharacterRow.name))]

    def remove(self, name: str) -> Character:
        character = self.get(name)
        with self._session() as s:
            s.execute(delete(CharacterImageRow).where(CharacterImageRow.character_id == character.id))
            s.execute(delete(CharacterRow).where(CharacterRow.id == character.id))
            s.commit()
        return character

    @staticmethod
    def _character(s: Session, row: CharacterRow) -> Character:
        images = s.scalars(select(CharacterImageRow).where(CharacterImageRow.character_id == row.id)
                           .order_by(CharacterImageRow.position)).all()
        return Character(row.name, row.description, CharacterProfile.model_validate_json(row.profile),
                         row.profile_source, [StoredImage(i.digest, i.media_type, i.filename) for i in images],
                         row.id, row.created_at.isoformat(timespec="seconds"))


def store_for(ctx: RuntimeContext) -> CharacterStore:
    if ctx.records is None:
        raise InputError("the character library needs the project database", hint="run with run records enabled")
    return CharacterStore(ctx.records.engine)


# --- the offline profile -------------------------------------------------------------------------

def subject_mask(rgb: np.ndarray) -> np.ndarray:
    """The character's pixels: what differs from the border colour (reference images are usually a
    character on a plain background); the whole image when that leaves almost nothing."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32)
    diff = np.abs(rgb.astype(np.float32) - np.median(border, axis=0)).max(axis=2)
    mask = diff > 40
    return mask if mask.mean() > 0.02 else np.ones(rgb.shape[:2], bool)


def palette(data: bytes, colours: int = 5) -> list[str]:
    """The main colours of the character (median-cut over its pixels), most common first."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB").resize((128, 128)))
    pixels = rgb[subject_mask(rgb)].reshape(-1, 1, 3)
    quant = Image.fromarray(pixels.astype(np.uint8)).quantize(colours, method=Image.Quantize.MEDIANCUT)
    counts: list[tuple[int, int]] = sorted(quant.getcolors() or [], reverse=True)  # type: ignore[arg-type]
    table: list[int] = list(quant.getpalette() or [])
    return [f"#{table[3 * i]:02x}{table[3 * i + 1]:02x}{table[3 * i + 2]:02x}" for _, i in counts]


def offline_profile(images: list[bytes], description: str) -> CharacterProfile:
    colours = palette(images[0])
    words = description.strip()
    return CharacterProfile(appearance=words or f"main colours {', '.join(colours)}", palette=colours,
                            prompt_description=(f"{words}; " if words else "") + f"main colours {', '.join(colours)}")


def _media_type(data: bytes, path: Path) -> str:
    for magic, media in MEDIA.items():
        if data.startswith(magic):
            return media
    raise InputError(f"{path} is not a PNG, JPEG or WebP image", field="IMAGE", hint="pass the character's picture")


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise InputError(f"character name {name!r} is not usable", field="name",
                         hint="use letters, digits, spaces, . ' - (up to 80 characters)")
    return name


async def add_character(ctx: RuntimeContext, name: str, images: list[Path], description: str = "",
                        vision: str = "local", *, filenames: list[str] | None = None) -> Character:
    """Store the images, work out the profile and add the character (InputError for bad input)."""
    name = check_name(name)
    if not images:
        raise InputError("a character needs at least one image", field="IMAGE")
    blobs = []
    for path in images:
        if not Path(path).is_file():
            raise InputError(f"image not found: {path}", field="IMAGE", hint="check the path")
        data = await asyncio.to_thread(Path(path).read_bytes)
        blobs.append((data, _media_type(data, Path(path))))
    await asyncio.to_thread(_check_decodes, images)
    stored = []
    for n, (path, (_, media)) in enumerate(zip(images, blobs, strict=True)):
        artifact = await asyncio.to_thread(ctx.store.put_file, Path(path), media, {"character": name})
        label = filenames[n] if filenames and n < len(filenames) else Path(path).name
        stored.append(StoredImage(artifact.digest, media, label))
    if vision == "local":
        profile = await asyncio.to_thread(offline_profile, [b for b, _ in blobs], description)
    else:
        profile = await vision_profile(ctx, images, description, vision)
    character = Character(name, description.strip(), profile, vision, stored)
    return await asyncio.to_thread(store_for(ctx).add, character)


def _check_decodes(images: list[Path]) -> None:
    for path in images:
        try:
            with Image.open(path) as img:
                img.verify()
        except Exception as exc:  # Pillow raises many kinds for broken files
            raise InputError(f"{path} cannot be read as an image ({exc})", field="IMAGE") from None


class DescribeCharacter:
    """Step action `vision.character`: one vision call that profiles the character's images."""

    kind = "vision.character"
    version = 1
    capability = "vision"

    async def run(self, ctx: Any) -> Any:
        from reelforge.providers.vision.base import VisionRequest
        from reelforge.runtime import ActionResult, StepOutput

        images = tuple([await ctx.read(ctx.inputs[f"image{i}"][0]) for i in range(int(ctx.params["count"]))])
        extra = f" The user describes it as: {ctx.params['description']}" if ctx.params["description"] else ""
        answer = await ctx.provider.ask(VisionRequest(images, PROFILE_PROMPT.format(extra=extra), CharacterProfile))
        return ActionResult([StepOutput(answer.model_dump_json().encode(), "application/json")])


async def vision_profile(ctx: RuntimeContext, images: list[Path], description: str, vision: str) -> CharacterProfile:
    """The profile from a vision model, as a cached runtime step (adding the same images again pays nothing)."""
    from reelforge.errors import ReelforgeError
    from reelforge.runtime import Runner, RunOptions, Step

    model = {"gemini": ctx.settings.gemini_vision_model, "openai": ctx.settings.openai_vision_model}.get(vision, "")
    step = Step("profile", DescribeCharacter.kind, {"count": len(images), "description": description.strip()},
                provider=vision, model=model, files={f"image{i}": Path(p) for i, p in enumerate(images)},
                label="character profile", billing=("1k_tokens", 1.5))
    report = await Runner(actions={DescribeCharacter.kind: DescribeCharacter()}, context=ctx).run(
        [step], RunOptions(title=f"character profile ({vision})"))
    outcome = report.outcomes["profile"]
    if outcome.result is None:
        if isinstance(outcome.exception, ReelforgeError):
            raise outcome.exception
        raise ReelforgeError(f"the character profile failed: {outcome.error}", hint="try --vision local")
    data = await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0])
    profile = CharacterProfile.model_validate(json.loads(data))
    if description.strip() and description.strip() not in profile.prompt_description:
        profile.prompt_description = f"{description.strip()}; {profile.prompt_description}".strip("; ")
    return profile
