"""Staff search over requests with the database's own full-text index (no Flask here).

The index is ``request_search`` (migration 0003): FTS5 on SQLite (rowid = request id, ranked
by bm25), a tsvector with a GIN index on PostgreSQL (ranked by ts_rank). Triggers keep it
current, so it covers the reference, the address, the resident's email (contact or account),
the description and every event body, internal notes included (staff only).

An exact reference comes first; the rest follow by rank. Agents only see the cases of their
departments (the case's department or the department of one of its tasks); admins see all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Float, Integer, func, select, text
from sqlalchemy.orm import Session, selectinload

from portal.casework.related import visible_to
from portal.places.search import is_search_object
from portal.requests.models import ServiceRequest
from portal.staff.permissions import StaffAccess

#: Tables the full-text index owns (the FTS5 shadow tables share the prefix).
SEARCH_TABLE_PREFIX = "request_search"
PER_PAGE = 20
MAX_PAGE = 50  # ranked results beyond 1,000 are not worth paging through: refine the words
QUERY_MAX = 200
_WORD = re.compile(r"[\w][\w@.+'-]*", re.UNICODE)
_REFERENCE = re.compile(r"^[A-Za-z]{1,8}-\d{4}-\d{1,12}$")


def is_search_table(name: str | None) -> bool:
    """True for the index's tables, which autogenerate must leave alone."""
    return bool(name) and str(name).startswith(SEARCH_TABLE_PREFIX)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic ``include_name`` hook: compare every table but the search indexes' (this one's
    and the address search's, portal.places.search)."""
    if is_search_object(name):
        return False
    return not (type_ == "table" and is_search_table(name))


@dataclass(frozen=True)
class SearchHit:
    request: ServiceRequest
    exact_reference: bool


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[SearchHit]
    page: int
    has_next: bool


def words(query: str) -> list[str]:
    """The search words of a query (punctuation dropped, emails and references kept whole)."""
    return [w.strip(".'-+") for w in _WORD.findall(query[:QUERY_MAX]) if w.strip(".'-+")]


def _fts5_query(terms: list[str]) -> str:
    # Each word becomes a quoted FTS5 string: no operator or column syntax gets through.
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _ranked(session: Session, terms: list[str]):
    """A subquery of (request_id, score), higher score = better match."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            text(
                "SELECT s.request_id AS request_id, ts_rank(s.document, q) AS score "
                "FROM request_search s, plainto_tsquery('english', :q) q WHERE s.document @@ q"
            )
            .bindparams(q=" ".join(terms))
            .columns(request_id=Integer, score=Float)
            .subquery("rs")
        )
    return (
        text(
            "SELECT rowid AS request_id, -rank AS score FROM request_search "
            "WHERE request_search MATCH :q"
        )
        .bindparams(q=_fts5_query(terms))
        .columns(request_id=Integer, score=Float)
        .subquery("rs")
    )


def search_requests(
    session: Session,
    *,
    access: StaffAccess,
    query: str,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchPage:
    """One page of the cases matching ``query`` that ``access`` may see, best first."""
    query = query.strip()[:QUERY_MAX]
    page = min(max(page, 1), MAX_PAGE)
    terms = words(query)
    scope = visible_to(access)  # an agent: their departments' cases and tasks
    hits: list[SearchHit] = []
    exact: ServiceRequest | None = None
    if _REFERENCE.match(query):
        statement = select(ServiceRequest).where(ServiceRequest.reference == query.upper())
        if scope is not None:
            statement = statement.where(scope)
        exact = session.scalar(statement)
        if exact is not None and page == 1:
            hits.append(SearchHit(exact, True))
    if not terms:
        return SearchPage(query, hits, page, False)
    ranked = _ranked(session, terms)
    statement = (
        select(ServiceRequest)
        .join(ranked, ranked.c.request_id == ServiceRequest.id)
        .options(selectinload(ServiceRequest.category), selectinload(ServiceRequest.department))
        .order_by(ranked.c.score.desc(), ServiceRequest.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    if scope is not None:
        statement = statement.where(scope)
    if exact is not None:
        statement = statement.where(ServiceRequest.id != exact.id)
    found = list(session.scalars(statement))
    hits.extend(SearchHit(sr, False) for sr in found[:per_page])
    return SearchPage(query, hits, page, len(found) > per_page)


def indexed_count(session: Session) -> int:
    """How many requests the index holds (for health checks and the benchmark)."""
    return session.scalar(select(func.count()).select_from(text("request_search"))) or 0
