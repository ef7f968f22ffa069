"""Survey comments: the verbatim comments of survey responses, for the results page and its CSV.

``comments_page`` pages the latest non-empty comments of a ``Selection`` with a keyset on
(created_at, id), newest first, reading each department through its own index range and merging
the pages; ``all_comments`` reads them a keyset page at a time for the export. The case a
comment is about is named only where the viewer may see it. No Flask here.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.orm import Session

from portal.core.keyset import decode_cursor, encode_cursor
from portal.requests.models import ServiceRequest
from portal.surveys.models import SurveyResponse
from portal.surveys.results import Selection

COMMENTS_PER_PAGE = 20
_CURSOR = "cm"
_KINDS = ("dt", "int")


@dataclass(frozen=True)
class Comment:
    id: int
    created_at: datetime
    comment: str
    csat: int | None
    resolved: str | None
    department_id: int | None
    category_id: int | None
    #: The case's reference, or None when the viewer may not see who answered (a survey
    #: anonymous to staff, read by an agent) or there is no case.
    reference: str | None = None


@dataclass(frozen=True)
class CommentPage:
    comments: list[Comment]
    #: Cursor of the next (older) page, and of the previous (newer) one.
    next_cursor: str | None
    previous_cursor: str | None


def _comment_query(
    selection: Selection, department_id: int | None, key: Any, newer: bool, limit: int
) -> Any:
    """One page of one department's (or every department's) comments from the cursor
    ``key``. The cursor replaces the period's bound on its side, so the index range starts
    at the cursor (SQLite would otherwise pick the period's bound and walk to the cursor)."""
    r = SurveyResponse
    start, end = selection.start, selection.end
    query = select(
        r.id,
        r.created_at,
        r.comment,
        r.csat,
        r.resolved,
        r.department_id,
        r.category_id,
        r.request_id,
    ).where(r.comment != "", r.survey_key == selection.survey_key)
    if key is not None and newer and key[0] >= start:
        query = query.where(r.created_at >= key[0], r.created_at < end)
    elif key is not None and not newer and key[0] < end:
        query = query.where(r.created_at >= start, r.created_at <= key[0])
    else:
        query = query.where(r.created_at >= start, r.created_at < end)
    if department_id is not None:
        query = query.where(r.department_id == department_id)
    if selection.category_id is not None:
        query = query.where(r.category_id == selection.category_id)
    if key is not None:  # the row value breaks ties on created_at
        bound = tuple_(literal(key[0], r.created_at.type), literal(key[1], r.id.type))
        query = query.where(
            tuple_(r.created_at, r.id) > bound if newer else tuple_(r.created_at, r.id) < bound
        )
    order = (r.created_at.asc(), r.id.asc()) if newer else (r.created_at.desc(), r.id.desc())
    return query.order_by(*order).limit(limit)


def comments_page(
    session: Session,
    selection: Selection,
    *,
    identify: Callable[[int | None], bool] = lambda department_id: True,
    after: str | None = None,
    before: str | None = None,
    per_page: int = COMMENTS_PER_PAGE,
) -> CommentPage:
    """The latest non-empty comments of ``selection``, newest first, a page at a time
    (``after``: the page older than that cursor; ``before``: the page newer than it; a bad
    cursor gives the first page). ``identify(department_id)`` says whether the viewer may see
    the case a comment of that department is about; references are read only for those.

    With several departments, each is read through its own index range and the pages are
    merged (no sort of the whole period)."""
    start_key = decode_cursor(after, _CURSOR, _KINDS)
    end_key = decode_cursor(before, _CURSOR, _KINDS) if start_key is None else None
    newer = end_key is not None
    key = end_key if newer else start_key
    limit = per_page + 1
    ids = selection.department_ids
    scopes: list[int | None] = [None] if ids is None else [*sorted(ids)]
    runs = [
        list(session.execute(_comment_query(selection, d, key, newer, limit)).all()) for d in scopes
    ]
    if len(runs) == 1:
        merged = runs[0]
    else:

        def sort_key(row: Any) -> tuple[datetime, int]:
            return (row.created_at, row.id)

        merged = list(heapq.merge(*runs, key=sort_key, reverse=not newer))[:limit]
    more = len(merged) > per_page
    rows = merged[:per_page]
    if newer:
        rows.reverse()
    wanted = {
        row.request_id for row in rows if row.request_id is not None and identify(row.department_id)
    }
    references = (
        dict(
            session.execute(
                select(ServiceRequest.id, ServiceRequest.reference).where(
                    ServiceRequest.id.in_(sorted(wanted))
                )
            ).all()
        )
        if wanted
        else {}
    )
    comments = [
        Comment(
            id=row.id,
            created_at=row.created_at,
            comment=row.comment,
            csat=row.csat,
            resolved=row.resolved,
            department_id=row.department_id,
            category_id=row.category_id,
            reference=references.get(row.request_id) if identify(row.department_id) else None,
        )
        for row in rows
    ]
    has_older = more if not newer else True
    has_newer = (key is not None) if not newer else more
    return CommentPage(
        comments=comments,
        next_cursor=encode_cursor(_CURSOR, [rows[-1].created_at, rows[-1].id])
        if rows and has_older
        else None,
        previous_cursor=encode_cursor(_CURSOR, [rows[0].created_at, rows[0].id])
        if rows and has_newer
        else None,
    )


def all_comments(
    session: Session,
    selection: Selection,
    *,
    identify: Callable[[int | None], bool] = lambda department_id: True,
    limit: int = 5000,
    batch: int = 500,
) -> Iterator[Comment]:
    """The latest ``limit`` comments of ``selection``, newest first (for the CSV export),
    read a keyset page at a time."""
    cursor = None
    given = 0
    while given < limit:
        page = comments_page(
            session, selection, identify=identify, after=cursor, per_page=min(batch, limit - given)
        )
        yield from page.comments
        given += len(page.comments)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


__all__ = [
    "Comment",
    "CommentPage",
    "all_comments",
    "comments_page",
]
