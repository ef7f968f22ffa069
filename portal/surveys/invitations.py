"""Who is asked about a resolved case, and when the invitation goes out (no Flask here).

``invite_for_resolution`` runs in the transaction that resolves a case (see
``portal.requests.updates._move``). It invites the case's reporter only (never followers), and
not when:

- the reporter is a staff account, or the case was filed for a staff member's own address;
- there is no address, or the address opted out of surveys;
- that address was invited (to any survey) within ``settings.survey_fatigue_days``.

A case has at most one invitation per survey, whatever happens to it: the unique constraint on
``(request_id, survey_key)`` guarantees it, and a duplicate insert is absorbed by a savepoint
so the resolving transaction carries on. Resolving a case again re-arms the one invitation
when it has not gone out yet (its delay starts again); once sent, it is never sent again.

The invitation waits ``survey_delay_hours``. ``send_due_invitations`` (a worker job) takes due
invitations (``SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` and a conditional update on
SQLite), cancels those whose case was reopened or whose address opted out since, and for the
others makes the single-use link (only its sha256 is stored), queues the email and marks the
invitation sent, all in one transaction: several workers never send one invitation twice.

Invitations without a case (programme surveys, ``portal.programmes.completion``) have
``request_id`` None and a ``subject_key`` whose kind the inviting feature registered
(``portal.surveys.subjects``). Sending one is cancelled when its subject is gone or no longer
wanted (a cancelled programme) or the address opted out; otherwise the kind's email goes out
with the same single-use link.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import CursorResult, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.mail import MailThread, queue_email
from portal.requests.models import ServiceRequest
from portal.requests.updates import resident_thread
from portal.surveys.models import SurveyInvitation, SurveyOptOut
from portal.surveys.subjects import subject_of

log = logging.getLogger(__name__)

TRIGGER = "request_resolved"
#: Case statuses in which a pending invitation still goes out.
STILL_RESOLVED = ("resolved", "closed")
BATCH = 100
#: A token longer than this is not one of ours (``token_urlsafe(32)`` gives 43 characters).
MAX_TOKEN = 100


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh single-use token and its hash (only the hash is stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def survey_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/surveys/{token}"


def opt_out_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/surveys/opt-out/{token}"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def opted_out(session: Session, email: str) -> bool:
    address = normalise_email(email)
    return (
        bool(address)
        and session.scalar(select(SurveyOptOut.id).where(SurveyOptOut.email == address)) is not None
    )


def fatigue_window(settings: Settings, now: datetime) -> tuple[Any, ...]:
    """Conditions on ``SurveyInvitation`` of the invitations that count towards survey
    fatigue: made within ``survey_fatigue_days`` and not cancelled before going out."""
    since = now - timedelta(days=settings.survey_fatigue_days)
    return (
        SurveyInvitation.created_at > since,
        or_(SurveyInvitation.state != "cancelled", SurveyInvitation.sent_at.is_not(None)),
    )


def recently_invited(
    session: Session,
    *,
    settings: Settings,
    email: str,
    now: datetime,
    exclude_id: int | None = None,
) -> bool:
    """Was ``email`` invited to any survey within the fatigue window? An invitation cancelled
    before it went out does not count (the resident never saw it)."""
    query = select(SurveyInvitation.id).where(
        SurveyInvitation.email == normalise_email(email), *fatigue_window(settings, now)
    )
    if exclude_id is not None:
        query = query.where(SurveyInvitation.id != exclude_id)
    return session.scalar(query.limit(1)) is not None


def _reporter_address(session: Session, request: ServiceRequest) -> tuple[str, str] | None:
    """(address, language) of the resident who reported ``request``, or None when there is
    nobody to ask: no address, a staff account, or staff who filed it for their own address."""
    reporter = request.reporter
    if reporter is not None:
        if reporter.role != "resident" or not reporter.email:
            return None
        return reporter.email, reporter.locale or request.locale or "en"
    email = normalise_email(request.contact_email)
    if not email:
        return None
    staff_address = session.scalar(
        select(exists().where(func.lower(User.email) == email, User.role != "resident"))
    )
    if staff_address:
        return None
    return request.contact_email, request.locale or "en"


def invite_for_resolution(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    now: datetime | None = None,
) -> SurveyInvitation | None:
    """Invite the reporter of the just-resolved ``request`` (flush, no commit); returns the
    pending invitation, or None when nobody is to be asked (see the module's rules)."""
    from portal.surveys.definitions import definition_for
    from portal.surveys.schema import DefinitionError

    now = now or clock.now()
    try:
        definition = definition_for(TRIGGER)
    except DefinitionError as error:
        # A broken survey file must never stop a case from being resolved.
        log.error("no survey invitation for %s: %s", request.reference, error)
        return None
    if definition is None:
        return None
    found = _reporter_address(session, request)
    if found is None:
        return None
    email, locale = normalise_email(found[0]), found[1]
    locale = locale if locale in settings.languages else "en"
    if opted_out(session, email):
        return None
    send_after = now + timedelta(hours=settings.survey_delay_hours)
    expires_at = send_after + timedelta(days=settings.survey_expiry_days)
    existing = session.scalar(
        select(SurveyInvitation).where(
            SurveyInvitation.request_id == request.id, SurveyInvitation.survey_key == definition.key
        )
    )
    if existing is not None:
        return _rearm(
            session,
            settings=settings,
            invitation=existing,
            request=request,
            send_after=send_after,
            expires_at=expires_at,
            now=now,
        )
    if recently_invited(session, settings=settings, email=email, now=now):
        return None
    version = survey_version(session, definition)
    if version is None:
        return None
    invitation = SurveyInvitation(
        survey_key=definition.key,
        survey_version_id=version.id,
        request_id=request.id,
        email=email,
        user_id=request.reporter_id,
        locale=locale,
        # NOT NULL and unique: a hash of a token nobody ever gets, replaced when it is sent.
        token_hash=new_token()[1],
        state="pending",
        send_after=send_after,
        expires_at=expires_at,
        department_id=request.department_id,
        category_id=request.category_id,
        created_at=now,
    )
    # Another transaction may have invited this case first: the constraint keeps it to one.
    return invitation if insert_once(session, invitation) else None


def insert_once(session: Session, invitation: SurveyInvitation) -> bool:
    """Add ``invitation`` in a savepoint; False (and nothing added) when the unique
    constraints say its case or enrolment was already invited, so the caller's transaction
    carries on."""
    try:
        with session.begin_nested():
            session.add(invitation)
            session.flush()
    except IntegrityError:
        return False
    return True


def survey_version(session: Session, definition: Any) -> Any:
    """The definition's version row, or None (logged) when its file changed under a version
    that has responses: ``flask surveys check`` reports it; resolving carries on."""
    from portal.surveys.schema import DefinitionError
    from portal.surveys.versions import record_version

    try:
        return record_version(session, definition)
    except DefinitionError as error:
        log.error("no survey invitation: %s", error)
        return None


def _rearm(
    session: Session,
    *,
    settings: Settings,
    invitation: SurveyInvitation,
    request: ServiceRequest,
    send_after: datetime,
    expires_at: datetime,
    now: datetime,
) -> SurveyInvitation | None:
    """The case was resolved again. A pending invitation waits the delay from now; one
    cancelled before it went out (the case was reopened) is pending again; one already sent
    (or answered) is never sent twice."""
    if invitation.sent_at is not None or invitation.state not in ("pending", "cancelled"):
        return None
    if invitation.state == "cancelled" and recently_invited(
        session, settings=settings, email=invitation.email, now=now, exclude_id=invitation.id
    ):
        return None
    invitation.state = "pending"
    invitation.send_after = send_after
    invitation.expires_at = expires_at
    invitation.department_id = request.department_id
    invitation.category_id = request.category_id
    session.flush()
    return invitation


# -- sending ---------------------------------------------------------------------------------


def _claim_batch(session: Session, now: datetime) -> list[SurveyInvitation]:
    query = (
        select(SurveyInvitation)
        .where(SurveyInvitation.state == "pending", SurveyInvitation.send_after <= now)
        .order_by(SurveyInvitation.send_after, SurveyInvitation.id)
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=SurveyInvitation)
    return list(session.scalars(query.options(selectinload(SurveyInvitation.version))))


def _take(session: Session, invitation: SurveyInvitation, **values: object) -> bool:
    """Move a still-pending invitation on; False when another worker got there first."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id == invitation.id, SurveyInvitation.state == "pending")
            .values(**values),
            execution_options={"synchronize_session": False},
        ),
    )
    if result.rowcount != 1:
        return False
    for key, value in values.items():
        setattr(invitation, key, value)
    return True


def _expiry_text(settings: Settings, moment: datetime, locale: str) -> str:
    return format_date(moment.astimezone(ZoneInfo(settings.timezone)).date(), "long", locale=locale)


def _mark_sent(
    session: Session, *, settings: Settings, invitation: SurveyInvitation, now: datetime
) -> str | None:
    """Give a pending invitation its single-use link and mark it sent; returns the token, or
    None when another worker got there first."""
    token, token_hash = new_token()
    expires_at = now + timedelta(days=settings.survey_expiry_days)
    if not _take(
        session, invitation, state="sent", token_hash=token_hash, sent_at=now, expires_at=expires_at
    ):
        return None
    return token


def _cancel(session: Session, invitation: SurveyInvitation) -> str:
    return "cancelled" if _take(session, invitation, state="cancelled") else "skipped"


def send_invitation(
    session: Session,
    *,
    settings: Settings,
    invitation: SurveyInvitation,
    now: datetime,
) -> str:
    """Send or cancel one due invitation; returns "sent", "cancelled" or "skipped"."""
    if invitation.request_id is None and invitation.subject_key:
        return _send_subject_invitation(session, settings=settings, invitation=invitation, now=now)
    request = (
        session.get(ServiceRequest, invitation.request_id)
        if invitation.request_id is not None
        else None
    )
    if (
        request is None
        or request.status not in STILL_RESOLVED
        or opted_out(session, invitation.email)
    ):
        return _cancel(session, invitation)
    return _send(
        session,
        settings=settings,
        invitation=invitation,
        now=now,
        template="survey_invitation",
        context=lambda locale: {
            "reference": request.reference or "",
            "category": request.category.t("name", locale),
        },
        thread=resident_thread(request, user_id=invitation.user_id),
    )


def _send(
    session: Session,
    *,
    settings: Settings,
    invitation: SurveyInvitation,
    now: datetime,
    template: str,
    context: Callable[[str], dict[str, Any]],
    thread: MailThread | None = None,
) -> str:
    """Mark the invitation sent with a fresh single-use link and queue its email
    (``template``, with the survey's title, the links and the expiry, plus ``context(locale)``);
    "skipped" when another worker got there first."""
    from portal.surveys.schema import localized

    token = _mark_sent(session, settings=settings, invitation=invitation, now=now)
    if token is None:
        return "skipped"
    locale = invitation.locale if invitation.locale in settings.languages else "en"
    definition = invitation.version.definition or {}
    queue_email(
        session,
        settings=settings,
        to=invitation.email,
        template=template,
        locale=locale,
        context={
            **context(locale),
            "title": localized(definition.get("title") or {}, locale),
            "survey_url": survey_url(settings, token),
            "opt_out_url": opt_out_url(settings, token),
            "expires": _expiry_text(settings, invitation.expires_at, locale),
        },
        dedupe_key=f"survey:{invitation.id}",
        thread=thread,
    )
    return "sent"


# -- invitations about something else than a case ---------------------------------------------


def subject_title(session: Session, invitation: SurveyInvitation, locale: str) -> str:
    """The title of what a subject invitation is about (a programme...), "" when none."""
    found = subject_of(session, invitation.subject_key)
    return str(found[1].t("title", locale)) if found is not None else ""


def _send_subject_invitation(
    session: Session,
    *,
    settings: Settings,
    invitation: SurveyInvitation,
    now: datetime,
) -> str:
    """An invitation about a subject (``portal.surveys.subjects``): cancelled when the subject
    is gone or no longer wanted, or the address opted out; else the subject kind's email."""
    found = subject_of(session, invitation.subject_key)
    if found is None or not found[0].wanted(found[1]) or opted_out(session, invitation.email):
        return _cancel(session, invitation)
    kind, subject = found
    return _send(
        session,
        settings=settings,
        invitation=invitation,
        now=now,
        template=kind.template,
        context=lambda locale: {kind.title_key: subject.t("title", locale)},
    )


def send_due_invitations(db: Database, settings: Settings, now: datetime) -> str | None:
    """Send (or cancel) every invitation due at ``now``: a worker job, harmless to re-run and
    safe with several workers. Returns what it did, or None when nothing was due."""
    counts = {"sent": 0, "cancelled": 0, "skipped": 0}
    while True:
        with db.transaction() as session:
            batch = _claim_batch(session, now)
            for invitation in batch:
                counts[
                    send_invitation(session, settings=settings, invitation=invitation, now=now)
                ] += 1
        if len(batch) < BATCH:
            break
    if not (counts["sent"] or counts["cancelled"]):
        return None
    return f"sent {counts['sent']} survey invitation(s), cancelled {counts['cancelled']}"


def cancel_pending_for(session: Session, email: str) -> int:
    """Cancel the address's invitations that have not gone out (after an opt-out)."""
    result = session.execute(
        update(SurveyInvitation)
        .where(
            SurveyInvitation.email == normalise_email(email), SurveyInvitation.state == "pending"
        )
        .values(state="cancelled"),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def latest_for_request(session: Session, request_id: int) -> SurveyInvitation | None:
    """The case's invitation (request surveys), for the staff case page."""
    return session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.request_id == request_id)
        .order_by(SurveyInvitation.id.desc())
        .limit(1)
        .options(selectinload(SurveyInvitation.version))
    )


__all__ = ["invite_for_resolution", "send_due_invitations"]
