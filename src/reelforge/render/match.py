"""Encoder options that match an input video: same codec family, pixel format (10-bit stays
10-bit, alpha stays alpha) and bitrate — unless the caller overrides codec, quality or format."""

from __future__ import annotations

from dataclasses import dataclass, field

from reelforge.ffmpeg.binary import available_encoders
from reelforge.ffmpeg.probe import StreamInfo

ENCODERS = {"h264": "libx264", "h265": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1", "prores": "prores_ks"}
# What the input's codec is called by ffmpeg → our codec names.
INPUT_CODECS = {"h264": "h264", "hevc": "h265", "vp9": "vp9", "av1": "av1", "prores": "prores"}
PIX_FMTS = {
    "libx264": ("yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le"),
    "libx265": ("yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuv420p12le",
                "yuva420p", "yuva420p10le"),
    "libvpx-vp9": ("yuv420p", "yuva420p", "yuv422p", "yuv444p", "yuva444p", "yuv420p10le", "yuv422p10le",
                   "yuv444p10le"),
    "libsvtav1": ("yuv420p", "yuv420p10le"),
    "prores_ks": ("yuv422p10le", "yuv444p10le", "yuva444p10le"),
}
# Bitrate floor in bits per pixel per frame (H.264 needs about twice what the newer codecs do).
BITS_PER_PIXEL = {"libx264": 0.05, "libx265": 0.025, "libvpx-vp9": 0.025, "libsvtav1": 0.02}
DEFAULT_CRF = {"libx264": 18, "libx265": 22, "libvpx-vp9": 30, "libsvtav1": 30}
PRORES_PROFILES = {"proxy": "0", "lt": "1", "standard": "2", "hq": "3", "4444": "4", "4444xq": "5"}
# Containers by output format; `auto` keeps the input's extension.
FORMAT_EXTENSIONS = {"mp4": ".mp4", "mov": ".mov", "mkv": ".mkv", "webm": ".webm", "webm-alpha": ".webm",
                     "mov-prores": ".mov"}
# Audio codecs each container can hold as they are (anything else is re-encoded).
AUDIO_IN = {".webm": {"opus", "vorbis"}, ".mp4": {"aac", "mp3", "ac3", "eac3", "opus", "alac", "flac"},
            ".m4v": {"aac", "mp3", "ac3", "eac3", "alac"}}


@dataclass(frozen=True)
class VideoEncoding:
    encoder: str
    pix_fmt: str
    options: tuple[str, ...]  # everything after -c:v, including -c:v itself
    alpha: bool  # the output keeps an alpha channel
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _codec_for(video: StreamInfo, fmt: str, codec: str) -> tuple[str, list[str]]:
    if fmt == "webm-alpha":
        return "vp9", []
    if fmt == "mov-prores":
        return "prores", []
    if codec != "auto":
        return codec, []
    if fmt == "webm":
        return ("vp9" if video.codec != "av1" else "av1"), []
    matched = INPUT_CODECS.get(video.codec)
    if matched is None:
        return "h264", [f"input codec {video.codec} has no matching encoder here; encoding H.264"]
    return matched, []


def _pix_fmt(encoder: str, video: StreamInfo, alpha: bool) -> str:
    """The input's pixel format when the encoder takes it; else the nearest one it does take
    (same bit depth where possible, alpha only when the output keeps alpha)."""
    wanted = video.pix_fmt or "yuv420p"
    if encoder == "prores_ks":
        return "yuva444p10le" if alpha else ("yuv444p10le" if "444" in wanted else "yuv422p10le")
    if alpha:
        return "yuva420p"
    if wanted.startswith("yuvj"):  # full-range JPEG formats: same layout, range kept by tags
        wanted = wanted.replace("yuvj", "yuv")
    if wanted.startswith("yuva"):
        wanted = wanted.replace("yuva", "yuv")
    supported = PIX_FMTS.get(encoder, ("yuv420p",))
    if wanted in supported:
        return wanted
    ten = "yuv420p10le" if video.bit_depth > 8 and "yuv420p10le" in supported else "yuv420p"
    return ten


def bitrate_floor_kbps(encoder: str, video: StreamInfo) -> int:
    """The least bitrate that still draws sharp overlays: a near-static input may be coded at a
    few kb/s, and burning text into it at that rate would smear it."""
    pixels_per_second = (video.width or 0) * (video.height or 0) * (video.fps or 30.0)
    return round(pixels_per_second * BITS_PER_PIXEL.get(encoder, 0.05) / 1000)


def _rate_control(encoder: str, video: StreamInfo, crf: int | None) -> tuple[str, ...]:
    """The input's bitrate (capped VBR, never below the floor) unless a CRF is asked for or the
    bitrate is unknown."""
    if encoder == "prores_ks":
        return ()
    if crf is None and video.bitrate_kbps:
        kbps = max(video.bitrate_kbps, bitrate_floor_kbps(encoder, video))
        return ("-b:v", f"{kbps}k", "-maxrate", f"{round(kbps * 1.5)}k", "-bufsize", f"{kbps * 2}k")
    quality = str(crf if crf is not None else DEFAULT_CRF[encoder])
    return ("-crf", quality, "-b:v", "0") if encoder in ("libvpx-vp9",) else ("-crf", quality)


def _encoder_options(encoder: str, preset: str, video: StreamInfo, alpha: bool) -> tuple[str, ...]:
    if encoder in ("libx264", "libx265"):
        extra = ("-x265-params", "log-level=error", "-tag:v", "hvc1") if encoder == "libx265" else ()
        return ("-preset", preset, *extra)
    if encoder == "libvpx-vp9":
        return ("-row-mt", "1", "-deadline", "good", "-cpu-used", "4")
    if encoder == "libsvtav1":
        return ("-preset", "8",)
    profile = "4444" if alpha else PRORES_PROFILES.get((video.profile or "").lower().replace(" ", ""), "3")
    return ("-profile:v", PRORES_PROFILES.get(profile, profile), "-vendor", "apl0")


def match_encoding(video: StreamInfo, *, fmt: str = "auto", codec: str = "auto", crf: int | None = None,
                   preset: str = "medium") -> VideoEncoding:
    """Encoder options for re-encoding `video` with overlays burned in."""
    chosen, warnings = _codec_for(video, fmt, codec)
    encoder = ENCODERS[chosen]
    if encoder not in available_encoders():
        warnings.append(f"this ffmpeg has no {encoder}; encoding H.264 instead")
        encoder = "libx264"
    alpha = fmt in ("webm-alpha", "mov-prores")
    pix_fmt = _pix_fmt(encoder, video, alpha)
    if video.bit_depth > 8 and not pix_fmt.endswith(("10le", "12le")):
        warnings.append(f"{encoder} cannot keep {video.bit_depth}-bit colour here; the output is 8-bit")
    options = ("-c:v", encoder, *_encoder_options(encoder, preset, video, alpha),
               *_rate_control(encoder, video, crf), "-pix_fmt", pix_fmt)
    return VideoEncoding(encoder, pix_fmt, options, alpha, tuple(warnings))


def overlay_format(pix_fmt: str) -> str:
    """The overlay filter's working format for an output pixel format: same chroma layout and
    10-bit where the output is deeper than 8 bits (the default would drop 10-bit to 8)."""
    chroma = "444" if "444" in pix_fmt else "422" if "422" in pix_fmt else "420"
    deep = pix_fmt.endswith(("10le", "12le"))
    return f"yuv{chroma}p10" if deep else f"yuv{chroma}"
