"""Delete my account: the person goes, the city's record of its requests stays.

The ``users`` row is kept as an empty shell (no email, name, phone or password; it can never
sign in again), so every foreign key to it stays valid; everything that named or reached the
person is removed or scrubbed. docs/data-rights.md says what happens to each table. No Flask.
"""

from __future__ import annotations

import secrets
from collections import Counter
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from portal.auth.models import User, UserIdentity
from portal.auth.service import authenticate, end_sessions
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.privacy.export import discard_file
from portal.privacy.kinds import BATCH, Person, own_follows, own_invitations, own_requests
from portal.privacy.models import DataExport
from portal.privacy.redact import Scrubber
from portal.programmes.models import Enrolment
from portal.programmes.offers import LIVE, ProgrammeError
from portal.programmes.service import cancel_enrolment
from portal.push.models import PushSubscription
from portal.requests.models import (
    AreaSubscription,
    Event,
    Follower,
    RequestDraft,
    RequestPhoto,
    ServiceRequest,
    Support,
)
from portal.requests.photos import delete_photo_file
from portal.surveys.models import SurveyInvitation, SurveyResponse

#: The address a deleted account keeps (unique, and never deliverable: .invalid).
DELETED_DOMAIN = "deleted.invalid"


class DeletionError(Exception):
    """``reason``: "wrong_password", "staff" (staff accounts are removed by an administrator),
    "deleted" (already gone) or "reauth_expired" (the sign-in again at the provider is older
    than ``REAUTH_WINDOW``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_deleted(user: User) -> bool:
    return user.email.endswith("@" + DELETED_DOMAIN)


#: How long a fresh sign-in through the city's provider (``portal.auth.sso``'s
#: re-authentication) confirms a deletion instead of the password.
REAUTH_WINDOW = timedelta(minutes=10)


def check_can_delete(
    session: Session,
    user: User,
    password: str | None,
    *,
    reauthenticated_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """The owner confirmed with their ``password``, or by signing in again through the
    provider at ``reauthenticated_at`` (within ``REAUTH_WINDOW`` of ``now``). Raises
    ``DeletionError`` ("deleted", "staff", "wrong_password", "reauth_expired")."""
    if is_deleted(user) or not user.active:
        raise DeletionError("deleted")
    if user.is_staff:
        raise DeletionError("staff")
    if reauthenticated_at is not None:
        if now is None or not now - REAUTH_WINDOW <= reauthenticated_at <= now:
            raise DeletionError("reauth_expired")
        return
    checked = authenticate(session, user.email, password or "")
    if checked is None or checked.id != user.id:
        raise DeletionError("wrong_password")


def _ids_in_batches(session: Session, key: Any, where: ColumnElement[bool]):
    """Ids matching ``where``, a batch at a time, by keyset (for rows that go on matching)."""
    last: Any = None
    while True:
        statement = select(key).where(where).order_by(key).limit(BATCH)
        if last is not None:
            statement = statement.where(key > last)
        ids = list(session.scalars(statement))
        if ids:
            yield ids
        if len(ids) < BATCH:
            return
        last = ids[-1]


def _until_none_left(session: Session, key: Any, where: ColumnElement[bool]):
    """Ids matching ``where``, a batch at a time, for rows the caller changes so they no
    longer match: no ordering, so each batch reads only itself through the index."""
    while True:
        ids = list(session.scalars(select(key).where(where).limit(BATCH)))
        if ids:
            yield ids
        if len(ids) < BATCH:
            return


def _scrub_requests(session: Session, person: Person, scrub: Scrubber, counts: Counter) -> None:
    """Their requests stay (public ones stay public) without their name, contacts or free
    text naming them; the whole timeline of each, and their comments anywhere, scrubbed."""
    for ids in _until_none_left(session, ServiceRequest.id, own_requests(person)):
        for request in session.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(ids))):
            request.description = scrub.text(request.description)
            request.answers = scrub.answers(request.answers)
            request.contact_name = request.contact_email = request.contact_phone = ""
            request.reporter_id = None
            request.tracking_token_hash = None
        for event in session.scalars(select(Event).where(Event.request_id.in_(ids))):
            event.body = scrub.text(event.body)
        counts["requests"] += len(ids)
        session.flush()
    for ids in _until_none_left(session, Event.id, Event.actor_id == person.user_id):
        for event in session.scalars(select(Event).where(Event.id.in_(ids))):
            event.body = scrub.text(event.body)
            event.actor_id = None
        counts["comments"] += len(ids)
        session.flush()


def _scrub_surveys(session: Session, person: Person, scrub: Scrubber, counts: Counter) -> None:
    """Answers stay in the results, with nothing left that points to the person."""
    for ids in _until_none_left(session, SurveyInvitation.id, own_invitations(person)):
        for response in session.scalars(
            select(SurveyResponse).where(SurveyResponse.invitation_id.in_(ids))
        ):
            response.comment = scrub.text(response.comment)
            response.answers = scrub.answers(response.answers)
            response.contact_ok = False if response.contact_ok else response.contact_ok
            counts["survey_answers"] += 1
        session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id.in_(ids), SurveyInvitation.state.in_(("pending", "sent")))
            .values(state="cancelled")
        )
        session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id.in_(ids))
            .values(email="", user_id=None)
        )
        session.flush()


def _leave_programmes(
    session: Session, user: User, settings: Settings, now: datetime, counts: Counter
) -> None:
    """Places held are given back (the waitlist moves on); enrolments stay, anonymous (their
    account is the empty shell) and without the eligibility answers."""
    for ids in _ids_in_batches(session, Enrolment.id, Enrolment.user_id == user.id):
        for enrolment in list(session.scalars(select(Enrolment).where(Enrolment.id.in_(ids)))):
            if enrolment.state in LIVE:
                with suppress(ProgrammeError):  # it moved on meanwhile
                    cancel_enrolment(
                        session,
                        settings=settings,
                        enrolment=enrolment,
                        by=user,
                        reason="resident",
                        now=now,
                    )
            enrolment.answers = {}
            counts["enrolments"] += 1
        session.flush()


def _remove_own_rows(session: Session, person: Person, settings: Settings, counts: Counter):
    """What only served the person: follows, alerts, devices with notifications on, drafts,
    downloads, emails and push messages not sent."""
    follows = session.execute(delete(Follower).where(own_follows(person)))
    counts["follows"] = int(getattr(follows, "rowcount", 0) or 0)
    alerts = session.execute(
        delete(AreaSubscription).where(AreaSubscription.user_id == person.user_id)
    )
    counts["alerts"] = int(getattr(alerts, "rowcount", 0) or 0)
    # Single sign-on links (issue 24): the provider's name for the person goes too.
    session.execute(delete(UserIdentity).where(UserIdentity.user_id == person.user_id))
    devices = [
        str(device_id)
        for device_id in session.scalars(
            select(PushSubscription.id).where(PushSubscription.user_id == person.user_id)
        )
    ]
    if devices:
        session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.channel == "push",
                OutboxMessage.to_address.in_(devices),
                OutboxMessage.state != "sent",
            )
        )
        session.execute(delete(PushSubscription).where(PushSubscription.user_id == person.user_id))
    counts["push_devices"] = len(devices)
    session.execute(update(Support).where(Support.user_id == person.user_id).values(user_id=None))
    drafts = list(
        session.scalars(select(RequestDraft.id).where(RequestDraft.user_id == person.user_id))
    )
    orphans = session.execute(
        select(RequestPhoto.id, RequestPhoto.storage_key).where(
            RequestPhoto.draft_id.in_(drafts), RequestPhoto.request_id.is_(None)
        )
    ).all()
    session.execute(delete(RequestPhoto).where(RequestPhoto.id.in_([o.id for o in orphans])))
    session.execute(delete(RequestDraft).where(RequestDraft.id.in_(drafts)))
    for export in session.scalars(select(DataExport).where(DataExport.user_id == person.user_id)):
        discard_file(settings, export)
    session.execute(delete(DataExport).where(DataExport.user_id == person.user_id))
    if person.email:
        session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.to_address == person.email, OutboxMessage.state != "sent"
            )
        )
    session.flush()
    for orphan in orphans:
        delete_photo_file(settings, orphan.storage_key)


def delete_account(
    session: Session,
    user: User,
    password: str | None,
    *,
    settings: Settings,
    now: datetime,
    reauthenticated_at: datetime | None = None,
) -> dict[str, int]:
    """Delete ``user``'s account after checking ``password`` or a recent re-authentication at
    the provider (``check_can_delete``; flush, no commit). Raises ``DeletionError``. Returns
    what was changed, by kind (the audit entry records it)."""
    check_can_delete(session, user, password, reauthenticated_at=reauthenticated_at, now=now)
    # Rows under their address count only if they proved it is theirs (else anyone could
    # wipe another person's requests by signing up with that address and deleting).
    person = Person.of(user)
    scrub = Scrubber([user.name], [user.phone] if user.phone else [])
    counts: Counter[str] = Counter()
    user_id = user.id
    _leave_programmes(session, user, settings, now, counts)
    _scrub_requests(session, person, scrub, counts)
    _scrub_surveys(session, person, scrub, counts)
    _remove_own_rows(session, person, settings, counts)
    user = session.get(User, user_id) or user
    user.email = f"deleted-{user_id}-{secrets.token_hex(4)}@{DELETED_DOMAIN}"
    user.name = ""
    user.phone = ""
    user.password_hash = "!deleted"
    user.active = False
    user.email_verified_at = None
    user.last_login_at = None
    end_sessions(session, user)
    summary = {k: int(v) for k, v in sorted(counts.items())}
    session.add(
        AuditEntry(
            actor_id=None,
            entity="account",
            entity_id=str(user_id),
            action="deleted_by_owner",
            before={},
            after=summary,
            created_at=now,
        )
    )
    session.flush()
    return summary
