"""Keyset pagination: cursors that hold a page's last sort key and row id, and the queries
that start from them, so a deep page costs the same as the first (never OFFSET).

A cursor is ``<name>.<value>.<value>...``: datetimes as UTC digits, numbers as they are. A
cursor that is missing, malformed or made for another sort decodes to None (the first page).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import Session

#: Rows without a value (no due time) sort after every real one.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
_STAMP = "%Y%m%d%H%M%S%f"
_MAX_ID = 2**62


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    parts = [sort]
    for value in values:
        if isinstance(value, datetime):
            parts.append(value.astimezone(UTC).strftime(_STAMP))
        else:
            parts.append(str(int(value)))
    return ".".join(parts)


def decode_cursor(raw: str | None, sort: str, kinds: Sequence[str]) -> list[Any] | None:
    """The key values in a cursor for ``sort``, or None when missing, malformed or foreign."""
    if not raw or len(raw) > 120:
        return None
    name, *parts = raw.split(".")
    if name != sort or len(parts) != len(kinds):
        return None
    values: list[Any] = []
    try:
        for part, kind in zip(parts, kinds, strict=True):
            if kind == "dt":
                values.append(datetime.strptime(part, _STAMP).replace(tzinfo=UTC))
            else:
                number = int(part)
                if not 0 <= number <= _MAX_ID:
                    return None
                values.append(number)
    except ValueError:
        return None
    return values


def keyset(
    session: Session,
    query: Select[*tuple[Any, ...]],
    keys: Sequence[ColumnElement[Any]],
    *,
    after: list[Any] | None,
    before: list[Any] | None,
    per_page: int,
    descending: bool = False,
) -> tuple[list[Any], bool, bool]:
    """One page of ``query`` in ``keys`` order (the last key unique), ascending or, with
    ``descending``, descending on every key: the rows after the ``after`` key values, or the
    page before ``before``, or the first page.

    Returns (rows, more before, more after); each row ends with its key values."""
    query = query.add_columns(*keys)
    columns = tuple_(*keys)

    def bound(values: list[Any]) -> Any:
        return tuple_(*(literal(v, k.type) for v, k in zip(values, keys, strict=True)))

    def forward(k: Any) -> Any:
        return k.desc() if descending else k.asc()

    def backward(k: Any) -> Any:
        return k.asc() if descending else k.desc()

    if before is not None:
        edge = columns > bound(before) if descending else columns < bound(before)
        query = query.where(edge).order_by(*(backward(k) for k in keys)).limit(per_page + 1)
        results = session.execute(query).all()
        return list(reversed(results[:per_page])), len(results) > per_page, True
    if after is not None:
        query = query.where(columns < bound(after) if descending else columns > bound(after))
    query = query.order_by(*(forward(k) for k in keys)).limit(per_page + 1)
    results = session.execute(query).all()
    return list(results[:per_page]), after is not None, len(results) > per_page


def nulls_last_keyset(
    session: Session,
    query: Select[*tuple[Any, ...]],
    *,
    column: Any,
    ident: Any,
    after: list[Any] | None,
    before: list[Any] | None,
    per_page: int,
) -> tuple[list[Any], bool, bool]:
    """One page of ``query`` in (``column``, ``ident``) order with nulls last, as two index
    range scans: the rows with a value in (column, ident) order, then the rows without one
    in ``ident`` order. A null sorts as ``FAR_FUTURE`` in cursors, so ``after``/``before``
    are the usual [datetime, id] pairs.

    Returns (rows, more before, more after); each row ends with (value or FAR_FUTURE, id)."""
    dated, undated = column.is_not(None), column.is_(None)
    limit = per_page + 1

    def run(select_: Select[*tuple[Any, ...]], wanted: int) -> list[Any]:
        if wanted <= 0:
            return []
        rows = session.execute(select_.limit(wanted)).all()
        return [(*row, row[-2] or FAR_FUTURE, row[-1]) for row in rows]

    query = query.add_columns(column, ident)
    if before is not None:
        value, key = before
        if value >= FAR_FUTURE:
            results = run(query.where(undated, ident < key).order_by(ident.desc()), limit)
            results += run(
                query.where(dated).order_by(column.desc(), ident.desc()), limit - len(results)
            )
        else:
            results = run(
                query.where(
                    dated,
                    tuple_(column, ident)
                    < tuple_(literal(value, column.type), literal(key, ident.type)),
                ).order_by(column.desc(), ident.desc()),
                limit,
            )
        return list(reversed(results[:per_page])), len(results) > per_page, True
    results = []
    if after is None or after[0] < FAR_FUTURE:
        ordered = query.where(dated)
        if after is not None:
            ordered = ordered.where(
                tuple_(column, ident)
                > tuple_(literal(after[0], column.type), literal(after[1], ident.type))
            )
        results = run(ordered.order_by(column.asc(), ident.asc()), limit)
    rest = query.where(undated)
    if after is not None and after[0] >= FAR_FUTURE:
        rest = rest.where(ident > after[1])
    results += run(rest.order_by(ident.asc()), limit - len(results))
    return results[:per_page], after is not None, len(results) > per_page
