"""Clips: a prompt (and optional frames, references or a clip to extend) → video files, with Veo
(long-running, paid, resumable) or the local motion engine ($0), then an optional upload."""

from reelforge.pipelines.clip.job import ClipJob, ClipResult, clip

__all__ = ["ClipJob", "ClipResult", "clip"]
