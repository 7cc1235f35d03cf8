"""Back-pressure end to end: the real Gemini adapter against a fake Gemini API that answers 429
(with the wait in a RetryInfo body, no Retry-After header) to every request beyond 3 in flight.
The batch must complete with every image, each prompt paid for once, and the breaker shut."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.pipelines.images import ImageItem, ImageJob
from reelforge.runtime import Event
from reelforge.settings import Settings

from .fakes.image_apis import FakeImageAPI


def test_a_quota_of_three_in_flight_slows_a_batch_of_ten_down_instead_of_failing_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeImageAPI("gemini", delay=0.25, max_concurrent=3, retry_after="0.3") as api:
        for name, value in api.env().items():
            monkeypatch.setenv(name, value)
        events: list[Event] = []
        prompts = [f"a lighthouse, take {i}" for i in range(10)]
        # breaker_threshold 2: if 429s counted as ill health, the burst would open it at once
        job = ImageJob([ImageItem(p) for p in prompts], tmp_path / "out", "gemini",
                       Settings(data_dir=tmp_path / "data"), on_event=events.append,
                       limits={"max_concurrency": 8, "rpm": 0, "breaker_threshold": 2, "backoff_initial_s": 0.05})
        result = job.run()
    assert result.report is not None and result.report.state == "succeeded", result.report
    assert sum(len(files) for files in result.files.values()) == 10
    assert sorted(api.prompts(status=200)) == sorted(prompts)  # each prompt paid for exactly once
    assert api.rejected > 0  # the burst really was refused at first
    retried = [e for e in events if e.type == "step.retried"]
    assert retried and {e.data["reason"] for e in retried} == {"rate_limited"}
    assert all(e.data["wait_s"] >= 0.3 for e in retried)  # the RetryInfo delay was honoured
