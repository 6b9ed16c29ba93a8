from __future__ import annotations

from decimal import Decimal

import pytest

from crowdexports.exports.writers.cells import format_money
from crowdexports.money import decimal_converter, exponent, to_decimal, to_minor


@pytest.mark.parametrize(("currency", "digits"), [
    ("EUR", 2), ("usd", 2), ("CHF", 2), ("JPY", 0), ("KRW", 0), ("CLP", 0), ("ISK", 0), ("VND", 0),
    ("XOF", 0), ("BHD", 3), ("KWD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3), ("IQD", 3), ("LYD", 3),
    ("CLF", 4), ("ZZZ", 2),
])
def test_exponents_follow_iso_4217(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (1234, "EUR", "12.34"), (5, "JPY", "5"), (1, "KWD", "0.001"), (0, "EUR", "0.00"),
    (-1050, "EUR", "-10.50"), (1000, "EUR", "10.00"), (100, "JPY", "100"), (30, "EUR", "0.30"),
    (123456789012345678, "EUR", "1234567890123456.78"),
])
def test_to_decimal_is_exact_with_the_currency_decimals(minor: int, currency: str, text: str) -> None:
    value = to_decimal(minor, currency)
    assert isinstance(value, Decimal)
    assert str(value) == text  # exact digits *and* exactly the currency's number of decimals
    assert decimal_converter(currency)(minor) == value
    assert str(decimal_converter(currency)(minor)) == text


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    (Decimal("12.5"), "EUR", 1250), ("12.50", "EUR", 1250), ("12.500", "EUR", 1250), (12, "EUR", 1200),
    (Decimal("1E+2"), "EUR", 10000), ("-0.00", "EUR", 0), (Decimal("0E+999999999"), "EUR", 0),
    (Decimal("0E-999999999"), "JPY", 0), ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("0.0001", "CLF", 1),
    ("92233720368547758.07", "EUR", 2**63 - 1), ("-92233720368547758.07", "EUR", -(2**63 - 1)),
])
def test_to_minor_is_exact(amount: object, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(("amount", "currency", "error", "message"), [
    ("12.345", "EUR", ValueError, "more decimals than EUR"), (Decimal("0.5"), "JPY", ValueError, "JPY"),
    ("1.2345", "KWD", ValueError, "KWD"), (Decimal("1E-999999999"), "EUR", ValueError, "more decimals"),
    (Decimal("1E+999999999"), "EUR", ValueError, "too large"), (Decimal("1E+17"), "EUR", ValueError, "too large"),
    ("92233720368547758.08", "EUR", ValueError, "too large"), (10**30, "JPY", ValueError, "too large"),
    (Decimal("NaN"), "EUR", ValueError, "finite"), (Decimal("-Infinity"), "EUR", ValueError, "finite"),
    ("1e3", "EUR", ValueError, "decimal number"), ("12,50", "EUR", ValueError, "decimal number"),
    ("1" * 41, "EUR", ValueError, "decimal number"), (Decimal("1" * 41), "EUR", ValueError, "too many digits"),
    (12.5, "EUR", TypeError, "number"), (True, "EUR", TypeError, "number"), (None, "EUR", TypeError, "number"),
])
def test_to_minor_refuses_what_it_cannot_store_exactly(amount: object, currency: str, error: type[Exception],
                                                       message: str) -> None:
    with pytest.raises(error, match=message):
        to_minor(amount, currency)


def test_sum_of_minor_units_never_shows_float_artefacts() -> None:
    assert 0.1 + 0.2 != 0.3  # the trap this module exists to avoid
    assert format_money(to_decimal(10, "EUR") + to_decimal(20, "EUR")) == "0.30"
    assert format_money(to_decimal(10 + 20, "EUR")) == "0.30"


def test_csv_money_text_never_uses_exponent_notation() -> None:
    assert format_money(Decimal("1E+2")) == "100"
    assert format_money(Decimal("1E-7")) == "0.0000001"
    assert format_money(to_decimal(0, "KWD")) == "0.000"
    assert format_money(to_decimal(-5, "EUR")) == "-0.05"
