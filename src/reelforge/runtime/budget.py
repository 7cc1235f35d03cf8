"""The cost ledger of a run: reserve an estimate before a call, settle the real cost after it,
and refuse a call whose estimate would take the run past its budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from reelforge.errors import BudgetExceeded


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
