"""The escalations view: supervisors (of their departments) and admins."""

from tests.access import SUPERVISORS, RouteCheck

CHECKS = [
    RouteCheck("sla_escalations.index", lambda w: "/staff/escalations/", SUPERVISORS),
]
