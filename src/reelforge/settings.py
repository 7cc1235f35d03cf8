"""Settings from the environment (prefix `REELFORGE_`) and an optional `.env` file.

Provider credentials are read here too, under the providers' own variable names (GEMINI_API_KEY,
OPENAI_API_KEY, HF_TOKEN, …) as well as REELFORGE_-prefixed ones, from the environment or `.env`.
Adapters get them from the Settings object they are built with and never read os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "reelforge"


def _default_models_dir() -> Path:
    return Path.home() / ".cache" / "reelforge" / "models"


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "reelforge"


class Settings(BaseSettings):
    """Process-wide configuration. Every field can be set as `REELFORGE_<NAME>`."""

    # env_ignore_empty: `GOOGLE_GENAI_USE_VERTEXAI=` (set but empty) means unset, not a bad bool
    model_config = SettingsConfigDict(env_prefix="REELFORGE_", env_file=".env", extra="ignore",
                                      populate_by_name=True, env_ignore_empty=True)

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
    ffmpeg_nice: int = Field(
        default=0, ge=0, le=19,
        description="Run ffmpeg at this lower CPU priority (nice); `reelforge serve` uses 10 unless set, so "
                    "encodes never starve the API.",
    )
    feed_process: bool = Field(
        default=False,
        description="Draw moving layers' frames (Ken Burns) in a child process at ffmpeg's priority instead of "
                    "threads of this process; `reelforge serve` turns it on, so the process that answers the API "
                    "never shares its interpreter with frame drawing.",
    )
    segment_clips: int = Field(
        default=2, ge=0,
        description="Render timelines with more clips than this in segments of this many clips, so memory "
                    "stays flat however long the video is; 0 = always one ffmpeg run.",
    )
    # Cloud cut-out keys (the providers' own variable names, or REELFORGE_-prefixed) and endpoints;
    # the base-URL overrides point at a proxy, gateway or test fake.
    removebg_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_REMOVEBG_API_KEY", "REMOVEBG_API_KEY"),
        description="remove.bg API key.")
    photoroom_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_PHOTOROOM_API_KEY", "PHOTOROOM_API_KEY"),
        description="Photoroom API key.")
    clipdrop_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_CLIPDROP_API_KEY", "CLIPDROP_API_KEY"),
        description="Clipdrop API key.")
    removebg_base_url: str = Field(
        default="https://api.remove.bg", description="Base URL of the remove.bg API (POST {base}/v1.0/removebg)."
    )
    photoroom_base_url: str = Field(
        default="https://sdk.photoroom.com", description="Base URL of Photoroom's Remove Background API (POST {base}/v1/segment)."
    )
    clipdrop_base_url: str = Field(
        default="https://clipdrop-api.co", description="Base URL of the Clipdrop API (POST {base}/remove-background/v1)."
    )
    # --- generation runtime -------------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where generated artifacts (content-addressed) and the run records (SQLite) live.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the run records; default sqlite:///<data_dir>/runs.sqlite."
    )
    artifacts_url: str | None = Field(
        default=None, description="Where artifacts live: s3://bucket/prefix (any S3-compatible store, with "
                                  "REELFORGE_S3_ENDPOINT_URL); default the folder <data_dir>/artifacts.")
    # --- scale-out (docs/deploy.md): Celery workers on a Redis broker, limits shared in Redis --
    broker_url: str | None = Field(
        default=None, description="Celery broker (redis://host:6379/0). When set, `reelforge serve` and "
                                  "`reelforge jobs submit` enqueue jobs for `reelforge worker` processes.")
    redis_url: str | None = Field(
        default=None, description="Redis for the shared provider limits, breaker and cancellation; default: "
                                  "the broker URL when it is a redis:// URL.")
    redis_prefix: str = Field(default="reelforge", description="Prefix of every Redis key reelforge writes.")
    task_visibility_s: float = Field(
        default=300, gt=0, description="A job taken by a worker that dies is given to another worker after "
                                       "this long (the Redis transport's visibility timeout; a live job's "
                                       "message re-delivered meanwhile is put back, so short is safe).")
    job_lease_s: float = Field(
        default=30, gt=0, description="A worker renews the lease on the job it runs every third of this; a "
                                      "job whose lease lapsed is taken over by the next delivery.")
    queues: dict[str, str] = Field(
        default_factory=dict, description='Queue per job kind as JSON, e.g. {"render": "render", "image": "io"}; '
                                          "unnamed kinds use the defaults in docs/deploy.md.")
    pricing_file: Path | None = Field(
        default=None, description="A JSON pricing table whose rows override the shipped one (same format)."
    )
    limits: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Per-provider limits as JSON, e.g. {"gemini": {"max_concurrency": 4, "rpm": 10, "rpd": 1500}}.',
    )
    image_provider: str = Field(default="local", description="Image provider used when none is named.")
    # --- image providers: base-URL overrides (proxies, gateways, test fakes) and model ids -----
    gemini_base_url: str | None = None
    gemini_model: str = "gemini-2.5-flash-image"
    imagen_base_url: str | None = None
    imagen_model: str = "imagen-4.0-generate-001"
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices("REELFORGE_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL incl. /v1 (OpenAI, or a compatible gateway such as OpenRouter).")
    openai_model: str = "gpt-image-1"
    flux_base_url: str | None = None
    flux_model: str = "black-forest-labs/FLUX.1-schnell"
    sdwebui_base_url: str | None = None
    sdwebui_model: str | None = Field(default=None, description="Checkpoint to select per request (optional).")
    sdwebui_auth: SecretStr | None = Field(default=None, description="user:password for a server started with --api-auth.")
    # --- vision providers (product-shots, story): model ids; base URLs are the image ones -----
    gemini_vision_model: str = Field(default="gemini-2.5-flash", description="Gemini model that answers vision questions.")
    openai_vision_model: str = Field(default="gpt-4o-mini", description="Chat model with image input (OpenAI, or a "
                                     "local server such as Ollama/vLLM at openai_base_url).")
    # --- writers (story scripts): model ids; base URLs are the image ones ---------------------
    gemini_writer_model: str = Field(default="gemini-2.5-flash", description="Gemini model that writes scripts.")
    openai_writer_model: str = Field(default="gpt-4o-mini", description="Chat model that writes scripts (OpenAI, or "
                                     "a local server such as Ollama/vLLM at openai_base_url).")
    writer_provider: str = Field(default="local", description="Writer used when none is named (local = draft).")

    # --- video (clip): Veo over the Gemini API or Vertex AI, and the local motion engine ---------
    veo_base_url: str | None = Field(default=None, description="Veo API base URL; default: gemini_base_url, else "
                                     "https://generativelanguage.googleapis.com (Vertex: the regional endpoint).")
    veo_model: str = Field(default="veo-3.1-fast-generate-preview", description="Veo model id.")
    veo_api_version: str = Field(default="v1beta", description="Gemini API version for Veo (v1beta or v1).")
    veo_poll_interval_s: float = Field(default=10.0, gt=0, description="First wait between operation polls.")
    veo_poll_max_interval_s: float = Field(default=30.0, gt=0, description="Longest wait between polls.")
    veo_max_wait_s: float = Field(default=900.0, gt=0, description="Give up polling after this long (a rerun resumes).")
    veo_max_operations: int = Field(default=10, ge=1, description="Operations rendering at once (Veo allows 10 "
                                    "concurrent requests per project); more clips wait for a slot before submitting.")
    video_provider: str = Field(default="local", description="Video provider used when none is named.")

    # --- storage (clip --upload): S3-compatible (AWS, DigitalOcean Spaces, MinIO, R2), GCS, Cloudinary
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                                                    "AWS_ENDPOINT_URL", "DIGITALOCEAN_SPACES_ENDPOINT"),
        description="S3 endpoint (MinIO, R2, Spaces); default AWS, or Spaces when DIGITALOCEAN_SPACES_REGION is set.")
    s3_region: str | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION",
                                                    "DIGITALOCEAN_SPACES_REGION"), description="S3 region.")
    s3_access_key_id: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID",
                                                    "DIGITALOCEAN_SPACES_KEY"),
        description="S3 access key (else boto3's own chain: profiles, instance roles).")
    s3_secret_access_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY",
                                                    "DIGITALOCEAN_SPACES_SECRET"), description="S3 secret key.")
    spaces_region: str | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_SPACES_REGION", "DIGITALOCEAN_SPACES_REGION"),
        description="DigitalOcean Spaces region (sets the endpoint https://<region>.digitaloceanspaces.com).")
    gcs_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_GCS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST"),
        description="Google Cloud Storage JSON API endpoint (an emulator or proxy); default Google's.")
    google_application_credentials: Path | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_GOOGLE_APPLICATION_CREDENTIALS",
                                                    "GOOGLE_APPLICATION_CREDENTIALS"),
        description="Service-account JSON for GCS (signed URLs need one); else application-default credentials.")
    cloudinary_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_CLOUDINARY_URL", "CLOUDINARY_URL"),
        description="cloudinary://API_KEY:API_SECRET@CLOUD_NAME (the Cloudinary console's environment variable).")
    cloudinary_base_url: str = Field(default="https://api.cloudinary.com", description="Cloudinary upload API base URL.")
    storage_url_expiry_s: int = Field(default=3600, gt=0, description="Lifetime of presigned/signed URLs.")
    storage_public: bool = Field(default=False, description="Upload public-read and return the public URL.")

    # --- credentials: the providers' own variable names, or REELFORGE_<NAME> ----------------
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_GEMINI_API_KEY", "GEMINI_API_KEY"),
        description="Gemini API key (aistudio.google.com); GOOGLE_API_KEY is used when this is unset.")
    google_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_GOOGLE_API_KEY", "GOOGLE_API_KEY"),
        description="Google API key: a Gemini API key, or a Vertex AI express-mode key (imagen).")
    google_genai_use_vertexai: bool = Field(
        default=False, validation_alias=AliasChoices("REELFORGE_GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_VERTEXAI"),
        description="Call Gemini through Vertex AI (a project, or an express-mode API key) instead of the Gemini API.")
    google_cloud_project: str | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"),
        description="Vertex AI project (with application-default credentials).")
    google_cloud_location: str | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_GOOGLE_CLOUD_LOCATION", "GOOGLE_CLOUD_LOCATION"),
        description="Vertex AI location for a project (default us-central1).")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="OpenAI API key (or the key of the gateway at openai_base_url).")
    hf_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_HF_TOKEN", "HF_TOKEN"),
        description="Hugging Face access token (flux).")
    removebg_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_REMOVEBG_API_KEY", "REMOVEBG_API_KEY"),
        description="remove.bg API key.")
    photoroom_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_PHOTOROOM_API_KEY", "PHOTOROOM_API_KEY"),
        description="Photoroom API key.")
    clipdrop_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REELFORGE_CLIPDROP_API_KEY", "CLIPDROP_API_KEY"),
        description="Clipdrop API key.")

    # --- service (`reelforge serve`, `reelforge jobs`) ---------------------------------------
    api_keys: str = Field(default="", description="Comma list of API keys accepted on /v1 (Bearer or X-API-Key); "
                                                  "empty = no auth (loopback only unless --insecure).")
    max_upload_mb: float = Field(default=512, gt=0, description="Largest upload accepted by POST /v1/uploads.")
    max_request_mb: float = Field(default=2, gt=0, description="Largest request body on every other route.")
    cors_origins: str = Field(default="", description="Comma list of origins allowed by CORS (default: none).")
    server_url: str = Field(default="http://127.0.0.1:8000", description="Server `reelforge jobs` talks to.")
    api_key: str = Field(default="", description="Key `reelforge jobs` sends to the server (one of its API keys).")
    fetch_max_mb: float = Field(default=512, gt=0, description="Largest file a spec's http(s) URL may download.")
    fetch_timeout_s: float = Field(default=60, gt=0, description="Time limit of one URL download.")

    def key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    def cors_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def shared_redis(self) -> str | None:
        """The Redis that holds state shared by workers (limits, breaker, cancellation)."""
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url and self.broker_url.startswith(("redis://", "rediss://")) else None

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'runs.sqlite'}"


def secret(value: SecretStr | None) -> str | None:
    """The secret's text, stripped; None when unset or blank."""
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
