"""The words for a programme's codes (kind, topic, status), shared by the residents' pages and
the back office."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_NAMES = {
    "academy": _l("Academy"),
    "liaison": _l("Liaison programme"),
    "workshop": _l("Workshop"),
    "course": _l("Course"),
    "event": _l("Event"),
}
TOPIC_NAMES = {
    "civic": _l("Civic life"),
    "safety": _l("Public safety"),
    "environment": _l("Environment"),
    "housing": _l("Housing"),
    "youth": _l("Youth"),
    "seniors": _l("Seniors"),
    "health": _l("Health"),
    "business": _l("Business"),
    "arts": _l("Arts and culture"),
}
#: Whole phrases, not "Open"/"Cancelled": a request (una solicitud) and a programme (un
#: programa) take different forms of the same adjective in Spanish.
STATUS_NAMES = {
    "draft": _l("Draft"),
    "open": _l("Open for enrolment"),
    "closed": _l("Enrolment closed"),
    "completed": _l("Programme completed"),
    "cancelled": _l("Programme cancelled"),
}
