"""One stream of run events. The CLI renders it as a progress display, the run recorder writes
it to SQLite, and the service will turn it into server-sent events (`Event.to_sse`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from reelforge.logging import get_logger

EventType = Literal[
    "run.started", "run.grew", "step.started", "step.progress", "step.retried", "step.cached", "step.finished",
    "step.failed", "step.skipped", "cost", "run.finished",
]
log = get_logger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened in a run. `step` is the step id (None for run-level events)."""

    type: EventType
    run_id: str
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "run_id": self.run_id, "step": self.step, "at": self.at, **self.data}

    def to_sse(self) -> str:
        """The event as one server-sent-events message."""
        return f"event: {self.type}\ndata: {json.dumps(self.to_dict(), default=str)}\n\n"


Subscriber = Callable[[Event], None]


class EventBus:
    """Fan-out of events to subscribers. Subscribers are called on the event loop and must not
    block (hand slow work to a thread or a queue)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._queues: list[asyncio.Queue[Event | None]] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken display must not break the run
                log.exception("event subscriber failed", subscriber=repr(subscriber), event_type=event.type)
        for queue in self._queues:
            queue.put_nowait(event)

    async def stream(self) -> AsyncIterator[Event]:
        """Iterate the events from now until `close()` (for SSE)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.remove(queue)

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)
