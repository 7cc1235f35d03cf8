"""The character library over HTTP (the notes' `add-character-from-image`): a multipart upload
of a name, a description and images adds a character (profile by the Vision capability, or the
palette offline); list, show and remove."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile

from reelforge.errors import InputError
from reelforge.service.files import check_image, safe_name, sniff
from reelforge.service.schemas import SpecProblem
from reelforge.service.security import require_key

router = APIRouter(prefix="/v1", tags=["characters"], dependencies=[Depends(require_key)],
                   responses={400: {"description": "the body is not well-formed (JSON or multipart)"},
                              401: {"description": "a valid API key is required"},
                              422: {"model": SpecProblem, "description": "invalid request; each problem names its field"}})
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such character"}}
MAX_IMAGES = 8
CHUNK = 1 << 20


def _library(request: Request) -> Any:
    from reelforge.pipelines.story.characters import store_for

    return store_for(request.app.state.ctx)


@router.post("/characters", status_code=201, summary="Add a character from images (multipart)",
             responses={409: {"description": "a character of that name exists"},
                        413: {"description": "an image is over the upload limit"},
                        415: {"description": "not a PNG, JPEG or WebP image"}})
async def add(request: Request, name: Annotated[str, Form(max_length=80)],
              images: Annotated[list[UploadFile], File(description="One or more pictures of the character.")],
              description: Annotated[str, Form(max_length=1200)] = "",
              vision: Annotated[Literal["local", "gemini", "openai"], Form()] = "local") -> dict[str, Any]:
    from reelforge.pipelines.story.characters import add_character

    state = request.app.state
    if not 1 <= len(images) <= MAX_IMAGES:
        raise HTTPException(422, f"send 1 to {MAX_IMAGES} images")
    tmp_dir = state.settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="character-") as folder:
        paths = [await _save(request, upload, Path(folder) / f"image{n}") for n, upload in enumerate(images)]
        try:
            character = await add_character(state.ctx, name, paths, description, vision,
                                            filenames=[safe_name(u.filename or "image") for u in images])
        except InputError as exc:
            if "already in the library" in exc.message:
                raise HTTPException(409, exc.message) from None
            raise
    out: dict[str, Any] = character.as_dict()
    return out


async def _save(request: Request, upload: UploadFile, target: Path) -> Path:
    limit = int(request.app.state.settings.max_upload_mb * 1024 * 1024)
    size, head = 0, b""
    with target.open("wb") as handle:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"{upload.filename} is over the upload limit")
            head = head or chunk[:64]
            await asyncio.to_thread(handle.write, chunk)
    media_type = sniff(head)
    if media_type not in ("image/png", "image/jpeg", "image/webp"):
        raise HTTPException(415, f"{safe_name(upload.filename or 'the file')} is not a PNG, JPEG or WebP image")
    await asyncio.to_thread(check_image, target)
    return target


@router.get("/characters", summary="The characters in the library")
async def list_characters(request: Request) -> list[dict[str, Any]]:
    found = await asyncio.to_thread(_library(request).list)
    return [c.as_dict() for c in found]


@router.get("/characters/{name}", summary="One character's profile and images", responses=NOT_FOUND)
async def show(request: Request, name: str) -> dict[str, Any]:
    try:
        character = await asyncio.to_thread(_library(request).get, name)
    except InputError as exc:
        raise HTTPException(404, exc.message) from None
    out: dict[str, Any] = character.as_dict()
    return out


@router.delete("/characters/{name}", summary="Remove a character", responses=NOT_FOUND)
async def remove(request: Request, name: str) -> dict[str, Any]:
    try:
        character = await asyncio.to_thread(_library(request).remove, name)
    except InputError as exc:
        raise HTTPException(404, exc.message) from None
    return {"removed": character.name}
