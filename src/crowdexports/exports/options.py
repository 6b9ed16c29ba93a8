"""Options: what one writer (a file format) or one export type lets an export choose, declared by it.

Each writer and each export type has an `Options` class (a frozen dataclass whose fields are its
options, each with a default) and `parse_options(raw)` returning one. An export stores the object as
JSON in `exports.options`: `{"format": {...the writer's...}, "type": {...the type's...}}`; `{}`, or
a missing part, means every default. Adding an option to a writer is a field on its Options class and
a check in its parse_options: nothing else changes, except the API if the option is to be requested
there (exports.requests maps API fields to options, exports.resource maps them back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from crowdexports.errors import FieldProblem, InvalidInput


class Options(Protocol):
    def to_json(self) -> dict[str, Any]:
        """The stored form, every option given (so a later change of a default does not change it)."""
        ...


@dataclass(frozen=True)
class NoOptions:
    """The options of a writer or export type that has none: only `{}` is accepted."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


NO_OPTIONS = NoOptions()


def parse_no_options(raw: object) -> NoOptions:
    check_mapping(raw)
    return NO_OPTIONS


def check_mapping(raw: object, known: tuple[str, ...] = ()) -> Mapping[str, object]:
    """`raw` as a mapping of known option names; InvalidInput (one problem per unknown name) otherwise."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput([FieldProblem([], "options must be an object", "TypeError")])
    unknown = [FieldProblem([str(key)], "unknown option", "UnknownFieldError") for key in raw if key not in known]
    if unknown:
        raise InvalidInput(unknown)
    return raw


def stored(format_options: Options, type_options: Options) -> dict[str, Any]:
    """An export's `options` column."""
    return {"format": format_options.to_json(), "type": type_options.to_json()}


def format_part(options: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The writer's part of an export's stored options (None: a row of a release without them)."""
    return (options or {}).get("format") or {}


def type_part(options: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The export type's part of an export's stored options."""
    return (options or {}).get("type") or {}
