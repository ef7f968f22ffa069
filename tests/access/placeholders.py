"""Routes of back-office features not built yet (each feature moves its lines to its module)."""

from tests.access import CASEWORK, CASEWORK_X, RouteCheck

CHECKS = [
    RouteCheck("casework.queue", lambda w: "/staff/", CASEWORK),
    RouteCheck("case.show", lambda w: f"/staff/cases/{w.request_x.reference}", CASEWORK_X),
    RouteCheck("search.index", lambda w: "/staff/search/", CASEWORK),
    RouteCheck("intake.new", lambda w: "/staff/intake/", CASEWORK),
    RouteCheck("audit.trail", lambda w: "/staff/audit/", frozenset({"admin"})),
    RouteCheck("staff_admin.members", lambda w: "/staff/admin/staff/", frozenset({"admin"})),
    RouteCheck("routing_admin.rules", lambda w: "/staff/admin/routing/", frozenset({"admin"})),
]
