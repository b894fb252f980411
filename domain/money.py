"""Money arithmetic: half-up rounding to cents and totals that never mix currencies."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_half_up(value: Decimal) -> Decimal:
    """Cents, rounded half-up as metrics.md asks (Python's default would round half-even)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(base: Decimal, pct: Decimal) -> Decimal:
    """`pct`% of `base`, rounded half-up to cents (10% of 1234.45 → 123.45)."""
    return round_half_up(Decimal(base) * Decimal(pct) / Decimal(100))


def format_money(currency: str, amount: Decimal) -> str:
    """`USD 1,234.50`: the currency always travels with the amount."""
    return f"{currency} {round_half_up(amount):,.2f}"


class CurrencyTotals:
    """Sums kept per currency; amounts in different currencies are never added together."""

    def __init__(self, items: Iterable[tuple[str, Decimal | None]] = ()) -> None:
        self._totals: dict[str, Decimal] = {}
        for currency, amount in items:
            self.add(currency, amount)

    def add(self, currency: str, amount: Decimal | None) -> None:
        """Add `amount` to its currency's total (None counts as nothing but keeps the currency)."""
        current = self._totals.get(currency, ZERO)
        self._totals[currency] = round_half_up(current + (amount or ZERO))

    def merge(self, other: CurrencyTotals) -> None:
        for currency, amount in other.items():
            self.add(currency, amount)

    def get(self, currency: str) -> Decimal:
        return self._totals.get(currency, ZERO)

    def items(self) -> list[tuple[str, Decimal]]:
        """(currency, total) pairs sorted by currency, so output is stable."""
        return sorted(self._totals.items())

    def as_dict(self) -> dict[str, Decimal]:
        return dict(self.items())

    def to_json(self) -> dict[str, str]:
        """JSON-friendly: amounts as exact decimal strings with two places."""
        return {currency: f"{amount:.2f}" for currency, amount in self.items()}

    @classmethod
    def from_json(cls, data: dict[str, str] | None) -> CurrencyTotals:
        return cls((currency, Decimal(amount)) for currency, amount in (data or {}).items())

    def describe(self) -> str:
        """`EUR 20.00, USD 450.00`, or `0.00` when empty."""
        return ", ".join(format_money(c, a) for c, a in self.items()) or "0.00"

    def __bool__(self) -> bool:
        return bool(self._totals)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CurrencyTotals):
            return self.as_dict() == other.as_dict()
        if isinstance(other, dict):
            return self.as_dict() == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"CurrencyTotals({self.as_dict()!r})"
