"""Meta's rates, read from a rate-card file: country calling code × pricing category.

The file (`rate_card.yml` at the top of the repository by default) has a `currency`, a `default`
row for every market it does not list, and `markets` keyed by calling code. A market row may
leave categories out; they fall back to the default row. Amounts are kept in micro-units of the
currency (1 USD = 1,000,000) so totals add up exactly.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "rate_card.yml"
CATEGORIES = ("marketing", "utility", "authentication", "authentication_international", "service")
MICROS = Decimal(1_000_000)
DEFAULT_MARKET = "default"


class RateCardError(ValueError):
    """The rate card is missing, malformed or incomplete; the message says where."""


@dataclass(frozen=True)
class RateCard:
    currency: str
    default: Mapping[str, int]  # category -> micros
    markets: Mapping[str, Mapping[str, int]]  # calling code -> category -> micros
    names: Mapping[str, str]  # calling code -> market name

    @classmethod
    def load(cls, path: Union[str, Path] = DEFAULT_PATH) -> "RateCard":
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise RateCardError(f"cannot read rate card {path}: {exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RateCardError(f"rate card {path} is not valid YAML: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "rate card") -> "RateCard":
        if not isinstance(data, dict):
            raise RateCardError(f"{source}: expected a mapping with currency, default and markets")
        currency = data.get("currency")
        if not isinstance(currency, str) or not currency.strip():
            raise RateCardError(f"{source}: `currency` is required (e.g. USD)")
        default = _row(data.get("default"), f"{source}: default")
        missing = [c for c in CATEGORIES if c not in default]
        if missing:
            raise RateCardError(f"{source}: the default row must price every category; missing {', '.join(missing)}")
        markets: Dict[str, Dict[str, int]] = {}
        names: Dict[str, str] = {}
        raw_markets = data.get("markets") or {}
        if not isinstance(raw_markets, dict):
            raise RateCardError(f"{source}: `markets` must map calling codes to rows")
        for code, row in raw_markets.items():
            code = str(code)
            if not code.isdigit():
                raise RateCardError(f"{source}: market {code!r} is not a country calling code (digits only)")
            if isinstance(row, dict) and "name" in row:
                names[code] = str(row["name"])
                row = {k: v for k, v in row.items() if k != "name"}
            markets[code] = _row(row, f"{source}: market {code}")
        return cls(currency=currency.strip().upper(), default=default, markets=markets, names=names)

    def market(self, wa_id: str) -> str:
        """The calling code of the longest listed prefix of the wa_id, or "default"."""
        digits = wa_id.lstrip("+")
        if not digits.isdigit():  # a business-scoped user id carries no country
            return DEFAULT_MARKET
        longest = max((len(code) for code in self.markets), default=0)
        for length in range(min(len(digits), longest), 0, -1):
            if digits[:length] in self.markets:
                return digits[:length]
        return DEFAULT_MARKET

    def rate(self, market: str, category: str) -> int:
        """Micros for one charge of `category` in `market`; unknown categories are refused."""
        if category not in CATEGORIES:
            raise RateCardError(f"no rate for pricing category {category!r}; known: {', '.join(CATEGORIES)}")
        row = self.markets.get(market, {})
        if category in row:
            return row[category]
        if category == "authentication_international" and "authentication" in row:
            return row["authentication"]  # markets without an international rate charge the domestic one
        return self.default[category]

    def market_name(self, market: str) -> Optional[str]:
        return self.names.get(market)


def _row(row: Any, where: str) -> Dict[str, int]:
    if not isinstance(row, dict):
        raise RateCardError(f"{where}: expected a mapping of category to rate")
    rates: Dict[str, int] = {}
    for category, value in row.items():
        if category not in CATEGORIES:
            raise RateCardError(f"{where}: unknown category {category!r}; known: {', '.join(CATEGORIES)}")
        rates[category] = _micros(value, f"{where}.{category}")
    return rates


def _micros(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise RateCardError(f"{where}: {value!r} is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise RateCardError(f"{where}: {value!r} is not an amount") from exc
    if not amount.is_finite() or amount < 0:
        raise RateCardError(f"{where}: {value!r} must be a non-negative amount")
    micros = amount * MICROS
    if micros != micros.to_integral_value():
        raise RateCardError(f"{where}: {value!r} has more than 6 decimal places")
    return int(micros)
