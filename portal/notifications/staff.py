"""In-app notices for staff, with an email for each one or a daily digest (no Flask here).

``notify_staff`` writes a ``StaffNotice`` (listed at /staff/notices, counted in the back-office
header) and, as the member chose in ``User.notice_email``, queues one email now (or at
``email_not_before``: the sweep passes the department's next working moment for thresholds
crossed outside working hours) or leaves the notice for the daily digest.

``send_staff_digests`` is a worker job. From 07:00 in the city's time zone, each member with
notices waiting for the digest that were created before that day's 07:00 gets one email listing
them. The notices are claimed with a conditional ``UPDATE ... RETURNING`` in the same
transaction that queues the email (per member, serialised by a row lock on the member on
PostgreSQL and by ``BEGIN IMMEDIATE`` on SQLite), so two workers never send the same notice
twice and never split one member's digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework.models import Task
from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.i18n import _l, format_duration, format_moment, gettext
from portal.core.mail import MailThread, queue_email
from portal.notifications.models import StaffNotice
from portal.requests.models import ServiceRequest

NOTICE_EMAIL_CHOICES = ("each", "daily")
DIGEST_HOUR = 7  # local time, in settings.timezone
DIGEST_LIMIT = 50  # notices listed in one digest; the rest are counted
USER_BATCH = 100
#: The header badge counts at most this many unread notices (shown as "99+").
COUNT_CAP = 100


#: Short names of each kind of notice: tags on the list page and email subjects.
NOTICE_HEADLINES: dict[str, str] = {
    "sla_half": _l("Half the time used"),
    "sla_at_risk": _l("At risk"),
    "sla_breached": _l("Overdue"),
    "sla_case_breached": _l("Promise to the resident missed"),
    "task_assigned": _l("Assigned to you"),
    "survey_not_resolved": _l("Not resolved, says the resident"),
    "resident_answered": _l("The resident answered"),
    "resident_wrote": _l("Message from the resident"),
}
#: USWDS classes for those tags (white text on these passes WCAG AA contrast).
NOTICE_CLASSES: dict[str, str] = {
    "sla_half": "bg-primary",
    "sla_at_risk": "bg-warning text-ink",
    "sla_breached": "bg-secondary-dark",
    "sla_case_breached": "bg-secondary-dark",
    "task_assigned": "bg-info-darker",
    "survey_not_resolved": "bg-secondary-dark",
    "resident_answered": "bg-primary-darker",
    "resident_wrote": "bg-primary-darker",
}
KINDS = tuple(NOTICE_HEADLINES)
#: How a staff member's answer to a notice's email lands on the case (``portal.core.replies``):
#: "p" a public reply to the resident, for notices about what the resident said (so answering
#: from a phone answers them); "i" an internal note, for notices about the work (times,
#: assignment), whose answer is meant for colleagues. Kinds not listed answer as notes.
ANSWER_ROLES: dict[str, str] = {
    "sla_half": "i",
    "sla_at_risk": "i",
    "sla_breached": "i",
    "sla_case_breached": "i",
    "task_assigned": "i",
    "survey_not_resolved": "p",
    "resident_answered": "p",
    "resident_wrote": "p",
}

#: The one-line sentence per kind: (with the due time or lateness, without it).
_SENTENCES: dict[str, tuple[str, str]] = {
    "sla_half": (
        _l("Half of the time for %(case)s is used; it is due %(due)s."),
        _l("Half of the time for %(case)s is used."),
    ),
    "sla_at_risk": (
        _l("%(case)s is at risk: %(percent)s%% of the time is used; it is due %(due)s."),
        _l("%(case)s is at risk: %(percent)s%% of the time is used."),
    ),
    "sla_breached": (_l("%(case)s is overdue by %(late)s."), _l("%(case)s is overdue.")),
    "sla_case_breached": (
        _l("%(case)s missed the resolution time promised to the resident by %(late)s."),
        _l("%(case)s missed the resolution time promised to the resident."),
    ),
    "task_assigned": (
        _l("%(case)s was assigned to you; it is due %(due)s."),
        _l("%(case)s was assigned to you."),
    ),
    "survey_not_resolved": (
        _l(
            "The resident answered the satisfaction survey for %(case)s: the problem is not "
            "resolved. The case was reopened."
        ),
        _l(
            "The resident answered the satisfaction survey for %(case)s: the problem is not "
            "resolved. The case was reopened."
        ),
    ),
    "resident_answered": (
        _l("The resident answered your question on %(case)s: “%(excerpt)s”"),
        _l("The resident answered your question on %(case)s."),
    ),
    "resident_wrote": (
        _l("The resident wrote on %(case)s: “%(excerpt)s”"),
        _l("The resident wrote on %(case)s."),
    ),
}
_OTHER = _l("%(case)s needs your attention.")
#: Kinds whose sentence quotes the resident's words (``data["excerpt"]``) instead of a time.
EXCERPT_KINDS = ("resident_answered", "resident_wrote")
#: How much of the resident's words a notice quotes.
EXCERPT_LENGTH = 160


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """``text`` on one line, cut at a word to at most ``limit`` characters (with "…")."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def user_locale(settings: Settings, user: User) -> str:
    return user.locale if user.locale in settings.languages else "en"


# -- display ---------------------------------------------------------------------------------


def headline(kind: str, locale: str) -> str:
    return gettext(locale, NOTICE_HEADLINES[kind]) if kind in NOTICE_HEADLINES else kind


def _due(data: Mapping[str, Any], locale: str, timezone: str) -> str | None:
    raw = data.get("due_at")
    if not raw:
        return None
    try:
        due = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return format_moment(due, locale, ZoneInfo(timezone))  # no seconds, as on every page


def _late(data: Mapping[str, Any], locale: str) -> str | None:
    seconds = data.get("late_seconds")
    if not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return format_duration(int(seconds), locale)


def _case(data: Mapping[str, Any], locale: str) -> str:
    reference = str(data.get("reference") or "") or gettext(locale, _l("A request"))
    title = str(data.get("task_title") or "")
    if title:
        return gettext(locale, _l("%(reference)s (%(task)s)"), reference=reference, task=title)
    return reference


def notice_text(notice: StaffNotice, locale: str, *, timezone: str = "UTC") -> str:
    """The notice as one sentence in ``locale`` (times shown in ``timezone``), for the list
    page and the emails. Missing facts in ``notice.data`` only make the sentence shorter."""
    data = notice.data or {}
    with_fact, without = _SENTENCES.get(notice.kind, (_OTHER, _OTHER))
    values: dict[str, Any] = {"case": _case(data, locale)}
    if notice.kind == "sla_at_risk":
        percent = data.get("percent")
        values["percent"] = int(percent) if isinstance(percent, int | float) else 75
    if notice.kind in EXCERPT_KINDS:
        quoted = str(data.get("excerpt") or "")
        if not quoted:
            return gettext(locale, without, **values)
        return gettext(locale, with_fact, excerpt=quoted, **values)
    fact = (
        _late(data, locale)
        if notice.kind in ("sla_breached", "sla_case_breached")
        else _due(data, locale, timezone)
    )
    if fact is None:
        return gettext(locale, without, **values)
    values["late" if notice.kind in ("sla_breached", "sla_case_breached") else "due"] = fact
    return gettext(locale, with_fact, **values)


def case_url(settings: Settings, reference: str | None) -> str | None:
    return f"{settings.base_url}/staff/cases/{reference}" if reference else None


def notices_url(settings: Settings) -> str:
    return f"{settings.base_url}/staff/notices"


def _email_item(settings: Settings, notice: StaffNotice, locale: str) -> dict[str, Any]:
    data = notice.data or {}
    return {
        "headline": headline(notice.kind, locale),
        "text": notice_text(notice, locale, timezone=settings.timezone),
        "reference": data.get("reference") or "",
        "department": data.get("department_name") or "",
        "link": case_url(settings, data.get("reference")),
    }


# -- writing notices -------------------------------------------------------------------------


def _facts(
    data: Mapping[str, Any] | None, request: ServiceRequest | None, task: Task | None, locale: str
) -> dict[str, Any]:
    """The caller's display facts, completed from the request and task where missing."""
    facts = {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in (data or {}).items()
        if v is not None
    }
    if request is not None and request.reference:
        facts.setdefault("reference", request.reference)
    if task is not None:
        if task.title:
            facts.setdefault("task_title", task.title)
        if "department_name" not in facts and task.department is not None:
            facts["department_name"] = task.department.t("name", locale)
    return facts


def notify_staff(
    session: Session,
    *,
    settings: Settings,
    user: User,
    kind: str,
    request: ServiceRequest | None = None,
    task: Task | None = None,
    data: Mapping[str, Any] | None = None,
    email_not_before: datetime | None = None,
) -> StaffNotice | None:
    """Write a notice for ``user`` (flush, no commit) and email it as they chose.

    ``kind`` is one of ``KINDS``; ``data`` holds display facts (``reference``,
    ``task_title``, ``department_name``, ``due_at`` as ISO text, ``percent``,
    ``late_seconds``), completed from ``request``/``task``. "each": one email, due at
    ``email_not_before`` (default now); "daily": the notice waits for the digest. Nothing is
    written for a deactivated account (returns ``None``).
    """
    if not user.active:
        return None
    locale = user_locale(settings, user)
    if request is None and task is not None:
        request = task.request
    notice = StaffNotice(
        user_id=user.id,
        kind=kind,
        request_id=request.id if request is not None else None,
        task_id=task.id if task is not None else None,
        data=_facts(data, request, task, locale),
        email_state="none",
        created_at=clock.now(),
    )
    session.add(notice)
    session.flush()
    if not user.email:
        return notice
    if user.notice_email == "daily":
        notice.email_state = "digest"
    else:
        item = _email_item(settings, notice, locale)
        role = ANSWER_ROLES.get(kind, "i")
        thread = (
            MailThread(request.id, request.reference, user_id=user.id, role=role)
            if request is not None and request.reference
            else None
        )
        queue_email(
            session,
            settings=settings,
            to=user.email,
            template="staff_notice",
            locale=locale,
            context={
                "name": user.name,
                "notices_url": notices_url(settings),
                "settings_url": f"{notices_url(settings)}/settings",
                # What answering does is said only where answers are received (a city
                # that set its mail domain runs ``flask mail-in``).
                "answer_role": role if thread is not None and settings.mail_domain else "",
                **item,
            },
            dedupe_key=f"staff_notice:{notice.id}",
            not_before=email_not_before,
            thread=thread,
        )
        notice.email_state = "queued"
    session.flush()
    return notice


# -- reading and marking ---------------------------------------------------------------------


def unread_count(session: Session, *, user_id: int, cap: int = COUNT_CAP) -> int:
    """Unread notices of ``user_id``, counting at most ``cap`` rows (through the
    ``(user_id, read_at, id)`` index)."""
    inner = (
        select(StaffNotice.id)
        .where(StaffNotice.user_id == user_id, StaffNotice.read_at.is_(None))
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(inner)) or 0


@dataclass(frozen=True)
class NoticePage:
    notices: list[StaffNotice]
    #: Cursors: ``before`` for the next (older) page, ``after`` for the previous (newer) one.
    older: int | None
    newer: int | None


def notice_page(
    session: Session,
    *,
    user_id: int,
    before: int | None = None,
    after: int | None = None,
    size: int = 25,
) -> NoticePage:
    """One page of ``user_id``'s notices, newest first, keyed by id."""
    query = select(StaffNotice).where(StaffNotice.user_id == user_id)
    if after is not None:
        rows = list(
            session.scalars(
                query.where(StaffNotice.id > after).order_by(StaffNotice.id).limit(size + 1)
            )
        )
        newer_exists = len(rows) > size
        rows = list(reversed(rows[:size]))
        older_exists = True
    else:
        if before is not None:
            query = query.where(StaffNotice.id < before)
        rows = list(session.scalars(query.order_by(StaffNotice.id.desc()).limit(size + 1)))
        older_exists = len(rows) > size
        rows = rows[:size]
        newer_exists = before is not None
    if not rows:
        return NoticePage([], None, None)
    return NoticePage(
        rows, rows[-1].id if older_exists else None, rows[0].id if newer_exists else None
    )


def mark_read(session: Session, *, user_id: int, notice_id: int, now: datetime) -> bool:
    """Mark one of ``user_id``'s notices read; False if it is not theirs or does not exist.
    Marking a read notice again changes nothing."""
    owner = session.scalar(select(StaffNotice.user_id).where(StaffNotice.id == notice_id))
    if owner != user_id:
        return False
    session.execute(
        update(StaffNotice)
        .where(StaffNotice.id == notice_id, StaffNotice.read_at.is_(None))
        .values(read_at=now),
        execution_options={"synchronize_session": False},
    )
    return True


def mark_all_read(session: Session, *, user_id: int, now: datetime) -> int:
    result = session.execute(
        update(StaffNotice)
        .where(StaffNotice.user_id == user_id, StaffNotice.read_at.is_(None))
        .values(read_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_notice_email(
    session: Session, *, user: User, choice: str, team_digest: bool | None = None
) -> None:
    """Save "each" or "daily" (raises ``ValueError`` for anything else) and, when given,
    whether the member gets the weekly email of their department's results."""
    if choice not in NOTICE_EMAIL_CHOICES:
        raise ValueError(choice)
    user.notice_email = choice
    if team_digest is not None:
        user.team_digest = team_digest
    session.flush()


# -- the daily digest ------------------------------------------------------------------------


def digest_slot(settings: Settings, now: datetime) -> datetime | None:
    """Today's digest time (07:00 in the city's zone, as UTC), or None before it."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    slot = datetime.combine(local.date(), time(DIGEST_HOUR), tzinfo=zone)
    if local < slot:
        return None
    return slot.astimezone(UTC)


def _waiting(slot: datetime) -> list[Any]:
    return [StaffNotice.email_state == "digest", StaffNotice.created_at < slot]


def _members_waiting(db: Database, *, slot: datetime, after_id: int) -> list[int]:
    session = db.session()
    try:
        return list(
            session.scalars(
                select(StaffNotice.user_id)
                .where(*_waiting(slot), StaffNotice.user_id > after_id)
                .group_by(StaffNotice.user_id)
                .order_by(StaffNotice.user_id)
                .limit(USER_BATCH)
            )
        )
    finally:
        session.close()


def _claim(session: Session, *, user_id: int, slot: datetime) -> list[int]:
    """Mark the member's waiting notices "digested" and return their ids (empty when another
    worker has them or took them already)."""
    if session.get_bind().dialect.name == "postgresql":
        # One worker per member: the others skip them (NO KEY UPDATE lets notices for the
        # member still be inserted meanwhile).
        mine = session.scalar(
            select(User.id)
            .where(User.id == user_id)
            .with_for_update(skip_locked=True, key_share=True)
        )
        if mine is None:
            return []
    claimed = session.scalars(
        update(StaffNotice)
        .where(StaffNotice.user_id == user_id, *_waiting(slot))
        .values(email_state="digested")
        .returning(StaffNotice.id),
        execution_options={"synchronize_session": False},
    )
    return sorted(claimed)


def _send_digest(session: Session, settings: Settings, *, user_id: int, slot: datetime) -> bool:
    ids = _claim(session, user_id=user_id, slot=slot)
    if not ids:
        return False
    user = session.get(User, user_id)
    if user is None or not user.active or not user.email:
        return False
    locale = user_locale(settings, user)
    shown = ids[-DIGEST_LIMIT:]  # the newest ones
    notices = list(
        session.scalars(
            select(StaffNotice).where(StaffNotice.id.in_(shown)).order_by(StaffNotice.id.desc())
        )
    )
    message = queue_email(
        session,
        settings=settings,
        to=user.email,
        template="staff_digest",
        locale=locale,
        context={
            "name": user.name,
            "items": [_email_item(settings, n, locale) for n in notices],
            "more": len(ids) - len(notices),
            "notices_url": notices_url(settings),
            "settings_url": f"{notices_url(settings)}/settings",
        },
        # The claimed sets are disjoint, so this only guards against a bug, never a repeat.
        dedupe_key=f"staff_digest:{user_id}:{ids[0]}",
    )
    return message is not None


def send_staff_digests(db: Database, settings: Settings, now: datetime) -> str | None:
    """Queue today's staff digests (a worker job); harmless to re-run and safe with several
    workers. Returns what it did, or None when nothing was due."""
    slot = digest_slot(settings, now)
    if slot is None:
        return None
    sent = 0
    after_id = 0
    while True:
        members = _members_waiting(db, slot=slot, after_id=after_id)
        for user_id in members:
            with db.transaction() as session:
                sent += _send_digest(session, settings, user_id=user_id, slot=slot)
        if len(members) < USER_BATCH:
            break
        after_id = members[-1]
    return f"queued {sent} staff digest(s)" if sent else None


__all__ = ["KINDS", "NOTICE_EMAIL_CHOICES", "notice_text", "notify_staff", "send_staff_digests"]
