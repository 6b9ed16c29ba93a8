"""How the text of a body or of an import line becomes JSON: one decoder for every input, so an
amount is read the same exact way wherever it comes from."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any


def decode_json(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (amounts never pass through a float).
    Raises ValueError for anything that is not JSON: NaN and Infinity (which JSON does not have), an
    exponent too large for a Decimal, and nesting too deep to parse."""
    try:
        return json.loads(text, parse_float=_decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:  # 1e999999999999999999: past the largest exponent a Decimal has
        raise ValueError(f"{text[:40]} is out of range") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
