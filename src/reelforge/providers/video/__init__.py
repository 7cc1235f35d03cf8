"""Video generators by name: `VIDEO_GENERATORS.create("veo", settings)`."""

from __future__ import annotations

from typing import Any

from reelforge.providers.limits import Limits
from reelforge.providers.registry import ProviderEntry, Registry
from reelforge.settings import Settings


def _veo_configured(settings: Settings) -> str | None:
    from reelforge.providers.video.veo import veo_configured

    return veo_configured(settings)


VIDEO_GENERATORS: Registry[Any] = Registry("video")

for _entry in (
    ProviderEntry("local", "motion made on this machine: Ken Burns, optical-flow morph, draft card (no key, $0)",
                  "reelforge.providers.video.local:create", paid=False,
                  limits=Limits(max_concurrency=2, timeout_s=600, max_attempts=1)),
    ProviderEntry("veo", "Veo 3.1 / 3.1 Fast / 3.1 Lite / 2 on the Gemini API or Vertex AI (long-running)",
                  "reelforge.providers.video.veo:create", configured=_veo_configured,
                  env=(("GEMINI_API_KEY", "Gemini API key (GOOGLE_API_KEY also works)"),
                       ("GOOGLE_GENAI_USE_VERTEXAI", "true for Vertex AI (GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION "
                                                     "and application-default credentials)"),
                       ("REELFORGE_VEO_MODEL", "model id (default veo-3.1-fast-generate-preview)"),
                       ("REELFORGE_VEO_BASE_URL", "API base URL (default: REELFORGE_GEMINI_BASE_URL)")),
                  # no rpm: the runtime's pace would also space the operation polls (preview
                  # models allow 10 generation requests per minute; set it in REELFORGE_LIMITS)
                  limits=Limits(max_concurrency=4, timeout_s=120)),
):
    VIDEO_GENERATORS.register(_entry)

__all__ = ["VIDEO_GENERATORS"]
