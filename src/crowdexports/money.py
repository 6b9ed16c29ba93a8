"""Money: integer minor units in, exact `Decimal` out. Never a float, so 10 + 20 cents is "0.30".

Amounts are stored as integers in the currency's minor unit (SPEC §3); how many digits that unit
has is the currency's ISO 4217 exponent. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Context, Decimal

DEFAULT_EXPONENT = 2

# ISO 4217 currencies whose minor unit is not 1/100 (every other currency has 2 decimals).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
         "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}

# scaleb() rounds to the context precision: 40 digits hold any 64-bit amount, so nothing is rounded.
_EXACT = Context(prec=40)


def exponent(currency: str) -> int:
    """Number of decimals of `currency` (case-insensitive); 2 for a code this table does not list."""
    return _EXPONENTS.get(currency.upper(), DEFAULT_EXPONENT)


def decimal_converter(currency: str, *, cache_size: int = 4096) -> Callable[[int | None], Decimal | None]:
    """`to_decimal` for one currency, for hot loops: the lookup is done once; None (no amount) stays None.

    An export repeats a few amounts (reward prices, usual totals) on most rows, and Decimals are
    immutable, so the first `cache_size` distinct amounts are made once and shared.
    """
    shift = -exponent(currency)
    cache: dict[int, Decimal] = {}

    def convert(minor: int | None) -> Decimal | None:
        if minor is None:
            return None
        value = cache.get(minor)
        if value is None:
            value = Decimal(minor).scaleb(shift, _EXACT)
            if len(cache) < cache_size:
                cache[minor] = value
        return value

    return convert


def to_decimal(minor: int, currency: str) -> Decimal:
    """Exact amount with exactly the currency's decimals: 1234 EUR -> 12.34, 5 JPY -> 5, 1 KWD -> 0.001."""
    return Decimal(minor).scaleb(-exponent(currency), _EXACT)


MAX_AMOUNT_TEXT = 40  # characters: longer amount text is refused before Decimal parses it
_MAX_MINOR = 2**63 - 1  # the BIGINT columns
_AMOUNT_TEXT = re.compile(r"-?\d+(\.\d+)?")


def to_minor(amount: object, currency: str) -> int:
    """Exact minor units from an amount in major units: an int, a Decimal (JSON numbers must be decoded
    with `parse_float=Decimal`, never through a binary float) or a decimal string ("12.50").

    Raises TypeError for any other type (bool, float, None, ...), ValueError for text that is not a
    plain decimal, for a non-zero digit past the currency's decimals ("12.505" EUR; "12.500" is
    12.50) and for amounts the database cannot hold.
    """
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | str):
        raise TypeError("must be a number or a decimal string")
    if isinstance(amount, str):
        if len(amount) > MAX_AMOUNT_TEXT or not _AMOUNT_TEXT.fullmatch(amount):
            raise ValueError("must be a decimal number such as 12.50")
        amount = Decimal(amount)
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if len(value.as_tuple().digits) > MAX_AMOUNT_TEXT:  # beyond _EXACT's precision: scaleb would round
        raise ValueError("has too many digits")
    if not value:
        return 0
    places = exponent(currency)
    # Exponents are checked before scaleb, which would overflow on 1E+999999999 and round 1E-999999999 to 0.
    if value.adjusted() + places > 18:  # 10**19 minor units or more: past the BIGINT columns
        raise ValueError("is too large")
    minor = value.scaleb(places, _EXACT) if value.adjusted() >= -places else None  # None: first digit too far
    if minor is None or minor != minor.to_integral_value():
        raise ValueError(f"has more decimals than {currency.upper()} has ({places})")
    if abs(minor) > _MAX_MINOR:
        raise ValueError("is too large")
    return int(minor)
