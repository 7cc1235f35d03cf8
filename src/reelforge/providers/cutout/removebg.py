"""remove.bg: `POST https://api.remove.bg/v1.0/removebg`, key in `X-Api-Key`, multipart `image_file`.

Wire format from remove.bg's OpenAPI document (www.remove.bg/api/swagger.yaml, mirrored in
APIs-guru/openapi-directory): `size=full` keeps the original resolution (PNG up to 10 megapixels;
larger inputs come back smaller and are resized to the input size), `format=png` +
`channels=rgba` return the cut-out with alpha. Errors are JSON `{"errors": [{"title", "code",
"detail"}]}`: 400 bad input, 402 insufficient credits, 403 authentication failed, 429 rate limit
(with `Retry-After`). A success reports `X-Credits-Charged` and the detected `X-Type`.
"""

from __future__ import annotations

from typing import Any

import httpx

from reelforge.providers.cutout.cloud import CloudCutout, header_number
from reelforge.providers.limits import Limits
from reelforge.settings import Settings


class RemoveBg(CloudCutout):
    name = "removebg"
    label = "remove.bg"
    key_env = "REMOVEBG_API_KEY"
    key_header = "X-Api-Key"
    path = "/v1.0/removebg"
    key_url = "https://www.remove.bg/dashboard#api-key"
    top_up_url = "https://www.remove.bg/pricing"

    def form_fields(self, keep_shadow: bool) -> dict[str, str]:
        fields = {"size": "full", "format": "png", "channels": "rgba"}
        if keep_shadow:
            fields["add_shadow"] = "true"
        return fields

    def shadow_details(self, keep_shadow: bool) -> dict[str, Any]:
        if not keep_shadow:
            return {}
        return {"keep_shadow": "sent add_shadow=true; remove.bg documents artificial shadows for car "
                               "photos only, other subjects come back without one"}

    def error_detail(self, body: Any) -> str | None:
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, list):
            return None
        return "; ".join(_describe(error) for error in errors if isinstance(error, dict)) or None

    def response_details(self, headers: httpx.Headers) -> dict[str, Any]:
        details: dict[str, Any] = {}
        charged = header_number(headers, "x-credits-charged")
        if charged is not None:
            details["credits_charged"] = charged
        if headers.get("x-type"):
            details["foreground_type"] = headers["x-type"]
        return details


def _describe(error: dict[str, Any]) -> str:
    text = str(error.get("title") or "error")
    if error.get("code"):
        text += f" [{error['code']}]"
    if error.get("detail"):
        text += f": {error['detail']}"
    return text


def create(settings: Settings, limits: Limits) -> RemoveBg:
    return RemoveBg(settings, limits)
