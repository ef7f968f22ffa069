"""The assistance features' figures as report roll-ups.

Counting every knowledge-article event of a large city takes seconds (6.2 s on SQLite and
1.9 s on PostgreSQL at a million events, mostly the deflections, which look for a filing
after each opened article), and the public algorithm register (``/about/algorithms``) showed
them on every view. The figures are now kept per month as a report roll-up (``ARTICLES``),
which the worker keeps current with the other reports (``portal.reports.catalogue``); the
register adds up the last ``MONTHS`` months, one indexed read each. A month no one has
computed yet is computed once by the first reader (``RollupReader``).

The possible duplicates' decisions are kept the same way (``DUPLICATES``): the register's
precision is the last twelve months' decided pairs, twelve reads instead of a count over tens
of thousands of decisions (``portal.assist.duplicates.decision_counts``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from portal.assist import articles, duplicates
from portal.assist.register import register_measurer
from portal.core.config import Settings
from portal.core.db import Database
from portal.reports.periods import Period
from portal.reports.rollups import Report, RollupReader

#: The months the register adds up: the current one and the eleven before it.
MONTHS = 12
FIGURES = ("suggested", "opened", "deflections", "helpful", "not_helpful")


def _compute(session: Session, period: Period, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    start, end = period.bounds(zone)
    return {"articles": articles.metrics(session, now, since=start, until=end)}


ARTICLES = Report("assist_articles", _compute)
DECISIONS = ("decided", "merged", "dismissed", "likely_decided", "likely_merged")


def _compute_duplicates(
    session: Session, period: Period, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    start, end = period.bounds(zone)
    return {"duplicates": duplicates.decision_counts(session, since=start, until=end)}


DUPLICATES = Report("assist_duplicates", _compute_duplicates)


def _last_months(
    reader: RollupReader, report: Report, names: tuple[str, ...], today: date
) -> dict[str, int]:
    """The figures of ``report``'s part named as it is (the report's name without
    "assist_"), added up over the last ``MONTHS`` calendar months (this one included)."""
    part = report.name.removeprefix("assist_")
    totals = dict.fromkeys(names, 0)
    period = Period.containing("month", today)
    for _ in range(MONTHS):
        month = reader.get(report, period).parts.get(part) or {}
        for name in names:
            totals[name] += int(month.get(name, 0))
        period = period.previous()
    return totals


def article_figures(reader: RollupReader, today: date) -> dict[str, int]:
    """The article figures of the last ``MONTHS`` calendar months (this one included)."""
    return _last_months(reader, ARTICLES, FIGURES, today)


def measure(db: Database, session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """The register's article figures, read through the roll-ups (computed when missing)."""
    reader = RollupReader(
        db, session, tz=settings.timezone, refresh_seconds=settings.report_refresh_seconds
    )
    return article_figures(reader, now.astimezone(ZoneInfo(settings.timezone)).date())


def measure_duplicates(
    db: Database, session: Session, settings: Settings, now: datetime
) -> dict[str, int]:
    """The register's possible-duplicates decisions of the last ``MONTHS`` months, read
    through the roll-ups (computed when missing)."""
    reader = RollupReader(
        db, session, tz=settings.timezone, refresh_seconds=settings.report_refresh_seconds
    )
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    return _last_months(reader, DUPLICATES, DECISIONS, today)


def connect() -> None:
    register_measurer("articles", measure)
    register_measurer("duplicates", measure_duplicates)
