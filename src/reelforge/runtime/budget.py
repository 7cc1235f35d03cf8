"""The cost ledger of a run: reserve an estimate before a call, settle the real cost after it,
and refuse a call whose estimate would take the run past its budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from reelforge.errors import BudgetExceeded


class Budget(Protocol):
    """A run's money: what it has spent, and a hold on each call's estimate before the call.
    `Ledger` keeps it in this process; a run whose steps spread over several workers uses one
    kept in a shared store (made by the context's `budget_factory`)."""

    budget_usd: float | None
    spent_usd: float

    def reserve(self, step_id: str, estimate_usd: float | None, what: str) -> None: ...
    def settle(self, step_id: str, actual_usd: float) -> None: ...
    def release(self, step_id: str) -> None: ...


BudgetFactory = Callable[[str, "float | None"], Budget]  # (run id, budget) → the run's budget


def in_process_budget(run_id: str, budget_usd: float | None) -> Budget:
    return Ledger(budget_usd)


@dataclass
class Ledger:
    """Used from the event loop only (no locks needed: reserve/settle never await)."""

    budget_usd: float | None = None
    spent_usd: float = 0.0
    _reserved: dict[str, float] = field(default_factory=dict)

    @property
    def reserved_usd(self) -> float:
        return sum(self._reserved.values())

    def reserve(self, step_id: str, estimate_usd: float | None, what: str) -> None:
        """Hold `estimate_usd` for a call, or raise BudgetExceeded before it starts."""
        if self.budget_usd is None:
            self._reserved[step_id] = estimate_usd or 0.0
            return
        if estimate_usd is None:
            raise BudgetExceeded(f"{what}: no price is known, so the budget of ${self.budget_usd:.2f} cannot be kept",
                                 hint="add a price row for it (REELFORGE_PRICING_FILE) or run without --budget")
        committed = self.spent_usd + self.reserved_usd
        if committed + estimate_usd > self.budget_usd + 1e-9:
            raise BudgetExceeded(
                f"{what} (~${estimate_usd:.4f}) would take the run to ${committed + estimate_usd:.4f}, "
                f"past the budget of ${self.budget_usd:.2f}",
                hint="raise --budget, or rerun: finished images are cached and cost nothing again")
        self._reserved[step_id] = estimate_usd

    def settle(self, step_id: str, actual_usd: float) -> None:
        self._reserved.pop(step_id, None)
        self.spent_usd = round(self.spent_usd + actual_usd, 6)

    def release(self, step_id: str) -> None:
        self._reserved.pop(step_id, None)
