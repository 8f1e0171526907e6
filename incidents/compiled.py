"""``compiled``: a read written with the ORM, compiled to SQL once per connection.

Django builds and compiles a queryset every time it runs one: 0.3-0.5 ms of
Python for each query, more than PostgreSQL takes to run the plain reads of a
case page or an export, though their SQL is the same from one request to the
next but for a few values (the case's id, the ids on the page). Decorate a
function that returns a ``values_list`` queryset::

    @compiled
    def tag_names(case: int) -> QuerySet[Any]:
        return Tag.objects.filter(incidents=case).values_list("name")

The queryset is built once, with a placeholder for each argument, and
compiled for the connection; a call runs the kept SQL with the arguments in
their placeholders' places, through the connection's cursor (so execute
wrappers, the query log, ``django_assert_num_queries`` and the benchmark's
capture see it), and gives the rows as named tuples (plain tuples with
``@compiled(tuples=True)``, cheaper by the thousand), with the converters the
ORM applies to each column (SQLite's datetimes and booleans, durations, JSON,
aggregates). ``.lazy(...)`` reads them when the first is asked for. The rule
of the read stays where it is written, with the ORM; reuse the models'
querysets in it (``Annotation.objects.stance_count_rows``, ``search.seek``).

The arguments are the statement's parameters; the annotation of each says
what its placeholder is:

- ``int``: an id, or a slice's end (``qs[:limit]``: its literal ``LIMIT`` at
  the end of the statement becomes a parameter);
- ``str``, ``dt.datetime``: a value compared with a column (a datetime as the
  connection stores one, ``adapt_datetimefield_value``);
- ``list[int]`` or ``Sequence[int]``: ids, used through
  ``incidents.lookups.AnyOf`` (one text parameter whatever the number of
  ids, an array on PostgreSQL, JSON on SQLite; ``__in`` compiles one
  parameter per id, which cannot stand for another list, and is refused).

- ``float``: a value compared with a float column (a rank).

An argument annotated ``Shape`` (a name: a sort, a segment) or ``bool`` (a
direction) is no parameter but part of the statement's shape: the function
gets its value, and each value compiles a variant of its own. The function
may branch on those, and on whether an argument is None, never on a
parameter's value.

An argument annotated with a dataclass (a frozen one: a filter, who is
reading) stands for its fields, each a parameter or a shape by its own
annotation: ten filters travel as one value, and the function gets an
instance of the class (with placeholders in the parameters' fields).

Call a read with keyword arguments (``_tag_rows(cases=ids)``); positions are
accepted too. Each value must be one the ORM would take: an ``int`` within a
64-bit column's range, ids in it too, a datetime storable in every zone and a
text without NUL or lone surrogates (``incidents.params``). The edges refuse
the others (a 404, a form error); one that gets here anyway is refused with a
``ValueError`` before any SQL runs. A variant whose queryset is empty
(``.none()``: who may see nothing) reads no rows and runs no statement.

Other values in the queryset (constants, choices) are compiled in as they are.

An argument given as ``None`` is no parameter: the function gets ``None`` and
its statement (without that condition, say) is compiled once as a variant of
its own. Keep such variants few. A placeholder that is not found among the
statement's parameters is refused (``ValueError``): the statement would not
depend on that argument. So is a parameter computed from one
(``text.upper()``, ``day + timedelta(1)``): it would be compiled in as the
placeholder's value, the same for every call. Compute such values before the
call and pass them as arguments of their own. With ``fallback=True`` a
variant that cannot be compiled is read through the ORM on each call instead
(SQLite's ``icontains`` computes ``%text%`` from the text), its rows of the
same type.

In the test suite (``INQUEST_CHECK_COMPILED``, set in ``tests/environment.py``)
every call also builds its queryset with the real values and checks that the
ORM writes the statement and parameters about to run: a read whose SQL
depends on more than its shape fails there.

Each connection (one per thread) keeps its own compiled statements, in its own
vendor's SQL. A read with nothing to look for (no ids) still runs its
statement: the caller skips it, as the ORM skips ``__in=[]``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import re
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, overload
from weakref import WeakKeyDictionary

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

from incidents.lookups import ids_array, ids_json
from incidents.params import is_clean_text, is_storable

# The range of a 64-bit signed column: an ``int`` parameter outside it is refused.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# No row has these ids; within even a 32-bit column's range, since Django
# compiles a lookup outside its column's range to "no rows" instead of SQL.
# Positive, so that one can also end a slice.
PLACEHOLDER_BASE = 1_987_654_321
PLACEHOLDER_TIME = dt.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC)
PLACEHOLDER_FLOAT = 1_987_654.321

# An argument annotated ``Shape`` (or ``bool``) is no parameter but part of the
# statement's shape: the function gets its value, and each value compiles a
# variant of its own (a sort's name, a page's direction).
Shape = str
STRUCTURAL = ("Shape", "bool")


def _kind(annotation: Any) -> str:
    """An argument's annotation as written (``int``, ``list[int]``…), without ``| None``."""
    if not isinstance(annotation, str):
        annotation = inspect.formatannotation(annotation)
    # Without the modules' names: dt.datetime, collections.abc.Sequence[int].
    return re.sub(r"\b\w+\.", "", annotation.split(" | ")[0])


def _record(annotation: Any, scope: dict[str, Any]) -> type | None:
    """The dataclass an argument is annotated with (its name looked up in the
    function's module), or None."""
    if not isinstance(annotation, str):
        found: Any = annotation
    else:
        found = scope.get(annotation.strip())
    return found if isinstance(found, type) and dataclasses.is_dataclass(found) else None


def _refusal(kind: str, value: Any) -> str | None:
    """Why the ORM would refuse VALUE for a placeholder of KIND (None: it would not)."""
    if value is None:
        return None
    if kind == "int":
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            return "outside a 64-bit column's range"
    elif kind in ("list[int]", "Sequence[int]"):
        if any(isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX for v in value):
            return "holds an id outside a 64-bit column's range"
    elif kind == "datetime":
        if isinstance(value, dt.datetime) and value.tzinfo is not None and not is_storable(value):
            return "outside the calendar once converted to UTC"
    elif kind == "str" and isinstance(value, str) and not is_clean_text(value):
        return "holds a NUL or a lone surrogate"
    return None


def _placeholder(kind: str, index: int) -> Any:
    """The placeholder of the INDEX-th argument, of annotation KIND."""
    if kind == "int":
        return PLACEHOLDER_BASE + index
    if kind == "str":
        return f"\x1fplaceholder {index}\x1f"
    if kind == "datetime":
        return PLACEHOLDER_TIME + dt.timedelta(seconds=index)
    if kind == "float":
        return PLACEHOLDER_FLOAT + index
    if kind in ("list[int]", "Sequence[int]"):
        return [PLACEHOLDER_BASE + index]
    raise TypeError(f"compiled: an argument annotated {kind!r} cannot be a parameter")


def _encodings(kind: str, connection: Any) -> list[Callable[[Any], Any]]:
    """How a value of KIND may stand among a compiled statement's parameters."""
    if kind == "datetime":
        return [connection.ops.adapt_datetimefield_value]
    if kind in ("list[int]", "Sequence[int]"):
        return [ids_array, ids_json]
    return [lambda value: value]


def _names(queryset: QuerySet[Any]) -> list[str]:
    """The names of a values_list's columns, in their order: the fields as
    given (annotations where they are named among them), else every column."""
    if queryset._fields:  # type: ignore[attr-defined]
        return list(queryset._fields)  # type: ignore[attr-defined]
    query = queryset.query
    return [*query.extra_select, *query.values_select, *query.annotation_select]


@functools.cache
def _row_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names, rename=True)


def _derived(param: Any) -> bool:
    """Whether PARAM looks made from a placeholder rather than being one: a
    string holding a placeholder's text, a time in the placeholders' year, an
    integer near the placeholders' ids."""
    if isinstance(param, str):
        # SQLite is given times as text: the placeholders' year starts it.
        year = f"{PLACEHOLDER_TIME.year}-"
        return "placeholder " in param.lower() or param.startswith(year)
    if isinstance(param, dt.datetime):
        return param.year == PLACEHOLDER_TIME.year
    if isinstance(param, int) and not isinstance(param, bool):
        return abs(param - PLACEHOLDER_BASE) < 10_000
    if isinstance(param, float):
        return abs(param - PLACEHOLDER_FLOAT) < 1_000
    return False


def _refuse_derived(name: str, params: list[Any], slots: set[int]) -> None:
    """A parameter computed from an argument (``text.upper()``, ``day + 1``)
    would be compiled in as the placeholder's value, the same for every call:
    refuse the read rather than answer for the wrong value."""
    for position, param in enumerate(params):
        if position not in slots and _derived(param):
            raise ValueError(
                f"{name}: parameter {position} ({param!r}) is computed from an argument;"
                " compute it before the call and pass it as an argument of its own"
            )


@dataclass(frozen=True)
class Statement:
    """A read compiled for one connection: its SQL, its parameters with the
    arguments' slots, and how to make its rows."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int, Callable[[Any], Any]], ...]  # (position, argument, encoding)
    width: int | None  # the columns to keep when the compiler selected more (for ordering)
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    make: Callable[[Any], Any] | None  # a row from a tuple (None: the tuple as it is)
    connection: Any

    def bind(self, args: tuple[Any, ...]) -> list[Any]:
        params = list(self.params)
        for position, argument, encode in self.slots:
            params[position] = encode(args[argument])
        return params

    def rows(self, fetched: list[Any]) -> list[Any]:
        """FETCHED made rows: cut to the selected columns, each value through
        its column's converters (as ``SQLCompiler.apply_converters`` does), then
        of the rows' type."""
        if self.width is not None:
            fetched = [row[: self.width] for row in fetched]
        if self.converters:
            # Column by column: half the time of converting row by row.
            columns: list[Any] = list(zip(*fetched, strict=True))
            for position, converters, expression in self.converters:
                column = columns[position]
                for convert in converters:
                    column = [convert(value, expression, self.connection) for value in column]
                columns[position] = column
            fetched = list(zip(*columns, strict=True))
        return fetched if self.make is None else list(map(self.make, fetched))


# A variant whose queryset is empty (``.none()``): no statement, no rows.
EMPTY: Any = object()


class CompiledQuery[**P]:
    """A read (a function returning a ``values_list`` queryset) compiled once
    per connection and per variant; calling it gives its rows: named tuples,
    or plain tuples with ``tuples=True`` (cheaper by the thousand rows)."""

    def __init__(
        self, build: Callable[P, QuerySet[Any]], *, tuples: bool = False, fallback: bool = False
    ) -> None:
        self.build = build
        self.tuples = tuples
        self.fallback = fallback
        functools.update_wrapper(self, build)
        self.signature = inspect.signature(build)
        parameters = self.signature.parameters
        self.names = list(parameters)
        scope = getattr(build, "__globals__", {})
        # The arguments' leaves: an argument, or each field of a dataclass argument.
        self.records: dict[int, type] = {}
        self.leaves: list[tuple[int, str | None]] = []
        leaf_names, kinds = [], []
        for position, (name, parameter) in enumerate(parameters.items()):
            record = _record(parameter.annotation, scope)
            if record is None:
                self.leaves.append((position, None))
                leaf_names.append(name)
                kinds.append(_kind(parameter.annotation))
                continue
            self.records[position] = record
            for field in dataclasses.fields(record):
                self.leaves.append((position, field.name))
                leaf_names.append(f"{name}.{field.name}")
                kinds.append(_kind(field.type))
        self.leaf_names = leaf_names
        self.kinds = kinds
        self.structural = [kind in STRUCTURAL for kind in self.kinds]
        for index, kind in enumerate(self.kinds):
            if not self.structural[index]:
                _placeholder(kind, index)  # refuse an argument that cannot be one now
        self.alias: str | None = None
        # By connection (one per thread), then by variant (which arguments are
        # None, and the values of the structural ones); None: built per call.
        self.statements: WeakKeyDictionary[Any, dict[tuple[Any, ...], Statement | None]] = (
            WeakKeyDictionary()
        )

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The call's arguments in the function's order, by keyword or position."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{self.build.__name__}: {error}") from None
        bound.apply_defaults()
        return tuple(bound.arguments[name] for name in self.names)

    def _leaf_values(self, args: tuple[Any, ...]) -> list[Any]:
        """The values of the arguments' leaves, each refused if the ORM would refuse it."""
        values = []
        for (position, field), name, kind in zip(
            self.leaves, self.leaf_names, self.kinds, strict=True
        ):
            value = args[position] if field is None else getattr(args[position], field)
            why = _refusal(kind, value)
            if why is not None:
                raise ValueError(
                    f"{self.build.__name__}: {name}={value!r:.80} is {why};"
                    " the edge (URL converter, form, cursor) should have refused it"
                )
            values.append(value)
        return values

    def _assemble(self, leaves: list[Any]) -> list[Any]:
        """The function's arguments from their leaves' values (dataclasses rebuilt)."""
        args: list[Any] = [None] * len(self.names)
        fields: dict[int, dict[str, Any]] = {position: {} for position in self.records}
        for (position, field), value in zip(self.leaves, leaves, strict=True):
            if field is None:
                args[position] = value
            else:
                fields[position][field] = value
        for position, record in self.records.items():
            args[position] = record(**fields[position])
        return args

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> list[Any]:
        """The rows, read now."""
        arguments = self._arguments(args, kwargs)
        leaves = self._leaf_values(arguments)
        variant = tuple(
            ("shape", a) if structural else a is None
            for a, structural in zip(leaves, self.structural, strict=True)
        )
        if self.alias is None:
            self.alias = self._build(variant).db
        connection = connections[self.alias]
        statements = self.statements.setdefault(connection, {})
        if variant not in statements:
            try:
                statements[variant] = self._compile(connection, variant)
            except ValueError:
                if not self.fallback:
                    raise
                statements[variant] = None
        statement = statements[variant]
        if statement is EMPTY:
            return []
        if statement is None:
            return self._orm_rows(arguments)
        params = statement.bind(tuple(leaves))
        if getattr(settings, "INQUEST_CHECK_COMPILED", False):
            self._check(connection, statement.sql, params, arguments)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            fetched = cursor.fetchall()
        return statement.rows(fetched) if fetched else []

    def _check(self, connection: Any, sql: str, params: list[Any], args: tuple[Any, ...]) -> None:
        """The test suite's check (``INQUEST_CHECK_COMPILED``): the statement
        and parameters about to run are those the ORM writes for ARGS. A read
        whose SQL depends on an argument's value, not only on whether it is
        given, fails here rather than answering for the wrong value."""
        build: Callable[..., QuerySet[Any]] = self.build
        expected_sql, expected = build(*args).query.get_compiler(connection=connection).as_sql()
        if sql.endswith(" LIMIT %s"):  # the ORM writes its LIMIT into the SQL
            sql = f"{sql.removesuffix(' LIMIT %s')} LIMIT {int(params[-1])}"
            params = params[:-1]
        if (sql, list(params)) != (expected_sql, list(expected)):
            raise AssertionError(
                f"{self.build.__name__}: the compiled statement differs from the ORM's\n"
                f"{sql}\n{params}\n{expected_sql}\n{list(expected)}"
            )

    def _orm_rows(self, args: tuple[Any, ...]) -> list[Any]:
        """A variant that cannot be compiled (``fallback=True``): the ORM's own
        read, built for these arguments, its rows of the same type."""
        build: Callable[..., QuerySet[Any]] = self.build
        queryset = build(*args)._chain()  # type: ignore[attr-defined]
        queryset._iterable_class = ValuesListIterable  # plain tuples, flat or named alike
        rows = list(queryset)
        if self.tuples:
            return rows
        make = _row_type(tuple(_names(queryset)))
        return [make(*row) for row in rows]

    def lazy(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[Any]:
        """The rows, read when the first is asked for (a long document reads
        each list when its turn comes)."""
        yield from self(*args, **kwargs)

    def _build(self, variant: tuple[Any, ...]) -> QuerySet[Any]:
        leaves = [
            entry[1] if structural else None if entry else _placeholder(kind, i)
            for i, (kind, entry, structural) in enumerate(
                zip(self.kinds, variant, self.structural, strict=True)
            )
        ]
        build: Callable[..., QuerySet[Any]] = self.build
        return build(*self._assemble(leaves))

    def _compile(self, connection: Any, variant: tuple[Any, ...]) -> Statement:
        queryset = self._build(variant)
        if getattr(queryset, "_fields", None) is None:
            raise TypeError(f"{self.build.__name__}: return a values_list() queryset")
        query = queryset.query
        compiler = query.get_compiler(connection=connection)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # ``.none()``: nothing to read for this variant
            return EMPTY
        params = list(params)
        slots = []
        for index, (kind, entry, structural) in enumerate(
            zip(self.kinds, variant, self.structural, strict=True)
        ):
            if structural or entry is True:  # a shape, or an argument given as None
                continue
            placeholder, found = _placeholder(kind, index), False
            for encode in _encodings(kind, connection):
                stands = encode(placeholder)
                for position, param in enumerate(params):
                    if type(param) is type(stands) and param == stands:
                        slots.append((position, index, encode))
                        found = True
            limit = f" LIMIT {placeholder}"
            if kind == "int" and sql.endswith(limit):
                sql = sql.removesuffix(limit) + " LIMIT %s"
                slots.append((len(params), index, int))
                params.append(placeholder)
                found = True
            if not found:
                raise ValueError(
                    f"{self.build.__name__}: its argument {self.leaf_names[index]!r}"
                    f" is not a parameter of {sql}"
                )
        _refuse_derived(self.build.__name__, params, {position for position, _, _ in slots})
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, tuple(found), expression)
            for position, (found, expression) in compiler.get_converters(fields).items()
        )
        names = _names(queryset)
        make = None if self.tuples else partial(tuple.__new__, _row_type(tuple(names)))
        statement = Statement(
            sql,
            tuple(params),
            tuple(slots),
            compiler.col_count if compiler.has_extra_select else None,
            converters,
            make,
            connection,
        )
        return statement


@overload
def compiled[**P](build: Callable[P, QuerySet[Any]]) -> CompiledQuery[P]: ...
@overload
def compiled[**P](
    *, tuples: bool = False, fallback: bool = False
) -> Callable[[Callable[P, QuerySet[Any]]], CompiledQuery[P]]: ...
def compiled(build: Any = None, *, tuples: bool = False, fallback: bool = False) -> Any:
    """Decorate a read (see the module's docstring) to compile it once per
    connection: ``@compiled``, or ``@compiled(tuples=True)`` for plain tuples;
    ``fallback=True`` reads a variant that cannot be compiled through the ORM
    on each call instead of refusing it."""
    if build is None:
        return partial(CompiledQuery, tuples=tuples, fallback=fallback)
    return CompiledQuery(build, tuples=tuples, fallback=fallback)
