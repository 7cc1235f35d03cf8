"""Long timelines render in segments so memory stays flat.

ffmpeg keeps every input's decoder (and its frame buffers) alive until the run ends, so one
graph over 100 stills holds 100 decoded frames and more. Instead the timeline is cut into
segments of a few clips, each encoded by its own ffmpeg run, then joined without re-encoding
(concat demuxer, stream copy) while the audio is mixed in one last, cheap pass.

A cut is placed where exactly one clip is on screen: just after the transition *into* clip j
ends. The segment before the cut renders clips a..j (clip j is needed for that transition) and
keeps frames up to the cut; the next segment starts at clip j and skips its first, already
shown transition frames. Every output frame is rendered exactly once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from reelforge.render import model as m


@dataclass(frozen=True)
class Segment:
    first: int  # first clip of the sub-timeline
    last: int  # last clip of the sub-timeline (inclusive)
    skip: int  # frames of the sub-timeline to drop at its start
    frames: int  # frames this segment contributes to the output


def _incoming(plan: m.RenderPlan, j: int) -> int:
    return plan.clips[j - 1].transition_frames if j > 0 else 0


def _can_cut_at(plan: m.RenderPlan, j: int) -> bool:
    """Clip j has a frame where it is alone on screen (between its two transitions)."""
    clip = plan.clips[j]
    return _incoming(plan, j) + clip.transition_frames < clip.frames


def _next_cut(plan: m.RenderPlan, first: int, max_clips: int) -> int | None:
    """The clip to cut at: as close to `first + max_clips` as possible, never at `first`."""
    n = len(plan.clips)
    if n - first <= max_clips + 1:
        return None  # the rest fits in one segment
    # Even segment sizes: 10 clips at most 4 a segment → 3 + 3 + 3, not 4 + 4 + 1.
    step = math.ceil((n - 1) / math.ceil((n - 1) / max_clips))
    target = first + step
    for j in list(range(min(target, len(plan.clips) - 1), first, -1)) + list(range(target + 1, len(plan.clips))):
        if _can_cut_at(plan, j):
            return j
    return None


def plan_segments(plan: m.RenderPlan, max_clips: int) -> list[Segment]:
    """Split the timeline into segments of about `max_clips` clips (one segment if short)."""
    n, total = len(plan.clips), plan.total_frames
    if max_clips <= 0 or n <= max_clips + 1:
        return [Segment(0, n - 1, 0, total)]
    starts = plan.clip_starts()
    segments: list[Segment] = []
    first, skip, cut_prev = 0, 0, 0
    while (j := _next_cut(plan, first, max_clips)) is not None:
        cut = starts[j] + _incoming(plan, j)
        segments.append(Segment(first, j, skip, cut - cut_prev))
        first, skip, cut_prev = j, _incoming(plan, j), cut
    segments.append(Segment(first, n - 1, skip, total - cut_prev))
    return segments


def segment_plan(plan: m.RenderPlan, segment: Segment) -> m.RenderPlan:
    """The sub-timeline a segment renders: its clips, no outgoing transition, video only."""
    clips = list(plan.clips[segment.first:segment.last + 1])
    clips[-1] = replace(clips[-1], transition=None, transition_frames=0)
    return replace(plan, clips=tuple(clips), music=None, clip_audio=False)
