"""Survey results: every member doing casework (for their own departments), and admins."""

from tests.access import CASEWORK, RouteCheck

CHECKS = [
    RouteCheck("surveys_results.index", lambda w: "/staff/surveys/results", CASEWORK),
    RouteCheck(
        "surveys_results.export", lambda w: "/staff/surveys/results.csv?table=breakdown", CASEWORK
    ),
    RouteCheck(
        "surveys_results.export",
        lambda w: f"/staff/surveys/results.csv?table=comments&department={w.dept_x.id}",
        frozenset({"agent_x", "supervisor_x", "admin"}),
    ),
]
