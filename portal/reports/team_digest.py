"""The weekly team email (issue 23): each department's results of the last full week, to every
member of the department who wants it (``User.team_digest``), in their language.

What it says: the share of the team's tasks resolved on time and its change from the week
before; the backlog at the week's end, its change and its three oldest open tasks; the mean
satisfaction (when enough residents answered) and three recent survey comments, without who
wrote them and with email addresses and phone numbers masked; and the week's biggest themes
residents raised across the city (``portal.reports.themes``, the hotspot digest's). The
figures are the department board's (``scorecards.department_board``): the same rules as the
reports pages.

``send_team_digests`` is a worker job due from Monday at ``settings.digest_hour_utc`` (the
hotspot digest's slot): an ``AuditEntry`` (entity "team_digest", the week's first day) records
the week was done; each email has a per-week, department and member dedupe key. No Flask here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.models import Department
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.mail import queue_email
from portal.reports.digest import digest_week, mark_week_done, recipient_locale, week_done
from portal.reports.periods import Period
from portal.reports.scorecards import BoardRow, department_board
from portal.reports.themes import digest_themes, theme_sentence
from portal.requests.models import ServiceRequest
from portal.staff.models import StaffMembership
from portal.surveys.models import SurveyResponse

DIGEST_ENTITY = "team_digest"
_LOCK = 0x5445414D  # PostgreSQL advisory lock: one worker sends the week's emails
OLDEST = 3
COMMENTS = 3
THEMES = 3
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def mask(comment: str) -> str:
    """A comment as the team reads it: email addresses and phone numbers masked."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", comment)).strip()


@dataclass(frozen=True)
class OldTask:
    reference: str
    title: str
    opened_at: datetime


def _oldest(session: Session, department_id: int, end: datetime) -> list[OldTask]:
    """The department's oldest tasks still open (``ix_tasks_department_open_created``)."""
    from portal.casework.models import Task

    rows = session.execute(
        select(ServiceRequest.reference, Task.title, Task.created_at)
        .join(ServiceRequest, ServiceRequest.id == Task.request_id)
        .where(Task.department_id == department_id, Task.is_open.is_(True), Task.created_at < end)
        .order_by(Task.created_at, Task.id)
        .limit(OLDEST)
    )
    return [OldTask(reference or "", title, opened) for reference, title, opened in rows]


def _comments(session: Session, department_id: int, start: datetime, end: datetime) -> list[str]:
    """The week's three most recent survey comments (``ix_survey_responses_department_
    created``), masked, without who wrote them."""
    found = session.scalars(
        select(SurveyResponse.comment)
        .where(
            SurveyResponse.department_id == department_id,
            SurveyResponse.created_at >= start,
            SurveyResponse.created_at < end,
            SurveyResponse.comment != "",
        )
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
        .limit(COMMENTS)
    )
    return [masked for masked in (mask(c) for c in found) if masked]


def recipients(session: Session, department_id: int) -> list[User]:
    """The department's active members with an email who want the weekly email."""
    members = select(StaffMembership.user_id).where(StaffMembership.department_id == department_id)
    return list(
        session.scalars(
            select(User)
            .where(
                User.id.in_(members),
                User.active.is_(True),
                User.email != "",
                User.team_digest.is_(True),
            )
            .order_by(User.id)
        )
    )


def _points(row: BoardRow, name: str) -> float | None:
    change = row.change(name)
    return None if change is None else round(change * 100)


def team_context(
    session: Session, settings: Settings, row: BoardRow, week: Period, locale: str
) -> dict[str, Any]:
    """What one department's email says, for ``locale``."""
    start, end = week.bounds(settings.timezone)
    figures = row.figures
    zone = ZoneInfo(settings.timezone)
    backlog_change = row.change("backlog")
    return {
        "department": figures.name,
        "week": week.label(locale),
        "on_time": None
        if figures.resolution_compliance is None
        else format_percent(figures.resolution_compliance, locale=locale),
        "on_time_tasks": figures.resolution_clocks,
        "on_time_change": _points(row, "resolution_compliance"),
        "backlog": figures.backlog,
        "backlog_change": None if backlog_change is None else int(backlog_change),
        "oldest": [
            (t.reference, t.title, format_date(t.opened_at.astimezone(zone), "d MMM", locale))
            for t in _oldest(session, figures.department_id, end)
        ],
        "satisfaction": None
        if figures.satisfaction is None
        else format_decimal(figures.satisfaction, "0.0", locale=locale),
        "responses": figures.responses or 0,
        "comments": _comments(session, figures.department_id, start, end),
        "themes": [
            theme_sentence(t, locale)
            for t in digest_themes(session, week, settings=settings)[:THEMES]
        ],
        "scorecard_url": f"{settings.base_url}/staff/reports/departments/"
        f"{figures.department_id}?period=week&start={week.key}",
        "settings_url": f"{settings.base_url}/staff/notices/settings",
    }


def send_team_digests(db: Database, settings: Settings, now: datetime) -> str | None:
    """Queue the week's team emails (a worker job): once per week, harmless to re-run."""
    week = digest_week(settings, now)
    if week is None:
        return None
    done = week_done(DIGEST_ENTITY, week)
    with db.transaction(write=False) as session:
        if session.scalar(done) is not None:
            return None
    sent = 0
    teams = 0
    with db.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        if session.scalar(done) is not None:
            return None
        boards: dict[str, dict[int, BoardRow]] = {}
        departments = session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.id)
        )
        for department in departments:
            members = recipients(session, department.id)
            if not members:
                continue
            teams += 1
            for user in members:
                locale = recipient_locale(settings, user)
                if locale not in boards:
                    board = department_board(
                        session, week, tz=settings.timezone, locale=locale, now=now
                    )
                    boards[locale] = {r.figures.department_id: r for r in board}
                row = boards[locale].get(department.id)
                if row is None:
                    continue
                context = team_context(session, settings, row, week, locale)
                sent += (
                    queue_email(
                        session,
                        settings=settings,
                        to=user.email,
                        template="team_digest",
                        locale=locale,
                        context={"name": user.name, **context},
                        dedupe_key=f"team_digest:{week.key}:{department.id}:{user.id}",
                    )
                    is not None
                )
        mark_week_done(session, DIGEST_ENTITY, week, {"teams": teams, "emails": sent})
    return f"queued {sent} team email(s) for the week of {week.key}" if sent else None
