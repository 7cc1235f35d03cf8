"""The step actions of a scenes run (image generation itself is `pipelines.images.GenerateImage`).

    scene.check       QA of a generated (or given) image: decodes, big enough, right aspect, not blank
    scene.cutout      the subject cut out of its white backdrop (local engine in the process pool,
                      or a cloud provider as a paid, gated call); fails when no subject is left
    scene.background  a background rendered once per distinct spec and frame size
    scene.composite   subject on background with a contact shadow, at the frame size

CPU-bound work goes through `ctx.run_cpu` (the runtime's process pool), so the helpers below are
module-level functions that take and return bytes."""

from __future__ import annotations

import asyncio
import functools
import io
from typing import Any

from PIL import Image

from reelforge.errors import InputError
from reelforge.imaging.image_qa import ImageChecks, QAFailed, check_image
from reelforge.runtime import ActionResult, StepContext, StepOutput

PNG = "image/png"
# Local cut-outs run in their own one-process pool: the process holds the ML session (rembg and
# onnxruntime, about 280 MB resident, 600 MB while it works), so only one such process exists
# (see job.scene_pools for what runs beside it).
CUTOUT_POOL = "cutout"
SCENES_POOL = "scenes"  # composites and backgrounds (sized by scene_pools, apart from other jobs' pools)


def _single_input(ctx: StepContext) -> tuple[str, Any]:
    for name in sorted(ctx.inputs):
        if ctx.inputs[name]:
            return name, ctx.inputs[name][0]
    raise InputError(f"step {ctx.step.id} has no input image")


def png_bytes(image: Image.Image, compress_level: int = 1) -> bytes:
    # Level 1: these are intermediates read back within seconds; speed beats a few % of size.
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=compress_level)
    return buffer.getvalue()


class CheckImage:
    kind = "scene.check"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        _, artifact = _single_input(ctx)
        data = await ctx.read(artifact)
        p = ctx.params
        checks = ImageChecks(p["min_size"], p.get("aspect"), p["aspect_tolerance"], p["min_contrast"])
        qa = await asyncio.to_thread(check_image, data, checks)
        return ActionResult([StepOutput(data, artifact.media_type, {"qa": qa.as_dict()})], meta={"qa": qa.as_dict()})


def decode_upright(data: bytes) -> Image.Image:
    """RGBA, turned upright by its EXIF orientation (phone photos), any mode normalized (16-bit,
    CMYK, palette) — the same decoding the renderer gives image files."""
    from PIL import ImageOps

    from reelforge.imaging.load import normalize_mode

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return normalize_mode(ImageOps.exif_transpose(img))


def cut_subject(data: bytes, method: str, model: str, min_subject: float) -> tuple[bytes, dict[str, Any]]:
    """The RGBA subject (PNG) and the cut-out's metadata with a local method; QAFailed when no
    subject is left."""
    from reelforge.pipelines.cutout import cutout_result

    rgba = decode_upright(data)
    result = cutout_result(rgba, method, model=model)  # an already-transparent image keeps its alpha
    del rgba
    return subject_png(result, method, min_subject)


def subject_png(result: Any, method: str, min_subject: float) -> tuple[bytes, dict[str, Any]]:
    """The cut-out cropped to its subject (PNG) and its metadata; QAFailed when no subject is left."""
    from reelforge.pipelines.cutout import crop_to_subject

    meta = result.metadata()
    qa = result.qa
    if qa is None or {"empty-mask", "full-mask"} & set(qa.flags) or qa.coverage < min_subject:
        coverage = 0.0 if qa is None else qa.coverage
        raise QAFailed(f"no subject left after the cut-out ({method}): coverage {coverage:.1%}, "
                       f"flags {', '.join(qa.flags) if qa else 'none'}", ["no-subject"])
    png = png_bytes(crop_to_subject(result.image, 0.02))
    del result
    release_memory()
    return png, meta


def release_memory() -> None:
    """Hand freed heap back to the OS (glibc keeps it otherwise): a pool worker that just cut out
    a large image would hold its peak for the rest of the run."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


@functools.cache
def _libc() -> Any:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")  # runs ldconfig: once per process, not per image
    return ctypes.CDLL(name) if name else None


class CutoutSubject:
    """A local method runs in the cut-out pool; a cloud one (the step names it as its provider) is
    one request through the same adapter and helper as `reelforge cutout` (`cloud_cutout`), on
    the event loop, gated, timed out and retried by the runtime."""

    kind = "scene.cutout"
    version = 1
    capability = "cutout"

    async def run(self, ctx: StepContext) -> ActionResult:
        _, artifact = _single_input(ctx)
        data = await ctx.read(artifact)
        p = ctx.params
        if not ctx.step.provider:
            png, meta = await ctx.run_cpu(cut_subject, data, p["method"], p["model"], p["min_subject"],
                                          pool=CUTOUT_POOL)
            return ActionResult([StepOutput(png, PNG, {"cutout": meta})], meta={"cutout": meta})
        from reelforge.pipelines.cutout import _already_transparent, cloud_cutout, cutout_result

        rgba = await asyncio.to_thread(decode_upright, data)
        if _already_transparent(rgba):  # keeps its alpha: no call, nothing billed
            result, billed = await asyncio.to_thread(cutout_result, rgba, "key"), 0
        else:
            result, billed = await cloud_cutout(ctx, rgba.convert("RGB")), 1
        png, meta = await asyncio.to_thread(subject_png, result, p["method"], p["min_subject"])
        return ActionResult([StepOutput(png, PNG, {"cutout": meta})], billed=billed, meta={"cutout": meta})


def background_png(spec: dict[str, Any], size: tuple[int, int], image_path: str | None) -> bytes:
    from reelforge.imaging.backgrounds import render_background
    from reelforge.spec.backgrounds import parse_background

    if image_path is not None:  # the step's input file (hashed into the key), wherever it lives now
        spec = {**spec, "path": image_path}
    background = parse_background(spec)
    return png_bytes(render_background(background, size).convert("RGB"))


class RenderBackground:
    kind = "scene.background"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        path = str(ctx.step.files["image"]) if "image" in ctx.step.files else None
        size = tuple(ctx.params["size"])
        png = await ctx.run_cpu(background_png, dict(ctx.params["background"]), size, path, pool=SCENES_POOL)
        return ActionResult([StepOutput(png, PNG)])


def composite_png(subject: bytes, background: bytes, placement: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The composited frame (PNG) and its layout (subject and caption boxes, on the frame)."""
    from reelforge.imaging.composite import composite_subject
    from reelforge.spec.backgrounds import ContactShadow

    with Image.open(io.BytesIO(subject)) as s, Image.open(io.BytesIO(background)) as b:
        subject_rgba, backdrop = s.convert("RGBA"), b.convert("RGB")
    shadow = None if placement["shadow"] is None else ContactShadow.model_validate(placement["shadow"])
    layout: dict[str, Any] = {}
    if placement.get("layout") == "auto":
        box, layout = subject_layout(subject_rgba, backdrop.size, placement)
        frame = composite_subject(subject_rgba, backdrop, shadow=shadow, box=box)
    else:
        frame = composite_subject(subject_rgba, backdrop, scale=placement["scale"], anchor=placement["anchor"],
                                  shadow=shadow)
    png = png_bytes(frame)
    del frame, subject_rgba, backdrop
    release_memory()
    return png, layout


def subject_layout(subject: Image.Image, size: tuple[int, int],
                   placement: dict[str, Any]) -> tuple[tuple[tuple[int, int], tuple[int, int]], dict[str, Any]]:
    """Where the layout puts the subject's alpha bounding box: ((w, h), (row, column)), plus what it
    decided (for the report and the tests)."""
    from reelforge.imaging.composite import subject_box
    from reelforge.imaging.layout import caption_rect, motion_views, place_subject
    from reelforge.render.prepare import draw_text_layer
    from reelforge.spec.timeline import TextLayer

    caption = None
    if placement["caption"] is not None:
        layer = TextLayer.model_validate(placement["caption"])
        drawn = draw_text_layer(layer, size, "caption_style")
        caption = caption_rect(drawn.size, layer.position, layer.margin, size)
    left, top, right, bottom = subject_box(subject)
    views = motion_views(placement["motion"])
    placed = place_subject((right - left, bottom - top), size, placement["aspect"], caption, views)
    layout = {"subject": placed.rect.as_list(), "caption": caption.as_list() if caption else None,
              "share": placed.share}
    return (placed.size, placed.origin), layout


class CompositeScene:
    kind = "scene.composite"
    version = 2  # 2: the layout step (subject placed from its alpha box, clear of the caption)

    async def run(self, ctx: StepContext) -> ActionResult:
        subject_step, background_step = ctx.step.needs  # by position: ids are not part of the key
        subject = await ctx.read(ctx.inputs[subject_step][0])
        background = await ctx.read(ctx.inputs[background_step][0])
        png, layout = await ctx.run_cpu(composite_png, subject, background, dict(ctx.params["placement"]),
                                        pool=SCENES_POOL)
        meta = {"layout": layout} if layout else {}
        return ActionResult([StepOutput(png, PNG, meta)], meta=meta)


def all_actions() -> list[Any]:
    from reelforge.pipelines.images import GenerateImage

    return [GenerateImage(), CheckImage(), CutoutSubject(), RenderBackground(), CompositeScene()]


__all__ = ["QAFailed", "all_actions"]
