"""Decoded JSON objects read by their rules (`kinds`), every problem collected instead of stopping at the
first, in the Ulule error format: one InvalidInput whose field names start with the reader's prefix
(`["line 12", "user", "email"]`).

A field that is null reads as absent. A good field costs a dict lookup and a type test, which is what
keeps the order import fast: per-field method calls and objects would cost more than the JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.money import to_minor
from crowdexports.rules.kinds import (
    LANG_PATTERN,
    LANG_RULE,
    ONE_LINE,
    Amount,
    Body,
    Choices,
    Flag,
    I18n,
    Integer,
    Moment,
    Text,
)

MAX_NAME_IN_ERROR = 100  # characters of an unknown field's name (or language) repeated in an error
READ_ONLY_RULE = "is read-only: the service sets it"
_LANG = re.compile(LANG_PATTERN)
_CACHED_AMOUNT_TYPES = (int, str, Decimal)


def _shown(name: object) -> str:
    """A name from the input as an error repeats it: cut, since it may be anything."""
    return str(name)[:MAX_NAME_IN_ERROR]


@lru_cache(maxsize=16384)
def _cached_minor(kind: str, amount: object, currency: str) -> int:
    """to_minor, remembered: most lines repeat a few prices and totals, and a conversion costs ~5 µs,
    a third of a line's checks. `kind` keeps equal values of other types apart (1 and "1")."""
    return to_minor(amount, currency)


class Reader:
    """Reads the fields of decoded JSON objects, collecting problems under `prefix`; `done` raises them."""

    __slots__ = ("prefix", "problems")

    def __init__(self, prefix: Sequence[str] = ()) -> None:
        self.prefix = list(prefix)
        self.problems: list[FieldProblem] = []

    def problem(self, path: Sequence[str], message: str, classification: str = "ValueError") -> None:
        self.problems.append(FieldProblem([*self.prefix, *path], message, classification))

    def required(self, path: Sequence[str]) -> None:
        self.problem(path, "is required", "RequiredError")

    def ok(self, name: str) -> bool:
        """Whether field `name` has no problem so far: checks against other rows are only worth it then."""
        start = len(self.prefix)
        return all(problem.field_names[start:start + 1] != [name] for problem in self.problems)

    def done(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)

    def json_object(self, value: object, *path: str) -> dict[str, Any]:
        """`value` if it is a JSON object; else a problem, and {} whose fields all read as absent."""
        if type(value) is dict:
            return value
        self.problem(path, "must be a JSON object", "TypeError")
        return {}

    def closed(self, body: Mapping[str, object], rules: Body) -> None:
        """Refuse the names of `body` that are not fields of `rules`: the resource's read-only ones as
        PermissionError (the caller believes they have an effect), others as UnknownFieldError."""
        for name in body:
            if name in rules.read_only:
                self.problem([name], READ_ONLY_RULE, "PermissionError")
            elif name not in rules.names:
                self.problem([_shown(name)], "unknown field", "UnknownFieldError")

    def texts(self, body: Mapping[str, Any], rules: Sequence[Text], *path: str) -> list[str]:
        """The values of text fields, in the order of `rules`; a bad value is kept (its problem is noted)."""
        values = []
        for rule in rules:
            value = body.get(rule.name)
            if value is None:
                if rule.required:
                    self.required([*path, rule.name])
                value = rule.default
            elif type(value) is not str:
                self.problem([*path, rule.name], "must be a string", "TypeError")
                value = rule.default
            elif len(value) > rule.max_length or rule.forbidden.search(value) or (
                    rule.accepts is not None and not rule.accepts(value)):
                self.problem([*path, rule.name], rule.why(value))
            values.append(value)
        return values

    def text(self, body: Mapping[str, Any], rule: Text, *path: str) -> str:
        return self.texts(body, (rule,), *path)[0]

    def integer(self, body: Mapping[str, Any], rule: Integer, *path: str) -> int:
        """The value, or 0 (never an id) when absent or bad."""
        name = rule.name
        value = body.get(name)
        if type(value) is int and rule.low <= value <= rule.high:
            return value
        if value is None:
            if rule.required:
                self.required([*path, name])
        elif type(value) is not int:
            self.problem([*path, name], "must be an integer", "TypeError")
        else:
            self.problem([*path, name], rule.rule)
        return 0

    def choices(self, body: Mapping[str, Any], rule: Choices) -> list[str]:
        """The values, without repeats; a bad item is a problem under its index."""
        value = body.get(rule.name)
        if value is None:
            if rule.required:
                self.required([rule.name])
            return []
        if type(value) is not list or not value:
            self.problem([rule.name], f"must be a non-empty list; each item {rule.rule}", "TypeError")
            return []
        for index, item in enumerate(value):
            if item not in rule.choices:
                self.problem([rule.name, str(index)], rule.rule)
        return list(dict.fromkeys(item for item in value if item in rule.choices))

    def flag(self, body: Mapping[str, Any], rule: Flag) -> bool:
        value = body.get(rule.name)
        if value is None:
            return rule.default
        if type(value) is not bool:
            self.problem([rule.name], "must be true or false", "TypeError")
            return rule.default
        return value

    def amount(self, body: Mapping[str, Any], rule: Amount, currency: str | None, *path: str) -> int:
        """Minor units of `currency`; without a currency (its project is unknown, which is reported)
        only its presence is checked, since its decimals depend on it."""
        name = rule.name
        value = body.get(name)
        if value is None:
            if rule.required:
                self.required([*path, name])
            return 0
        if currency is None:
            return 0
        try:
            kind = type(value)
            minor = (_cached_minor(kind.__name__, value, currency) if kind in _CACHED_AMOUNT_TYPES
                     else to_minor(value, currency))
        except TypeError as exc:
            self.problem([*path, name], str(exc), "TypeError")
        except ValueError as exc:
            self.problem([*path, name], str(exc))
        else:
            if minor >= 0:
                return minor
            self.problem([*path, name], "must not be negative")
        return 0

    def i18n(self, body: Mapping[str, Any], rule: I18n) -> dict[str, str]:
        value = body.get(rule.name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(entry, str) for entry in value.values()):
            self.problem([rule.name], 'must be an object of texts by language, such as {"en": "…"}', "TypeError")
            return {}
        if len(value) > rule.max_languages:
            self.problem([rule.name], f"must have at most {rule.max_languages} languages")
        for lang, entry in value.items():
            if not _LANG.fullmatch(lang):
                self.problem([rule.name, _shown(lang)], LANG_RULE)
            elif len(entry) > rule.max_text:
                self.problem([rule.name, lang], f"must be at most {rule.max_text} characters")
            elif rule.characters.forbidden.search(entry):
                self.problem([rule.name, lang], rule.characters.rule)
        return dict(value)

    def moment(self, body: Mapping[str, Any], rule: Moment) -> datetime | None:
        """As an aware UTC datetime; None when absent or bad."""
        value = body.get(rule.name)
        if value is None:
            self.required([rule.name])
            return None
        if type(value) is not str:
            self.problem([rule.name], "must be a string", "TypeError")
            return None
        try:
            # fromisoformat skips a NUL or other control character after the seconds: refuse them first.
            moment = (datetime.fromisoformat(value)
                      if len(value) <= rule.max_length and not ONE_LINE.forbidden.search(value) else None)
        except ValueError:
            moment = None
        if moment is None:
            self.problem([rule.name], "must be an ISO 8601 date and time such as 2024-05-01T12:30:00+02:00")
        elif moment.tzinfo is None:
            self.problem([rule.name], "must give its UTC offset, such as +02:00 or Z")
        else:
            try:
                return moment.astimezone(UTC)
            except OverflowError:
                self.problem([rule.name], "is out of range")
        return None
