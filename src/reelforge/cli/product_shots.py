"""`reelforge product-shots VIDEO|URL -o DIR`: products found in a video, best frame, real
cut-out and studio shots per product, report.json and an offline index.html."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli._common import fail, print_warnings, step_lines, usage_error


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def product_shots(
    video: Annotated[str, typer.Argument(help="A video file, or an http(s) URL (a page URL such as YouTube "
                                              "needs the video-urls extra: yt-dlp).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    fps: Annotated[float, typer.Option("--fps", help="Frames sampled per second.")] = 2.0,
    max_frames: Annotated[int, typer.Option("--max-frames", help="At most this many frames (the rate drops "
                                                                 "for long videos).")] = 240,
    vision: Annotated[str, typer.Option("--vision", help="local (offline), gemini or openai "
                                                         "(OpenAI-compatible, e.g. Ollama).")] = "local",
    shots: Annotated[str, typer.Option("--shots", help="Comma list of studio, desk, gradient.")] = "studio,desk,gradient",
    sizes: Annotated[str, typer.Option("--sizes", help="Comma list of 1:1, 4:5, 9:16, 16:9.")] = "1:1,4:5,9:16",
    long_side: Annotated[int, typer.Option("--long-side", help="Long side of every shot in pixels.")] = 2048,
    brand_color: Annotated[str, typer.Option("--brand-color", help="Colour of the gradient shot.")] = "#3b5bdb",
    background: Annotated[str | None, typer.Option("--background", help="An extra shot on this background: a "
                                                   "colour, a texture name (wood, marble, …) or an image file.")] = None,
    ai_background: Annotated[str | None, typer.Option("--ai-background", help="Image provider that draws an empty "
                                                      "scene; the REAL product is composited into it.")] = None,
    reimagined_product: Annotated[str | None, typer.Option(
        "--reimagined-product", help="ALSO draw each product with this image provider from its description "
                                     "(text-to-image): the product in those images is imagined, NOT the real one. "
                                     "Off by default; shots/ always use the real pixels.")] = None,
    cutout_qa: Annotated[str, typer.Option("--cutout-qa", help="A cut-out that keeps backdrop (ghost strip, rim "
                                                               "smear): retry (other cut-out paths, keep the "
                                                               "cleanest), warn, or reject.")] = "retry",
    per_shot: Annotated[int, typer.Option("--per-shot", help="Candidate frames kept per shot.")] = 3,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Sample and score locally, show the model calls "
                                                            "and their estimated cost; call nothing.")] = False,
    budget: Annotated[float | None, typer.Option("--budget", help="Stop before a call would take the run past "
                                                                  "this many USD.")] = None,
) -> None:
    """Find the products in a video and make studio shots from their real pixels."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.product_shots import ProductShotsJob, ProductShotsOptions
    from reelforge.providers.vision import VISION

    if vision not in VISION.names():
        fail(usage_error(f"--vision {vision!r} is not one of: {', '.join(VISION.names())}"))
    if per_shot < 1:
        fail(usage_error("--per-shot must be at least 1"))
    options = ProductShotsOptions(fps=fps, max_frames=max_frames, per_shot=per_shot, vision=vision,
                                  shots=_split(shots), sizes=_split(sizes), long_side=long_side,
                                  brand_color=brand_color, background=background, ai_background=ai_background,
                                  reimagined_product=reimagined_product, cutout_qa=cutout_qa)
    job = ProductShotsJob(video, output, options, budget_usd=budget)
    try:
        if dry_run:
            plan = job.plan()
            cost = "unknown (no price row)" if plan.estimate_usd is None else f"${plan.estimate_usd:.4f}"
            typer.echo(f"plan: {len(plan.steps)} step(s), {plan.calls} paid call(s), {plan.cached} cached; "
                       f"estimated cost {cost}")
            return
        result = job.run(step_lines())
    except ReelforgeError as exc:
        fail(exc)
    print_warnings(tuple(result.report.get("warnings", [])))
    for p in result.products:
        shots_n = len(p.files.get("shots", []))
        state = f"{shots_n} shot(s), cut-out by {p.cutout.get('method')}" if p.ok else \
            "NOT isolated: " + "; ".join(p.cutout.get("warnings", []) or [p.cutout.get("error", "")])
        typer.echo(f"{p.name}: best frame {p.best_time_s:.2f} s — {state}")
    timings = result.report["timings"]
    typer.echo(f"{len(result.products)} product(s) → {output}/index.html  ({timings['total_s']:.1f} s, "
               f"${result.report['cost_usd']:.4f})")
    if not result.products:
        typer.secho("no product was found in the video", fg="yellow", err=True)
        raise typer.Exit(2)
    if result.failed:
        raise typer.Exit(2)


