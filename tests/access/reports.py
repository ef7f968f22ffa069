"""Performance reports: supervisors and admins; a department's agent figures only for the
supervisors of that department and admins."""

from tests.access import SUPERVISORS, RouteCheck

CHECKS = [
    RouteCheck("reports.hotspots_page", lambda w: "/staff/reports/hotspots", SUPERVISORS),
    RouteCheck("reports.hotspots_page",
               lambda w: "/staff/reports/hotspots?format=csv&table=areas", SUPERVISORS),
]
