"""The weekly hotspot digest: the spike flags of the last full week, and the themes heard in
it (``portal.reports.themes``: "Southside: 14 comments about “loud music”, up from 3"), emailed
to every supervisor and admin.

``send_hotspot_digest`` is a worker job: from Monday at
``settings.digest_hour_utc`` (UTC), for the previous full local week, one email per
supervisor and admin listing the flags and themes, in their language; nothing when there are
neither.
An ``AuditEntry`` (entity "hotspot_digest", the week's first day) records that the week was
done, so later rounds cost one indexed lookup; each email also has a per-week-and-member
dedupe key. No Flask here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.mail import queue_email
from portal.reports.hotspots import spikes
from portal.reports.periods import Period
from portal.reports.spike_sentences import spike_sentence
from portal.reports.themes import digest_themes, theme_sentence
from portal.staff.models import StaffMembership

#: Flags listed in one email (the rest are counted).
DIGEST_LIMIT = 30
DIGEST_ENTITY = "hotspot_digest"
_DIGEST_LOCK = 0x48535054  # PostgreSQL advisory lock: one worker builds the digest


def digest_week(settings: Settings, now: datetime) -> Period | None:
    """The week the digest due at ``now`` reports (the last full local week before this
    Monday's ``digest_hour_utc``), or None before that moment."""
    monday = now.date().toordinal() - now.weekday()
    slot = datetime.combine(date.fromordinal(monday), datetime.min.time(), now.tzinfo).replace(
        hour=settings.digest_hour_utc
    )
    if now < slot:
        return None
    local = slot.astimezone(ZoneInfo(settings.timezone)).date()
    return Period.containing("week", local).previous()


def digest_recipients(session: Session) -> list[User]:
    """Active admins and supervisors (of any department) with an email, by id."""
    supervisors = select(StaffMembership.user_id).where(StaffMembership.role == "supervisor")
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.email != "",
                User.role != "resident",
                or_(User.role == "admin", User.id.in_(supervisors)),
            )
            .order_by(User.id)
        )
    )


def recipient_locale(settings: Settings, user: User) -> str:
    """The language a weekly email is written in for ``user``."""
    return user.locale if user.locale in settings.languages else "en"


def week_done(entity: str, week: Period) -> Any:
    """The query finding the audit entry that marks ``week``'s weekly job ``entity`` done
    (one indexed lookup): the hotspot digest's, the team email's and the equity alert's."""
    return (
        select(AuditEntry.id)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == week.key)
        .limit(1)
    )


def mark_week_done(session: Session, entity: str, week: Period, after: dict[str, Any]) -> None:
    """Record that ``week``'s weekly job ``entity`` was done, with what it did."""
    session.add(
        AuditEntry(actor_id=None, entity=entity, entity_id=week.key, action="sent", after=after)
    )


def send_hotspot_digest(db: Database, settings: Settings, now: datetime) -> str | None:
    """Queue the weekly hotspot digest (a worker job): once per week, harmless to re-run.
    Returns what it did, or None when nothing was due."""
    week = digest_week(settings, now)
    if week is None:
        return None
    done = week_done(DIGEST_ENTITY, week)
    # The counting happens in a read transaction, so the write lock (BEGIN IMMEDIATE on
    # SQLite) is held only while the emails are queued.
    with db.transaction(write=False) as session:
        if session.scalar(done) is not None:
            return None
        locales = sorted({recipient_locale(settings, u) for u in digest_recipients(session)})
        flags = {
            locale: spikes(session, week, tz=settings.timezone, locale=locale) for locale in locales
        }
        heard = digest_themes(session, week, settings=settings)
    flagged = len(next(iter(flags.values()), []))
    sent = 0
    with db.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DIGEST_LOCK})
        if session.scalar(done) is not None:
            return None
        for user in digest_recipients(session) if flagged or heard else []:
            locale = recipient_locale(settings, user)
            mine = flags.get(locale)
            if mine is None:  # a recipient who appeared meanwhile: next week
                continue
            sent += (
                queue_email(
                    session,
                    settings=settings,
                    to=user.email,
                    template="hotspot_digest",
                    locale=locale,
                    context={
                        "name": user.name,
                        "week": week.label(locale),
                        "items": [spike_sentence(s, locale) for s in mine[:DIGEST_LIMIT]],
                        "more": max(0, len(mine) - DIGEST_LIMIT),
                        "themes": [theme_sentence(t, locale) for t in heard],
                        "dashboard_url": f"{settings.base_url}/staff/reports/hotspots"
                        f"?period=week&start={week.key}",
                    },
                    dedupe_key=f"hotspot_digest:{week.key}:{user.id}",
                )
                is not None
            )
        mark_week_done(
            session,
            DIGEST_ENTITY,
            week,
            {"flags": flagged, "themes": len(heard), "emails": sent},
        )
    return f"queued {sent} hotspot digest(s) for the week of {week.key}" if sent else None
