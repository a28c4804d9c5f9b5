from __future__ import annotations

import math

import pytest

from core.money import currency_prefix, format_money, money_pattern
from scoring.config import ServingConfig, ServingConfigError, load_serving_config


def test_amounts_carry_the_books_currency_or_none():
    assert format_money(12345.4) == "12,345"
    assert format_money(12345.4, "CNY") == "¥12,345"
    assert format_money(-1200, "cny") == "-¥1,200"
    assert format_money(-0.2, "CNY") == "¥0"  # no "-¥0"
    assert format_money(5, "CHF") == "CHF 5"
    assert format_money(math.nan, "CNY") == format_money(None, "CNY") == ""
    assert money_pattern("CNY").format(89284.2) == "¥89,284"
    assert currency_prefix(None) == currency_prefix(" ") == ""


def test_the_currency_setting_is_none_by_default_and_checked(tmp_path):
    assert ServingConfig().currency is None
    assert load_serving_config("configs/serving.yaml").currency is None
    path = tmp_path / "c.yaml"
    path.write_text("serving:\n  currency: CNY\n")
    assert load_serving_config(path).currency == "CNY"
    path.write_text("serving:\n  currency: '¥; drop'\n")
    with pytest.raises(ServingConfigError, match="currency"):
        load_serving_config(path)


def test_the_report_names_the_currency_of_its_amounts():
    from reports.html import _currency_note

    assert _currency_note(None, "en") == ()
    assert _currency_note("CNY", "en") == ("Amounts are in CNY (¥).",)
    assert _currency_note("cny", "zh") == ("金额单位：CNY（¥）。",)
