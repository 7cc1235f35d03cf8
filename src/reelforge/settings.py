"""Settings from the environment (prefix `REELFORGE_`) and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "reelforge"


def _default_models_dir() -> Path:
    return Path.home() / ".cache" / "reelforge" / "models"


class Settings(BaseSettings):
    """Process-wide configuration. Every field can be set as `REELFORGE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="REELFORGE_", env_file=".env", extra="ignore")

    ffmpeg: str | None = Field(
        default=None, description="Path to an ffmpeg binary; default: `ffmpeg` on PATH, else imageio-ffmpeg's."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where prepared stills (rendered text, fitted images) are cached.",
    )
    models: Path = Field(
        default_factory=_default_models_dir,
        description="Where ML models (rembg's ONNX files) live; reelforge points rembg's U2NET_HOME here.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    log_format: Literal["console", "json"] = "console"
    segment_clips: int = Field(
        default=2, ge=0,
        description="Render timelines with more clips than this in segments of this many clips, so memory "
                    "stays flat however long the video is; 0 = always one ffmpeg run.",
    )
    # Cloud cut-out endpoints. Keys come from the providers' own variables (REMOVEBG_API_KEY,
    # PHOTOROOM_API_KEY, CLIPDROP_API_KEY); these overrides point at a proxy, gateway or test fake.
    removebg_base_url: str = Field(
        default="https://api.remove.bg", description="Base URL of the remove.bg API (POST {base}/v1.0/removebg)."
    )
    photoroom_base_url: str = Field(
        default="https://sdk.photoroom.com", description="Base URL of Photoroom's Remove Background API (POST {base}/v1/segment)."
    )
    clipdrop_base_url: str = Field(
        default="https://clipdrop-api.co", description="Base URL of the Clipdrop API (POST {base}/remove-background/v1)."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
