"""Cut-outs for users: one image in memory, or a batch of files to a folder.

`cutout()` returns the RGBA image (metadata in `image.info["cutout"]`); `cutout_result()` the full
`CutoutResult`; `cutout_files()` runs a batch in worker processes (each keeps its ML session), writes
`<stem>.png` files atomically, continues past bad files and reports every item.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reelforge.atomic import save_image
from reelforge.errors import InputError, ReelforgeError
from reelforge.imaging.cutout.qa import assess
from reelforge.imaging.cutout.result import CutoutResult
from reelforge.imaging.load import MAX_PIXELS, load_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
MIN_SIDE = 32


@dataclass(frozen=True)
class CutoutOptions:
    method: str = "auto"
    model: str = "u2netp"
    keep_shadow: bool = False
    force: bool = False  # cut images that already have transparency
    background: str | None = None  # colour or image path to composite onto
    crop: bool = False
    margin: float = 0.04  # of the subject's larger side, with crop
    write_mask: bool = False


@dataclass
class ItemReport:
    source: str
    output: str | None = None
    ok: bool = False
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# --- one image ---------------------------------------------------------------------------------

def _open_input(path: Path) -> tuple[Image.Image, list[str]]:
    """Load a file the way the cut-out needs it, with warnings a user should see."""
    notes: list[str] = []
    try:
        with Image.open(path) as probe:
            frames = int(getattr(probe, "n_frames", 1))
            if frames > 1:
                notes.append(f"animated image ({frames} frames): cut out the first frame only")
    except Exception:  # load_image below reports the exact problem
        pass
    image = load_image(path)
    if min(image.size) < MIN_SIDE:
        raise InputError(f"image is too small ({image.width}x{image.height}): {path}",
                         hint=f"use an image at least {MIN_SIDE} px on each side")
    return image, notes


def _already_transparent(image: Image.Image) -> bool:
    return image.mode == "RGBA" and int(np.asarray(image.getchannel("A")).min()) < 250


def cutout_result(image: Image.Image | str | Path, method: str = "auto", *, model: str = "u2netp",
                  keep_shadow: bool = False, force: bool = False) -> CutoutResult:
    """Cut the background out of `image` with `method` (auto, key, ml, refine, removebg, photoroom, clipdrop)."""
    notes: list[str] = []
    if isinstance(image, str | Path):
        image, notes = _open_input(Path(image))
    else:
        image = image.convert("RGBA") if image.mode != "RGBA" else image
    if _already_transparent(image) and not force:
        alpha = np.asarray(image.getchannel("A"), np.float32) / 255
        result = CutoutResult(image=image.copy(), method="kept", reason="input already has transparency; "
                              "kept its alpha (use force to cut it again)", qa=assess(alpha, np.asarray(
                                  image.convert("RGB"), np.float32) / 255))
        result.warnings.extend(notes)
        return result
    from reelforge.providers.cutout.registry import get_cutout_provider

    provider = get_cutout_provider(method, model=model) if method in ("auto", "key", "ml", "refine") \
        else get_cutout_provider(method)
    result = provider.cut(image.convert("RGB"), keep_shadow=keep_shadow)
    if result.qa is None:
        rgba = np.asarray(result.image, np.float32) / 255
        result.qa = assess(rgba[..., 3], rgba[..., :3])
    result.warnings[:0] = notes
    return result


def cutout(image: Image.Image | str | Path, method: str = "auto", **options: Any) -> Image.Image:
    """The RGBA cut-out; `image.info["cutout"]` holds method, reason, QA and warnings."""
    result = cutout_result(image, method, **options)
    out = result.image
    out.info["cutout"] = result.metadata()
    return out


# --- finishing touches ---------------------------------------------------------------------------

def composite_on(image: Image.Image, background: str) -> Image.Image:
    """Put the cut-out on a colour (`#rrggbb`, names) or an image file (cover-fitted)."""
    from reelforge.imaging.stills import fit_image
    from reelforge.spec.common import parse_color

    if Path(background).suffix.lower() in IMAGE_SUFFIXES:
        base = fit_image(load_image(background, field="--bg"), image.size, "cover")
    else:
        try:
            base = Image.new("RGBA", image.size, parse_color(background))
        except ValueError as exc:
            raise InputError(f"--bg {background!r} is neither a colour nor an image file ({exc})",
                             hint="use a colour like '#1e1e1e' or 'white', or a path to an image") from None
    return Image.alpha_composite(base.convert("RGBA"), image)


def crop_to_subject(image: Image.Image, margin: float) -> Image.Image:
    alpha = np.asarray(image.getchannel("A"))
    ys, xs = np.nonzero(alpha > 5)
    if len(ys) == 0:
        return image
    pad = round(max(int(np.ptp(ys)), int(np.ptp(xs))) * margin)
    return image.crop((max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad),
                       min(image.width, int(xs.max()) + 1 + pad), min(image.height, int(ys.max()) + 1 + pad)))


# --- batches -------------------------------------------------------------------------------------

def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded to the images directly inside them (sorted)."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files.extend(sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        else:
            files.append(item)
    return files


def output_paths(files: list[Path], output: Path) -> list[Path]:
    """One input and an output ending in .png: that file. Otherwise `<output>/<stem>.png`."""
    if len(files) == 1 and output.suffix.lower() == ".png":
        return [output]
    stems = [f.stem for f in files]
    dupes = {s for s in stems if stems.count(s) > 1}
    if dupes:
        raise InputError(f"several inputs share the name {sorted(dupes)[0]!r}; their outputs would collide",
                         hint="cut out each folder separately or rename the files")
    return [output / f"{f.stem}.png" for f in files]


def process_file(source: Path, target: Path, options: CutoutOptions) -> ItemReport:
    """Cut out one file and write it; every failure becomes a report, never an exception."""
    report = ItemReport(source=str(source))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = cutout_result(source, options.method, model=options.model,
                                   keep_shadow=options.keep_shadow, force=options.force)
        image = result.image
        if options.crop:
            image = crop_to_subject(image, options.margin)
        if options.background:
            image = composite_on(image, options.background)
        save_image(image, target)
        if options.write_mask:
            save_image(result.image.getchannel("A") if not options.crop else image.getchannel("A"),
                        target.with_name(f"{target.stem}.mask.png"))
        report.ok, report.output, report.meta = True, str(target), result.metadata()
    except ReelforgeError as exc:
        report.error = str(exc)
    except Exception as exc:  # a bug or an unexpected library error: report it, keep the batch going
        report.error = f"{type(exc).__name__}: {exc}"
    return report


def _start_worker(cores: int) -> None:
    """Workers split the cores between them (each onnxruntime/OpenCV using all cores
    oversubscribes) and keep onnxruntime's arena: cut-outs are the whole job here."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    from reelforge.imaging.cutout import ml

    cv2.setNumThreads(cores)
    ml.configure(threads=cores, arena=True)


def cutout_files(inputs: Iterable[str | Path], output: str | Path, options: CutoutOptions | None = None, *,
                 workers: int | None = None,
                 on_item: Callable[[ItemReport], None] | None = None) -> list[ItemReport]:
    """Cut out every input into `output`; returns one report per input, in input order."""
    options = options or CutoutOptions()
    files = expand_inputs(inputs)
    if not files:
        raise InputError("no images to cut out", hint="pass image files or a folder that contains images")
    targets = output_paths(files, Path(output))
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))
    reports: list[ItemReport | None] = [None] * len(files)
    if workers == 1:
        from reelforge.imaging.cutout import ml

        ml.configure(arena=True)  # as in the workers below
        for i, (src, dst) in enumerate(zip(files, targets)):
            reports[i] = process_file(src, dst, options)
            if on_item:
                on_item(reports[i])  # type: ignore[arg-type]
        return [r for r in reports if r is not None]
    # forkserver, not fork: a caller that already cut something out in-process holds onnxruntime
    # threads, and children forked from it deadlock (the benchmark's -j 2 batch hung that way).
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                             initargs=(max(1, (os.cpu_count() or 1) // workers),),
                             mp_context=multiprocessing.get_context("forkserver")) as pool:
        futures = {pool.submit(process_file, src, dst, options): i for i, (src, dst) in enumerate(zip(files, targets))}
        for future in as_completed(futures):
            reports[futures[future]] = future.result()
            if on_item:
                on_item(future.result())
    return [r for r in reports if r is not None]


__all__ = ["MAX_PIXELS", "CutoutOptions", "ItemReport", "cutout", "cutout_files", "cutout_result"]
