"""Retention: a closed request keeps its reporter's contact details and free text for the
category's ``retention_days`` (default ``Settings.retention_days``) after it closed; then the
sweep removes them, a batch at a time, and records each request it did (``RequestRedaction``)
so it never does one twice.

What goes: the contact name, email and phone on the request; the reporter's name, phone and
any email address wherever they appear in the description, the answers and the timeline; the
words of the resident's own messages on the timeline; the request's followers (their
addresses); the address its survey invitations went to. What stays: the category, place,
status, dates, staff replies (scrubbed of the name) and photos, so the city's figures and
public record are whole. No Flask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.models import ServiceCategory
from portal.core.config import Settings
from portal.core.db import Database
from portal.privacy.models import RequestRedaction
from portal.privacy.redact import TEXT_REMOVED, Scrubber
from portal.requests.models import Event, Follower, ServiceRequest
from portal.surveys.models import SurveyInvitation, SurveyResponse

#: Requests read (and at most redacted) per transaction.
BATCH = 500
SWEEP_EVERY = timedelta(hours=1)
_last_sweep: WeakKeyDictionary[Database, datetime] = WeakKeyDictionary()


@dataclass(frozen=True)
class CategoryDue:
    code: str
    days: int
    count: int


def _due(category_id: int, cutoff: datetime) -> ColumnElement[bool]:
    done = exists().where(RequestRedaction.request_id == ServiceRequest.id)
    return (
        (ServiceRequest.category_id == category_id)
        & ServiceRequest.is_open.is_(False)
        & (ServiceRequest.status_changed_at <= cutoff)
        & ~done
    )


def _categories(session: Session, settings: Settings) -> list[tuple[int, str, int]]:
    return [
        (row.id, row.code, row.retention_days or settings.retention_days)
        for row in session.execute(
            select(
                ServiceCategory.id, ServiceCategory.code, ServiceCategory.retention_days
            ).order_by(ServiceCategory.code, ServiceCategory.id)
        )
    ]


def due_counts(session: Session, settings: Settings, now: datetime) -> list[CategoryDue]:
    """Per category (every one, in code order): its period and how many closed requests the
    sweep would redact now."""
    out = []
    for category_id, code, days in _categories(session, settings):
        count = session.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .where(_due(category_id, now - timedelta(days=days)))
        )
        out.append(CategoryDue(code, days, int(count or 0)))
    return out


def redact_requests(session: Session, requests: list[ServiceRequest], now: datetime) -> None:
    """Remove the reporters from ``requests`` (flush) and record them done: a few set-based
    statements for the whole batch."""
    if not requests:
        return
    ids = [r.id for r in requests]
    reporter_ids = {r.reporter_id for r in requests if r.reporter_id is not None}
    reporters = {
        row.id: row
        for row in session.execute(
            select(User.id, User.name, User.phone).where(User.id.in_(reporter_ids))
        )
    }
    scrubbers: dict[int, Scrubber] = {}
    for request in requests:
        names, phones = [request.contact_name], [request.contact_phone]
        reporter = reporters.get(request.reporter_id) if request.reporter_id else None
        if reporter is not None:
            names.append(reporter.name)
            phones.append(reporter.phone)
        scrub = scrubbers[request.id] = Scrubber([n for n in names if n], [p for p in phones if p])
        request.description = scrub.text(request.description)
        request.answers = scrub.answers(request.answers)
        request.contact_name = request.contact_email = request.contact_phone = ""
    for event in session.scalars(select(Event).where(Event.request_id.in_(ids))):
        if event.actor_kind == "resident" and event.body:
            event.body = TEXT_REMOVED
        else:
            event.body = scrubbers[event.request_id].text(event.body)
    for response in session.scalars(
        select(SurveyResponse).where(SurveyResponse.request_id.in_(ids))
    ):
        if response.request_id in scrubbers:
            response.comment = scrubbers[response.request_id].text(response.comment)
    # Not synchronised with the session (nothing loaded is affected; evaluating each row in
    # the session for every statement costs more than the statement).
    plain = {"synchronize_session": False}
    session.execute(delete(Follower).where(Follower.request_id.in_(ids)), execution_options=plain)
    session.execute(
        update(SurveyInvitation).where(SurveyInvitation.request_id.in_(ids)).values(email=""),
        execution_options=plain,
    )
    session.execute(insert(RequestRedaction), [{"request_id": i, "done_at": now} for i in ids])
    session.flush()


def run_retention(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    batch: int = BATCH,
    echo: Callable[[str], object] | None = None,
) -> dict[str, int]:
    """Redact every request due; returns the counts per category code (categories with none
    left out). Walks the requests once in id order, ``batch`` per transaction (the primary
    key's order: no sorting, and no page reads another's rows), so it is linear in the
    requests and constant in memory however many are due."""
    with db.transaction(write=False) as session:
        categories = _categories(session, settings)
    cutoffs = {cid: now - timedelta(days=days) for cid, _code, days in categories}
    codes = {cid: code for cid, code, _days in categories}
    done: dict[str, int] = {}
    last = 0
    while True:
        with db.transaction() as session:
            scanned = session.execute(
                select(
                    ServiceRequest.id,
                    ServiceRequest.category_id,
                    ServiceRequest.is_open,
                    ServiceRequest.status_changed_at,
                )
                .where(ServiceRequest.id > last)
                .order_by(ServiceRequest.id)
                .limit(batch)
            ).all()
            candidates = [
                row.id
                for row in scanned
                if not row.is_open
                and row.category_id in cutoffs  # (one added since the sweep began waits)
                and row.status_changed_at <= cutoffs[row.category_id]
            ]
            if candidates:
                already = set(
                    session.scalars(
                        select(RequestRedaction.request_id).where(
                            RequestRedaction.request_id.in_(candidates)
                        )
                    )
                )
                todo = [i for i in candidates if i not in already]
                requests = list(
                    session.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(todo)))
                )
                redact_requests(session, requests, now)
                for request in requests:
                    code = codes[request.category_id]
                    done[code] = done.get(code, 0) + 1
        if echo is not None and candidates:
            echo(", ".join(f"{code}: {count}" for code, count in done.items()))
        if len(scanned) < batch:
            return done
        last = scanned[-1].id


def sweep_retention(db: Database, settings: Settings, now: datetime) -> str | None:
    """Worker job: the retention sweep, at most once an ``SWEEP_EVERY`` per worker process
    (finding what is due reads every closed request once; nothing new is due for hours)."""
    last = _last_sweep.get(db)
    if last is not None and last <= now < last + SWEEP_EVERY:
        return None
    _last_sweep[db] = now
    done = run_retention(db, settings, now)
    total = sum(done.values())
    return f"redacted {total} closed request(s) past retention" if total else None
