"""Enrolling in programmes: places, the waitlist, offers, applications (no Flask here).

Every function flushes and never commits: the web request, command or job commits once.
A refused operation raises ``ProgrammeError`` (or ``AnswersRejected``) and writes nothing.

- First come: a place is taken with one conditional statement
  ``UPDATE programmes SET taken = taken + 1 WHERE id = :id AND status = 'open'
  AND taken < capacity AND waiting = 0``; when it matches no row the resident joins the
  waitlist (``waiting = waiting + 1``). ``waiting = 0`` keeps newcomers behind the waitlist.
- Application: enrolling records an application; the coordinator approves it after the window
  closes (a place if one is free, else the waitlist) or rejects it.
- A freed place is offered to the head of the waitlist (``queued_at, id``), held until a
  deadline; ``process_programme_offers`` lets lapsed offers pass on (see
  ``portal.programmes.offers``, re-exported here).
- Programme-wide changes: capacity, status (with the allowed transitions), a message to
  everyone enrolled; each writes an ``AuditEntry``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.programmes.eligibility import EligibilityCheck, check_eligibility
from portal.programmes.models import CANCEL_REASONS, Enrolment, Programme
from portal.programmes.offers import (
    BATCH,
    FILLING,
    LIVE,
    ProgrammeError,
    bump,
    fill_locked,
    fill_places,
    lock_programme,
    move,
    notify,
    process_programme_offers,
    release,
    shrink_locked,
    stamp,
    when,
)

#: Check-in codes: no 0/O, 1/I/L, so they can be read out at the door.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_ATTEMPTS = 8


class AnswersRejected(ProgrammeError):
    """The answers are incomplete or invalid (code ``answers``: see ``check.errors``) or do
    not qualify (code ``ineligible``: see ``check.ineligible``)."""

    def __init__(self, code: str, check: EligibilityCheck) -> None:
        super().__init__(code)
        self.check = check


@dataclass
class EnrolResult:
    enrolment: Enrolment
    #: "enrolled" | "waitlisted" | "applied"
    outcome: str
    #: 1-based place in the waitlist when waitlisted, else None
    position: int | None = None


def new_check_in_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def can_enrol(programme: Programme, now: datetime) -> str | None:
    """None when residents can enrol at ``now``, else why not (``not_open`` or
    ``window_closed``)."""
    if programme.status != "open":
        return "not_open"
    opens, closes = programme.enrol_opens_at, programme.enrol_closes_at
    if opens is None or now < opens or (closes is not None and now >= closes):
        return "window_closed"
    return None


def live_enrolment(session: Session, *, programme_id: int, user_id: int) -> Enrolment | None:
    """The resident's enrolment in the programme when it is still going, else None."""
    enrolment = session.scalar(
        select(Enrolment).where(
            Enrolment.programme_id == programme_id, Enrolment.user_id == user_id
        )
    )
    return enrolment if enrolment is not None and enrolment.state in LIVE else None


def waitlist_position(session: Session, enrolment: Enrolment) -> int | None:
    """1-based place in the programme's waitlist; None unless waitlisted."""
    if enrolment.state != "waitlisted":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(
            Enrolment.programme_id == enrolment.programme_id,
            Enrolment.state == "waitlisted",
            or_(
                Enrolment.queued_at < enrolment.queued_at,
                and_(Enrolment.queued_at == enrolment.queued_at, Enrolment.id < enrolment.id),
            ),
        )
    )
    return int(ahead or 0) + 1


# -- enrolling -------------------------------------------------------------------------------


def enrol(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    user: User,
    raw: dict[str, Any],
    locale: str,
    now: datetime | None = None,
) -> EnrolResult:
    """Enrol ``user`` with the answers ``raw`` (question code -> posted value): a place, the
    waitlist, or an application, and the matching email. Raises ``ProgrammeError``
    (not_open, window_closed, already_enrolled) or ``AnswersRejected`` (answers, ineligible);
    nothing is written then."""
    given, now = now, now or clock.now()
    refused = can_enrol(programme, now)
    if refused:
        raise ProgrammeError(refused)
    existing = session.scalar(
        select(Enrolment).where(
            Enrolment.programme_id == programme.id, Enrolment.user_id == user.id
        )
    )
    if existing is not None and existing.state in LIVE:
        raise ProgrammeError("already_enrolled")
    check = check_eligibility(programme, raw)
    if check.errors:
        raise AnswersRejected("answers", check)
    if check.ineligible:
        raise AnswersRejected("ineligible", check)
    locale = locale if locale in settings.languages else "en"
    try:
        with session.begin_nested():
            state = _admit(session, programme)
            # Read the clock again once the programme row is ours, so the waitlist order
            # (queued_at) is the order in which places were asked for under the lock.
            queued_at = given or clock.now()
            fields = {
                "state": state,
                "answers": check.answers,
                "locale": locale,
                "queued_at": queued_at,
                "enrolled_at": queued_at if state == "enrolled" else None,
            }
            if existing is not None:
                enrolment = _reuse(session, existing, now=now, **fields)
            else:
                enrolment = _insert(session, programme=programme, user=user, now=now, **fields)
    except IntegrityError:
        raise ProgrammeError("already_enrolled") from None
    position = waitlist_position(session, enrolment)
    if state == "enrolled":
        _notify_enrolled(session, settings=settings, enrolment=enrolment)
    elif state == "waitlisted":
        notify(
            session,
            settings=settings,
            enrolment=enrolment,
            template="waitlisted",
            dedupe=stamp(enrolment.queued_at),
            position=position,
            application=False,
        )
    else:
        notify(
            session,
            settings=settings,
            enrolment=enrolment,
            template="applied",
            dedupe=stamp(enrolment.queued_at),
            closes=when(settings, programme.enrol_closes_at, locale),
        )
    return EnrolResult(enrolment=enrolment, outcome=state, position=position)


def _admit(session: Session, programme: Programme) -> str:
    """Take a place (first come), a waitlist spot, or nothing (application)."""
    if programme.admission == "application":
        return "applied"
    if bump(
        session,
        programme,
        Programme.status == "open",
        Programme.taken < Programme.capacity,
        Programme.waiting == 0,
        taken=Programme.taken + 1,
    ):
        return "enrolled"
    if bump(session, programme, Programme.status == "open", waiting=Programme.waiting + 1):
        return "waitlisted"
    raise ProgrammeError("not_open")


def _reuse(session: Session, enrolment: Enrolment, *, now: datetime, **fields: Any) -> Enrolment:
    """A resident enrolling again after a cancellation (or rejection) keeps their row and
    check-in code; everything else starts afresh."""
    if not move(
        session,
        enrolment,
        from_states=("cancelled", "rejected"),
        offered_at=None,
        offer_expires_at=None,
        cancelled_at=None,
        cancel_reason=None,
        decided_by_id=None,
        completed=None,
        **fields,
    ):
        raise ProgrammeError("already_enrolled")
    return enrolment


def _insert(
    session: Session, *, programme: Programme, user: User, now: datetime, **fields: Any
) -> Enrolment:
    for _attempt in range(CODE_ATTEMPTS):
        enrolment = Enrolment(
            programme_id=programme.id,
            user_id=user.id,
            check_in_code=new_check_in_code(),
            created_at=now,
            updated_at=now,
            **fields,
        )
        try:
            with session.begin_nested():
                session.add(enrolment)
                session.flush()
        except IntegrityError:
            # Either this resident enrolled in another tab a moment ago, or the random
            # check-in code is taken in this programme: then draw another.
            if (
                session.scalar(
                    select(Enrolment.id).where(
                        Enrolment.programme_id == programme.id, Enrolment.user_id == user.id
                    )
                )
                is not None
            ):
                raise ProgrammeError("already_enrolled") from None
            continue
        return enrolment
    raise ProgrammeError("invalid", "check_in_code")


def session_lines(settings: Settings, programme: Programme, locale: str) -> list[dict[str, str]]:
    """The programme's sessions as an email lists them."""
    return [
        {
            "title": s.t("title", locale) or "",
            "when": when(settings, s.starts_at, locale),
            "place": s.place or "",
            "online_url": s.online_url or "",
        }
        for s in programme.sessions
    ]


def _notify_enrolled(
    session: Session, *, settings: Settings, enrolment: Enrolment, template: str = "enrolled"
) -> None:
    locale = enrolment.locale if enrolment.locale in settings.languages else "en"
    notify(
        session,
        settings=settings,
        enrolment=enrolment,
        template=template,
        dedupe=stamp(enrolment.enrolled_at),
        check_in_code=enrolment.check_in_code,
        sessions=session_lines(settings, enrolment.programme, locale),
    )


# -- leaving, offers -------------------------------------------------------------------------


def _locked(session: Session, enrolment: Enrolment) -> Programme:
    """Lock the enrolment's programme, then re-read the enrolment (its state is current)."""
    programme = lock_programme(session, enrolment.programme_id)
    if programme is None:
        raise ProgrammeError("bad_state")
    session.refresh(enrolment)
    return programme


def cancel_enrolment(
    session: Session,
    *,
    settings: Settings,
    enrolment: Enrolment,
    by: User | None,
    reason: str = "resident",
    now: datetime | None = None,
) -> None:
    """Cancel a live enrolment (applied, enrolled, waitlisted, offered) for ``reason``; the
    place or waitlist spot it held is given back and free places are offered on. Raises
    ``ProgrammeError("bad_state")`` for one that is no longer live."""
    now = now or clock.now()
    if reason not in CANCEL_REASONS:
        raise ProgrammeError("invalid", "reason")
    programme = _locked(session, enrolment)
    _cancel(
        session,
        programme=programme,
        enrolment=enrolment,
        from_states=LIVE,
        by=by,
        reason=reason,
        now=now,
    )
    if reason in ("resident", "coordinator"):
        notify(
            session,
            settings=settings,
            enrolment=enrolment,
            template="left",
            dedupe=stamp(now),
            reason=reason,
        )
    fill_locked(session, settings=settings, programme=programme, now=now)


def _cancel(
    session: Session,
    *,
    programme: Programme,
    enrolment: Enrolment,
    from_states: tuple[str, ...],
    by: User | None,
    reason: str,
    now: datetime,
) -> None:
    prior = enrolment.state
    if prior not in from_states:
        raise ProgrammeError("bad_state")
    decided_by = by.id if by is not None and by.id != enrolment.user_id else None
    if not move(
        session,
        enrolment,
        from_states=(prior,),
        state="cancelled",
        cancel_reason=reason,
        cancelled_at=now,
        decided_by_id=decided_by,
    ):
        raise ProgrammeError("bad_state")
    release(session, programme, prior)


def accept_offer(
    session: Session, *, settings: Settings, enrolment: Enrolment, now: datetime | None = None
) -> None:
    """Take up an offered place before its deadline (``offer_expired`` after it)."""
    now = now or clock.now()
    _locked(session, enrolment)
    if enrolment.state != "offered":
        raise ProgrammeError("bad_state")
    if enrolment.offer_expires_at is None or now >= enrolment.offer_expires_at:
        raise ProgrammeError("offer_expired")
    if not move(session, enrolment, from_states=("offered",), state="enrolled", enrolled_at=now):
        raise ProgrammeError("bad_state")
    _notify_enrolled(session, settings=settings, enrolment=enrolment)


def decline_offer(
    session: Session, *, settings: Settings, enrolment: Enrolment, now: datetime | None = None
) -> None:
    """Turn an offered place down: the enrolment is cancelled and the place passes on."""
    now = now or clock.now()
    programme = _locked(session, enrolment)
    _cancel(
        session,
        programme=programme,
        enrolment=enrolment,
        from_states=("offered",),
        by=None,
        reason="offer_declined",
        now=now,
    )
    fill_locked(session, settings=settings, programme=programme, now=now)


# -- applications ----------------------------------------------------------------------------


def approve_application(
    session: Session,
    *,
    settings: Settings,
    enrolment: Enrolment,
    by: User,
    now: datetime | None = None,
) -> str:
    """Approve an application once the enrolment window has closed: a free place
    ("enrolled") or else the waitlist, in application order ("waitlisted"). Raises
    ``bad_state`` before the window closes, for a programme not open or closed, or for an
    enrolment that is not an application."""
    now = now or clock.now()
    programme = _locked(session, enrolment)
    if enrolment.state != "applied" or programme.status not in FILLING:
        raise ProgrammeError("bad_state")
    if programme.enrol_closes_at is not None and now < programme.enrol_closes_at:
        raise ProgrammeError("bad_state", "window_open")
    with session.begin_nested():
        if bump(
            session,
            programme,
            Programme.status.in_(FILLING),
            Programme.taken < Programme.capacity,
            Programme.waiting == 0,
            taken=Programme.taken + 1,
        ):
            outcome = "enrolled"
            values: dict[str, Any] = {"enrolled_at": now}
        else:
            bump(session, programme, waiting=Programme.waiting + 1)
            outcome, values = "waitlisted", {}
        if not move(
            session,
            enrolment,
            from_states=("applied",),
            state=outcome,
            decided_by_id=by.id,
            **values,
        ):
            raise ProgrammeError("bad_state")
    if outcome == "enrolled":
        _notify_enrolled(session, settings=settings, enrolment=enrolment, template="approved")
    else:
        notify(
            session,
            settings=settings,
            enrolment=enrolment,
            template="waitlisted",
            dedupe=stamp(enrolment.queued_at),
            position=waitlist_position(session, enrolment),
            application=True,
        )
        fill_locked(session, settings=settings, programme=programme, now=now)
    return outcome


def reject_application(
    session: Session,
    *,
    settings: Settings,
    enrolment: Enrolment,
    by: User,
    now: datetime | None = None,
) -> None:
    """Turn an application down (``bad_state`` unless it is one) and tell the resident."""
    now = now or clock.now()
    _locked(session, enrolment)
    if enrolment.state != "applied":
        raise ProgrammeError("bad_state")
    if not move(
        session,
        enrolment,
        from_states=("applied",),
        state="rejected",
        decided_by_id=by.id,
        cancelled_at=now,
    ):
        raise ProgrammeError("bad_state")
    notify(
        session,
        settings=settings,
        enrolment=enrolment,
        template="rejected",
        dedupe=stamp(enrolment.queued_at),
    )


# -- the programme as a whole ---------------------------------------------------------------

#: Allowed status changes (anything else is ``bad_state``).
TRANSITIONS = {
    "draft": ("open", "cancelled"),
    "open": ("closed", "cancelled"),
    "closed": ("open", "completed", "cancelled"),
}
CAPACITY_MAX = 100_000
SUBJECT_MAX = 200
BODY_MAX = 5_000


def _audit(
    session: Session,
    *,
    by: User | None,
    programme: Programme,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=by.id if by is not None else None,
        entity="programme",
        entity_id=str(programme.id),
        action=action,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


def set_capacity(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    capacity: int,
    by: User | None,
    now: datetime | None = None,
) -> None:
    """Change the number of places. More places are offered to the waitlist; fewer than are
    held move the surplus back to the front of the waitlist (latest offers, then the latest
    enrolled), each told by email. Raises ``ProgrammeError("invalid")`` below 1."""
    now = now or clock.now()
    if not isinstance(capacity, int) or not 1 <= capacity <= CAPACITY_MAX:
        raise ProgrammeError("invalid", "capacity")
    if lock_programme(session, programme.id) is None:
        raise ProgrammeError("bad_state")
    before = {
        "capacity": programme.capacity,
        "taken": programme.taken,
        "waiting": programme.waiting,
    }
    bump(session, programme, capacity=capacity)
    moved = []
    if programme.taken > capacity:
        moved = shrink_locked(session, programme=programme, surplus=programme.taken - capacity)
        for enrolment in moved:
            notify(
                session,
                settings=settings,
                enrolment=enrolment,
                template="moved_to_waitlist",
                dedupe=stamp(now),
                position=waitlist_position(session, enrolment),
            )
    offered = fill_locked(session, settings=settings, programme=programme, now=now)
    _audit(
        session,
        by=by,
        programme=programme,
        action="capacity",
        before=before,
        after={
            "capacity": capacity,
            "taken": programme.taken,
            "waiting": programme.waiting,
            "moved_to_waitlist": len(moved),
            "offered": offered,
        },
    )


def change_status(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    status: str,
    by: User | None,
    now: datetime | None = None,
) -> None:
    """Move the programme along ``TRANSITIONS`` (else ``bad_state``). Opening a draft needs a
    session and an enrolment window (``invalid``, detail ``no_sessions``/``no_window``).
    Cancelling cancels every live enrolment and emails each person; completing records who
    completed (``portal.programmes.completion``)."""
    now = now or clock.now()
    if lock_programme(session, programme.id) is None:
        raise ProgrammeError("bad_state")
    current = programme.status
    if status not in TRANSITIONS.get(current, ()):
        raise ProgrammeError("bad_state")
    if current == "draft" and status == "open":
        if not programme.sessions:
            raise ProgrammeError("invalid", "no_sessions")
        opens, closes = programme.enrol_opens_at, programme.enrol_closes_at
        if opens is None or closes is None or opens >= closes:
            raise ProgrammeError("invalid", "no_window")
    stamps: dict[str, Any] = {}
    if status == "cancelled":
        stamps["cancelled_at"] = now
    elif status == "completed":
        stamps["completed_at"] = now
    if not bump(session, programme, Programme.status == current, status=status, **stamps):
        raise ProgrammeError("bad_state")
    session.refresh(programme)
    if status == "cancelled":
        _cancel_everyone(session, settings=settings, programme=programme, now=now)
    elif status == "completed":
        from portal.programmes.completion import complete_programme

        complete_programme(session, settings=settings, programme=programme, now=now)
    elif status in FILLING:
        fill_locked(session, settings=settings, programme=programme, now=now)
    _audit(
        session,
        by=by,
        programme=programme,
        action="status",
        before={"status": current},
        after={"status": status},
    )


def _cancel_everyone(
    session: Session, *, settings: Settings, programme: Programme, now: datetime
) -> None:
    after = 0
    while True:
        batch = list(
            session.scalars(
                select(Enrolment)
                .where(
                    Enrolment.programme_id == programme.id,
                    Enrolment.state.in_(LIVE),
                    Enrolment.id > after,
                )
                .order_by(Enrolment.id)
                .limit(BATCH)
            )
        )
        for enrolment in batch:
            if move(
                session,
                enrolment,
                from_states=LIVE,
                state="cancelled",
                cancel_reason="programme_cancelled",
                cancelled_at=now,
            ):
                notify(
                    session,
                    settings=settings,
                    enrolment=enrolment,
                    template="cancelled",
                    dedupe="programme",
                )
        if len(batch) < BATCH:
            break
        after = batch[-1].id
    bump(session, programme, taken=0, waiting=0)


def message_enrolees(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    subject: str,
    body: str,
    by: User | None,
    now: datetime | None = None,
) -> int:
    """Email the coordinator's ``subject`` and ``body`` (plain text, escaped in the HTML
    part) to everyone enrolled; returns how many were queued. Raises
    ``ProgrammeError("invalid", "subject"|"body")`` when one is empty or too long."""
    subject = " ".join((subject or "").split())
    body = (body or "").strip().replace("\r\n", "\n")
    if not subject or len(subject) > SUBJECT_MAX:
        raise ProgrammeError("invalid", "subject")
    if not body or len(body) > BODY_MAX:
        raise ProgrammeError("invalid", "body")
    entry = _audit(
        session, by=by, programme=programme, action="message", before={}, after={"subject": subject}
    )
    sent = after = 0
    while True:
        batch = list(
            session.scalars(
                select(Enrolment)
                .where(
                    Enrolment.programme_id == programme.id,
                    Enrolment.state == "enrolled",
                    Enrolment.id > after,
                )
                .order_by(Enrolment.id)
                .limit(BATCH)
            )
        )
        for enrolment in batch:
            notify(
                session,
                settings=settings,
                enrolment=enrolment,
                template="message",
                dedupe=str(entry.id),
                subject=subject,
                body=body,
            )
            sent += 1
        if len(batch) < BATCH:
            break
        after = batch[-1].id
    entry.after = {"subject": subject, "recipients": sent}
    session.flush()
    return sent


__all__ = [
    "AnswersRejected",
    "EnrolResult",
    "ProgrammeError",
    "accept_offer",
    "approve_application",
    "can_enrol",
    "cancel_enrolment",
    "change_status",
    "decline_offer",
    "enrol",
    "fill_places",
    "live_enrolment",
    "message_enrolees",
    "process_programme_offers",
    "reject_application",
    "set_capacity",
    "waitlist_position",
]
