"""Sample photos for examples and tests, from scikit-image's wheel (no download at run time)."""

from __future__ import annotations

from pathlib import Path

from reelforge.errors import InputError


def samples_dir() -> Path:
    try:
        import skimage.data
    except ImportError:
        raise InputError(
            "sample photos need scikit-image",
            hint="pip install 'reelforge[samples]' (make demo installs it)",
        ) from None
    return Path(skimage.data.__file__).parent


def list_samples() -> list[str]:
    return sorted(p.name for p in samples_dir().iterdir() if p.suffix.lower() in {".png", ".jpg"})


def sample_path(name: str) -> Path:
    path = samples_dir() / name
    if name not in list_samples() or not path.is_file():  # a bare name: no "../" out of the folder
        raise InputError(f"no sample named {name!r}", hint=f"use one of: {', '.join(list_samples())}")
    return path
