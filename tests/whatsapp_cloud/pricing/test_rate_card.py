"""The rate card: read from rate_card.yml, markets by longest calling-code prefix, clear errors."""

from pathlib import Path

import pytest

from whatsapp_cloud.pricing.rate_card import CATEGORIES, DEFAULT_PATH, RateCard, RateCardError

CARD = {
    "currency": "usd",
    "default": {"marketing": 0.06, "utility": 0.008, "authentication": 0.008, "authentication_international": 0.01,
                "service": 0.008},
    "markets": {
        1: {"name": "North America", "marketing": 0.025},
        "1876": {"name": "Jamaica", "marketing": "0.0301"},
        "91": {"authentication": 0.0014, "authentication_international": 0.028},
    },
}


def test_repository_rate_card_prices_every_category() -> None:
    card = RateCard.load()
    assert DEFAULT_PATH.name == "rate_card.yml" and card.currency == "USD"
    for market in ["default", *card.markets]:
        for category in CATEGORIES:
            assert card.rate(market, category) > 0


def test_longest_calling_code_prefix_wins() -> None:
    card = RateCard.from_dict(CARD)
    assert card.market("15551230001") == "1"
    assert card.market("18765551234") == "1876"
    assert card.market("+919876543210") == "91"
    assert card.market("447700900123") == "default"
    assert card.market("US.13491208655302741918") == "default"  # business-scoped user id: no country
    assert card.market_name("1876") == "Jamaica" and card.market_name("91") is None


def test_rates_in_micros_with_fallback_to_default_row() -> None:
    card = RateCard.from_dict(CARD)
    assert card.currency == "USD"
    assert card.rate("1876", "marketing") == 30_100
    assert card.rate("1", "utility") == 8_000  # not in the row: the default row's
    assert card.rate("91", "authentication_international") == 28_000
    assert card.rate("default", "service") == 8_000


def test_international_authentication_falls_back_to_the_markets_domestic_rate() -> None:
    card = RateCard.from_dict({**CARD, "markets": {"91": {"authentication": 0.0014}}})
    assert card.rate("91", "authentication_international") == 1_400


def test_unknown_category_is_refused() -> None:
    with pytest.raises(RateCardError, match="general_purpose_ai"):
        RateCard.from_dict(CARD).rate("1", "general_purpose_ai")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"currency": ""}, "currency"),
        ({"default": {"marketing": 0.06}}, "missing utility"),
        ({"default": "cheap"}, "expected a mapping"),
        ({"markets": {"+44": {"marketing": 0.05}}}, "calling code"),
        ({"markets": {"44": {"marketing": -0.05}}}, "non-negative"),
        ({"markets": {"44": {"marketing": "lots"}}}, "not an amount"),
        ({"markets": {"44": {"marketing": True}}}, "not an amount"),
        ({"markets": {"44": {"marketing": 0.0000001}}}, "6 decimal places"),
        ({"markets": {"44": {"promotional": 0.05}}}, "unknown category"),
        ({"markets": ["44"]}, "calling codes"),
    ],
)
def test_bad_rate_cards_are_refused_with_the_place(change: dict, message: str) -> None:
    with pytest.raises(RateCardError, match=message):
        RateCard.from_dict({**CARD, **change})


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RateCardError, match="cannot read"):
        RateCard.load(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("currency: USD\ndefault: [unclosed\n")
    with pytest.raises(RateCardError, match="not valid YAML"):
        RateCard.load(broken)
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    with pytest.raises(RateCardError, match="expected a mapping"):
        RateCard.load(empty)
