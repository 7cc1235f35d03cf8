"""Story: an idea and a character → a script of segments → chained keyframes → clips → merged
video and thumbnails (`reelforge story`), with the character library (`reelforge characters`)."""

from reelforge.pipelines.story.job import StoryFailed, StoryJob, StoryPlan, StoryResult, story
from reelforge.pipelines.story.script import load_script, save_script

__all__ = ["StoryFailed", "StoryJob", "StoryPlan", "StoryResult", "load_script", "save_script", "story"]
