"""Merging a duplicate case into the one to keep (no Flask here): its supporters and
followers move there, its reporter follows the kept case, and it closes as "duplicate" (its open
tasks are cancelled by casework's ``case_status_changed`` handler)."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework.service import CaseError, _internal, acting_department, check_version
from portal.core import clock
from portal.core.config import Settings
from portal.requests import updates
from portal.requests.events import add_event
from portal.requests.hooks import StatusChanged, case_status_changed
from portal.requests.models import CLOSED_STATUSES, Event, Follower, ServiceRequest, Support


def merge_duplicate(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    into: ServiceRequest,
    actor: User,
    version: int | None = None,
    since_event_id: int | None = None,
) -> Event:
    """Close ``request`` as a duplicate of ``into``: its supporters and followers move there
    and its reporter follows ``into``. Raises ``CaseError("self" | "closed")``,
    ``InvalidTransition``, ``StaleCase``."""
    if into.id == request.id:
        raise CaseError("self")
    if into.status in CLOSED_STATUSES or into.duplicate_of_id is not None:
        raise CaseError("closed")
    if version is not None:
        check_version(session, request=request, version=version, since_event_id=since_event_id)
    department = acting_department(session, request, actor)
    previous = request.move_to("duplicate")
    request.duplicate_of_id = into.id
    event = add_event(
        session,
        request,
        "duplicate",
        actor=actor,
        actor_kind="staff",
        data={
            "of": into.reference,
            "from": previous,
            "to": "duplicate",
            "department_name": department.name,
        },
    )
    updates.notify(
        session,
        settings=settings,
        request=request,
        event=event,
        reporter=True,
        followers=True,
        with_message=False,
    )
    case_status_changed.fire(
        session,
        StatusChanged(
            settings=settings,
            request=request,
            event=event,
            previous=previous,
            actor=actor,
            actor_kind="staff",
        ),
    )
    _move_supporters(session, request, into)
    _move_followers(session, request, into)
    _internal(session, into, actor=actor, action="merged", duplicate=request.reference)
    return event


def _move_supporters(session: Session, source: ServiceRequest, into: ServiceRequest) -> None:
    taken = select(Support.supporter_key).where(Support.request_id == into.id)
    moved = 0
    for support in session.scalars(select(Support).where(Support.request_id == source.id)):
        if session.scalar(taken.where(Support.supporter_key == support.supporter_key)):
            session.delete(support)
        else:
            support.request_id = into.id
            moved += 1
    session.flush()
    into.support_count = (into.support_count or 0) + moved
    source.support_count = 0


def _move_followers(session: Session, source: ServiceRequest, into: ServiceRequest) -> None:
    existing = {
        email.lower()
        for email in session.scalars(select(Follower.email).where(Follower.request_id == into.id))
    }
    for follower in session.scalars(select(Follower).where(Follower.request_id == source.id)):
        if follower.email.lower() in existing:
            session.delete(follower)
        else:
            existing.add(follower.email.lower())
            follower.request_id = into.id
    session.flush()
    email = (source.reporter_email or "").strip().lower()
    if not email:
        return
    kept = session.scalar(
        select(Follower).where(Follower.request_id == into.id, func.lower(Follower.email) == email)
    )
    now = clock.now()
    if kept is None:
        locale = source.reporter.locale if source.reporter is not None else source.locale
        kept = Follower(
            request_id=into.id,
            email=email,
            user_id=source.reporter_id,
            locale=locale or "en",
            token=secrets.token_urlsafe(32),
            created_at=now,
        )
        session.add(kept)
    kept.confirmed_at = kept.confirmed_at or now
    session.flush()
