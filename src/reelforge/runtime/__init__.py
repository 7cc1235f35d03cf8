"""The generation runtime: steps with content-addressed caching, run records, a scheduler with
per-provider limits, retries and circuit breakers, a cost ledger with budgets, and one event
stream (see docs/runtime.md)."""

from __future__ import annotations

from reelforge.runtime.artifacts import Artifact, ArtifactStore, LocalArtifactStore, StepResult
from reelforge.runtime.events import Event, EventBus
from reelforge.runtime.limits import Limits
from reelforge.runtime.pricing import PricingTable, load_pricing
from reelforge.runtime.records import RunStore
from reelforge.runtime.runner import Outcome, Plan, Runner, RunOptions, RunReport
from reelforge.runtime.step import Action, ActionResult, Step, StepContext, StepOutput

__all__ = [
    "Action", "ActionResult", "Artifact", "ArtifactStore", "Event", "EventBus", "Limits",
    "LocalArtifactStore", "Outcome", "StepOutput", "Plan", "PricingTable", "RunOptions", "RunReport",
    "RunStore", "Runner", "Step", "StepContext", "StepResult", "load_pricing",
]
