"""`veo`: Veo 3.1 / 2 over its REST surface with httpx — the Gemini Developer API (key) or
Vertex AI (project + application-default credentials, or an express-mode key).

Why not the SDK: google-genai 3.x raises ValueError for `generate_videos` outside Vertex mode
(its Developer-API path ended with 2.34.0) and the surface is three calls: `predictLongRunning`,
the operation GET (Vertex: `fetchPredictOperation`), and the file download (a redirect)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from reelforge.errors import ProviderError
from reelforge.providers.errors import (
    malformed_error,
    quota_error,
    retry_after_from,
    status_error,
    transport_error,
)
from reelforge.providers.limits import Limits
from reelforge.providers.video.base import (
    GeneratedVideo,
    RenderTiming,
    VideoCapabilities,
    VideoRequest,
    check_request,
)
from reelforge.providers.video.models import capabilities, vertex_caps
from reelforge.settings import Settings, secret

GEMINI_BASE = "https://generativelanguage.googleapis.com"
KEY_ENV = "GEMINI_API_KEY"
MODEL_ENV = "REELFORGE_VEO_MODEL"
# personGeneration per mode (Veo 3.1 on the Gemini API: anything else is a 400)
PERSON = {"text": "allow_all", "extend": "allow_all", "image": "allow_adult", "interpolate": "allow_adult",
          "reference": "allow_adult"}


def veo_configured(settings: Settings) -> str | None:
    if settings.google_genai_use_vertexai:
        if settings.google_cloud_project or secret(settings.google_api_key):
            return None
        return "GOOGLE_CLOUD_PROJECT (with application-default credentials) or GOOGLE_API_KEY is not set (Vertex AI)"
    key = secret(settings.gemini_api_key) or secret(settings.google_api_key)
    return None if key else "GEMINI_API_KEY is not set"


class VeoVideos:
    """One adapter per context; `submit` / `poll` / `download` are the three halves of one
    long-running generation (the runtime records the handle between them)."""

    name = "veo"
    cpu_bound = False

    def __init__(self, settings: Settings, limits: Limits, *, token: Callable[[], str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.vertex = settings.google_genai_use_vertexai
        self.model = settings.veo_model
        self.version = settings.veo_api_version
        self.location = settings.google_cloud_location or "us-central1"
        self.project = settings.google_cloud_project
        default = f"https://{self.location}-aiplatform.googleapis.com" if self.vertex else GEMINI_BASE
        self.base = (settings.veo_base_url or (None if self.vertex else settings.gemini_base_url) or default).rstrip("/")
        self.key = (secret(settings.google_api_key) or secret(settings.gemini_api_key)) if self.vertex else \
            (secret(settings.gemini_api_key) or secret(settings.google_api_key))
        self._token = token
        self.poll_interval_s = settings.veo_poll_interval_s
        self.poll_max_interval_s = settings.veo_poll_max_interval_s
        self.max_wait_s = settings.veo_max_wait_s
        self._client = httpx.AsyncClient(timeout=limits.timeout_s, transport=transport, follow_redirects=False)
        # operations in flight at once (held from before the submission to the download), shared by
        # every clip on this context; a separate bound from the per-request concurrency of the gate
        self.operations = asyncio.Semaphore(settings.veo_max_operations)
        self.timing = RenderTiming()  # how long renders take here: when to poll next

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- capability -------------------------------------------------------------------------

    def capabilities(self, model: str | None = None) -> VideoCapabilities:
        caps = capabilities(model or self.model)
        return vertex_caps(caps) if self.vertex else caps

    def check(self, request: VideoRequest, model: str | None = None) -> None:
        check_request(self.name, self.capabilities(model), request, developer_api=not self.vertex)

    # --- the three calls --------------------------------------------------------------------

    async def submit(self, request: VideoRequest, model: str | None = None) -> dict[str, Any]:
        """POST :predictLongRunning; the handle names the operation (and how to poll it)."""
        model = model or self.model
        self.check(request, model)
        body = {"instances": [self._instance(request)], "parameters": self._parameters(request)}
        data = await self._send("POST", f"{self._model_path(model)}:predictLongRunning", json=body)
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            raise malformed_error(self.name, f"no operation name in {str(data)[:120]}")
        return {"name": name, "model": model, "vertex": self.vertex}

    async def poll(self, handle: dict[str, Any]) -> tuple[bool, dict[str, Any], ProviderError | None]:
        """(done, response, error) of the operation."""
        try:
            if handle.get("vertex"):
                op = await self._send("POST", f"{self._model_path(handle['model'])}:fetchPredictOperation",
                                      json={"operationName": handle["name"]})
            else:
                op = await self._send("GET", f"/{self.version}/{handle['name']}")
        except ProviderError as exc:
            if exc.status == 404:  # expired (operations are kept for days) or from another project
                return True, {}, ProviderError(self.name, f"the operation {handle['name']} no longer exists",
                                               status=404, reason="expired",
                                               hint="run again: a new operation is submitted (and billed only if "
                                                    "it delivers a video)")
            raise
        if not op.get("done"):
            return False, {}, None
        if isinstance(op.get("error"), dict):
            return True, {}, _operation_error(self.name, op["error"])
        response = op.get("response") or {}
        result = response.get("generateVideoResponse", response) if isinstance(response, dict) else {}
        return True, result, _rai_error(self.name, result)

    async def download(self, handle: dict[str, Any], result: dict[str, Any], folder: Path) -> list[GeneratedVideo]:
        """The operation's videos as files in `folder` (meta: operation, model, rai)."""
        videos = []
        samples = result.get("generatedSamples") or result.get("videos") or []
        for n, sample in enumerate(samples):
            video = sample.get("video", sample) if isinstance(sample, dict) else {}
            path = folder / f"veo-{n}.mp4"
            inline = video.get("bytesBase64Encoded") or video.get("encodedVideo")
            if isinstance(inline, str):
                path.write_bytes(base64.b64decode(inline))
            elif isinstance(video.get("uri"), str):
                path.write_bytes(await self._download(video["uri"]))
            else:
                raise malformed_error(self.name, f"sample {n} has neither bytes nor a uri (a gcsUri needs "
                                                 "storageUri unset)")
            meta = {"operation": handle["name"], "model": handle["model"], "uri": video.get("uri"),
                    "rai_filtered": int(result.get("raiMediaFilteredCount") or 0),
                    "rai_reasons": list(result.get("raiMediaFilteredReasons") or [])}
            videos.append(GeneratedVideo(path, video.get("mimeType") or video.get("encoding") or "video/mp4", meta))
        if not videos:
            raise ProviderError(self.name, "the operation finished without a video", reason="empty",
                                hint="try again, or rephrase the prompt")
        return videos

    # --- wire -------------------------------------------------------------------------------

    def _model_path(self, model: str) -> str:
        if not self.vertex:
            return f"/{self.version}/models/{model}"
        if self.project:
            return f"/v1/projects/{self.project}/locations/{self.location}/publishers/google/models/{model}"
        return f"/v1/publishers/google/models/{model}"  # express mode (API key)

    def _instance(self, r: VideoRequest) -> dict[str, Any]:
        inst: dict[str, Any] = {}
        if r.prompt:
            inst["prompt"] = r.prompt
        if r.image is not None:
            inst["image"] = _image(r.image, r.image_type)
        if r.last_frame is not None:
            inst["lastFrame"] = _image(r.last_frame, r.last_frame_type)
        if r.references:
            inst["referenceImages"] = [{"image": _image(ref.data, ref.media_type), "referenceType": ref.kind}
                                       for ref in r.references]
        if r.mode == "extend":
            inst["video"] = self._video(r)
        return inst

    def _video(self, r: VideoRequest) -> dict[str, Any]:
        if r.video_uri and not self.vertex:
            return {"uri": r.video_uri}
        if r.video_uri and r.video_uri.startswith("gs://"):
            return {"gcsUri": r.video_uri, "mimeType": "video/mp4"}
        assert r.video is not None
        data = base64.b64encode(r.video.read_bytes()).decode()
        return {"bytesBase64Encoded": data, "mimeType": "video/mp4"} if self.vertex else \
            {"encodedVideo": data, "encoding": "video/mp4"}

    def _parameters(self, r: VideoRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"aspectRatio": r.aspect, "resolution": r.resolution,
                                  "durationSeconds": r.duration, "sampleCount": r.count,
                                  "personGeneration": r.person_generation or PERSON[r.mode]}
        if r.negative_prompt:
            params["negativePrompt"] = r.negative_prompt
        if self.vertex:  # the Developer API refuses these (checked before the call)
            if r.seed is not None:
                params["seed"] = r.seed
            if r.audio is not None:
                params["generateAudio"] = r.audio
        return params

    def _headers(self) -> dict[str, str]:
        if self.vertex and self.project:
            return {"Authorization": f"Bearer {self._bearer()}"}
        return {"x-goog-api-key": self.key or ""}

    def _bearer(self) -> str:
        if self._token is not None:
            return self._token()
        import google.auth
        import google.auth.transport.requests

        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        credentials.refresh(google.auth.transport.requests.Request())
        return str(credentials.token)

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, self.base + path, headers=self._headers(), **kwargs)
        except httpx.TransportError as exc:
            raise transport_error(self.name, exc) from None
        if response.status_code >= 400:
            raise http_error(self.name, response)
        try:
            return response.json()
        except json.JSONDecodeError:
            raise malformed_error(self.name, response.text) from None

    async def _download(self, uri: str) -> bytes:
        """GET the file (key sent to the API host only); its answer is a redirect to storage,
        which is followed without the key."""
        if uri.startswith(GEMINI_BASE) and self.base != GEMINI_BASE:
            uri = self.base + uri[len(GEMINI_BASE):]
        try:
            response = await self._client.get(uri, headers=self._headers())
            for _ in range(5):
                if not response.is_redirect:
                    break
                response = await self._client.get(str(response.next_request.url) if response.next_request
                                                  else response.headers["location"])
        except httpx.TransportError as exc:
            raise transport_error(self.name, exc) from None
        if response.status_code >= 400:
            raise http_error(self.name, response)
        return response.content


def _image(data: bytes, media_type: str) -> dict[str, str]:
    return {"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": media_type}


def http_error(provider: str, response: httpx.Response) -> ProviderError:
    from reelforge.providers.images.google import _daily_quota, _error_details, _retry_delay

    try:
        body = response.json()
    except ValueError:
        body = {}
    details = _error_details(body)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = str(error.get("message") or response.text[:200]) if isinstance(error, dict) else response.text[:200]
    if response.status_code == 429 and (daily := _daily_quota(details)):
        return quota_error(provider, f"{message} (daily quota {daily})")
    wait = retry_after_from(response.headers) or _retry_delay(details)
    return status_error(provider, response.status_code, message, key_env=KEY_ENV, retry_after=wait,
                        model_env=MODEL_ENV)


def _operation_error(provider: str, error: dict[str, Any]) -> ProviderError:
    code, message = int(error.get("code") or 0), str(error.get("message") or "")
    blocked = code == 3 and any(w in message.lower() for w in ("safety", "policy", "responsible"))
    return ProviderError(provider, f"the operation failed (code {code}): {message[:300]}",
                         reason="blocked" if blocked else ("bad_request" if code == 3 else "server"),
                         hint="rephrase the prompt or change the images" if blocked
                         else "run again: the failed operation is submitted anew (only delivered videos are billed)")


def _rai_error(provider: str, result: dict[str, Any]) -> ProviderError | None:
    samples = result.get("generatedSamples") or result.get("videos") or []
    filtered = int(result.get("raiMediaFilteredCount") or 0)
    if samples or not filtered:
        return None
    reasons = "; ".join(str(r) for r in result.get("raiMediaFilteredReasons") or []) or "no reason given"
    return ProviderError(provider, f"all {filtered} video(s) were filtered by responsible-AI checks: {reasons}",
                         reason="blocked", hint="rephrase the prompt or change the images; the same request will "
                                                "be filtered again")


def create(settings: Settings, limits: Limits) -> VeoVideos:
    return VeoVideos(settings, limits)
