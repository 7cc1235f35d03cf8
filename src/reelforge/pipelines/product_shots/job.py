"""`ProductShotsJob` (kind "product-shots"): a product video → the products in it, the best frame
of each, its real cut-out and studio shots composited from that cut-out.

    video/URL ─▶ source check ─▶ one ffmpeg decode ─▶ shots · clean plates · local scores ─▶ top-K per shot
       ─▶ vision steps (cached, gated, priced; batches of frames) ─▶ products + boxes
       ─▶ best frame per product (the model's pick checked against the local scores, reason recorded)
       ─▶ cut-out (clean plate, else the cut-out engine) ─▶ studio / desk / gradient shots ─▶ report + gallery

Every model call is a runtime step (a rerun pays nothing again; `--budget` and `--dry-run` apply);
everything else is local and deterministic."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np
from PIL import Image

from reelforge.atomic import atomic_output, save_image, write_text
from reelforge.errors import InputError, ReelforgeError
from reelforge.pipelines.product_shots.analysis import Analysis, analyse
from reelforge.pipelines.product_shots.isolate import Isolated, isolate
from reelforge.pipelines.product_shots.reimagine import NOTE as REIMAGINED_NOTE
from reelforge.pipelines.product_shots.sampling import DecodeControl
from reelforge.pipelines.product_shots.shots import (
    ASPECTS,
    SHOT_STYLES,
    frame_size,
    render_shot,
    spec_for,
)
from reelforge.pipelines.product_shots.source import VideoSource, resolve_source
from reelforge.providers.vision.base import FoundProduct, ProductsAnswer, products_request

if TYPE_CHECKING:
    from reelforge.pipelines.job import CancelToken, EventSink
    from reelforge.runtime import Plan, RunReport, StepContext
    from reelforge.runtime.context import RuntimeContext
    from reelforge.settings import Settings

AI_BACKGROUND_PROMPT = ("an empty seamless tabletop scene for product photography, soft diffused studio light, "
                        "nothing on the table, no objects, no text")
CUTOUT_QA = ("retry", "warn", "reject")  # what a cut-out flagged for leftover backdrop gets (see isolate)
MODEL_TOLERANCE = 0.85  # the model's pick stands if its product sharpness is at least this share of the best


@dataclass(frozen=True)
class ProductShotsOptions:
    fps: float = 2.0
    max_frames: int = 240
    per_shot: int = 3  # candidates kept per shot
    min_gap_s: float = 1.0  # between two candidates of a shot
    vision: str = "local"
    batch: int = 12  # frames per vision call
    shots: tuple[str, ...] = SHOT_STYLES
    sizes: tuple[str, ...] = ("1:1", "4:5", "9:16")
    long_side: int = 2048
    brand_color: str = "#3b5bdb"
    background: str | None = None  # a background spec (colour, gradient, texture name, image) for a "custom" shot
    ai_background: str | None = None  # image provider that draws an empty scene for an "ai" shot
    cutout_method: str = "auto"  # when no clean plate is possible
    reimagined_product: str | None = None  # image provider for the notes' text-to-image mode: NOT the real product
    cutout_qa: str = "retry"  # a cut-out that keeps backdrop (ghost strip, rim smear): retry | warn | reject
    max_download_mb: float = 512
    download_timeout_s: float = 120

    def check(self) -> None:
        if self.fps <= 0 or self.fps > 30:
            raise InputError(f"--fps {self.fps:g} is out of range", field="fps", hint="use a rate between 0.1 and 30")
        if self.max_frames < 2:
            raise InputError("--max-frames must be at least 2", field="max_frames")
        bad = [s for s in self.shots if s not in SHOT_STYLES]
        if bad or not self.shots:
            raise InputError(f"unknown shot style {bad[0] if bad else '(none)'}", field="shots",
                             hint=f"use a comma list of: {', '.join(SHOT_STYLES)}")
        if self.cutout_qa not in CUTOUT_QA:
            raise InputError(f"unknown cut-out QA policy {self.cutout_qa!r}", field="cutout_qa",
                             hint=f"use one of: {', '.join(CUTOUT_QA)}")
        bad = [s for s in self.sizes if s not in ASPECTS]
        if bad or not self.sizes:
            raise InputError(f"unknown size {bad[0] if bad else '(none)'}", field="sizes",
                             hint=f"use a comma list of: {', '.join(ASPECTS)}")


@dataclass
class ProductOutcome:
    slug: str
    name: str
    description: str
    best_frame: int  # index into the sampled frames
    best_time_s: float
    reason: str
    box_2d: list[int]
    model_pick: int | None
    appearances: list[dict[str, Any]] = field(default_factory=list)
    cutout: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    reimagined: dict[str, Any] | None = None  # the text-to-image picture (--reimagined-product): NOT this product


@dataclass
class ProductShotsResult:
    output: Path
    products: list[ProductOutcome]
    report: dict[str, Any]
    run: RunReport | None = None

    @property
    def failed(self) -> list[ProductOutcome]:
        return [p for p in self.products if not p.ok]


class FindProducts:
    """Step action `vision.products`: one vision call over a batch of candidate frames."""

    kind = "vision.products"
    version = 1
    capability = "vision"

    async def run(self, ctx: StepContext) -> Any:
        from reelforge.runtime import ActionResult, StepOutput

        count = int(ctx.params["count"])
        images = [await ctx.read(ctx.inputs[f"frame{i:03d}"][0]) for i in range(count)]
        masks = [await ctx.read(ctx.inputs[f"mask{i:03d}"][0]) if f"mask{i:03d}" in ctx.inputs else None
                 for i in range(count)]
        hints = {"masks": masks} if any(m is not None for m in masks) else {}
        answer = await ctx.provider.ask(products_request(images, hints))
        return ActionResult([StepOutput(answer.model_dump_json().encode(), "application/json")],
                            meta={"products": len(answer.products)})


@dataclass
class ProductShotsJob:
    video: str
    output: Path
    options: ProductShotsOptions = field(default_factory=ProductShotsOptions)
    settings: Settings | None = None
    budget_usd: float | None = None
    refresh: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list, init=False, repr=False)  # of the last run, for the report

    kind: ClassVar[str] = "product-shots"

    # --- the local half ------------------------------------------------------------------------

    async def _analyse(self, ctx: RuntimeContext, workdir: Path) -> Analysis:
        self.options.check()
        source: VideoSource = await resolve_source(
            self.video, workdir, max_bytes=int(self.options.max_download_mb * 1024 * 1024),
            timeout_s=self.options.download_timeout_s)
        o = self.options
        control = DecodeControl()
        work = asyncio.ensure_future(asyncio.to_thread(
            analyse, source, workdir / "frames", fps=o.fps, max_frames=o.max_frames, per_shot=o.per_shot,
            min_gap_s=o.min_gap_s, control=control))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # the thread cannot be cancelled: kill its ffmpeg and wait for it, so nothing is
            # still writing frames when the temporary folder is removed and the job ends
            control.stop()
            await asyncio.wait([work])
            if not work.cancelled():
                work.exception()  # retrieved (DecodeCancelled): the cancellation is what the caller sees
            raise

    def _check_provider(self, ctx: RuntimeContext) -> None:
        from reelforge.errors import ProviderUnavailable
        from reelforge.providers.vision import VISION

        self._check_image_provider(ctx)
        availability = VISION.check(self.options.vision, ctx.settings)
        if not availability.available:
            raise ProviderUnavailable(f"vision provider {self.options.vision} is not usable: {availability.reason}",
                                      hint=f"{availability.hint}; or use --vision local (offline)")

    def _check_image_provider(self, ctx: RuntimeContext) -> None:
        """--reimagined-product names an image provider that must be usable before anything runs."""
        from reelforge.errors import ProviderUnavailable
        from reelforge.providers.images import IMAGE_GENERATORS

        name = self.options.reimagined_product
        if name is None:
            return
        if name not in IMAGE_GENERATORS.names():
            raise InputError(f"unknown image provider {name!r}", field="--reimagined-product",
                             hint=f"use one of: {', '.join(IMAGE_GENERATORS.names())}")
        availability = IMAGE_GENERATORS.check(name, ctx.settings)
        if not availability.available:
            raise ProviderUnavailable(f"--reimagined-product: image provider {name} is not usable: "
                                      f"{availability.reason}", hint=f"{availability.hint}")

    def _model(self, ctx: RuntimeContext) -> str:
        return {"gemini": ctx.settings.gemini_vision_model, "openai": ctx.settings.openai_vision_model}.get(
            self.options.vision, "local-saliency")

    def _steps(self, ctx: RuntimeContext, analysis: Analysis, workdir: Path) -> list[Any]:
        from reelforge.runtime import Step

        local = self.options.vision == "local"
        cands = analysis.candidates
        steps = []
        for b, start in enumerate(range(0, len(cands), self.options.batch)):
            batch = cands[start:start + self.options.batch]
            files: dict[str, Path] = {}
            for i, c in enumerate(batch):
                files[f"frame{i:03d}"] = _vision_jpeg(analysis.sampled.files[c.index], workdir)
                mask = analysis.masks[c.index]
                if local and mask is not None:
                    files[f"mask{i:03d}"] = _mask_png(mask, workdir / "masks" / f"{c.index:05d}.png")
            steps.append(Step(f"vision-{b + 1:02d}", FindProducts.kind, {"count": len(batch)},
                              provider=self.options.vision, model=self._model(ctx), files=files,
                              label=f"find products in {len(batch)} frames",
                              billing=None if local else ("1k_tokens", round(0.3 * len(batch) + 1.0, 2))))
        if self.options.ai_background:
            steps.append(Step("ai-background", "image.generate", {"prompt": AI_BACKGROUND_PROMPT, "aspect": "1:1"},
                              provider=self.options.ai_background, model=_image_model(ctx, self.options.ai_background),
                              label="empty scene for the products", billing=("image", 1)))
        return steps

    def _runner(self, ctx: RuntimeContext) -> Any:
        from reelforge.pipelines.images import GenerateImage
        from reelforge.runtime import Runner

        return Runner(actions={FindProducts.kind: FindProducts(), "image.generate": GenerateImage()}, context=ctx)

    async def aplan(self, ctx: RuntimeContext) -> Plan:
        """The calls it would make (sampling and scoring run locally to know the frames)."""
        with tempfile.TemporaryDirectory(prefix="reelforge-ps-") as tmp:
            analysis = await self._analyse(ctx, Path(tmp))
            plan: Plan = await self._runner(ctx).plan(self._steps(ctx, analysis, Path(tmp)), self.refresh)
            return plan

    # --- the run -------------------------------------------------------------------------------

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> ProductShotsResult:
        from reelforge.pipelines.job import CancelToken, subscribed
        from reelforge.runtime import RunOptions

        started = time.perf_counter()
        self.warnings = []
        async with (cancel or CancelToken()).scope():
            self._check_provider(ctx)
            with tempfile.TemporaryDirectory(prefix="reelforge-ps-") as tmp:
                workdir = Path(tmp)
                analysis = await self._analyse(ctx, workdir)
                out = Path(self.output)
                await asyncio.to_thread(_write_candidates, analysis, out / "frames")
                steps = self._steps(ctx, analysis, workdir)
                runner = self._runner(ctx)
                title = f"product-shots [{self.options.vision}] {analysis.source.origin}"
                with subscribed(runner.bus, events):
                    run = await runner.run(steps, RunOptions(self.budget_usd, None, self.refresh, title=title))
                answers, background = await self._answers(ctx, run, steps)
                t_vision = time.perf_counter()
                products = await asyncio.to_thread(self._products, analysis, answers, background, out)
                extra = await self._reimagine(ctx, runner, products, out, run, events)
                t_done = time.perf_counter()
            report = _report(self, analysis, products, run, {
                **analysis.timings, "vision_s": round(t_vision - started - sum(analysis.timings.values()), 3),
                "cutout_and_shots_s": round(t_done - t_vision, 3), "total_s": round(t_done - started, 3)})
            if extra is not None:
                report["reimagined"] = {"provider": self.options.reimagined_product, "note": REIMAGINED_NOTE,
                                        "run": dict(extra.summary)}
                report["cost_usd"] += float(extra.summary.get("cost_usd", 0.0) or 0.0)
                report["not_generated"] += f"; {REIMAGINED_NOTE}"
            await asyncio.to_thread(_write_report, out, report)
        return ProductShotsResult(out, products, report, run)

    async def _reimagine(self, ctx: RuntimeContext, runner: Any, products: list[ProductOutcome], out: Path,
                         run: RunReport, events: EventSink | None) -> RunReport | None:
        """The explicit text-to-image mode, after the products are known (their descriptions are
        the prompts); None when the flag is off."""
        from reelforge.pipelines.job import subscribed
        from reelforge.pipelines.product_shots.reimagine import reimagine

        provider = self.options.reimagined_product
        if not provider or not products:
            return None
        left = None if self.budget_usd is None else max(0.0, self.budget_usd - float(run.summary.get("cost_usd") or 0))
        with subscribed(runner.bus, events):
            extra, warnings = await reimagine(runner, ctx, products, provider, _image_model(ctx, provider), out,
                                              left, f"product-shots: re-imagined products [{provider}]",
                                              described=self.options.vision != "local")
        self.warnings.extend(warnings)
        return extra

    async def _answers(self, ctx: RuntimeContext, run: RunReport, steps: list[Any]
                       ) -> tuple[list[tuple[ProductsAnswer, list[int]]], Image.Image | None]:
        """Each vision batch's answer with the candidate indices it covered; the AI background."""
        failed = [o for o in run.outcomes.values() if o.state in ("failed", "skipped")]
        vision_failed = [o for o in failed if o.step.kind == FindProducts.kind]
        if vision_failed:
            first = vision_failed[0]
            if isinstance(first.exception, ReelforgeError):
                raise first.exception
            raise ReelforgeError(f"finding products failed: {first.error}",
                                 hint="rerun: finished steps are cached; or use --vision local")
        answers = []
        start = 0
        background = None
        for step in steps:
            outcome = run.outcomes[step.id]
            if step.kind == FindProducts.kind:
                assert outcome.result is not None
                data = await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0])
                count = int(step.params["count"])
                answers.append((ProductsAnswer.model_validate_json(data), list(range(start, start + count))))
                start += count
            elif outcome.result is not None:
                data = await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0])
                background = Image.open(io.BytesIO(data)).convert("RGB")
            else:
                self.warnings.append(f"no AI background ({step.provider}): {outcome.error}; the other shots were made")
        return answers, background

    # --- per product ---------------------------------------------------------------------------

    def _products(self, analysis: Analysis, answers: list[tuple[ProductsAnswer, list[int]]],
                  background: Image.Image | None, out: Path) -> list[ProductOutcome]:
        found = merge_products(analysis, answers)
        outcomes = []
        for n, (product, appearances, model_pick) in enumerate(found, start=1):
            outcome = choose_best(analysis, product, appearances, model_pick, n)
            self._finish(analysis, outcome, background, out / "products" / outcome.slug)
            outcomes.append(outcome)
        return outcomes

    def _finish(self, analysis: Analysis, outcome: ProductOutcome, background: Image.Image | None,
                folder: Path) -> None:
        frame_file = analysis.sampled.files[outcome.best_frame]
        with atomic_output(folder / "best.jpg") as tmp:
            shutil.copyfile(frame_file, tmp)
        outcome.files["best"] = "best.jpg"
        shot = analysis.shots[outcome.best_frame]
        plate = analysis.plates.get(shot)
        members = analysis.shot_frames(shot) if plate is not None and plate.static else []
        try:
            cut: Isolated = isolate(frame_file, outcome.box_2d,
                                    plate_files=[analysis.sampled.files[i] for i in members] or None,
                                    plate_masks=[m for i in members if (m := analysis.masks[i]) is not None] or None,
                                    method=self.options.cutout_method, policy=self.options.cutout_qa)
        except ReelforgeError as exc:
            outcome.cutout = {"ok": False, "error": exc.message}
            return
        outcome.cutout = cut.as_dict()
        if cut.image is None:
            return
        save_image(cut.image, folder / "cutout.png")
        outcome.files["cutout"] = "cutout.png"
        outcome.files["shots"] = self._shots(cut.image, background, folder / "shots")
        outcome.ok = True

    def _shots(self, cutout: Image.Image, background: Image.Image | None, folder: Path) -> list[str]:
        o = self.options
        specs = [spec_for(style, o.brand_color) for style in o.shots]
        if o.background:
            specs.append(spec_for("custom", background=o.background))
        if background is not None:
            specs.append(spec_for("custom", background=background))
            specs[-1] = type(specs[-1])("ai", background, shadow=specs[-1].shadow)
        written = []
        for spec in specs:
            for aspect in o.sizes:
                name = f"{spec.style}-{aspect.replace(':', 'x')}.png"
                save_image(render_shot(cutout, spec, frame_size(aspect, o.long_side)), folder / name)
                written.append(f"shots/{name}")
        return written

    # --- sync wrappers -------------------------------------------------------------------------

    def run(self, on_event: EventSink | None = None) -> ProductShotsResult:
        from reelforge.pipelines.job import run_job

        result: ProductShotsResult = run_job(self, self.settings, on_event=on_event)
        return result

    def plan(self) -> Plan:
        from reelforge.pipelines.job import plan_job

        result: Plan = plan_job(self, self.settings)
        return result


# --- helpers -------------------------------------------------------------------------------------

def _image_model(ctx: RuntimeContext, provider: str) -> str | None:
    return getattr(ctx.settings, f"{provider}_model", None)


def _vision_jpeg(frame: Path, workdir: Path, long_side: int = 1024) -> Path:
    """The frame as the vision call sees it: at most 1024 px (what the models look at anyway)."""
    target = workdir / "vision" / frame.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(frame) as img:
            img.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
            img.convert("RGB").save(target, "JPEG", quality=90)
    return target


def _mask_png(mask: np.ndarray, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask.astype(np.uint8) * 255, "L").save(target, "PNG")
    return target


def _write_candidates(analysis: Analysis, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for c in analysis.candidates:
        with atomic_output(folder / _candidate_name(c.index, c.time_s, c.shot)) as tmp:
            shutil.copyfile(analysis.sampled.files[c.index], tmp)


def _candidate_name(index: int, time_s: float, shot: int) -> str:
    return f"shot{shot + 1:02d}-t{time_s:07.2f}s.jpg"


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "product"


def _box_px(box_2d: list[int], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    y0, x0, y1, x1 = box_2d
    return (int(x0 * w / 1000), int(y0 * h / 1000), max(int(x0 * w / 1000) + 1, int(np.ceil(x1 * w / 1000))),
            max(int(y0 * h / 1000) + 1, int(np.ceil(y1 * h / 1000))))


def _region_hist(frame: np.ndarray, box_2d: list[int]) -> np.ndarray:
    x0, y0, x1, y1 = _box_px(box_2d, frame.shape)
    hsv = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [18, 4], [0, 180, 0, 256])
    return cv2.normalize(hist, hist, 1, 0, cv2.NORM_L1).flatten()


def merge_products(analysis: Analysis, answers: list[tuple[ProductsAnswer, list[int]]]
                   ) -> list[tuple[FoundProduct, list[tuple[int, list[int]]], int | None]]:
    """Products of every batch as (product, [(sampled frame, box)], model's pick as a sampled frame);
    a product seen in two batches (by the look of its best box) is one product."""
    merged: list[tuple[FoundProduct, list[tuple[int, list[int]]], int | None, np.ndarray]] = []
    for answer, covered in answers:
        for product in answer.products:
            frames = [analysis.candidates[covered[b.image]].index for b in product.boxes]
            appearances = [(f, b.box_2d) for f, b in zip(frames, product.boxes, strict=True)]
            pick = analysis.candidates[covered[product.best_image]].index
            pick_box = next((box for f, box in appearances if f == pick), appearances[0][1])
            hist = _region_hist(analysis.sampled.frames[pick], pick_box)
            same = next((m for m in merged if len(answers) > 1 and
                         cv2.compareHist(m[3], hist, cv2.HISTCMP_BHATTACHARYYA) < 0.3), None)
            if same is not None:
                same[1].extend(appearances)
            else:
                merged.append((product, appearances, pick, hist))
    return [(p, a, pick) for p, a, pick, _ in merged]


def _appearance(analysis: Analysis, frame: int, box_2d: list[int]) -> dict[str, Any]:
    small = analysis.sampled.frames[frame]
    x0, y0, x1, y1 = _box_px(box_2d, small.shape)
    gray = cv2.cvtColor(np.ascontiguousarray(small[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    sharp = float(cv2.Laplacian(gray, cv2.CV_32F).var()) if gray.size else 0.0
    edge = 12  # of 1000: a box this close to the frame edge may be cut off (and looks cramped)
    cropped = box_2d[0] <= edge or box_2d[1] <= edge or box_2d[2] >= 1000 - edge or box_2d[3] >= 1000 - edge
    score = analysis.scores[frame]
    return {"frame": frame, "time_s": round(score.time_s, 3), "shot": score.shot, "box_2d": list(box_2d),
            "product_sharpness": round(sharp, 2), "cropped": bool(cropped or score.cropped),
            "frame_score": round(score.score, 4), "size": round((x1 - x0) * (y1 - y0) / (small.shape[0] * small.shape[1]), 4)}


def choose_best(analysis: Analysis, product: FoundProduct, appearances: list[tuple[int, list[int]]],
                model_pick: int | None, number: int) -> ProductOutcome:
    """The frame that shows the product best: whole (not cut off), then sharpest on the product
    (frame score as a tie-breaker). The model's pick stands when it is whole and at least
    MODEL_TOLERANCE as sharp; otherwise the reason says why it lost."""
    rows = [_appearance(analysis, f, box) for f, box in appearances]

    def rank(row: dict[str, Any]) -> tuple[bool, float]:
        centring = 1.0 - min(1.0, abs((row["box_2d"][1] + row["box_2d"][3]) / 2000 - 0.5) * 2)
        return (not row["cropped"], float(np.log1p(row["product_sharpness"]) + 0.3 * row["frame_score"]
                                          + 0.3 * centring))

    best = max(rows, key=rank)
    pick = next((r for r in rows if r["frame"] == model_pick), None)
    t = f"{best['time_s']:.2f} s"
    if pick is None:
        reason = f"sharpest whole view of the product (frame at {t}, sharpness {best['product_sharpness']:.0f})"
    elif pick is best:
        reason = f"the vision answer's pick, confirmed by the local scores: sharpest whole view ({t})"
    elif pick["cropped"] and not best["cropped"]:
        reason = (f"the vision answer picked {pick['time_s']:.2f} s, where the product is cut off by the frame "
                  f"edge; {t} shows it whole (sharpness {best['product_sharpness']:.0f})")
    elif pick["product_sharpness"] >= MODEL_TOLERANCE * best["product_sharpness"] and not pick["cropped"]:
        best = pick
        reason = f"the vision answer's pick ({pick['time_s']:.2f} s), within {1 - MODEL_TOLERANCE:.0%} of the sharpest"
    else:
        reason = (f"the vision answer picked {pick['time_s']:.2f} s (sharpness {pick['product_sharpness']:.0f}); "
                  f"{t} is sharper ({best['product_sharpness']:.0f})")
    name = product.name if product.name.lower().startswith("product") else f"product {number}: {product.name}"
    return ProductOutcome(slugify(name), name, product.description, best["frame"], best["time_s"], reason,
                          best["box_2d"], model_pick, rows)


def _report(job: ProductShotsJob, analysis: Analysis, products: list[ProductOutcome], run: RunReport | None,
            timings: dict[str, float]) -> dict[str, Any]:
    s = analysis.sampled
    return {
        "video": analysis.source.origin,
        "duration_s": round(analysis.source.duration, 3),
        "size": list(analysis.source.info.video.display_size or ()) if analysis.source.info.video else [],
        "sampling": {"fps": round(s.fps, 4), "frames": len(s.frames), "shots": len(set(analysis.shots))},
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(job.options).items()},
        "vision": {"provider": job.options.vision,
                   "note": "local: salient objects and appearance grouping, no model of products"
                   if job.options.vision == "local" else ""},
        "candidates": [dict(c.as_dict(), file=f"frames/{_candidate_name(c.index, c.time_s, c.shot)}")
                       for c in analysis.candidates],
        "products": [asdict(p) for p in products],
        "timings": timings,
        "run": dict(run.summary) if run else {},
        "cost_usd": float((run.summary if run else {}).get("cost_usd", 0.0) or 0.0),
        "warnings": list(job.warnings),
        "not_generated": "every product pixel in shots/ comes from the video frame's cut-out; no product is imagined",
    }


def _write_report(out: Path, report: dict[str, Any]) -> None:
    import json

    from reelforge.pipelines.product_shots.gallery import gallery_html

    write_text(out / "report.json", json.dumps(report, indent=2, default=str))
    write_text(out / "index.html", gallery_html(report))
