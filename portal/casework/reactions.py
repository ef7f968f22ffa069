"""How casework follows a case's status (``portal.core.hooks``): a closed case's open tasks are
cancelled, and a reopened case gets an owning task again — for every way a case reopens (staff,
the reporter on the tracking page, "not resolved" in the survey). Connected by ``connect()``."""

from __future__ import annotations

from portal.casework.tasks import follow_status
from portal.requests import hooks as request_hooks


def connect() -> None:
    request_hooks.case_status_changed.connect(follow_status)
