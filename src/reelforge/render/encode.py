"""Output presets: container + codec + quality → encoder options and the graph's last filters."""

from __future__ import annotations

from dataclasses import dataclass, field

from reelforge.ffmpeg.binary import encoder_works
from reelforge.ffmpeg.graph import Filter

F = Filter.of
BT709 = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv")
EXTENSIONS = {"mp4": ".mp4", "mp4-h265": ".mp4", "webm": ".webm", "webm-alpha": ".webm", "mov-prores": ".mov", "gif": ".gif"}
MUXERS = {".mp4": "mp4", ".webm": "webm", ".mov": "mov", ".gif": "gif", ".mkv": "matroska"}


def container_options(suffix: str) -> tuple[str, ...]:
    """MP4/MOV: the index goes first (+faststart) so players start before the download ends."""
    return ("-movflags", "+faststart") if suffix.lower() in (".mp4", ".mov") else ()

_X264 = {"draft": ("ultrafast", "26"), "standard": ("medium", "20"), "high": ("slow", "17")}
_X265 = {"draft": ("ultrafast", "30"), "standard": ("medium", "24"), "high": ("slow", "20")}
_VP9 = {"draft": ("8", "40"), "standard": ("4", "32"), "high": ("2", "26")}
_AAC = {"draft": "128k", "standard": "192k", "high": "256k"}
_HW = {"nvenc": "{codec}_nvenc", "vaapi": "{codec}_vaapi", "qsv": "{codec}_qsv"}


@dataclass(frozen=True)
class EncodeSettings:
    video: tuple[str, ...]
    audio: tuple[str, ...]
    tail: tuple[Filter, ...]  # filters appended to the final video pad
    global_options: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _software(fmt: str, quality: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if fmt == "mp4":
        preset, crf = _X264[quality]
        return ("-c:v", "libx264", "-preset", preset, "-crf", crf, "-profile:v", "high", "-pix_fmt", "yuv420p",
                *BT709), ("-c:a", "aac", "-b:a", _AAC[quality])
    if fmt == "mp4-h265":
        preset, crf = _X265[quality]
        return ("-c:v", "libx265", "-preset", preset, "-crf", crf, "-pix_fmt", "yuv420p", "-tag:v", "hvc1",
                "-x265-params", "log-level=error", *BT709), ("-c:a", "aac", "-b:a", _AAC[quality])
    if fmt in ("webm", "webm-alpha"):
        cpu, crf = _VP9[quality]
        pix = "yuva420p" if fmt == "webm-alpha" else "yuv420p"
        return ("-c:v", "libvpx-vp9", "-b:v", "0", "-crf", crf, "-cpu-used", cpu, "-row-mt", "1", "-deadline", "good",
                "-pix_fmt", pix, *BT709), ("-c:a", "libopus", "-b:a", "160k")
    if fmt == "mov-prores":
        return ("-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-vendor", "apl0", *BT709), \
            ("-c:a", "pcm_s16le")
    if fmt == "gif":
        return ("-loop", "0"), ()
    raise ValueError(fmt)


def _hardware(fmt: str, quality: str, hardware: str) -> tuple[tuple[str, ...], tuple[Filter, ...], tuple[str, ...]] | str:
    """Hardware encoder options, or a message saying why it can't be used."""
    if fmt not in ("mp4", "mp4-h265"):
        return f"{hardware} encoding is offered for mp4 outputs only"
    encoder = _HW[hardware].format(codec="h264" if fmt == "mp4" else "hevc")
    ok, why = encoder_works(encoder)
    if not ok:
        return f"{encoder} is not usable here ({why})"
    cq = {"draft": "30", "standard": "23", "high": "19"}[quality]
    if hardware == "nvenc":
        return ("-c:v", encoder, "-preset", "p5", "-rc", "vbr", "-cq", cq, "-b:v", "0", "-pix_fmt", "yuv420p",
                *BT709), (), ()
    if hardware == "qsv":
        return ("-c:v", encoder, "-global_quality", cq, "-pix_fmt", "nv12", *BT709), (), ()
    return ("-c:v", encoder, "-qp", cq, *BT709), \
        (F("format", "nv12"), F("hwupload")), ("-vaapi_device", "/dev/dri/renderD128")


def encode_settings(fmt: str, quality: str, hardware: str = "none", fps: float = 30.0) -> EncodeSettings:
    video, audio = _software(fmt, quality)
    tail: tuple[Filter, ...] = ()
    if fmt != "gif":
        tail = (F("setparams", color_primaries="bt709", color_trc="bt709", colorspace="bt709", range="tv"),)
    else:
        # GIF: ≤ 15 fps; the palette chains are added by the renderer (they fork the stream).
        tail = (F("fps", min(fps, 15.0)),)
    warnings: tuple[str, ...] = ()
    global_options: tuple[str, ...] = ()
    if hardware != "none":
        result = _hardware(fmt, quality, hardware)
        if isinstance(result, str):
            warnings = (f"hardware encoder not used: {result}; falling back to software encoding",)
        else:
            video, extra_tail, global_options = result
            tail = tail + extra_tail
    return EncodeSettings(video, audio, tail, global_options, warnings)
