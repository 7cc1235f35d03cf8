"""Clipdrop Remove Background: `POST https://clipdrop-api.co/remove-background/v1`.

Wire format from Clipdrop's API documentation (clipdrop.co/apis/docs/remove-background): key in
`x-api-key`, multipart with one `image_file` (PNG/JPG/WEBP, up to 25 megapixels / 30 MB) and an
optional `transparency_handling`. The answer is an image matching the `Accept` header (PNG by
default) with the input's dimensions; `x-remaining-credits` and `x-credits-consumed` headers report
credits. Errors are JSON `{"error": "..."}` with the kind in the status code. There is no shadow
option, so `keep_shadow` is ignored.
"""

from __future__ import annotations

from typing import Any

import httpx

from reelforge.providers.cutout.cloud import CloudCutout, header_number
from reelforge.providers.limits import Limits
from reelforge.settings import Settings


class Clipdrop(CloudCutout):
    name = "clipdrop"
    label = "Clipdrop"
    key_env = "CLIPDROP_API_KEY"
    key_header = "x-api-key"
    path = "/remove-background/v1"
    key_url = "https://clipdrop.co/apis/account"
    top_up_url = "https://clipdrop.co/apis/account"

    def error_detail(self, body: Any) -> str | None:
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, str) else None

    def response_details(self, headers: httpx.Headers) -> dict[str, Any]:
        details: dict[str, Any] = {}
        consumed = header_number(headers, "x-credits-consumed")
        remaining = header_number(headers, "x-remaining-credits")
        if consumed is not None:
            details["credits_charged"] = consumed
        if remaining is not None:
            details["remaining"] = remaining
        return details


def create(settings: Settings, limits: Limits) -> Clipdrop:
    return Clipdrop(settings, limits)
