"""How surveys follow a case (``portal.core.hooks``): a resolved case invites its reporter to
the satisfaction survey, in the transaction that resolves it. Connected by ``connect()``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.requests import hooks as request_hooks
from portal.surveys.invitations import invite_for_resolution


def _status_changed(session: Session, change: request_hooks.StatusChanged) -> None:
    if change.target == "resolved":
        invite_for_resolution(session, settings=change.settings, request=change.request)


def connect() -> None:
    request_hooks.case_status_changed.connect(_status_changed)
