"""The scenes pipeline: scene prompts or images → a finished video (see docs/scenes.md)."""

from __future__ import annotations

from reelforge.pipelines.scenes.job import ScenesJob, ScenesPlan
from reelforge.pipelines.scenes.load import load_scenes
from reelforge.pipelines.scenes.results import SceneResult, ScenesFailed, ScenesResult

__all__ = ["SceneResult", "ScenesFailed", "ScenesJob", "ScenesPlan", "ScenesResult", "load_scenes"]
