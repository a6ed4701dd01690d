"""Column maps: which source columns feed which record field through which parser, and the builders made of them.

A format declares its layout as data: the columns it requires and is recognised by, the columns that may hold
prose, and for each PostRecord/AccountRecord field the columns it is read from and the parser that makes its
value. The parsers are small Python expressions, so that a map compiles into one function per layout and header
that builds a row's record with no call per field: as fast as a reader written out by hand.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from detection.engine.readers.limits import ReadLimits
from detection.engine.readers.values import (
    _NONE,
    _PLATFORM_ALIASES,
    _Bad,
    _build_post,
    _count,
    _new_account,
    _new_post,
    _optional_time,
    _row_platform,
    _split_bracketed,
    _time,
)


@dataclass(frozen=True, slots=True, eq=False)
class Parser:
    """How a field's value is made from its cells: a Python expression, inlined into the row builder.

    The expression reads its cells as {0}, {1}, ... (a column the file lacks reads as ""), and may use {field} (the
    name a row error reports: the first column), the read's `default_platform`, `limits`, `id_cap` and `long_cap`,
    the fields made before it (by name), its `helpers`, and its `state` (made once per read by calling the
    factory). With `required`, an empty value is a row error ("missing"). Anything else invalid raises _Bad.
    """

    expression: str
    helpers: Mapping[str, Any] = field(default_factory=dict)
    required: bool = False
    state: Mapping[str, Callable[[], Any]] = field(default_factory=dict)


AS_GIVEN = Parser("{0}")
STRIPPED = Parser("{0}.strip()")
REQUIRED_ID = Parser("{0}.strip()", required=True)
HANDLE = Parser('{0}.strip().lstrip("@")')
TIMESTAMP = Parser("_time({0}, {field})", {"_time": _time})
OPTIONAL_TIMESTAMP = Parser("_optional_time({0}, {field})", {"_optional_time": _optional_time})
COUNT = Parser("_count({0}, {field})", {"_count": _count})
PLATFORM = Parser(
    "_PLATFORM_ALIASES.get({0}) or _row_platform({0}, default_platform)",
    {"_PLATFORM_ALIASES": _PLATFORM_ALIASES, "_row_platform": _row_platform},
)
PLATFORM_DEFAULT_X = Parser('default_platform or "x"')
PLATFORM_X = Parser('"x"')
BRACKETED_LIST = Parser("_split_bracketed({0})", {"_split_bracketed": _split_bracketed})
SPACE_SEPARATED_LIST = Parser("{0}.split() if {0} else _NONE", {"_NONE": _NONE})


@dataclass(frozen=True, slots=True)
class Field:
    """A record field (or several made together), the source columns it is read from, and its parser."""

    name: str | tuple[str, ...]
    columns: str | tuple[str, ...] = ()
    parser: Parser = AS_GIVEN

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) if isinstance(self.name, str) else self.name

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.columns,) if isinstance(self.columns, str) else self.columns


@dataclass(frozen=True, slots=True, eq=False)
class RecordKind:
    """What a row's field values become: the constructor, given every parameter it takes in order."""

    construct: Callable[..., Any]

    def parameters(self) -> list[inspect.Parameter]:
        return list(inspect.signature(self.construct).parameters.values())


# A post whose URLs, hashtags, mentions and media hashes are read as lists of items, then checked and normalised.
NORMALISED_POST = RecordKind(_build_post)
# A post whose fields are all the map makes them (a layout of ids, nothing to normalise).
POST = RecordKind(_new_post)
ACCOUNT = RecordKind(_new_account)

Fields = tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Signature:
    """What a header must have to be recognised: all of some columns, one of others (if any), none of a third set."""

    all_of: frozenset[str]
    any_of: frozenset[str] = frozenset()
    none_of: frozenset[str] = frozenset()

    def matches(self, columns: set[str]) -> bool:
        return (
            self.all_of <= columns
            and (not self.any_of or not self.any_of.isdisjoint(columns))
            and self.none_of.isdisjoint(columns)
        )


@dataclass(frozen=True, slots=True, eq=False)
class CsvLayout:
    """A CSV layout: the columns it requires and is recognised by, and the map of the record each row gives.

    `authors` maps the account columns of a post layout: each author's account is read at its first post.
    `needs_platform`: rows name their platform in a `platform` column, or the caller gives one for the file.
    `prose_columns` may hold long text (capped at max_field_chars, the other columns at max_id_chars).
    """

    name: str
    description: str
    required: tuple[str, ...]
    record: RecordKind
    fields: Fields
    recognised_by: Signature | None = None  # the required columns when None
    prose_columns: frozenset[str] = frozenset()
    authors: Fields = ()
    needs_platform: bool = False

    def recognises(self, columns: set[str]) -> bool:
        return (self.recognised_by or Signature(frozenset(self.required))).matches(columns)


@dataclass(frozen=True, slots=True, eq=False)
class JsonLayout:
    """A JSON Lines layout: an object a line, an account (as `is_account` tells) or a post, each with its key map."""

    name: str
    description: str
    posts: Fields
    accounts: Fields
    is_account: Callable[[dict[str, Any]], bool]


RowBuilder = Callable[[int, Any], Any]
BuilderFactory = Callable[[str | None, ReadLimits], RowBuilder]


def csv_builder(fields: Fields, kind: RecordKind, index: Mapping[str, int]) -> BuilderFactory:
    """The builder factory of a CSV map for a file whose header puts each column at `index`."""
    return _csv_builder(fields, kind, tuple(index.get(c, -1) for c in _columns(fields)))


@lru_cache(maxsize=64)
def _csv_builder(fields: Fields, kind: RecordKind, positions: tuple[int, ...]) -> BuilderFactory:
    at = dict(zip(_columns(fields), positions, strict=True))
    return compile_builder(fields, kind, lambda column: f"row[{at[column]}]" if at[column] >= 0 else '""')


@lru_cache(maxsize=8)
def json_builder(fields: Fields, kind: RecordKind) -> BuilderFactory:
    """The builder factory of a JSON Lines map: the cells are the object's values."""
    return compile_builder(fields, kind, lambda key: f"row.get({key!r})")


def _columns(fields: Fields) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for f in fields for c in f.sources))


def compile_builder(fields: Fields, kind: RecordKind, cell: Callable[[str], str]) -> BuilderFactory:
    """A factory that, given a read's default platform and limits, makes the map's row builder.

    The builder takes a row's line and cells (`cell` gives the source of a column's cell) and returns the record,
    or raises _Bad; the fields are made in the map's order, so a row with several faults reports the first.
    """
    namespace: dict[str, Any] = {"_Bad": _Bad, "_construct": kind.construct}
    prologue: list[str] = []
    body: list[str] = []
    made: set[str] = set()
    for f in fields:
        reported = (f.sources or f.names)[0]
        expression = f.parser.expression.format(*map(cell, f.sources), field=repr(reported))
        for name, helper in f.parser.helpers.items():
            if namespace.setdefault(name, helper) is not helper:
                raise ValueError(f"two helpers named {name}")
        for name, factory in f.parser.state.items():
            namespace[f"_new_{name}"] = factory
            prologue.append(f"{name} = _new_{name}()")
        body.append(f"{', '.join(f.names)} = {expression}")
        if f.parser.required:
            body.append(f"if not {f.names[0]}:\n    raise _Bad({reported!r}, 'missing')")
        made.update(f.names)
    arguments = []
    for parameter in kind.parameters():
        if parameter.name in made or parameter.name in ("line", "limits"):
            arguments.append(parameter.name)
        elif parameter.default is inspect.Parameter.empty:
            raise ValueError(f"the map makes no {parameter.name}, which {kind.construct.__name__} needs")
        elif parameter.default in ("", (), None):
            arguments.append(repr(parameter.default))
        else:
            namespace[f"_default_{parameter.name}"] = parameter.default
            arguments.append(f"_default_{parameter.name}")
    body.append(f"return _construct({', '.join(arguments)})")
    source = "\n".join(
        [
            "def new_builder(default_platform, limits):",
            "    id_cap = limits.max_id_chars",
            "    long_cap = limits.max_field_chars",
            *(f"    {line}" for line in prologue),
            "    def build(line, row):",
            *(f"        {line}" for statement in body for line in statement.split("\n")),
            "    return build",
        ]
    )
    filename = f"<column map {next(_compiled)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)  # for tracebacks
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - built above from the map's own parsers
    return namespace["new_builder"]


_compiled = itertools.count(1)
