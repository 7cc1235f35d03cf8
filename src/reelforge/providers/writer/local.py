"""The offline writer (`local`): no model, no network, $0. It turns the idea into N beats from a
template per format and writes each beat's first/last-frame descriptions from the character and
the idea. Deterministic (the same inputs give the same script) and marked as a draft in the
script (`draft: true`, a "[draft]" logline) so nobody mistakes it for a written story.

It answers story scripts only (`StoryScript`), from the request's `hints`."""

from __future__ import annotations

from pydantic import BaseModel

from reelforge.errors import ProviderError
from reelforge.providers.limits import Limits
from reelforge.providers.writer.base import WriterRequest
from reelforge.settings import Settings
from reelforge.spec.story import Line, ScriptCharacter, Segment, StoryScript

# Beats per format: (scene words, what happens, camera). Stories longer than a template repeat its
# middle beats; shorter ones keep the first and the last.
BEATS: dict[str, list[tuple[str, str, str]]] = {
    "story": [("an ordinary morning", "{name} notices something about {idea}", "wide establishing shot"),
              ("a closer look", "{name} steps closer, curious about {idea}", "slow push-in"),
              ("the first try", "{name} tries to deal with {idea}", "medium shot, handheld"),
              ("a setback", "it goes wrong and {name} is surprised", "quick whip pan"),
              ("a new idea", "{name} thinks and finds another way", "close-up"),
              ("the big moment", "{name} succeeds with {idea}", "low-angle tracking shot"),
              ("the end", "{name} enjoys the result, content", "slow pull-out")],
    "daily-character": [("{name}'s usual spot", "{name} starts the day and meets {idea}", "medium shot"),
                        ("the reaction", "{name} reacts to {idea} with a big expression", "close-up"),
                        ("the quirk", "{name} handles {idea} in a very {name}-like way", "medium shot, slight tilt"),
                        ("the payoff", "{name} looks at the camera, pleased", "slow push-in")],
    "meme": [("the setup", "{name} faces {idea}", "static medium shot"),
             ("the reaction", "{name} freezes, then reacts dramatically", "snap zoom to close-up"),
             ("the punchline", "{name} does the unexpected thing about {idea}", "static wide shot")],
    "music-video": [("the intro", "{name} sways to the beat, {idea} in the background", "slow dolly"),
                    ("the verse", "{name} moves through the scene, {idea} all around", "tracking shot"),
                    ("the chorus", "{name} dances energetically, {idea} everywhere", "orbiting shot"),
                    ("the bridge", "{name} pauses in a quiet pose", "close-up, shallow focus"),
                    ("the finale", "{name} strikes a final pose", "crane up")],
}


class LocalDraftWriter:
    name = "local"
    model = "draft-writer-1"  # part of the step key: bump when the templates change

    def __init__(self, settings: Settings | None = None, limits: Limits | None = None) -> None:
        self.settings = settings

    async def write(self, request: WriterRequest) -> BaseModel:
        if request.response_model is not StoryScript:
            raise ProviderError(self.name, f"the local draft writer only writes story scripts, not "
                                f"{request.response_model.__name__}", reason="bad_request",
                                hint="use --writer gemini or openai")
        script = draft_script(**request.hints)
        if request.check is not None:
            request.check(script)
        return script


def create(settings: Settings, limits: Limits) -> LocalDraftWriter:
    return LocalDraftWriter(settings, limits)


def _beats(fmt: str, count: int) -> list[tuple[str, str, str]]:
    template = BEATS.get(fmt, BEATS["story"])
    if count <= len(template):
        keep = [round(i * (len(template) - 1) / max(count - 1, 1)) for i in range(count)]
        return [template[i] for i in keep] if count > 1 else [template[0]]
    middle = template[1:-1] or template
    extra = [middle[i % len(middle)] for i in range(count - len(template))]
    return [template[0], *template[1:-1], *extra, template[-1]]


def draft_script(idea: str, character: str, description: str = "", segments: int = 4, format: str = "story",
                 duration: int = 8, allow_dialogue: bool = False, creature_language: str | None = None,
                 style: str = "") -> StoryScript:
    """A draft script for `idea` in `segments` beats (deterministic)."""
    idea_words = idea.strip().rstrip(".!?") or "something new"
    look = description.strip() or f"{character}, as in the reference image"
    beats = _beats(format, segments)
    pose = ["standing", "leaning forward", "reaching out", "jumping back", "thinking, head tilted", "arms raised",
            "smiling", "turning around", "sitting", "looking up"]
    rows = []
    for n, (scene, action, camera) in enumerate(beats):
        words = {"name": character, "idea": idea_words}
        first = f"{look}, {pose[n % len(pose)]}, in {scene.format(**words)}; {idea_words} visible"
        last = f"{look}, {pose[(n + 1) % len(pose)]}, at the end of {scene.format(**words)}; {idea_words} visible"
        dialogue = [Line(speaker=character, text=f"{action.format(**words).capitalize()}!")] if allow_dialogue else []
        sounds = [] if allow_dialogue else [f"{creature_language or 'soft'} {['curious', 'surprised', 'happy'][n % 3]} sound"]
        rows.append(Segment(scene=scene.format(**words), action=action.format(**words), camera=camera,
                            first_frame=first, last_frame=last, dialogue=dialogue, sounds=sounds, duration=duration))
    title = idea_words[:1].upper() + idea_words[1:] if character.lower() in idea_words.lower() else \
        f"{character} and {idea_words}"
    return StoryScript(title=title[:120],
                       logline=f"[draft] {title} — a {format} in {segments} beats, written from templates by the "
                               "offline draft writer; edit it or use a model writer.",
                       format=format, draft=True,
                       characters=[ScriptCharacter(name=character, description=description)],
                       allow_dialogue=allow_dialogue, creature_language=creature_language, style=style,
                       segments=rows)
