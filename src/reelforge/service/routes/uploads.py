from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile

from reelforge.service.files import check_font, check_image, safe_name, sniff
from reelforge.service.schemas import SpecProblem, UploadOut
from reelforge.service.security import require_key

router = APIRouter(prefix="/v1", tags=["uploads"], dependencies=[Depends(require_key)], responses={400: {"description": "the body is not well-formed (JSON or multipart)"}, 401: {"description": "a valid API key is required"}, 422: {"model": SpecProblem, "description": "invalid request; each problem names its field"}})
CHUNK = 1 << 20


@router.post("/uploads", response_model=UploadOut, status_code=201, summary="Upload a file (multipart)",
             responses={413: {"description": "over the upload limit"},
                        415: {"description": "not a media type the service accepts"},
                        422: {"description": "unreadable or too large an image"}})
async def upload(request: Request, file: UploadFile) -> UploadOut:
    state = request.app.state
    limit = int(state.settings.max_upload_mb * 1024 * 1024)
    tmp_dir = state.settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False, prefix="upload-")  # noqa: SIM115 (closed below; kept for put_file)
    tmp = Path(handle.name)
    try:
        digest, size, head = hashlib.sha256(), 0, b""
        with handle:
            while chunk := await file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"the file is over the upload limit of {state.settings.max_upload_mb:g} MB")
                head = head or chunk[:64]
                digest.update(chunk)
                await asyncio.to_thread(handle.write, chunk)
        media_type = sniff(head)
        if media_type is None:
            raise HTTPException(415, "not an image, video, audio or font file the service accepts "
                                     "(PNG, JPEG, WebP, GIF, MP4, MOV, WebM, MP3, WAV, TTF, OTF)")
        if media_type.startswith("image/"):
            await asyncio.to_thread(check_image, tmp)
        elif media_type.startswith("font/"):
            await asyncio.to_thread(check_font, tmp)
        artifact: Any = await asyncio.to_thread(state.ctx.store.put_file, tmp, media_type,
                                                {"filename": safe_name(file.filename or "")})
        row = await asyncio.to_thread(state.store.add_upload, safe_name(file.filename or "file"), media_type, size,
                                      artifact.digest)
    finally:
        tmp.unlink(missing_ok=True)
    return UploadOut(id=row.id, ref=f"upload:{row.id}", filename=row.filename, media_type=media_type, size=size)
