"""Who may use staff intake, search and the audit trail."""

from tests.access import ADMINS, CASEWORK, RouteCheck

CHECKS = [
    RouteCheck("casework_intake.new", lambda w: "/staff/intake/", CASEWORK),
    # A redraw with the category's questions: no change, but only staff get the page.
    RouteCheck(
        "casework_intake.new",
        lambda w: "/staff/intake/",
        CASEWORK,
        method="POST",
        data=lambda w: {"action": "questions", "category": w.request_x.category.code},
    ),
    RouteCheck(
        "casework_search.index", lambda w: f"/staff/search/?q={w.request_x.reference}", CASEWORK
    ),
    RouteCheck("casework_audit.trail", lambda w: "/staff/audit/", ADMINS),
    RouteCheck(
        "casework_audit.trail", lambda w: f"/staff/audit/?case={w.request_x.reference}", ADMINS
    ),
]
