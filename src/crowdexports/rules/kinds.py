"""The kinds of input field: what each declares, for the checks (`reader`) and for the API's documentation.

Each rule is a frozen declaration, read by the reader on every line of an import: no per-field
objects or method calls beyond a dict lookup, a type test and the rule's checks. A text's length is
its column's (`Text.column`), so a column and its rule cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, ClassVar

from sqlalchemy import Table

from crowdexports.models import Base

MAX_ID = 2**63 - 1  # the BIGINT id columns


@dataclass(frozen=True, slots=True)
class Characters:
    """The characters a text may not hold, and the message that says so."""

    forbidden: re.Pattern[str]
    rule: str


# One-line texts (names, codes): control characters, line and paragraph separators and lone surrogates,
# which UTF-8 (PostgreSQL, the files, argon2) cannot hold (JSON's "\ud800" decodes to one). Format
# characters (ZWJ in emoji, direction marks) and other spaces stay: real names have them.
ONE_LINE = Characters(re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"),
                      "must not contain control characters, line breaks or lone surrogates")
# People's longer texts (addresses, notes, i18n HTML) keep tab, LF and CR.
MULTI_LINE = Characters(re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]"),
                        "must not contain control characters other than tab and line breaks, nor lone surrogates")
# Secrets keep every character but NUL, which PostgreSQL's texts cannot hold, and lone surrogates.
SECRET = Characters(re.compile("[\x00\ud800-\udfff]"), "must not contain NUL nor lone surrogates")

LANG_PATTERN = r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$"
LANG_RULE = "must be a language code such as 'en' or 'fr'"


def column_length(model: type[Base], column: str) -> int:
    """A String column's length."""
    table: Table = model.__table__
    length: int = table.c[column].type.length  # type: ignore[attr-defined]  # TypeEngine has none; String has
    return length


def _both(first: Callable[[str], object], second: Callable[[str], object]) -> Callable[[str], object]:
    return lambda value: first(value) and second(value)


@dataclass(frozen=True, slots=True)
class Text:
    """A text: at most `max_length` characters, none of `characters.forbidden`, and, when given, one of
    `choices`, matching `pattern` whole and passing `check`; `rule` says what those want. Absent or
    null is `default` (a problem when `required`)."""

    name: str
    max_length: int
    characters: Characters = ONE_LINE
    required: bool = False
    default: str = ""
    pattern: str | None = None  # as JSON Schema documents it, anchored: ^...$
    check: Callable[[str], object] | None = None  # what a pattern cannot say: printable, a known time zone
    rule: str = ""
    choices: tuple[str, ...] = ()
    # What the reader runs, made once from the above.
    forbidden: re.Pattern[str] = field(init=False, repr=False, compare=False)
    accepts: Callable[[str], object] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tests: list[Callable[[str], object]] = []
        if self.choices:
            tests.append(frozenset(self.choices).__contains__)
        if self.pattern is not None:
            tests.append(re.compile(self.pattern).fullmatch)
        if self.check is not None:
            tests.append(self.check)
        object.__setattr__(self, "forbidden", self.characters.forbidden)
        object.__setattr__(self, "accepts", reduce(_both, tests) if tests else None)

    @classmethod
    def column(cls, model: type[Base], column: str, *, name: str | None = None, **rules: Any) -> Text:
        """A text stored in `model.column`, as long as the column; `name` when the input calls it otherwise."""
        return cls(name or column, column_length(model, column), **rules)

    def why(self, value: str) -> str:
        """The problem of a text that fails this rule."""
        if len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        if self.forbidden.search(value):
            return self.characters.rule
        return self.rule


def choice(name: str, choices: tuple[str, ...], *, required: bool = False, default: str = "") -> Text:
    """A text that is one of `choices`."""
    return Text(name, max(map(len, choices)), required=required, default=default, choices=choices,
                rule=f"must be one of: {', '.join(choices)}")


def language(model: type[Base], column: str = "lang") -> Text:
    """A language code (`fr`, `pt-BR`): the export's headers and reward texts; `en` when absent."""
    return Text.column(model, column, default="en", pattern=LANG_PATTERN, rule=LANG_RULE)


@dataclass(frozen=True, slots=True)
class Integer:
    """A JSON integer from `low` to `high`; an id unless said otherwise."""

    name: str
    low: int = 1
    high: int = MAX_ID
    rule: str = "must be a positive id"
    required: bool = True


@dataclass(frozen=True, slots=True)
class Flag:
    """true or false; absent or null is `default`."""

    name: str
    default: bool = False
    required: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount in a currency's major unit (a JSON number or a decimal string), not negative, stored
    exactly in its minor unit (crowdexports.money)."""

    name: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class I18n:
    """A Ulule i18n object, texts by language: `{"en": "...", "fr": "..."}`; absent or null is `{}`."""

    name: str
    max_languages: int = 50
    max_text: int = 100_000  # characters per language: reward descriptions are HTML
    characters: Characters = MULTI_LINE
    required: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Moment:
    """An ISO 8601 date and time with its UTC offset (a time without one is ambiguous)."""

    name: str
    max_length: int = 40
    required: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Headers:
    """Column id to header text, in file order (an export request's `columns`); absent or null: every
    column of the export type, with its own header."""

    name: str
    max_length: int
    required: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Filters:
    """An export request's `filters` object, whose fields the export type checks (its `filters` option,
    exports.types.order_filters); absent or null: every row."""

    name: str
    required: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class ExportRef:
    """`"last"` or an export's id (an orders export's `changes_since`, exports.changes_since)."""

    name: str
    keyword: str = "last"
    required: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Settings:
    """A JSON object holding the fields of another body (a preset's `settings`: an export request's,
    rules.exports), judged by that body's own check."""

    name: str
    required: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Choices:
    """A non-empty JSON list of texts, each one of `choices` (a webhook endpoint's `events`); repeats are
    dropped, the order kept."""

    name: str
    choices: tuple[str, ...]
    required: bool = True

    @property
    def rule(self) -> str:
        return f"must be one of: {', '.join(self.choices)}"


Rule = Text | Integer | Flag | Amount | I18n | Moment | Headers | Filters | ExportRef | Settings | Choices


@dataclass(frozen=True)
class Body:
    """A closed JSON object: its fields, and the read-only fields of its resource, which the service sets
    (PermissionError when sent); any other name is UnknownFieldError."""

    fields: tuple[Rule, ...]
    read_only: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.fields if rule.required)

    def __getitem__(self, name: str) -> Rule:
        return next(rule for rule in self.fields if rule.name == name)
