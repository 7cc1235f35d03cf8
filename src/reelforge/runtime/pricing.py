"""The dated pricing table: package data (`pricing.json`) plus the user's overrides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from reelforge.errors import InputError

Unit = Literal["image", "second", "1k_tokens"]
UNITS: tuple[str, ...] = ("image", "second", "1k_tokens")


@dataclass(frozen=True)
class Price:
    provider: str
    model: str  # "*" matches any model of the provider
    unit: str
    usd: float
    source: str = ""


@dataclass(frozen=True)
class PricingTable:
    as_of: str
    prices: tuple[Price, ...]

    def price(self, provider: str, model: str | None, unit: str) -> Price | None:
        """The row for (provider, model, unit); an exact model wins over '*'. Later rows (the
        user's overrides) win over earlier ones."""
        exact = wildcard = None
        for row in self.prices:
            if row.provider != provider or row.unit != unit:
                continue
            if row.model == model:
                exact = row
            elif row.model == "*":
                wildcard = row
        return exact or wildcard

    def estimate(self, provider: str, model: str | None, unit: str, quantity: float) -> float | None:
        """Dollars for `quantity` units, or None when the table has no price for it."""
        row = self.price(provider, model, unit)
        return None if row is None else round(row.usd * quantity, 6)

    def merged(self, other: PricingTable) -> PricingTable:
        return PricingTable(max(self.as_of, other.as_of), self.prices + other.prices)


def _parse(data: Any, source: str) -> PricingTable:
    try:
        rows = tuple(_parse_row(row, i, source) for i, row in enumerate(data["prices"]))
        return PricingTable(str(data.get("as_of", "")), rows)
    except (KeyError, TypeError) as exc:
        raise InputError(f"pricing table {source} is malformed ({exc})",
                         hint='use {"as_of": "YYYY-MM-DD", "prices": [{"provider", "model", "unit", "usd"}]}') from None


def _parse_row(row: dict[str, Any], index: int, source: str) -> Price:
    unit = row["unit"]
    if unit not in UNITS:
        raise InputError(f"prices[{index}].unit {unit!r} is not one of {', '.join(UNITS)}", field=source)
    usd = float(row["usd"])
    if usd < 0:
        raise InputError(f"prices[{index}].usd must not be negative", field=source)
    return Price(str(row["provider"]), str(row.get("model", "*")), unit, usd, str(row.get("source", "")))


def shipped_pricing() -> PricingTable:
    text = resources.files("reelforge.runtime").joinpath("pricing.json").read_text(encoding="utf-8")
    return _parse(json.loads(text), "pricing.json")


def load_pricing(override: Path | None = None) -> PricingTable:
    """The shipped table, with the rows of `override` (a user's JSON file) taking precedence."""
    table = shipped_pricing()
    if override is None:
        return table
    try:
        data = json.loads(Path(override).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the pricing file {override}: {exc}",
                         hint="fix or unset REELFORGE_PRICING_FILE") from None
    return table.merged(_parse(data, str(override)))
