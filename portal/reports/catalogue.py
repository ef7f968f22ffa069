"""Every report kept as a roll-up by the worker (``portal.reports.rollups``)."""

from __future__ import annotations

from datetime import datetime

from portal.core.config import Settings
from portal.core.db import Database
from portal.reports import assistance, equity, hotspots, rollups, scorecards, sentiment
from portal.reports.rollups import Report

REPORTS: tuple[Report, ...] = (
    *scorecards.ROLLUPS.values(),
    hotspots.PAIRS,
    sentiment.SENTIMENT,
    equity.EQUITY,
    assistance.ARTICLES,
    assistance.DUPLICATES,
)


def refresh_report_rollups(db: Database, settings: Settings, now: datetime) -> str | None:
    """The worker job: keep every report's roll-ups current (see ``portal.reports.rollups``).
    It lives here, beside the list of reports, so that rollups.py needs no report."""
    done = rollups.refresh(
        db,
        REPORTS,
        tz=settings.timezone,
        refresh_seconds=settings.report_refresh_seconds,
        now=now,
        budget=rollups.BUDGET,
    )
    return f"refreshed {done} report roll-up(s)" if done else None
