"""Themes heard, for the reports (issue 22): the worker job that computes each area's themes
(``portal.assist.themes``) for the last full week and month, what the hotspots page shows of
them, and the sentences of the weekly digest ("Southside: 14 comments about loud music, up
from 3").

``compute_themes`` is a worker job: once a week (and once a month) after the period ends,
it groups that period's texts and stores the themes; an ``AuditEntry`` (entity
"assist_themes", "week:2026-03-02") records that the period was done, so later rounds cost
one indexed lookup each. Switched off (``settings.assist_themes``) it does nothing, and the
pages and the digest show no themes. It fails open: an error while grouping is logged and
the period is tried again next round; nothing else waits on it. No Flask here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.assist import themes
from portal.assist.models import AssistTheme
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.i18n import _l, gettext
from portal.reports.periods import Period

log = logging.getLogger(__name__)

#: The periods themes are computed for (the hotspots page of a quarter shows none).
KINDS = ("week", "month")
ENTITY = "assist_themes"
#: The digest names themes of at least this many texts, at most ``DIGEST_THEMES`` of them.
DIGEST_MIN = 5
DIGEST_THEMES = 10


def due_periods(settings: Settings, now: datetime) -> list[Period]:
    """The last full local week and month at ``now``."""
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    return [Period.containing(kind, today).previous() for kind in KINDS]


def _marker(period: Period) -> str:
    return f"{period.kind}:{period.key}"


def _done(session: Session, period: Period) -> bool:
    found = session.scalar(
        select(AuditEntry.id)
        .where(AuditEntry.entity == ENTITY, AuditEntry.entity_id == _marker(period))
        .limit(1)
    )
    return found is not None


def compute_period(
    db: Database, settings: Settings, period: Period, now: datetime
) -> tuple[int, int] | None:
    """Compute and store the themes of ``period``: (themes, areas), or None when it was
    already done. The grouping runs in a read transaction; only the storing writes."""
    zone = ZoneInfo(settings.timezone)
    start, end = period.bounds(zone)
    previous_start, _ = period.previous().bounds(zone)
    with db.transaction(write=False) as session:
        if _done(session, period):
            return None
        found = themes.compute(session, start=start, end=end, previous_start=previous_start)
    with db.transaction() as session:
        if _done(session, period):
            return None
        stored = themes.store(session, kind=period.kind, key=period.key, themes=found, now=now)
        session.add(
            AuditEntry(
                actor_id=None,
                entity=ENTITY,
                entity_id=_marker(period),
                action="computed",
                after={"themes": stored, "areas": len(found)},
            )
        )
    return stored, len(found)


def compute_themes(db: Database, settings: Settings, now: datetime) -> str | None:
    """The worker job: the themes of the last full week and month, each once."""
    if not settings.assist_themes:
        return None
    done = []
    for period in due_periods(settings, now):
        try:
            result = compute_period(db, settings, period, now)
        except Exception:  # fails open: logged, tried again next round
            log.exception("themes for the %s of %s could not be computed", period.kind, period.key)
            continue
        if result is not None:
            done.append(f"{result[0]} theme(s) in {result[1]} area(s) for {_marker(period)}")
    return "; ".join(done) or None


# -- what the pages and the digest read ------------------------------------------------------


@dataclass(frozen=True)
class HeardTheme:
    area_id: int
    area_name: str
    label: str
    terms: list[str]
    size: int
    previous: int
    examples: list[str]


def heard(
    session: Session, period: Period, *, settings: Settings, area_id: int | None = None
) -> list[HeardTheme] | None:
    """The stored themes of ``period`` (of one area, or every area), by area name then size;
    None when themes are switched off or not made for this kind of period."""
    if not settings.assist_themes or period.kind not in KINDS:
        return None
    rows = themes.read(session, kind=period.kind, key=period.key, area_id=area_id)
    if not rows:
        return []
    names = dict(
        session.execute(
            select(Area.id, Area.name).where(Area.id.in_(sorted({r.area_id for r in rows})))
        ).all()
    )
    return [
        _heard(row, names.get(row.area_id, ""))
        for row in sorted(rows, key=lambda r: (names.get(r.area_id, "").casefold(), r.position))
    ]


def _heard(row: AssistTheme, area_name: str) -> HeardTheme:
    return HeardTheme(
        area_id=row.area_id,
        area_name=area_name,
        label=row.label,
        terms=list(row.terms or []),
        size=row.size,
        previous=row.previous,
        examples=list(row.examples or []),
    )


_UP = _l("%(area)s: %(num)s comments about “%(theme)s”, up from %(before)s")
_DOWN = _l("%(area)s: %(num)s comments about “%(theme)s”, down from %(before)s")
_SAME = _l("%(area)s: %(num)s comments about “%(theme)s”, as many as the period before")


def theme_sentence(theme: HeardTheme, locale: str) -> str:
    """The theme in one sentence in ``locale``: "Southside: 14 comments about “loud music”,
    up from 3"."""
    if theme.size > theme.previous:
        message = _UP
    elif theme.size < theme.previous:
        message = _DOWN
    else:
        message = _SAME
    return gettext(
        locale,
        message,
        area=theme.area_name,
        num=theme.size,
        theme=theme.label,
        before=theme.previous,
    )


def digest_themes(session: Session, week: Period, *, settings: Settings) -> list[HeardTheme]:
    """The week's themes the digest names: at least ``DIGEST_MIN`` texts, the most grown
    first, at most ``DIGEST_THEMES``."""
    found = heard(session, week, settings=settings) or []
    big = [t for t in found if t.size >= DIGEST_MIN]
    big.sort(key=lambda t: (-(t.size - t.previous), -t.size, t.area_name.casefold()))
    return big[:DIGEST_THEMES]


__all__ = [
    "KINDS",
    "HeardTheme",
    "compute_period",
    "compute_themes",
    "digest_themes",
    "due_periods",
    "heard",
    "theme_sentence",
]
