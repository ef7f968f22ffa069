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

from sqlalchemy import ColumnElement, delete, exists, func, select, update
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.models import ServiceCategory
from portal.core.config import Settings
from portal.core.db import Database
from portal.privacy.models import RequestRedaction
from portal.privacy.redact import TEXT_REMOVED, Scrubber
from portal.requests.models import Event, Follower, ServiceRequest
from portal.surveys.models import SurveyInvitation, SurveyResponse

BATCH = 200
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


def redact_request(session: Session, request: ServiceRequest, now: datetime) -> None:
    """Remove the reporter from one request (flush) and record it done."""
    names = [request.contact_name]
    phones = [request.contact_phone]
    if request.reporter_id is not None:
        reporter = session.get(User, request.reporter_id)
        if reporter is not None:
            names.append(reporter.name)
            phones.append(reporter.phone)
    scrub = Scrubber([n for n in names if n], [p for p in phones if p])
    request.description = scrub.text(request.description)
    request.answers = scrub.answers(request.answers)
    request.contact_name = request.contact_email = request.contact_phone = ""
    for event in session.scalars(select(Event).where(Event.request_id == request.id)):
        if event.actor_kind == "resident" and event.body:
            event.body = TEXT_REMOVED
        else:
            event.body = scrub.text(event.body)
    session.execute(delete(Follower).where(Follower.request_id == request.id))
    invitations = select(SurveyInvitation.id).where(SurveyInvitation.request_id == request.id)
    for response in session.scalars(
        select(SurveyResponse).where(SurveyResponse.invitation_id.in_(invitations))
    ):
        response.comment = scrub.text(response.comment)
    session.execute(
        update(SurveyInvitation).where(SurveyInvitation.request_id == request.id).values(email="")
    )
    session.add(RequestRedaction(request_id=request.id, done_at=now))
    session.flush()


def run_retention(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    batch: int = BATCH,
    echo: Callable[[str], object] | None = None,
) -> dict[str, int]:
    """Redact every request due, ``batch`` per transaction; returns the counts per category
    code (categories with none left out)."""
    with db.transaction(write=False) as session:
        categories = _categories(session, settings)
    done: dict[str, int] = {}
    for category_id, code, days in categories:
        cutoff = now - timedelta(days=days)
        while True:
            with db.transaction() as session:
                requests = list(
                    session.scalars(
                        select(ServiceRequest)
                        .where(_due(category_id, cutoff))
                        .order_by(ServiceRequest.id)
                        .limit(batch)
                    )
                )
                for request in requests:
                    redact_request(session, request, now)
            if requests:
                done[code] = done.get(code, 0) + len(requests)
                if echo is not None:
                    echo(f"{code}: {done[code]}")
            if len(requests) < batch:
                break
    return done


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
