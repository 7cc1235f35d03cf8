"""`reelforge clip`: parse, build a ClipJob, plan or run it, print what was made and paid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reelforge.cli._common import check_choice, fail, usage_error


def clip(
    prompt: Annotated[str, typer.Argument(help="What happens in the clip.")] = "",
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (OUT-2.mp4 … when -n > 1).")] = Path("clip.mp4"),
    image: Annotated[Path | None, typer.Option("--image", help="First frame (image-to-video).")] = None,
    last_frame: Annotated[Path | None, typer.Option("--last-frame", help="Last frame (needs --image).")] = None,
    refs: Annotated[list[Path] | None, typer.Option("--ref", help="Reference image (1–3, repeatable).")] = None,
    ref_types: Annotated[list[str] | None, typer.Option("--ref-type", help="asset or style, per --ref (default asset).")] = None,
    extend: Annotated[str | None, typer.Option("--extend", help="A clip to extend: a file, or a Veo file URI.")] = None,
    duration: Annotated[int, typer.Option("--duration", help="Seconds (Veo: 4, 6 or 8).")] = 8,
    aspect: Annotated[str, typer.Option("--aspect", help="16:9 or 9:16.")] = "16:9",
    resolution: Annotated[str, typer.Option("--resolution", help="720p, 1080p or 4k.")] = "720p",
    audio: Annotated[bool | None, typer.Option("--audio/--no-audio", help="Audio on/off (Vertex AI only; default: the model's).")] = None,
    negative: Annotated[str | None, typer.Option("--negative", help="What to avoid.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (Vertex AI and local).")] = None,
    count: Annotated[int, typer.Option("-n", "--count", help="Clips from one request (1–4).")] = 1,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="veo or local (default REELFORGE_VIDEO_PROVIDER or local).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Veo model id (default REELFORGE_VEO_MODEL).")] = None,
    upload: Annotated[str | None, typer.Option("--upload", help="s3://bucket/key or file:///folder/key after the run.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the planned calls and cost; call nothing.")] = False,
    budget: Annotated[float | None, typer.Option("--budget", help="Refuse a call that would take the run past this many USD.")] = None,
) -> None:
    """Generate a clip with Veo (long-running, resumable) or locally (Ken Burns, morph, draft card)."""
    from reelforge.errors import ReelforgeError

    try:
        job = _job(locals())
        if dry_run:
            _print_plan(job)
            return
        result = job.run()
    except ReelforgeError as exc:
        fail(exc)
        return
    raise typer.Exit(_report(result))


def _job(o: dict[str, Any]) -> Any:
    from reelforge.pipelines.clip import ClipJob
    from reelforge.settings import get_settings

    settings = get_settings()
    provider = o["provider"] or settings.video_provider
    check_choice("--provider", provider, ("veo", "local"))
    refs, types = o["refs"] or [], o["ref_types"] or []
    if len(types) > len(refs):
        raise usage_error("--ref-type given more often than --ref")
    pairs = tuple((ref, types[n] if n < len(types) else "asset") for n, ref in enumerate(refs))
    extend = o["extend"]
    uri = extend if extend and extend.startswith(("https://", "gs://")) else None
    return ClipJob(o["prompt"], o["output"], settings, provider=provider, model=o["model"], image=o["image"],
                   last_frame=o["last_frame"], refs=pairs, extend=Path(extend) if extend and not uri else None,
                   extend_uri=uri, duration=o["duration"], aspect=o["aspect"], resolution=o["resolution"],
                   audio=o["audio"], negative_prompt=o["negative"], seed=o["seed"], count=o["count"],
                   upload=o["upload"], budget_usd=o["budget"])


def _print_plan(job: Any) -> None:
    plan = job.plan()
    for step in plan.steps:
        state = "cached" if step.cached else "call"
        cost = "?" if step.estimate_usd is None else f"${step.estimate_usd:.2f}"
        typer.echo(f"{step.step.id:>6}  {state:6}  {job.provider}/{step.step.model}  {step.step.billing[1]:g} s  "
                   f"{cost:>8}  {step.step.label[:60]}")
    total = "unknown (no price for this model)" if plan.estimate_usd is None else f"${plan.estimate_usd:.2f}"
    typer.echo(f"plan: {plan.calls} call(s), {plan.cached} cached, estimated cost {total}")


def _report(result: Any) -> int:
    report = result.report
    for path, meta in zip(result.files, result.meta, strict=False):
        audio = "audio" if meta.get("has_audio") else "no audio"
        typer.echo(f"wrote {path}  ({meta.get('width')}x{meta.get('height')}, {meta.get('duration') or 0:.1f} s, {audio})")
    for answer in result.uploads:
        typer.echo(f"uploaded {answer.get('key')} → {answer.get('url')}")
    if report is None:
        return 1
    summary = report.summary
    typer.echo(f"cost ${summary.get('cost_usd', 0):.2f} paid, ${summary.get('saved_usd', 0) or 0:.2f} saved by the "
               f"cache  (run {report.run_id})")
    for outcome in report.failed:
        typer.secho(f"failed: {outcome.error}", fg="red", err=True)
    return 0 if report.state == "succeeded" else 1
