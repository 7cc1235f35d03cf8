"""The story script: what a writer (an LLM, or the offline draft writer) answers and what a person
edits between `reelforge story write` and `reelforge story make`.

A script is a title, a logline, a format and segments. Each segment is one clip: the scene, what
happens, the camera, the descriptions of its first and last frames, its dialogue or sounds and its
length. The last frame of segment N is the first frame of segment N+1, so only segment 1 has its
own `first_frame` picture; later segments' `first_frame` text says what that shared frame shows.
`reelforge schema story` prints this model as JSON Schema; the writers are held to it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StoryFormat = Literal["story", "daily-character", "meme", "music-video"]
FORMATS: tuple[str, ...] = ("story", "daily-character", "meme", "music-video")


class Line(BaseModel):
    """One spoken line (only when the script allows dialogue)."""

    model_config = ConfigDict(extra="forbid")
    speaker: str = Field(min_length=1, max_length=80, description="Who speaks (a character's name).")
    text: str = Field(min_length=1, max_length=300, description="What is said; shown as a caption.")


class ScriptCharacter(BaseModel):
    """A character who appears in the story."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, description="The name (the character library's name for the "
                      "main character).")
    description: str = Field("", max_length=1200, description="How the character looks, for the image prompts.")


class Segment(BaseModel):
    """One clip of the story, interpolated between its first and last frame."""

    model_config = ConfigDict(extra="forbid")
    scene: str = Field(min_length=1, max_length=600, description="Where and when: the setting of this clip.")
    action: str = Field(min_length=1, max_length=600, description="What happens between the first and last frame.")
    camera: str = Field("static medium shot", max_length=200, description="Shot size and camera movement.")
    first_frame: str = Field(min_length=1, max_length=1200, description="What the first frame shows (segment 1 "
                             "draws it; later segments start on the previous segment's last frame).")
    last_frame: str = Field(min_length=1, max_length=1200, description="What the last frame shows.")
    dialogue: list[Line] = Field(default_factory=list, max_length=6,
                                 description="Spoken lines (captions); empty unless allow_dialogue.")
    sounds: list[str] = Field(default_factory=list, max_length=8,
                              description="Creature sounds or effects, e.g. 'soft curious squeak'.")
    duration: int = Field(8, ge=1, le=60, description="Seconds; the video provider's allowed values "
                          "(Veo: 4, 6 or 8).")


class StoryScript(BaseModel):
    """A story in segments (`reelforge story write` writes one; `reelforge story make` films it)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=120, description="The title (set on the thumbnail).")
    logline: str = Field("", max_length=600, description="The story in one sentence.")
    format: StoryFormat = Field("story", description="story, daily-character, meme or music-video.")
    draft: bool = Field(False, description="True when the offline draft writer wrote it (templates, no model).")
    characters: list[ScriptCharacter] = Field(min_length=1, max_length=4,
                                              description="The characters; the first is the one in every keyframe.")
    allow_dialogue: bool = Field(False, description="Whether characters speak; otherwise sounds only.")
    creature_language: str | None = Field(None, max_length=120, description="How the creature sounds, e.g. "
                                          "'soft and high-pitched' (no words).")
    style: str = Field("", max_length=400, description="Look of every frame, e.g. 'soft 3D animation, warm light'.")
    segments: list[Segment] = Field(min_length=1, max_length=20, description="The clips, in order.")

    @property
    def duration(self) -> int:
        return sum(s.duration for s in self.segments)


def dialogue_problems(script: StoryScript) -> list[str]:
    """Segments that speak although the script does not allow dialogue."""
    if script.allow_dialogue:
        return []
    return [f"segments[{i}].dialogue" for i, s in enumerate(script.segments) if s.dialogue]
