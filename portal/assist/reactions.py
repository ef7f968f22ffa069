"""What the assistance features do when a case is filed or changes status (named hooks of
``portal.requests.hooks``; connected once by ``portal.reactions.connect_all``).

- ``case_filed``: the new request's possible duplicates are scored and stored, every channel
  alike (web, offline, Open311, email, staff intake all file through ``submit_request``). It
  fails open: inside a savepoint, any error is logged, rolled back to the savepoint and the
  filing goes on without candidates. A database outage is not swallowed: the connection is
  gone, so the filing fails whole (503, nothing written) instead of going on with a
  transaction that can no longer commit.
- the queues' filter "possible_duplicates" (``portal.casework.queues.CASE_MARKS``): cases with
  a candidate nobody decided on yet.
- ``case_status_changed`` to "duplicate" (a person merged the case): the candidate pair, if
  there was one, is recorded as merged by that person.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from portal.assist import duplicates
from portal.casework.queues import register_mark
from portal.core import clock
from portal.core.outage import database_unavailable
from portal.requests import hooks as request_hooks

log = logging.getLogger(__name__)


def duplicates_of_filed(session: Session, payload: request_hooks.CaseFiled) -> None:
    if not payload.settings.assist_duplicates:
        return
    try:
        with session.begin_nested():
            duplicates.score_filed(
                session, payload.request, settings=payload.settings, now=clock.now()
            )
    except Exception as exc:  # fails open: filing never depends on a suggestion...
        if database_unavailable(exc):  # ...but a database that went away fails the filing
            raise
        log.exception("possible duplicates of request %s not scored", payload.request.id)


def duplicate_merged(session: Session, payload: request_hooks.StatusChanged) -> None:
    if payload.target != "duplicate":
        return
    duplicates.merged(session, sr=payload.request, actor=payload.actor, now=clock.now())


def connect() -> None:
    register_mark("possible_duplicates", duplicates.undecided)
    request_hooks.case_filed.connect(duplicates_of_filed)
    request_hooks.case_status_changed.connect(duplicate_merged)
