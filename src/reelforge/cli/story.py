"""`reelforge story write|make` and `reelforge story "IDEA"`, and `reelforge characters add|list|
show|remove`: parse, build a StoryJob (or call the library), print what was made and paid."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from reelforge.cli._common import check_choice, fail, print_warnings, step_lines


class _IdeaOrCommand(TyperGroup):
    """`reelforge story "IDEA" …` runs the whole thing; `write` and `make` are the two halves."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args.insert(0, "run")
        return super().resolve_command(ctx, args)


story_app = typer.Typer(cls=_IdeaOrCommand, no_args_is_help=True, help="An idea and a character → a script of "
                        "segments → chained keyframes → clips → a merged video and thumbnails. All at once: "
                        "reelforge story \"IDEA\" --character NAME -o OUT/ (same options as write + make, "
                        "--dry-run, --budget); or the two halves below.")
characters_app = typer.Typer(no_args_is_help=True, help="The character library (names, images, profiles).")

Character = Annotated[str | None, typer.Option("--character", "-c", help="A library character (`reelforge characters "
                                               "list`) or an image file.")]
Description = Annotated[str, typer.Option("--description", help="With an image file: what the character looks like.")]
Segments = Annotated[int, typer.Option("--segments", "-n", help="How many segments (clips).")]
Format = Annotated[str, typer.Option("--format", help="story, daily-character, meme or music-video.")]
Writer = Annotated[str | None, typer.Option("--writer", help="local (draft, offline), gemini or openai "
                                            "(default REELFORGE_WRITER_PROVIDER).")]
Duration = Annotated[int, typer.Option("--duration", help="Seconds per segment the writer uses (Veo: 4, 6, 8).")]
Dialogue = Annotated[bool, typer.Option("--dialogue/--no-dialogue", help="Characters may speak (captions).")]
Language = Annotated[str | None, typer.Option("--creature-language", help="How the creature sounds, e.g. "
                                              "'soft and high-pitched'.")]
Style = Annotated[str, typer.Option("--style", help="The look of every frame, e.g. 'soft 3D animation'.")]
Budget = Annotated[float | None, typer.Option("--budget", help="Stop before a call would take the run past this "
                                              "many USD.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="List every call and the estimated cost; call nothing.")]
ImageProvider = Annotated[str, typer.Option("--image-provider", help="Keyframes: local (draft cards), gemini, …")]
VideoProvider = Annotated[str | None, typer.Option("--video-provider", help="Clips: veo or local (optical-flow "
                                                   "morph; default REELFORGE_VIDEO_PROVIDER).")]
VideoModel = Annotated[str | None, typer.Option("--video-model", help="Veo model id (default REELFORGE_VEO_MODEL).")]
Aspect = Annotated[str, typer.Option("--aspect", help="16:9 or 9:16.")]
Resolution = Annotated[str, typer.Option("--resolution", help="720p, 1080p or 4k.")]
Transition = Annotated[str, typer.Option("--transition", help="cut or crossfade (0.3 s).")]
Music = Annotated[Path | None, typer.Option("--music", help="A music bed under the clips' own sound.")]
OnFail = Annotated[str, typer.Option("--on-fail", help="A segment whose clip still fails: local (morph, marked), "
                                     "skip, or fail.")]
Captions = Annotated[bool, typer.Option("--captions/--no-captions", help="Captions from the dialogue.")]


def _settings() -> Any:
    from reelforge.settings import get_settings

    return get_settings()


def _job(**options: Any) -> Any:
    from reelforge.pipelines.story import StoryJob

    for flag, value, choices in (("--transition", options.get("transition"), ("cut", "crossfade")),
                                 ("--on-fail", options.get("on_fail"), ("local", "skip", "fail")),
                                 ("--aspect", options.get("aspect"), ("16:9", "9:16"))):
        if value is not None:
            check_choice(flag, value, choices)
    return StoryJob(**{k: v for k, v in options.items() if v is not None or k in ("writer", "video_provider")},
                    settings=_settings())


@story_app.command("write")
def write(idea: Annotated[str, typer.Argument(help="The idea, in a sentence.")],
          output: Annotated[Path, typer.Option("--output", "-o", help="The script file (.yaml or .json).")] = Path(
              "script.yaml"),
          character: Character = None, description: Description = "", segments: Segments = 4, fmt: Format = "story",
          writer: Writer = None, duration: Duration = 8, dialogue: Dialogue = False, creature_language: Language = None,
          style: Style = "", video_provider: VideoProvider = None, budget: Budget = None) -> None:
    """Write the script only (edit it, then `reelforge story make`)."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.story import save_script

    try:
        job = _job(output=output.parent, idea=idea, character=character, description=description, segments=segments,
                   format=fmt, writer=writer, duration=duration, allow_dialogue=dialogue,
                   creature_language=creature_language, style=style, video_provider=video_provider, budget_usd=budget)
        script, report = job.write(step_lines())
        save_script(script, output)
    except ReelforgeError as exc:
        fail(exc)
    draft = "  [draft: written from templates]" if script.draft else ""
    typer.echo(f"wrote {output}: {script.title!r}, {len(script.segments)} segment(s), {script.duration} s{draft}")
    typer.echo(f"cost ${report.summary.get('cost_usd', 0):.4f}  (run {report.run_id})")


@story_app.command("make")
def make(script_file: Annotated[Path, typer.Argument(help="A script (from `story write`, edited or not).")],
         output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("story"),
         character: Character = None, description: Description = "", image_provider: ImageProvider = "local",
         video_provider: VideoProvider = None, video_model: VideoModel = None, aspect: Aspect = "16:9",
         resolution: Resolution = "720p", transition: Transition = "cut", music: Music = None,
         captions: Captions = True, on_fail: OnFail = "local", dry_run: DryRun = False, budget: Budget = None) -> None:
    """Film a script: keyframes, clips, the merged video, thumbnails and report.json."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.story import load_script

    try:
        script = load_script(script_file)
        job = _job(output=output, script=script, character=character, description=description,
                   image_provider=image_provider, video_provider=video_provider, video_model=video_model,
                   aspect=aspect, resolution=resolution, transition=transition, music=music, captions=captions,
                   on_fail=on_fail, budget_usd=budget)
        _run_or_plan(job, dry_run)
    except ReelforgeError as exc:
        fail(exc)


@story_app.command("run", hidden=True)
def run(idea: Annotated[str, typer.Argument(help="The idea, in a sentence.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("story"),
        character: Character = None, description: Description = "", segments: Segments = 4, fmt: Format = "story",
        writer: Writer = None, duration: Duration = 8, dialogue: Dialogue = False, creature_language: Language = None,
        style: Style = "", image_provider: ImageProvider = "local", video_provider: VideoProvider = None,
        video_model: VideoModel = None, aspect: Aspect = "16:9", resolution: Resolution = "720p",
        transition: Transition = "cut", music: Music = None, captions: Captions = True, on_fail: OnFail = "local",
        dry_run: DryRun = False, budget: Budget = None) -> None:
    """Write and film in one go: `reelforge story "IDEA" --character NAME -o out/`."""
    from reelforge.errors import ReelforgeError

    try:
        job = _job(output=output, idea=idea, character=character, description=description, segments=segments,
                   format=fmt, writer=writer, duration=duration, allow_dialogue=dialogue,
                   creature_language=creature_language, style=style, image_provider=image_provider,
                   video_provider=video_provider, video_model=video_model, aspect=aspect, resolution=resolution,
                   transition=transition, music=music, captions=captions, on_fail=on_fail, budget_usd=budget)
        _run_or_plan(job, dry_run)
    except ReelforgeError as exc:
        fail(exc)


def _run_or_plan(job: Any, dry_run: bool) -> None:
    if dry_run:
        _print_plan(job.plan())
        return
    result = job.run(step_lines())
    _print_result(result)
    if result.report["run"]["state"] != "succeeded" and not result.report["warnings"]:
        raise typer.Exit(1)


def _print_plan(plan: Any) -> None:
    for planned in plan.plan.steps:
        step = planned.step
        state = "cached" if planned.cached else "call"
        cost = "?" if planned.estimate_usd is None else f"${planned.estimate_usd:.4f}"
        unit = f"{step.billing[1]:g} {step.billing[0]}" if step.billing else "-"
        typer.echo(f"{step.id:>14}  {state:6}  {step.provider}/{step.model}  {unit:>12}  {cost:>9}  {step.label[:50]}")
    total = plan.plan.estimate_usd
    total_text = "unknown (a model has no price row)" if total is None else f"${total:.4f}"
    typer.echo(f"plan: {plan.plan.calls} call(s), {plan.plan.cached} cached, {plan.video_seconds:g} s of video to "
               f"generate, estimated cost {total_text}")
    for note in plan.notes:
        typer.echo(f"note: {note}")


def _print_result(result: Any) -> None:
    report = result.report
    print_warnings(tuple(report["warnings"]))
    for seg in report["segments"]:
        clip = seg["clip"] or {}
        how = "skipped" if clip.get("skipped") else f"{clip.get('provider')}" + (" (fallback)" if clip.get("fallback")
                                                                                 else "")
        typer.echo(f"segment {seg['segment']}: {seg['duration']} s, {how}, consistency "
                   f"{seg['first_frame']['consistency']:.2f} → {seg['last_frame']['consistency']:.2f}")
    stages = ", ".join(f"{k} ${v['cost_usd']:.4f}" for k, v in report["cost_by_stage"].items())
    draft = " [draft script]" if report["draft"] else ""
    typer.echo(f"wrote {result.video} ({report['duration_s']} s){draft}, thumbnails, report.json → {result.output}")
    typer.echo(f"cost ${report['cost_usd']:.4f} ({stages}); paid this run ${report['paid_this_run_usd']:.4f}")


# --- characters ----------------------------------------------------------------------------------

def _with_context(work: Callable[[Any], Any]) -> Any:
    from reelforge.runtime.context import RuntimeContext

    async def main() -> Any:
        ctx = RuntimeContext.from_settings(_settings())
        try:
            return await work(ctx)
        finally:
            await ctx.aclose()

    return asyncio.run(main())


@characters_app.command("add")
def characters_add(name: Annotated[str, typer.Argument(help="The character's name.")],
                   images: Annotated[list[Path], typer.Argument(help="One or more images of the character.")],
                   description: Annotated[str, typer.Option("--description", help="What it looks like (used as is "
                                                            "offline; added to the model's profile otherwise).")] = "",
                   vision: Annotated[str, typer.Option("--vision", help="Who writes the profile: local (palette + "
                                                       "your description), gemini or openai.")] = "local") -> None:
    """Add a character: images into the artifact store, a profile into the database."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.story.characters import add_character

    check_choice("--vision", vision, ("local", "gemini", "openai"))
    try:
        character = _with_context(lambda ctx: add_character(ctx, name, images, description, vision))
    except ReelforgeError as exc:
        fail(exc)
    typer.echo(f"added {character.name}: {len(character.images)} image(s), palette "
               f"{' '.join(character.profile.palette)} (profile by {character.profile_source})")


@characters_app.command("list")
def characters_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The characters in the library."""
    from reelforge.pipelines.story.characters import store_for

    async def work(ctx: Any) -> Any:
        return await asyncio.to_thread(store_for(ctx).list)

    found = _with_context(work)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in found], indent=2))
        return
    for c in found:
        typer.echo(f"{c.name:24} {len(c.images)} image(s)  {c.profile_source:7} {c.prompt_description[:70]}")
    if not found:
        typer.echo("no characters yet: reelforge characters add NAME IMAGE…")


@characters_app.command("show")
def characters_show(name: Annotated[str, typer.Argument(help="The character's name.")]) -> None:
    """A character's profile and images (JSON)."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.story.characters import store_for

    async def work(ctx: Any) -> Any:
        return await asyncio.to_thread(store_for(ctx).get, name)

    try:
        character = _with_context(work)
    except ReelforgeError as exc:
        fail(exc)
    typer.echo(json.dumps(character.as_dict(), indent=2))


@characters_app.command("remove")
def characters_remove(name: Annotated[str, typer.Argument(help="The character's name.")]) -> None:
    """Remove a character from the library (its images stay in the artifact store, shared by content)."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.story.characters import store_for

    async def work(ctx: Any) -> Any:
        return await asyncio.to_thread(store_for(ctx).remove, name)

    try:
        character = _with_context(work)
    except ReelforgeError as exc:
        fail(exc)
    typer.echo(f"removed {character.name}")
