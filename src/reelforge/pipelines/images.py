"""Image generation as a run: prompts (one, or a batch file) → one step per image → files.

Each image is its own step, so a rerun after a crash or kill skips every finished image and a
bad prompt in a batch fails alone. Outputs are written to temp names and renamed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reelforge.errors import InputError
from reelforge.pipelines.job import CancelToken, EventSink, plan_job, run_job, subscribed
from reelforge.providers.images.base import (
    GeneratedImage,
    ImageCapabilities,
    ImageGenerator,
    ImageRequest,
    SyncImageGenerator,
    check_request,
    exact_aspect,
    parse_aspect,
)
from reelforge.runtime import (
    ActionResult,
    ArtifactStore,
    Event,
    Limits,
    Plan,
    Runner,
    RunOptions,
    RunReport,
    Step,
    StepContext,
    StepOutput,
)
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings

EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
MAX_PROMPT = 8000


class GenerateImage:
    """Step action `image.generate`: one provider call for one image."""

    kind = "image.generate"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        generator: ImageGenerator = ctx.provider
        refs = tuple([await ctx.read(a) for name in sorted(ctx.inputs) for a in ctx.inputs[name]])
        p = ctx.params
        request = ImageRequest(p["prompt"], p["aspect"], 1, refs, p.get("seed"), p.get("negative_prompt"),
                               backdrop=p.get("backdrop"), variant=int(p.get("variant", 0)))
        if generator.cpu_bound and isinstance(generator, SyncImageGenerator):  # local rendering: process pool
            images = await ctx.run_cpu(generator.generate_sync, request)
        else:
            images = await generator.generate(request)
        return ActionResult([StepOutput(i.data, i.media_type, i.meta) for i in images], billed=len(images))


@dataclass(frozen=True)
class ImageItem:
    """One prompt of a job (a batch line), with its own options."""

    prompt: str
    count: int = 1
    aspect: str = "1:1"
    refs: tuple[Path, ...] = ()
    seed: int | None = None
    negative_prompt: str | None = None
    source: str = ""  # where it came from, for messages ("prompts.txt:3")
    number: int | None = None  # names its files (a batch line's number); default: position + 1


@dataclass
class ImageJobResult:
    report: RunReport | None
    files: dict[str, list[Path]] = field(default_factory=dict)  # step id → written files
    bad_items: list[str] = field(default_factory=list)  # messages for items that never ran


def validate_item(item: ImageItem, generator_caps: Any, provider: str) -> None:
    """InputError (naming the item's source) for anything wrong before a call is made."""
    where = item.source or "prompt"
    if not item.prompt.strip():
        raise InputError("the prompt is empty", field=where, hint="write a prompt, or delete the line")
    if len(item.prompt) > MAX_PROMPT:
        raise InputError(f"the prompt is {len(item.prompt)} characters (at most {MAX_PROMPT})", field=where)
    if not 1 <= item.count <= 16:
        raise InputError(f"count {item.count} is out of range", field=where, hint="ask for 1 to 16 images")
    for ref in item.refs:
        if not ref.is_file():
            raise InputError(f"reference image not found: {ref}", field=where, hint="check the --ref path")
    parse_aspect(item.aspect)
    check_request(provider, generator_caps, ImageRequest(item.prompt, item.aspect, 1,
                                                         tuple(b"" for _ in item.refs)))


def steps_for(items: list[tuple[int, ImageItem]], provider: str, model: str) -> list[Step]:
    steps = []
    for position, item in items:
        index = (item.number or position + 1) - 1
        for variant in range(item.count):
            seed = None if item.seed is None else item.seed + variant
            params = {"prompt": item.prompt, "aspect": item.aspect, "seed": seed,
                      "negative_prompt": item.negative_prompt, "variant": variant}
            steps.append(Step(step_id(index, variant, item.count), GenerateImage.kind, params, provider, model,
                              files={f"ref{i}": ref for i, ref in enumerate(item.refs)}, label=item.prompt,
                              billing=("image", 1)))
    return steps


def step_id(index: int, variant: int, count: int) -> str:
    return f"{index + 1:03d}" + (f"-{variant + 1}" if count > 1 else "")


def slug(prompt: str, length: int = 40) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")
    return words[:length].rstrip("-") or "image"


@dataclass
class ImageJob:
    """Prompts to generate with one provider, written into `output_dir`."""

    items: list[ImageItem]
    output_dir: Path
    provider: str
    settings: Settings
    budget_usd: float | None = None
    deadline_s: float | None = None
    refresh: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)  # overrides from flags (max_concurrency, rpm, …)
    on_event: Callable[[Event], None] | None = None
    bad_items: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said to the user, e.g. "estimate only"

    kind: ClassVar[str] = "image"

    def _runner(self, ctx: RuntimeContext, planning: bool = False) -> tuple[Runner, ImageGenerator]:
        from reelforge.providers.images import IMAGE_GENERATORS

        limits: Limits = IMAGE_GENERATORS.limits(self.provider, self.settings).merged(self.limits)
        generator = choose_generator(self.provider, self.settings, limits, planning=planning, notes=self.notes)
        runner = generation_runner(ctx, [GenerateImage()], {self.provider: limits}, generator)
        return runner, generator

    def _steps(self, generator: ImageGenerator) -> list[Step]:
        good = []
        for index, item in enumerate(self.items):
            try:
                validate_item(item, generator.capabilities, self.provider)
            except InputError as exc:
                self.bad_items.append(str(exc))
                continue
            good.append((index, item))
        return steps_for(good, self.provider, generator.model)

    async def aplan(self, ctx: RuntimeContext) -> tuple[Plan, list[str]]:
        runner, generator = self._runner(ctx, planning=True)
        steps = self._steps(generator)
        return await runner.plan(steps, self.refresh), self.bad_items

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> ImageJobResult:
        runner, generator = self._runner(ctx)
        steps = self._steps(generator)
        if not steps:
            return ImageJobResult(None, {}, self.bad_items)
        options = RunOptions(self.budget_usd, self.deadline_s, self.refresh, title=_title(self.items, self.provider))
        exporter = _Exporter(ctx.store, self.output_dir, {s.id: s.label for s in steps})
        runner.bus.subscribe(exporter)
        with subscribed(runner.bus, events), exporter:
            async with (cancel or CancelToken()).scope():
                report = await runner.run(steps, options)
        return ImageJobResult(report, exporter.files(), self.bad_items)

    def plan(self) -> tuple[Plan, list[str]]:
        result: tuple[Plan, list[str]] = plan_job(self, self.settings)
        return result

    def run(self) -> ImageJobResult:
        result: ImageJobResult = run_job(self, self.settings, on_event=self.on_event)
        return result


@dataclass
class _PlanningStandIn:
    """Stands in for a provider that has no key here, so a dry run can still price the plan."""

    name: str
    model: str
    capabilities: ImageCapabilities = field(default_factory=lambda: ImageCapabilities(max_references=16, max_count=16))
    cpu_bound: bool = False

    def delivered_aspect(self, aspect: str) -> float:
        return exact_aspect(aspect)

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        raise AssertionError("a plan never calls the provider")


def choose_generator(provider: str, settings: Settings, limits: Limits, *, planning: bool,
                     notes: list[str]) -> ImageGenerator:
    """The provider's generator; for a plan without a key, a stand-in that prices the configured
    model (a plan calls nothing, so it needs no key) and a note saying so. Otherwise a missing
    key or SDK raises ProviderUnavailable (exit 2, what to set) before anything is called."""
    from reelforge.providers.images import IMAGE_GENERATORS

    availability = IMAGE_GENERATORS.check(provider, settings)
    if planning and not availability.available:
        notes.append(f"{provider} is not configured here ({availability.reason}); estimate only")
        return planning_stand_in(provider, configured_model(settings, provider))
    return IMAGE_GENERATORS.create(provider, settings, limits)


def generation_runner(ctx: RuntimeContext, actions: list[Any], limits: dict[str, Limits],
                      generator: ImageGenerator | None, *, pools: dict[str, int | str] | None = None) -> Runner:
    """A Runner on the context (artifact store, pricing table, run records, pools, gates) that
    calls `generator` for its image steps; other providers a step names come from the context's
    registries, each under its own limits."""
    providers = {generator.name: generator} if generator is not None else None
    return Runner(actions={a.kind: a for a in actions}, context=ctx, limits=limits, providers=providers,
                  pools=pools)


def planning_stand_in(provider: str, model: str) -> ImageGenerator:
    """A generator that can be planned with but never called (a dry run needs no key)."""
    return _PlanningStandIn(provider, model)


def configured_model(settings: Settings, provider: str) -> str:
    """The model the provider would use; "" (unpriced) when the settings don't name one."""
    value = getattr(settings, f"{provider}_model", None)
    return value if isinstance(value, str) else ""


def _title(items: list[ImageItem], provider: str) -> str:
    first = items[0].prompt if items else ""
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"image [{provider}] {first[:60]}{more}"


class _Exporter:
    """Copies each image out of the store as soon as its step finishes (on a worker thread; temp
    name + rename), so a run that is killed leaves every finished image in place."""

    def __init__(self, store: ArtifactStore, output_dir: Path, prompts: dict[str, str]) -> None:
        self.store, self.output_dir, self.prompts = store, output_dir, prompts
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reelforge-export")
        self._futures: dict[str, Future[list[Path]]] = {}

    def __enter__(self) -> _Exporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)

    def __call__(self, event: Event) -> None:
        if event.type in ("step.finished", "step.cached") and event.step:
            self._futures[event.step] = self._pool.submit(self._export, event.step, event.data["key"])

    def files(self) -> dict[str, list[Path]]:
        return {sid: future.result() for sid, future in sorted(self._futures.items())}

    def _export(self, sid: str, key: str) -> list[Path]:
        result = self.store.get_result(key)
        if result is None:
            return []
        prompt = self.prompts[sid]
        paths = []
        for n, artifact in enumerate(result.artifacts):
            suffix = "" if n == 0 else f"-{n + 1}"
            name = f"{sid}-{slug(prompt)}{suffix}{EXTENSIONS.get(artifact.media_type, '.bin')}"
            paths.append(self.store.export(artifact, self.output_dir / name))
        return paths


def read_batch(path: Path) -> tuple[list[ImageItem], list[str]]:
    """Items from a batch file: `.jsonl` (one object per line: prompt, n, aspect, refs, seed,
    negative_prompt) or text (one prompt per line; blank lines and # comments skipped).
    Lines that cannot be read are returned as messages naming file:line; the rest go on."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the batch file {path}: {exc}", field="--batch",
                         hint="pass a UTF-8 text file with one prompt per line") from None
    items, bad = [], []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        source = f"{path}:{number}"
        try:
            items.append(_jsonl_item(text, source, path.parent, number) if path.suffix == ".jsonl"
                         else ImageItem(text, source=source, number=number))
        except InputError as exc:
            bad.append(str(exc))
    return items, bad


def _jsonl_item(text: str, source: str, base: Path, number: int) -> ImageItem:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc.args[0]})", field=source,
                         hint='write one object per line, e.g. {"prompt": "a red fox", "aspect": "16:9"}') from None
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
        raise InputError("a line needs a \"prompt\" string", field=source)
    unknown = set(data) - {"prompt", "n", "aspect", "refs", "seed", "negative_prompt"}
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(sorted(unknown))}", field=source,
                         hint="use prompt, n, aspect, refs, seed, negative_prompt")
    try:
        return ImageItem(data["prompt"], int(data.get("n", 1)), str(data.get("aspect", "1:1")),
                         tuple(base / str(r) for r in data.get("refs", [])),
                         None if data.get("seed") is None else int(data["seed"]), data.get("negative_prompt"),
                         source=source, number=number)
    except (TypeError, ValueError) as exc:
        raise InputError(f"a field has the wrong type ({exc})", field=source) from None
