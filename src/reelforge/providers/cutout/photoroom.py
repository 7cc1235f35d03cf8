"""Photoroom Remove Background API (Basic plan): `POST https://sdk.photoroom.com/v1/segment`.

Wire format from Photoroom's OpenAPI document (docs.photoroom.com; "Remove Background (Basic
plan)") and its official code samples (github.com/Photoroom/api-code-samples): key in `x-api-key`,
multipart `image_file` plus `format` (png/jpg/webp), `channels` (rgba/alpha), `size`
(preview/medium/hd/full), `crop`, `despill`, `bg_color`. The result is the PNG itself; a success
carries `x-uncertainty-score`. Errors are JSON `{"detail", "status_code", "type"}`: 400 bad input,
402 payment required, 403 forbidden; the rate limit answers 429. The Basic plan's endpoint has no
shadow option (shadows belong to the Plus plan's Image Editing API), so `keep_shadow` is ignored.
"""

from __future__ import annotations

from typing import Any

import httpx

from reelforge.providers.cutout.cloud import CloudCutout, header_number
from reelforge.providers.limits import Limits
from reelforge.settings import Settings


class Photoroom(CloudCutout):
    name = "photoroom"
    label = "Photoroom"
    key_env = "PHOTOROOM_API_KEY"
    key_header = "x-api-key"
    path = "/v1/segment"
    key_url = "https://app.photoroom.com/api-dashboard"
    top_up_url = "https://app.photoroom.com/api-dashboard"

    def form_fields(self, keep_shadow: bool) -> dict[str, str]:
        return {"format": "png", "channels": "rgba", "size": "full", "crop": "false"}

    def error_detail(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("detail"), str):
            kind = body.get("type")
            return f"{body['detail']} [{kind}]" if kind else body["detail"]
        error = body.get("error")  # {"error": {"message": "Unauthorized"}} on auth failures
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        return None

    def response_details(self, headers: httpx.Headers) -> dict[str, Any]:
        score = header_number(headers, "x-uncertainty-score")
        return {} if score is None else {"uncertainty": score}


def create(settings: Settings, limits: Limits) -> Photoroom:
    return Photoroom(settings, limits)
