"""Plain-language names residents see for statuses and timeline actors: the one place they live.

The names are English message ids. ``portal.templating.status_label`` translates for the current
web request (templates get it as the ``status_label`` global); emails rendered outside Flask
translate the same ids with ``portal.core.i18n.gettext(locale, STATUS_NAMES[status])``.
Importing this module does not import Flask.
"""

from __future__ import annotations

from portal.core.i18n import _l
from portal.requests.models import Event

STATUS_NAMES: dict[str, str] = {
    "new": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "waiting_on_resident": _l("Waiting for your reply"),
    "waiting_on_third_party": _l("Waiting on a partner organisation"),
    "scheduled": _l("Scheduled"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "rejected": _l("Not accepted"),
    "duplicate": _l("Duplicate"),
}

#: How a request reached the city (``ServiceRequest.channel``), for staff screens and reports.
CHANNEL_NAMES: dict[str, str] = {
    "web": _l("Website"),
    "mobile": _l("Mobile app"),
    "phone": _l("Phone"),
    "walk_in": _l("Walk-in"),
    "email": _l("Email"),
    "social": _l("Social media"),
    "api": _l("API"),
}

#: USWDS utility classes for each status tag (white text on these passes WCAG AA contrast).
STATUS_CLASSES: dict[str, str] = {
    "new": "bg-info-darker",
    "acknowledged": "bg-primary",
    "in_progress": "bg-primary-dark",
    "waiting_on_resident": "bg-warning text-ink",
    "waiting_on_third_party": "bg-warning text-ink",
    "scheduled": "bg-primary-dark",
    "resolved": "bg-success-darker",
    "closed": "bg-base-dark",
    "rejected": "bg-base-dark",
    "duplicate": "bg-base-dark",
}

ACTOR_NAMES: dict[str, str] = {
    "resident": _l("Resident"),
    "api": _l("Resident"),
    "staff": _l("City staff"),
    "system": _l("City staff"),
}


def status_name(status: str) -> str:
    """The untranslated message id for ``status`` (unknown statuses are returned as they are)."""
    return STATUS_NAMES.get(status, status)


def actor_name(event: Event) -> str:
    """Who the public sees behind a timeline entry: never a resident's name or contact.

    Staff entries may carry ``data["department_name"]`` (set by the caller); otherwise the
    untranslated "City staff" / "Resident" message id.
    """
    if event.actor_kind == "staff":
        department = (event.data or {}).get("department_name")
        if department:
            return str(department)
    return ACTOR_NAMES.get(event.actor_kind, ACTOR_NAMES["system"])
