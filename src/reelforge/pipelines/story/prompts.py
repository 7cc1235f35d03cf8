"""What the writer and the image model are told. One writer prompt per format (the notes' use
cases: stories, daily character moments, memes, music videos); the keyframe prompts carry the
character's description and the script's style into every frame."""

from __future__ import annotations

from reelforge.spec.story import Segment, StoryScript

SYSTEM = (
    "You are a screenwriter for short AI-generated videos. You write scripts as JSON that fits the given schema "
    "exactly. The video is made segment by segment: each segment is one clip interpolated between a first and a "
    "last frame, and the last frame of a segment is the first frame of the next one, so describe frames that "
    "flow into each other: same place, light and character look unless the story moves on. Frame descriptions "
    "are pictures (who, pose, expression, setting, light, framing), not events. Keep the character's appearance "
    "identical in every frame.")

FORMAT_BRIEFS: dict[str, str] = {
    "story": "A short narrative with a beginning, a turn and an ending: a character wants something, meets an "
             "obstacle and resolves it. Adventures, short stories, educational moments.",
    "daily-character": "A relatable everyday moment for Instagram/TikTok: a funny reaction, a small struggle, a "
                       "quirk of the character. Expressive faces and clear body language; ends on a look at the "
                       "camera or a small payoff.",
    "meme": "A meme video: a setup everybody recognises, an exaggerated reaction, a punchline. Comedic timing, "
            "big expressions, few props.",
    "music-video": "A music video: rhythm and mood over plot. Dance, poses and camera moves that could cut to a "
                   "beat; colourful, stylised settings. No dialogue.",
}


def writer_prompt(idea: str, character: str, description: str, segments: int, fmt: str, durations: tuple[int, ...],
                  allow_dialogue: bool, creature_language: str | None) -> str:
    speech = ("Characters may speak: put short lines in `dialogue` (they become captions)." if allow_dialogue else
              "Nobody speaks: `dialogue` stays empty; put the character's sounds in `sounds`"
              + (f" (the creature's language: {creature_language})." if creature_language else "."))
    return "\n".join([
        f"Format: {fmt}. {FORMAT_BRIEFS[fmt]}",
        f"Idea: {idea}",
        f"Main character: {character}. Appearance: {description or 'as in the reference image'}.",
        f"Write exactly {segments} segments. Each segment's duration is one of {', '.join(map(str, durations))} "
        "seconds.",
        speech,
        f"Put {character} first in `characters`, with the appearance above as its description. Set format to "
        f"{fmt!r} and draft to false."])


def frame_prompt(script: StoryScript, segment: Segment, which: str, description: str) -> str:
    """The image prompt for a segment's first or last keyframe."""
    character = script.characters[0]
    look = description or character.description
    frame = segment.first_frame if which == "first" else segment.last_frame
    parts = [f"A single frame of a video: {frame}.",
             f"Scene: {segment.scene}. Camera: {segment.camera}.",
             f"The character {character.name} looks exactly like the character in the first reference image"
             + (f" ({look})" if look else "") + ": same colours, shape, face and clothing."]
    if which == "last":
        parts.append("Keep the setting, light and colours of the second reference image (the segment's first "
                     "frame); only the pose, expression and camera may change as described.")
    if script.style:
        parts.append(f"Style: {script.style}.")
    parts.append("No text, captions or watermarks in the image.")
    return " ".join(parts)


def clip_prompt(script: StoryScript, segment: Segment) -> str:
    """What the video model is told for a segment (it also gets the two keyframes)."""
    character = script.characters[0].name
    bits = [f"{segment.action}.", f"Scene: {segment.scene}.", f"Camera: {segment.camera}."]
    if segment.dialogue:
        bits.append(" ".join(f'{line.speaker} says: "{line.text}"' for line in segment.dialogue))
    if segment.sounds:
        bits.append(f"Sounds: {', '.join(segment.sounds)}" + (f" ({character} speaks no words)"
                                                              if not script.allow_dialogue else "") + ".")
    if script.style:
        bits.append(f"Style: {script.style}.")
    return " ".join(bits)[:3900]
