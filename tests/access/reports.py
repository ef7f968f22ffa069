"""Performance reports: supervisors and admins; a department's scorecard also for its own
agents (issue 23); its agent figures only for the supervisors of that department and admins."""

from tests.access import CASEWORK, CASEWORK_X, SUPERVISORS, RouteCheck

CHECKS = [
    RouteCheck("reports_staff.hotspots_page", lambda w: "/staff/reports/hotspots", SUPERVISORS),
    RouteCheck(
        "reports_staff.hotspots_page",
        lambda w: "/staff/reports/hotspots?format=csv&table=areas",
        SUPERVISORS,
    ),
]
CHECKS += [
    RouteCheck("reports_staff.board", lambda w: "/staff/reports", SUPERVISORS),
    RouteCheck(
        "reports_staff.board", lambda w: "/staff/reports?format=csv&period=week", SUPERVISORS
    ),
    RouteCheck(
        "reports_staff.department",
        lambda w: f"/staff/reports/departments/{w.dept_y.id}",
        SUPERVISORS | {"agent_y"},
    ),
    RouteCheck(
        "reports_staff.department",
        lambda w: f"/staff/reports/departments/{w.dept_x.id}?by=area",
        CASEWORK_X,
    ),
    RouteCheck("reports_staff.mine", lambda w: "/staff/reports/mine", CASEWORK),
    RouteCheck("reports_staff.equity_page", lambda w: "/staff/reports/equity", SUPERVISORS),
    # Agents' figures: the supervisors of that department and admins.
    RouteCheck(
        "reports_staff.department",
        lambda w: f"/staff/reports/departments/{w.dept_x.id}?by=agent",
        SUPERVISORS,
    ),
    RouteCheck(
        "reports_staff.department",
        lambda w: f"/staff/reports/departments/{w.dept_y.id}?by=agent",
        frozenset({"admin"}),
    ),
]
