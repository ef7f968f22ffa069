"""Connects every feature's handlers to the hooks it reacts to (``portal.core.hooks``), once.

The order here is the order handlers run in when one hook has several: for a status change,
the SLA clocks first, then the survey invitation, then casework (closing or reopening tasks,
whose own hooks move the task clocks). Programmes also register their kind of survey subject.
"""

from __future__ import annotations

_connected = False


def connect_all() -> None:
    global _connected
    if _connected:
        return
    from portal.assist import reactions as assist
    from portal.casework import reactions as casework
    from portal.notifications import reactions as notifications
    from portal.outbound import reactions as outbound
    from portal.programmes import surveys as programme_surveys
    from portal.reports import assistance as report_assistance
    from portal.routing import reactions as routing
    from portal.sla import reactions as sla
    from portal.surveys import reactions as surveys
    from portal.webhooks import reactions as webhooks

    routing.connect()
    sla.connect()
    surveys.connect()
    casework.connect()
    notifications.connect()
    programme_surveys.connect()
    assist.connect()
    outbound.connect()
    report_assistance.connect()  # the algorithm register's article figures
    webhooks.connect()  # last: what it sends sees every other reaction's changes
    _connected = True
