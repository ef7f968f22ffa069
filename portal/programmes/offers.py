"""Places and the waitlist: the counters, offers of free places, and the job that lets lapsed
offers pass on (no Flask here). ``portal.programmes.service`` builds the resident and
coordinator operations on top of it and re-exports what others call.

Locking: everything that changes an enrolment's state *and* a programme's counters first
takes the programme row (``FOR UPDATE`` on PostgreSQL; on SQLite write sessions begin
``IMMEDIATE``), then the enrolments, so two transactions never wait on each other in opposite
orders. The counters themselves only move through conditional ``UPDATE`` statements, never
read-then-written in Python, and each state change is conditional on the state it was read in.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.core.mail import queue_email
from portal.programmes.models import Enrolment, Programme, ProgrammeSession
from portal.push.messages import queue_push

log = logging.getLogger(__name__)

#: States of an enrolment that is still going (a resident has at most one per programme).
LIVE = ("applied", "enrolled", "waitlisted", "offered")
#: Programmes whose free places are offered to the waitlist.
FILLING = ("open", "closed")
BATCH = 100
#: A safety stop for one fill: never more offers than this in one call.
MAX_OFFERS = 10_000


class ProgrammeError(Exception):
    """An operation the programme's state does not allow. ``code``: not_open | window_closed |
    already_enrolled | bad_state | offer_expired | full | invalid; ``detail`` says more for
    some (for example ``no_sessions`` or ``no_window`` when opening a draft)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


# -- locks and counters ----------------------------------------------------------------------


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_programme(
    session: Session, programme_id: int, *, skip_locked: bool = False
) -> Programme | None:
    """The programme, re-read under a row lock (PostgreSQL); None when it does not exist or,
    with ``skip_locked``, when another transaction holds it."""
    query = select(Programme).where(Programme.id == programme_id)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=skip_locked)
    return session.scalars(query.execution_options(populate_existing=True)).first()


def bump(session: Session, programme: Programme, *conditions: Any, **values: Any) -> bool:
    """One conditional ``UPDATE programmes SET ... WHERE id = :id AND <conditions>``; True
    when the row matched. The programme's counters are re-read on next access."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Programme).where(Programme.id == programme.id, *conditions).values(**values),
            execution_options={"synchronize_session": False},
        ),
    )
    session.expire(programme, ["taken", "waiting", "capacity", "status"])
    return result.rowcount == 1


def move(
    session: Session, enrolment: Enrolment, *, from_states: tuple[str, ...], **values: Any
) -> bool:
    """Change ``enrolment`` only if it is still in one of ``from_states``; True when it was.
    The object is updated to match."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Enrolment)
            .where(Enrolment.id == enrolment.id, Enrolment.state.in_(from_states))
            .values(updated_at=clock.now(), **values),
            execution_options={"synchronize_session": False},
        ),
    )
    if result.rowcount != 1:
        session.expire(enrolment)
        return False
    session.refresh(enrolment)
    return True


def free_place(session: Session, programme: Programme) -> None:
    bump(session, programme, Programme.taken > 0, taken=Programme.taken - 1)


def leave_waitlist(session: Session, programme: Programme) -> None:
    bump(session, programme, Programme.waiting > 0, waiting=Programme.waiting - 1)


def release(session: Session, programme: Programme, state: str) -> None:
    """Give back what an enrolment in ``state`` held: a place or a waitlist spot."""
    if state in ("enrolled", "offered"):
        free_place(session, programme)
    elif state == "waitlisted":
        leave_waitlist(session, programme)


def last_session_start(session: Session, programme_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(ProgrammeSession.starts_at)).where(
            ProgrammeSession.programme_id == programme_id
        )
    )


# -- emails ----------------------------------------------------------------------------------


def when(settings: Settings, moment: datetime | None, locale: str) -> str:
    """A moment as the city reads it, in ``locale``."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(settings.timezone))
    text = (
        f"{format_date(local.date(), 'long', locale=locale)}, "
        f"{format_time(local.time(), 'short', locale=locale)} {local.strftime('%Z')}"
    )
    return text.replace("\u202f", " ")


def stamp(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"


def enrolment_url(settings: Settings, enrolment: Enrolment) -> str:
    return f"{settings.base_url}/my/programmes/{enrolment.id}"


def programme_url(settings: Settings, programme: Programme) -> str:
    return f"{settings.base_url}/programmes/{programme.id}"


def notify(
    session: Session,
    *,
    settings: Settings,
    enrolment: Enrolment,
    template: str,
    dedupe: str,
    **context: Any,
) -> None:
    """Queue the ``programme_<template>`` email to the enrolee, in their language, once per
    ``dedupe`` (a retry of the same step never sends twice)."""
    user = enrolment.user
    programme = enrolment.programme
    locale = enrolment.locale if enrolment.locale in settings.languages else "en"
    queue_email(
        session,
        settings=settings,
        to=user.email if user is not None else "",
        template=f"programme_{template}",
        locale=locale,
        context={
            "name": (user.name if user is not None else "") or "",
            "title": programme.t("title", locale),
            "programme_url": programme_url(settings, programme),
            "programmes_url": f"{settings.base_url}/programmes",
            "enrolment_url": enrolment_url(settings, enrolment),
            "contact_email": programme.contact_email or "",
            **context,
        },
        dedupe_key=f"programme-{template}:{enrolment.id}:{dedupe}"[:160],
    )
    if template == "offer" and user is not None:
        _push_offer(session, settings=settings, enrolment=enrolment, dedupe=dedupe)


def _push_offer(session: Session, *, settings: Settings, enrolment: Enrolment, dedupe: str) -> None:
    """The offer as a push notification to the enrolee's devices, in their language."""
    programme = enrolment.programme

    def text(locale: str) -> tuple[str, str]:
        title = translate(
            locale, _l("A place for you: %(title)s"), title=programme.t("title", locale)
        )
        deadline = when(settings, enrolment.offer_expires_at, locale)
        body = (
            translate(locale, _l("Accept it by %(deadline)s."), deadline=deadline)
            if deadline
            else translate(locale, _l("Accept it soon: the offer expires."))
        )
        return title, body

    queue_push(
        session,
        settings=settings,
        kind="programme_offer",
        dedupe=f"programme-offer:{enrolment.id}:{dedupe}",
        url=enrolment_url(settings, enrolment),
        text=text,
        user_locales={enrolment.user_id: enrolment.locale},
    )


# -- offers ----------------------------------------------------------------------------------


def offer_hours(settings: Settings, programme: Programme) -> int:
    return programme.offer_hours or settings.programme_offer_hours


def fill_locked(
    session: Session, *, settings: Settings, programme: Programme, now: datetime
) -> int:
    """Offer free places to the head of the waitlist, the programme row being locked by the
    caller. Returns the offers made."""
    if programme.status not in FILLING:
        return 0
    last = last_session_start(session, programme.id)
    if last is not None and last <= now:
        return 0
    expires_at = now + timedelta(hours=offer_hours(settings, programme))
    made = 0
    skipped: list[int] = []
    while made < MAX_OFFERS:
        # A shortcut only (the programme row is locked); the UPDATE below still checks.
        if programme.taken >= programme.capacity or programme.waiting <= 0:
            break
        head_query = (
            select(Enrolment)
            .where(Enrolment.programme_id == programme.id, Enrolment.state == "waitlisted")
            .order_by(Enrolment.queued_at, Enrolment.id)
            .limit(1)
        )
        if skipped:
            head_query = head_query.where(Enrolment.id.not_in(skipped))
        if is_postgres(session):
            head_query = head_query.with_for_update(skip_locked=True)
        head = session.scalars(head_query.execution_options(populate_existing=True)).first()
        if head is None:
            break
        head_id = head.id
        savepoint = session.begin_nested()
        if not move(
            session,
            head,
            from_states=("waitlisted",),
            state="offered",
            offered_at=now,
            offer_expires_at=expires_at,
        ):
            savepoint.rollback()
            skipped.append(head_id)
            continue
        if not bump(
            session,
            programme,
            Programme.status.in_(FILLING),
            Programme.taken < Programme.capacity,
            taken=Programme.taken + 1,
            waiting=Programme.waiting - 1,
        ):
            savepoint.rollback()
            # The refreshed "offered" state was rolled back with the savepoint.
            session.expire(head)
            break
        savepoint.commit()
        notify(
            session,
            settings=settings,
            enrolment=head,
            template="offer",
            dedupe=stamp(now),
            deadline=when(settings, expires_at, head.locale),
            hours=offer_hours(settings, programme),
        )
        made += 1
    return made


def fill_places(
    session: Session, *, settings: Settings, programme_id: int, now: datetime | None = None
) -> int:
    """Offer each free place of the programme to the head of its waitlist (order
    ``queued_at, id``), holding the place until ``offer_hours`` from now, and email the offer.
    Only for open or closed programmes whose last session has not started. Flushes, never
    commits; returns the number of offers made."""
    now = now or clock.now()
    programme = lock_programme(session, programme_id)
    if programme is None:
        return 0
    return fill_locked(session, settings=settings, programme=programme, now=now)


def shrink_locked(session: Session, *, programme: Programme, surplus: int) -> list[Enrolment]:
    """Move ``surplus`` place holders back to the waitlist (the programme row locked by the
    caller): the most recent offers first, then the most recently enrolled. They keep their
    ``queued_at``, so they come before everyone who signed up after them. Returns them."""
    moved: list[Enrolment] = []
    for state, newest in (("offered", Enrolment.offered_at), ("enrolled", Enrolment.enrolled_at)):
        if len(moved) >= surplus:
            break
        candidates = list(
            session.scalars(
                select(Enrolment)
                .where(Enrolment.programme_id == programme.id, Enrolment.state == state)
                .order_by(newest.desc(), Enrolment.id.desc())
                .limit(surplus - len(moved))
            )
        )
        for enrolment in candidates:
            if not move(
                session,
                enrolment,
                from_states=(state,),
                state="waitlisted",
                offered_at=None,
                offer_expires_at=None,
                enrolled_at=None,
            ):
                continue
            bump(
                session,
                programme,
                Programme.taken > 0,
                taken=Programme.taken - 1,
                waiting=Programme.waiting + 1,
            )
            moved.append(enrolment)
    return moved


def expire_offers_locked(
    session: Session, *, settings: Settings, programme: Programme, now: datetime
) -> int:
    """Cancel the programme's offers whose deadline passed (the programme row locked by the
    caller), free their places and tell each resident. Returns how many lapsed."""
    lapsed = list(
        session.scalars(
            select(Enrolment)
            .where(
                Enrolment.programme_id == programme.id,
                Enrolment.state == "offered",
                Enrolment.offer_expires_at <= now,
            )
            .order_by(Enrolment.offer_expires_at, Enrolment.id)
            .limit(MAX_OFFERS)
        )
    )
    count = 0
    for enrolment in lapsed:
        offered_at = enrolment.offered_at
        if not move(
            session,
            enrolment,
            from_states=("offered",),
            state="cancelled",
            cancel_reason="offer_expired",
            cancelled_at=now,
        ):
            continue
        free_place(session, programme)
        notify(
            session,
            settings=settings,
            enrolment=enrolment,
            template="offer_lapsed",
            dedupe=stamp(offered_at),
        )
        count += 1
    return count


def _programmes_with_lapsed_offers(db: Database, now: datetime, after: int) -> list[int]:
    with db.transaction(write=False) as session:
        return list(
            session.scalars(
                select(Enrolment.programme_id)
                .where(
                    Enrolment.state == "offered",
                    Enrolment.offer_expires_at <= now,
                    Enrolment.programme_id > after,
                )
                .group_by(Enrolment.programme_id)
                .order_by(Enrolment.programme_id)
                .limit(BATCH)
            )
        )


def _programmes_with_free_places(db: Database, after: int, now: datetime) -> list[int]:
    """Programmes that could offer a place now. Those whose last session is over are left
    out (a day's margin for the zone: ``fill_locked`` checks exactly), so programmes nobody
    closed do not cost every round a lock and a query each."""
    over = (now - timedelta(days=1)).date()
    with db.transaction(write=False) as session:
        return list(
            session.scalars(
                select(Programme.id)
                .where(
                    Programme.status.in_(FILLING),
                    Programme.waiting > 0,
                    Programme.taken < Programme.capacity,
                    Programme.id > after,
                    or_(Programme.ends_on.is_(None), Programme.ends_on >= over),
                )
                .order_by(Programme.id)
                .limit(BATCH)
            )
        )


def process_programme_offers(db: Database, settings: Settings, now: datetime) -> str | None:
    """A worker job: offers past their deadline are cancelled (``offer_expired``, the
    resident is told) and their places offered to the next in line; programmes with a free
    place and someone waiting (the capacity was raised, a place freed elsewhere) get their
    offers. One transaction per batch of programmes; a programme another worker holds is
    left for the next round (``SKIP LOCKED``). Harmless to re-run."""
    lapsed = offered = 0
    for finder in ("lapsed", "free"):
        after = 0
        while True:
            ids = (
                _programmes_with_lapsed_offers(db, now, after)
                if finder == "lapsed"
                else _programmes_with_free_places(db, after, now)
            )
            if not ids:
                break
            with db.transaction() as session:
                for programme_id in ids:
                    programme = lock_programme(session, programme_id, skip_locked=True)
                    if programme is None:
                        continue
                    if finder == "lapsed":
                        lapsed += expire_offers_locked(
                            session, settings=settings, programme=programme, now=now
                        )
                    offered += fill_locked(session, settings=settings, programme=programme, now=now)
            after = ids[-1]
            if len(ids) < BATCH:
                break
    if not (lapsed or offered):
        return None
    return f"{lapsed} programme offer(s) lapsed, {offered} place(s) offered"
