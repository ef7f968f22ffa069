"""Every report kept as a roll-up by the worker (``portal.reports.rollups``)."""

from __future__ import annotations

from portal.reports import hotspots, scorecards, sentiment
from portal.reports.rollups import Report

REPORTS: tuple[Report, ...] = (*scorecards.ROLLUPS.values(), hotspots.PAIRS,
                               sentiment.SENTIMENT)
