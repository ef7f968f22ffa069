"""Enrolling in programmes: places, the waitlist, offers (no Flask here).

Every function flushes and never commits: the web request, command or job commits once.
A refused operation raises ``ProgrammeError`` (or ``AnswersRejected``) and writes nothing.

- First come: a place is taken with one conditional statement
  ``UPDATE programmes SET taken = taken + 1 WHERE id = :id AND status = 'open'
  AND taken < capacity AND waiting = 0``; when it matches no row the resident joins the
  waitlist (``waiting = waiting + 1``). ``waiting = 0`` keeps newcomers behind the waitlist.
- Application: enrolling records an application; the coordinator approves it after the window
  closes (a place if one is free, else the waitlist) or rejects it
  (``portal.programmes.applications``).
- A freed place is offered to the head of the waitlist (``queued_at, id``), held until a
  deadline; ``process_programme_offers`` lets lapsed offers pass on (see
  ``portal.programmes.offers``, re-exported here).
- Programme-wide changes (capacity, status, a message to everyone enrolled) are in
  ``portal.programmes.programme_changes``.
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
from portal.core.config import Settings
from portal.programmes.eligibility import EligibilityCheck, check_eligibility
from portal.programmes.models import CANCEL_REASONS, Enrolment, Programme
from portal.programmes.offers import (
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


__all__ = [
    "AnswersRejected",
    "EnrolResult",
    "ProgrammeError",
    "accept_offer",
    "can_enrol",
    "cancel_enrolment",
    "decline_offer",
    "enrol",
    "fill_places",
    "live_enrolment",
    "process_programme_offers",
    "waitlist_position",
]
