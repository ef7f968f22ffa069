"""Routing follows filing (``portal.core.hooks``): every new case, whatever its channel, is
routed in the transaction that files it. Connected by ``connect()``."""

from __future__ import annotations

from portal.requests import hooks as request_hooks
from portal.routing.service import route_filed


def connect() -> None:
    request_hooks.case_filed.connect(route_filed)
