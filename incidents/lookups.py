"""``AnyOf``: a column equal to one of a list of ids, the list as one parameter.

``filter(id__in=ids)`` prepares, converts and binds every id on its own: for
the 200 candidates of a search that was about a millisecond of Python per
query on the benchmark machine, more than the query itself. ``AnyOf(F("id"),
ids)`` binds the whole list as one text parameter: on PostgreSQL an array's
text, ``"id" = ANY(%s::bigint[])`` (quicker to bind than a Python list); on
SQLite a JSON array, ``"id" IN (SELECT value FROM json_each(%s))`` (its
planner still looks each id up in the column's index); elsewhere it is the
same ``IN (…)`` as ``__in``. One parameter for the whole list is also what
lets ``incidents.compiled`` put another list in its place. The ids come from
our own queries; each is made an ``int``, so nothing else can reach the SQL.

Use it as a filter expression: ``qs.filter(AnyOf(F("id"), ids))``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import Lookup


def ids_array(ids: Iterable[int]) -> str:
    """IDS as the array literal ``AnyOf`` binds on PostgreSQL (as text: psycopg
    adapts a list of a hundred ints in twice the time)."""
    return "{" + ",".join([str(int(pk)) for pk in ids]) + "}"


def ids_json(ids: Iterable[int]) -> str:
    """IDS as the JSON array ``AnyOf`` binds on SQLite."""
    return json.dumps([int(pk) for pk in ids], separators=(",", ":"))


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False  # each id as it is: no field conversion per element

    def __init__(self, lhs: Any, ids: Iterable[int]) -> None:
        super().__init__(lhs, [int(pk) for pk in ids])

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = compiler.compile(self.lhs)
        if not self.rhs:
            return "1 = 0", ()
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", (*params, *self.rhs)

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = compiler.compile(self.lhs)
        return f"{lhs} = ANY(%s::bigint[])", (*params, ids_array(self.rhs))

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = compiler.compile(self.lhs)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*params, ids_json(self.rhs))
