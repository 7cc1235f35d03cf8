"""The `reelforge` command. Parse, call the library, print. Heavy modules load lazily so
`reelforge --version` and `--help` stay fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from reelforge import __version__
from reelforge.cli._common import ProgressBar, check_choice, fail, print_warnings, usage_error

app = typer.Typer(
    name="reelforge", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Turn specs, images and clips into finished videos (one FFmpeg run per render).",
)
SCHEMAS = ("timeline", "text", "overlay", "scenes", "story")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reelforge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens (debug level).")] = False,
) -> None:
    from reelforge.logging import configure_logging
    from reelforge.settings import get_settings

    settings = get_settings()
    configure_logging("debug" if verbose else settings.log_level, settings.log_format)


@app.command()
def render(
    spec: Annotated[Path, typer.Argument(help="Timeline spec (YAML or JSON).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.mp4, .webm, .mov, .gif).")],
    preset: Annotated[str | None, typer.Option("--preset", help="Quality: draft, standard or high.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="mp4, mp4-h265, webm, webm-alpha, mov-prores, gif.")] = None,
    hardware: Annotated[str | None, typer.Option("--hardware", help="nvenc, vaapi or qsv (falls back to software).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the ffmpeg command instead of running it.")] = False,
) -> None:
    """Render a timeline spec to a video file."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.render import RenderJob
    from reelforge.render.api import shell_command

    check_choice("--preset", preset, ("draft", "standard", "high"))
    check_choice("--format", fmt, ("mp4", "mp4-h265", "webm", "webm-alpha", "mov-prores", "gif"))
    check_choice("--hardware", hardware, ("none", "nvenc", "vaapi", "qsv"))
    job = RenderJob(spec, output, quality=preset, fmt=fmt, hardware=hardware)
    try:
        if dry_run:
            result = job.plan()
            print_warnings(result.warnings)
            for argv in result.commands:
                typer.echo(shell_command(argv))
            return
        with ProgressBar(f"rendering {output.name}") as on_event:
            job.on_event = on_event
            result = job.run()
    except ReelforgeError as exc:
        fail(exc)
    print_warnings(result.warnings)
    typer.echo(f"wrote {output} ({result.duration:.2f} s, {result.frames} frames)")


@app.command()
def frame(
    spec: Annotated[Path, typer.Argument(help="Timeline spec (YAML or JSON).")],
    at: Annotated[float, typer.Option("--at", help="Time in seconds.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")],
) -> None:
    """Render the single frame shown at a given time (a quick preview)."""
    from reelforge.errors import ReelforgeError
    from reelforge.render.api import render_frame

    try:
        render_frame(spec, at, output)
    except ReelforgeError as exc:
        fail(exc)
    typer.echo(f"wrote {output}")


@app.command()
def probe(
    file: Annotated[Path, typer.Argument(help="A video, audio or image file.")],
    count_frames: Annotated[bool, typer.Option("--count-frames", help="Decode to count frames exactly.")] = False,
) -> None:
    """Describe a media file as JSON (duration, streams, sizes, codecs)."""
    from reelforge.errors import ReelforgeError
    from reelforge.ffmpeg.probe import probe as do_probe

    try:
        info = do_probe(file, count_frames=count_frames)
    except ReelforgeError as exc:
        fail(exc)
    typer.echo(json.dumps(info.to_dict(), indent=2))


@app.command()
def schema(name: Annotated[str, typer.Argument(help="Which schema: " + ", ".join(SCHEMAS))] = "timeline") -> None:
    """Print the JSON Schema of a spec document."""
    from reelforge.spec.schema import json_schema

    if name not in SCHEMAS:
        fail(usage_error(f"unknown schema {name!r}; use one of: {', '.join(SCHEMAS)}"))
    typer.echo(json.dumps(json_schema(name), indent=2))


@app.command()
def fonts() -> None:
    """List the bundled font families usable as `font:` in text layers and styles."""
    from reelforge.imaging.fonts import ROLES, SHIPPED, bundled_families, shipped_face

    for name, face in sorted(bundled_families().items()):
        typer.echo(f"{name:16} {face.path}")
    for name in sorted(SHIPPED):
        roles = [role for role, family in ROLES.items() if family == name]
        weights = ",".join(str(w) for w in sorted(SHIPPED[name]))
        typer.echo(f"{name:16} {Path(shipped_face(name, 400).path).parent}  (alias {', '.join(roles)}; weights {weights})")


@app.command()
def text(
    words: Annotated[str | None, typer.Argument(help="The text to render (newlines break lines).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="PNG file to write (RGBA).")] = None,
    style: Annotated[str | None, typer.Option("--style", "-s", help="Preset name (see --list).")] = None,
    font: Annotated[str | None, typer.Option("--font", help="Font family (`reelforge fonts`) or .ttf/.otf path.")] = None,
    size: Annotated[float | None, typer.Option("--size", help="Font size in pixels.")] = None,
    color: Annotated[str | None, typer.Option("--color", help="Solid fill colour (#rrggbb or a name).")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Wrap at this width (px); with --height, fit a box.")] = None,
    height: Annotated[int | None, typer.Option("--height", help="With --width: auto-fit the text into the box.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (typographic engine) or ai (an image provider "
                                                         "draws it on a plain backdrop, cut out with key).")] = "local",
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="With --engine ai: local (offline draft), "
                                                                          "gemini, openai, imagen, flux, sdwebui "
                                                                          "(default: REELFORGE_IMAGE_PROVIDER or "
                                                                          "local).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --engine ai: print the prompt, provider, model and "
                                                            "estimated cost; call nothing.")] = False,
    budget: Annotated[float | None, typer.Option("--budget", help="With --engine ai: refuse a call that would cost "
                                                                  "more than this many USD.")] = None,
    refresh: Annotated[list[str] | None, typer.Option("--refresh", help="With --engine ai: redo a cached step: "
                                                                        "image.generate (a new, billed image), "
                                                                        "text.cutout, or all.")] = None,
    list_styles: Annotated[bool, typer.Option("--list", help="List the presets and exit.")] = False,
) -> None:
    """Render text in a style (sale-badge, neon, gold-3d, …) to a tight RGBA PNG."""
    from reelforge.errors import ReelforgeError

    try:
        if list_styles:
            from reelforge.spec.text_presets import presets

            for name, preset in presets().items():
                typer.echo(f"{name:15} {preset.description}")
            return
        if not words or (output is None and not dry_run):
            fail(usage_error('give the text and -o OUT.png, e.g. reelforge text "SALE 50% OFF" --style sale-badge -o sale.png'))
        assert words is not None
        from reelforge.pipelines.text import TextJob, style_overrides

        overrides = style_overrides(font, size, color, width, height)
        ai = _text_ai_options(engine, provider, dry_run, budget, refresh)
        if dry_run:
            _print_text_plan(words, style, overrides, ai)
            return
        assert output is not None
        image = TextJob(words, style, overrides, engine, output, **ai).run()
    except ReelforgeError as exc:
        fail(exc)
    _print_text_result(output, image)


def _text_ai_options(engine: str, provider: str | None, dry_run: bool, budget: float | None,
                     refresh: list[str] | None) -> dict[str, Any]:
    """The AI engine's options; naming one with --engine local is a mistake worth saying."""
    given = {"--provider": provider, "--dry-run": dry_run or None, "--budget": budget, "--refresh": refresh}
    if engine != "ai":
        extra = [flag for flag, value in given.items() if value is not None]
        if extra:
            raise usage_error(f"{', '.join(extra)} apply to --engine ai only")
        return {}
    return {"provider": provider, "budget_usd": budget, "refresh": tuple(refresh or ())}


def _print_text_plan(words: str, style: str | None, overrides: dict[str, Any], ai: dict[str, Any]) -> None:
    from reelforge.pipelines.text import plan_text_image

    plan = plan_text_image(words, style, overrides, provider=ai["provider"], refresh=ai["refresh"])
    for note in plan.notes:
        typer.secho(f"note: {note}", fg="yellow", err=True)
    typer.echo(f"provider: {plan.provider}  model: {plan.model or '(not configured)'}  aspect: {plan.prompt.aspect}  "
               f"backdrop: {plan.prompt.backdrop}")
    typer.echo("prompt:")
    typer.echo("  " + plan.prompt.prompt.replace("\n", "\n  "))
    cost = plan.plan.estimate_usd
    total = "unknown (no price for this model)" if cost is None else f"${cost:.4f}"
    state = "cached: no call, $0" if plan.cached else f"{plan.plan.calls} call(s), estimated cost {total}"
    typer.echo(f"plan: {state}")


def _print_text_result(output: Path | None, image: Any) -> None:
    made = image.info.get("text_ai")
    if made:
        for line in made["notes"]:
            typer.secho(f"note: {line}", fg="yellow", err=True)
        for line in made["warnings"]:
            typer.secho(f"warning: {line}", fg="yellow", err=True)
        source = "cached, no call" if made["cached"] else f"{made['calls']} call(s)"
        typer.echo(f"{made['provider']}/{made['model']}{' (draft)' if made['draft'] else ''}: {source}, "
                   f"cost ${made['cost_usd']:.4f}")
    typer.echo(f"wrote {output} ({image.width}x{image.height})")


@app.command()
def overlay(
    videos: Annotated[list[Path], typer.Argument(help="Video files and/or folders of videos.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (one video) or folder.")],
    image: Annotated[Path | None, typer.Option("--image", help="Picture to overlay (PNG with transparency, …).")] = None,
    words: Annotated[str | None, typer.Option("--text", help="Text to overlay (rendered with --style).")] = None,
    style: Annotated[str | None, typer.Option("--style", help="Text preset (`reelforge text --list`).")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="Who draws --text: local or ai (an image provider, "
                                                                "cut out; see `reelforge text`).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="With --engine ai: the image "
                                                                          "provider.")] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="YAML/JSON file with several overlays "
                                                             "(docs/overlay.md).")] = None,
    position: Annotated[str, typer.Option("--position", help="top-left … bottom-right, center, or x,y "
                                                             "(pixels or 10%,5%).")] = "bottom-right",
    margin: Annotated[str, typer.Option("--margin", help="Distance from the edge: pixels or % of the shorter "
                                                         "side.")] = "5%",
    scale: Annotated[float | None, typer.Option("--scale", help="Overlay width as a fraction of the video "
                                                                "width (images: 0.3).")] = None,
    opacity: Annotated[float, typer.Option("--opacity", help="0 (invisible) to 1.")] = 1.0,
    start: Annotated[float, typer.Option("--start", help="Seconds when the overlay appears.")] = 0.0,
    end: Annotated[float | None, typer.Option("--end", help="Seconds when it disappears (default: the end).")] = None,
    fade: Annotated[float, typer.Option("--fade", help="Seconds of fade-in and fade-out.")] = 0.0,
    fmt: Annotated[str | None, typer.Option("--format", help="auto, mp4, mov, mkv, webm, webm-alpha (VP9 + alpha), "
                                                             "mov-prores (ProRes 4444).")] = None,
    codec: Annotated[str | None, typer.Option("--codec", help="auto (match the input), h264, h265, vp9, av1, "
                                                              "prores.")] = None,
    crf: Annotated[int | None, typer.Option("--crf", help="Constant quality instead of the input's bitrate.")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="x264/x265 speed preset (default medium).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Videos processed at once (default: CPU "
                                                                  "count).")] = None,
) -> None:
    """Burn an image or styled text onto videos (audio copied untouched), one ffmpeg run each."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.overlay import OverlayBatchJob

    try:
        job = _overlay_job(spec, image, words, {"style": style, "engine": engine, "provider": provider}, position,
                           margin, scale, opacity, start, end, fade,
                           {"format": fmt, "codec": codec, "crf": crf, "preset": preset})
        with _BatchProgress() as progress:
            result = OverlayBatchJob(videos, job, output, jobs, on_event=progress.handle).run()
    except ReelforgeError as exc:
        fail(exc)
    _print_batch_summary(result)
    if result.failed:
        raise typer.Exit(2)


def _overlay_job(spec: Path | None, image: Path | None, words: str | None, text_options: dict[str, str | None],
                 position: str,
                 margin: str, scale: float | None, opacity: float, start: float, end: float | None, fade: float,
                 encoding: dict[str, Any]) -> Any:
    """The job from --spec, or one overlay from the flags; encoding flags win over the spec's."""
    from reelforge.spec.loader import read_document, resolve_path, validate_model
    from reelforge.spec.overlay import OverlayJob

    chosen = {k: v for k, v in encoding.items() if v is not None}
    if spec is not None:
        if image is not None or words is not None:
            raise usage_error("--spec already lists the overlays; leave out --image/--text")
        data, root = read_document(spec)
        job = validate_model(OverlayJob, data, what="overlay spec", source=str(spec), root=root)
        for entry in job.overlays:
            if entry.image is not None:  # relative to the spec file, like timeline paths
                entry.image = resolve_path(entry.image, spec.resolve().parent)
        return job.model_copy(update={"encoding": job.encoding.model_copy(update=chosen)}) if chosen else job
    if (image is None) == (words is None):
        raise usage_error("give one overlay: --image PNG or --text \"…\" (or several in a --spec file)")
    item = {"image": str(image) if image else None, "text": words, **text_options, "position": position,
            "margin": margin, "scale": scale, "opacity": opacity, "start": start, "end": end, "fade": fade}
    doc = {"overlays": [{k: v for k, v in item.items() if v is not None}], "encoding": chosen}
    return validate_model(OverlayJob, doc, what="set of overlay options", source="the command line")


class _BatchProgress:
    """Overall and per-file bars from the overlay job's events (silent when stderr is not a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                                 disable=not sys.stderr.isatty())
        self.overall: Any = None
        self.tasks: dict[Path, Any] = {}

    def __enter__(self) -> _BatchProgress:
        self.progress.start()
        self.overall = self.progress.add_task("all videos", total=None)
        return self

    def handle(self, event: Any) -> None:
        """Runtime events of the overlay job: one step per video."""
        if event.type == "run.started":
            self.progress.update(self.overall, total=event.data["steps"])
        elif event.type == "step.started":
            self.tasks[event.step] = self.progress.add_task(f"  {event.data['label']}", total=1.0)
        elif event.type == "step.progress" and event.step in self.tasks:
            self.progress.update(self.tasks[event.step], completed=event.data["fraction"])
        elif event.type in ("step.finished", "step.failed") and event.step in self.tasks:
            self.progress.remove_task(self.tasks.pop(event.step))
            self.progress.advance(self.overall)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _print_batch_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"overlay: {len(result.results) - len(result.failed)} done, {len(result.failed)} failed")
    for column in ("video", "status", "length s", "took s", "output / error"):
        table.add_column(column, overflow="fold")
    for r in result.results:
        length = f"{r.duration:.2f}" if r.duration else "–"
        detail = str(r.output) if r.ok else r.message
        # names and messages are Text, never markup: `[draft] clip.mp4` keeps its brackets, `a[/b` can't crash
        status = "[red]failed[/]" if not r.ok else "[green]ok[/]" if r.message == "ok" else "[yellow]ok, damaged input[/]"
        table.add_row(Text(str(r.video)), status, length, f"{r.seconds:.1f}", Text(detail))
    Console(soft_wrap=False, width=200 if not sys.stdout.isatty() else None).print(table)
    for r in result.results:
        for warning in r.warnings:
            typer.secho(f"warning: {warning}", fg="yellow", err=True)
    for r in result.failed:
        typer.secho(f"error: {r.message}", fg="red", err=True)


def _register_subcommands() -> None:
    from reelforge.cli import cutout as cutout_cli
    from reelforge.cli import scenes as scenes_cli
    from reelforge.cli.generate import register as register_generation

    app.command("scenes")(scenes_cli.scenes)
    app.command("cutout")(cutout_cli.cutout)
    from reelforge.cli.product_shots import product_shots

    app.command("product-shots")(product_shots)
    from reelforge.cli.clip import clip as clip_command

    app.command("clip")(clip_command)
    from reelforge.cli.story import characters_app, story_app

    app.add_typer(story_app, name="story")
    app.add_typer(characters_app, name="characters")
    app.add_typer(cutout_cli.models_app, name="models")
    register_generation(app)
    from reelforge.cli import jobs as jobs_cli
    from reelforge.cli.serve import serve

    app.command("serve")(serve)
    app.add_typer(jobs_cli.jobs_app, name="jobs")
    from reelforge.cli.worker import db_app, worker

    app.command("worker")(worker)
    app.add_typer(db_app, name="db")


_register_subcommands()


def run() -> None:
    from reelforge.cli._common import exit_code_for_interrupt, handle_sigterm_like_ctrl_c

    handle_sigterm_like_ctrl_c()
    try:
        app()
    except SystemExit as exc:
        raise SystemExit(exit_code_for_interrupt(exc)) from None
