"""Cut-outs for users: one image in memory, or a batch of files to a folder.

`cutout()` returns the RGBA image (metadata in `image.info["cutout"]`); `cutout_result()` the full
`CutoutResult`. A batch is a `CutoutJob` (kind "cutout"): one runtime step per file — local
methods in the context's "cutout-batch" process pool (each worker keeps its ML session), cloud
methods as provider steps (gated, priced, retried by the runtime's one retry layer, cached by
content so a rerun never pays twice). It reports with runtime `Event`s, writes `<stem>.png`
atomically as each step finishes and continues past bad files (each a failed step naming the
file and the fix). `cutout_files()` is its sync wrapper with per-item reports.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from reelforge.errors import InputError, ReelforgeError
from reelforge.imaging.cutout.qa import assess
from reelforge.imaging.cutout.result import CutoutResult, QAReport
from reelforge.imaging.load import MAX_PIXELS, load_image
from reelforge.spec.provider_names import CLOUD_CUTOUTS, CUTOUT_METHODS, LOCAL_CUTOUTS

if TYPE_CHECKING:
    from reelforge.pipelines.job import CancelToken, EventSink
    from reelforge.runtime import Plan, RunReport, StepContext
    from reelforge.runtime.context import RuntimeContext
    from reelforge.settings import Settings

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
    """Cut the background out of `image` with `method` (one of `CUTOUT_METHODS`). A cloud method
    runs as one runtime step (gated, retried, cached; see `CutoutJob`)."""
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
    if method in CLOUD_CUTOUTS:
        result = _cloud_result(image.convert("RGB"), method, keep_shadow)
    elif method in LOCAL_CUTOUTS:
        from reelforge.providers.cutout.local import LocalCutout

        result = LocalCutout(method, model=model).cut(image.convert("RGB"), keep_shadow=keep_shadow)
    else:
        raise InputError(f"unknown cut-out method {method!r}", hint=f"use one of: {', '.join(CUTOUT_METHODS)}")
    if result.qa is None:
        result.qa = assess_result(result.image)
    result.warnings[:0] = notes
    return result


def assess_result(image: Image.Image) -> QAReport:
    rgba = np.asarray(image, np.float32) / 255
    return assess(rgba[..., 3], rgba[..., :3])


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

BATCH_POOL = "cutout-batch"  # the context's process pool for local batch cut-outs, sized like -j
PNG = "image/png"


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


def finish(result: CutoutResult, options: CutoutOptions) -> tuple[bytes, bytes | None, dict[str, Any]]:
    """The cut-out as written: (PNG, mask PNG or None, metadata) after --crop / --bg / --mask."""
    image = result.image
    if options.crop:
        image = crop_to_subject(image, options.margin)
    mask = image.getchannel("A") if options.write_mask else None
    if options.background:
        image = composite_on(image, options.background)
    return _png(image), None if mask is None else _png(mask), result.metadata()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _named(exc: ReelforgeError, stored: str, source: str) -> ReelforgeError:
    """The error with the stored copy's path replaced by the file the user named."""
    if stored in exc.message:
        return InputError(exc.message.replace(stored, source), hint=exc.hint)
    if source not in exc.message:
        return InputError(f"{source}: {exc.message}", hint=exc.hint)
    return exc


_worker_cores: int | None = None


def _prepare_worker(cores: int) -> None:
    """Once per batch worker: split the cores between workers (each onnxruntime/OpenCV using all
    cores oversubscribes) and keep onnxruntime's arena (cut-outs are the whole job here; see
    BENCHMARKS.md)."""
    global _worker_cores
    if _worker_cores == cores:
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    from reelforge.imaging.cutout import ml

    cv2.setNumThreads(cores)
    ml.configure(threads=cores, arena=True)
    _worker_cores = cores


def cut_file(path: str, source: str, options: dict[str, Any], cores: int) -> tuple[bytes, bytes | None, dict[str, Any]]:
    """A local cut-out of one file in a batch worker; errors name `source`, the user's file."""
    _prepare_worker(cores)
    opts = CutoutOptions(**options)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = cutout_result(Path(path), opts.method, model=opts.model, keep_shadow=opts.keep_shadow,
                                   force=opts.force)
        return finish(result, opts)
    except ReelforgeError as exc:
        raise _named(exc, path, source) from None


def open_named(path: str, source: str) -> tuple[Image.Image, list[str]]:
    try:
        return _open_input(Path(path))
    except ReelforgeError as exc:
        raise _named(exc, path, source) from None


async def cloud_cutout(ctx: StepContext, image: Image.Image, *, keep_shadow: bool = False) -> CutoutResult:
    """THE cloud cut-out of a step: one request through the step's provider adapter (the runtime
    gates, times out and retries the step), plus the QA every cut-out carries."""
    result: CutoutResult = await ctx.provider.cut(image, keep_shadow=keep_shadow)
    if result.qa is None:
        result.qa = await asyncio.to_thread(assess_result, result.image)
    return result


class CutoutImage:
    """Step action `cutout.image`: one input file → its cut-out (and mask). Local methods run in
    the "cutout-batch" pool; a cloud method is a provider call (capability "cutout")."""

    kind = "cutout.image"
    version = 1
    capability = "cutout"

    def __init__(self, cores: int = 1) -> None:
        self.cores = cores  # onnxruntime/OpenCV threads per batch worker

    async def run(self, ctx: StepContext) -> Any:
        from reelforge.runtime import ActionResult, StepOutput

        path = str(await ctx.local_path(ctx.inputs["image"][0]))
        source = ctx.step.label or path
        options = dict(ctx.params["options"])
        billed = 0
        if ctx.step.provider is None:
            png, mask, meta = await ctx.run_cpu(cut_file, path, source, options, self.cores, pool=BATCH_POOL)
        else:
            opts = CutoutOptions(**options)
            image, notes = await asyncio.to_thread(open_named, path, source)
            if _already_transparent(image) and not opts.force:  # kept: no call, nothing billed
                result = await asyncio.to_thread(cutout_result, image, "key")
            else:
                result = await cloud_cutout(ctx, image.convert("RGB"), keep_shadow=opts.keep_shadow)
                billed = 1
            result.warnings[:0] = notes
            png, mask, meta = await asyncio.to_thread(finish, result, opts)
        outputs = [StepOutput(png, PNG, {"cutout": meta})]
        if mask is not None:
            outputs.append(StepOutput(mask, PNG, {"role": "mask"}))
        return ActionResult(outputs, billed=billed, meta={"cutout": meta})


@dataclass
class CutoutJobResult:
    report: RunReport
    items: list[ItemReport]  # one per input, in input order

    @property
    def failed(self) -> list[ItemReport]:
        return [item for item in self.items if not item.ok]


@dataclass
class CutoutJob:
    """Background removal for a batch of files into `output` (a folder, or one .png)."""

    inputs: list[Path]
    output: Path
    options: CutoutOptions = field(default_factory=CutoutOptions)
    settings: Settings | None = None
    workers: int | None = None  # -j: processes of the "cutout-batch" pool (local methods)
    budget_usd: float | None = None
    refresh: tuple[str, ...] = ()

    kind: ClassVar[str] = "cutout"

    @property
    def cloud(self) -> bool:
        return self.options.method in CLOUD_CUTOUTS

    def items(self) -> list[tuple[Path, Path]]:
        """(input, output) pairs; InputError when there is nothing to do or outputs would collide."""
        if self.options.method not in CUTOUT_METHODS:
            raise InputError(f"--method {self.options.method!r} is not one of: {', '.join(CUTOUT_METHODS)}")
        files = expand_inputs(self.inputs)
        if not files:
            raise InputError("no images to cut out", hint="pass image files or a folder that contains images")
        return list(zip(files, output_paths(files, Path(self.output)), strict=True))

    def steps(self, items: list[tuple[Path, Path]]) -> list[Any]:
        from reelforge.runtime import Step

        params = {"options": asdict(self.options)}
        provider = self.options.method if self.cloud else None
        return [Step(f"{i + 1:03d}-{src.stem}", CutoutImage.kind, params, provider=provider,
                     model="background-removal" if provider else None, files={"image": src}, label=str(src),
                     billing=("image", 1) if provider else None)
                for i, (src, _) in enumerate(items)]

    def _workers(self, count: int) -> int:
        return max(1, min(self.workers or os.cpu_count() or 1, count))

    def _runner(self, ctx: RuntimeContext, count: int) -> Any:
        from reelforge.runtime import Runner

        workers = self._workers(count)
        action = CutoutImage(cores=max(1, (os.cpu_count() or 1) // workers))
        return Runner(actions={action.kind: action}, context=ctx, pools={BATCH_POOL: workers})

    def _check_provider(self, ctx: RuntimeContext) -> None:
        """A cloud method without its key fails before any file is read or any call made."""
        if not self.cloud:
            return
        from reelforge.errors import ProviderUnavailable
        from reelforge.providers.cutout.registry import CUTOUTS

        availability = CUTOUTS.check(self.options.method, ctx.settings)
        if not availability.available:
            entry = availability.entry
            keys = " or ".join(var for var, _ in entry.env if "KEY" in var)
            raise ProviderUnavailable(f"cut-out provider {entry.name} is not usable: {availability.reason}",
                                      hint=f"set {keys}, or use a local --method ({', '.join(LOCAL_CUTOUTS)})")

    async def aplan(self, ctx: RuntimeContext) -> Plan:
        items = self.items()
        plan: Plan = await self._runner(ctx, len(items)).plan(self.steps(items), self.refresh)
        return plan

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> CutoutJobResult:
        from reelforge.pipelines.job import CancelToken, subscribed
        from reelforge.runtime import RunOptions

        items = self.items()
        self._check_provider(ctx)
        steps = self.steps(items)
        runner = self._runner(ctx, len(items))
        targets = {step.id: target for step, (_, target) in zip(steps, items, strict=True)}
        title = f"cutout [{self.options.method}] {len(items)} image{'s' * (len(items) != 1)}"
        with _Writer(ctx, targets) as writer:
            runner.bus.subscribe(writer)
            with subscribed(runner.bus, events):
                async with (cancel or CancelToken()).scope(), ctx.pools.hold([BATCH_POOL]):
                    report = await runner.run(steps, RunOptions(self.budget_usd, None, self.refresh, title=title))
            writer.wait()
        return CutoutJobResult(report, _item_reports(report, steps, items, writer.errors))

    def run(self, on_event: EventSink | None = None) -> CutoutJobResult:
        from reelforge.pipelines.job import run_job

        result: CutoutJobResult = run_job(self, self.settings, on_event=on_event)
        return result

    def plan(self) -> Plan:
        from reelforge.pipelines.job import plan_job

        result: Plan = plan_job(self, self.settings)
        return result


class _Writer:
    """Writes each cut-out (and mask) to its target as soon as its step finishes — on a worker
    thread, temp name + rename — so a run that is killed leaves every finished file in place."""

    def __init__(self, ctx: RuntimeContext, targets: dict[str, Path]) -> None:
        self.store, self.targets = ctx.store, targets
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reelforge-cutout-write")
        self._futures: dict[str, Future[None]] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)

    def __call__(self, event: Any) -> None:
        if event.type in ("step.finished", "step.cached") and event.step in self.targets:
            self._futures[event.step] = self._pool.submit(self._write, event.step, event.data["key"])

    def wait(self) -> None:
        for future in self._futures.values():
            future.exception()

    def _write(self, sid: str, key: str) -> None:
        try:
            result = self.store.get_result(key)
            assert result is not None, "finished step without a stored result"
            target = self.targets[sid]
            self.store.export(result.artifacts[0], target)
            if len(result.artifacts) > 1:
                self.store.export(result.artifacts[1], target.with_name(f"{target.stem}.mask.png"))
        except Exception as exc:  # a full disk, a read-only folder: that item fails, the batch goes on
            with self._lock:
                self.errors[sid] = f"cannot write {self.targets[sid]}: {exc}"


def _item_reports(report: RunReport, steps: list[Any], items: list[tuple[Path, Path]],
                  write_errors: dict[str, str]) -> list[ItemReport]:
    reports = []
    for step, (src, target) in zip(steps, items, strict=True):
        outcome = report.outcomes.get(step.id)
        item = ItemReport(source=str(src))
        if outcome is not None and outcome.state in ("succeeded", "cached") and step.id not in write_errors:
            item.ok, item.output = True, str(target)
            item.meta = dict(outcome.result.meta.get("cutout", {})) if outcome.result else {}
        else:
            item.error = write_errors.get(step.id) or (outcome.error if outcome else "not run") or "failed"
        reports.append(item)
    return reports


def cutout_files(inputs: Iterable[str | Path], output: str | Path, options: CutoutOptions | None = None, *,
                 workers: int | None = None, on_item: Callable[[ItemReport], None] | None = None,
                 settings: Settings | None = None) -> list[ItemReport]:
    """Cut out every input into `output` (a `CutoutJob` run to the end); one report per input, in
    input order. `on_item` is called as each item finishes or fails."""
    job = CutoutJob(list(map(Path, inputs)), Path(output), options or CutoutOptions(), settings, workers)

    def relay(event: Any) -> None:
        if on_item is not None and event.type in ("step.finished", "step.cached", "step.failed") and event.step:
            ok = event.type != "step.failed"
            on_item(ItemReport(source=event.data.get("label") or event.step, ok=ok,
                               error=None if ok else event.data.get("error")))

    return job.run(relay).items


# --- one image, cloud: a one-step run ------------------------------------------------------------

def _cloud_result(image: Image.Image, method: str, keep_shadow: bool) -> CutoutResult:
    """A cloud cut-out of one in-memory image as a one-step runtime run (the same action as a
    batch: gated, priced, retried once by the runtime, cached by content)."""
    from reelforge.lifeline import temp_dir

    async def main() -> CutoutResult:
        from reelforge.runtime.context import RuntimeContext

        ctx = RuntimeContext.from_settings(records=False)
        try:
            with temp_dir("cutout") as tmp:
                source = Path(tmp) / "image.png"
                await asyncio.to_thread(image.save, source, "PNG")
                job = CutoutJob([source], Path(tmp) / "out", CutoutOptions(method=method, keep_shadow=keep_shadow,
                                                                           force=True))
                items = job.items()
                job._check_provider(ctx)
                [step] = job.steps(items)
                report = await job._runner(ctx, 1).run([step])
                outcome = report.outcomes[step.id]
                if outcome.result is None:
                    raise outcome.exception or ReelforgeError(outcome.error or "the cut-out failed")
                data = await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0])
                return _result_from(data, outcome.result.meta.get("cutout", {}))
        finally:
            await ctx.aclose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    box: dict[str, Any] = {}  # called from async code: run on a thread with its own loop

    def target() -> None:
        try:
            box["result"] = asyncio.run(main())
        except BaseException as exc:  # handed back to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: CutoutResult = box["result"]
    return result


def _result_from(png: bytes, meta: dict[str, Any]) -> CutoutResult:
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGBA")
    details = {k: v for k, v in meta.items() if k not in ("method", "reason", "qa", "warnings")}
    qa = meta.get("qa")
    return CutoutResult(image=image, method=meta.get("method", ""), reason=meta.get("reason", ""), details=details,
                        qa=QAReport(qa["coverage"], qa["halo"], list(qa["flags"])) if qa else None,
                        warnings=list(meta.get("warnings", [])))


__all__ = ["CLOUD_CUTOUTS", "CUTOUT_METHODS", "MAX_PIXELS", "CutoutImage", "CutoutJob", "CutoutJobResult",
           "CutoutOptions", "ItemReport", "cloud_cutout", "cutout", "cutout_files", "cutout_result"]
