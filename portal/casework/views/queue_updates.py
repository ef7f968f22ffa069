"""What changed since a back-office page was drawn, for short polling (static/js/queue.js):
the new rows of the member's queue ("3 new cases — show") and their unread notice count (the
header's badge, ``data-unread-url``).

One small JSON answer with an ETag: the page asks about every 30 seconds (not while its tab is
hidden) with ``If-None-Match``, and while nothing changed the answer is an empty 304. Each
request is two bounded counts, so polling never holds a web worker (no long-polling, no
streams). Without ``view`` only the unread count is answered.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from portal.access import current_staff, staff_required
from portal.casework.queue_updates import NEW_CAP, POLLED_VIEWS, SINCE_FORMAT, new_since
from portal.casework.queues import MAX_AGE_DAYS, Filters
from portal.casework.views.queue import bp
from portal.core import clock
from portal.notifications import staff as notices
from portal.requests.queries import MAX_ID
from portal.web import db_session, error_response

#: Filters given by id; the others are names that ``Filters`` checks.
_ID_FILTERS = {"category": "category_id", "area": "area_id"}
_NAMED_FILTERS = ("status", "priority", "channel", "sla", "queue")


class _BadQuery(ValueError):
    pass


class _NotYours(LookupError):
    """A department the member does not work in: the same answer as one that does not exist."""


def _number(raw: str, *, high: int = MAX_ID) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= high:
        raise _BadQuery(raw)
    return int(raw)


def _filters() -> Filters:
    """The queue's filter from the query string, as the page wrote it (already validated
    there); anything else is a ``_BadQuery``."""
    args = request.args
    values: dict[str, Any] = {}
    for key in _NAMED_FILTERS:
        if args.get(key):
            values[key] = args[key]
    for key, name in _ID_FILTERS.items():
        if args.get(key):
            values[name] = _number(args[key])
    if args.get("age"):
        values["older_than_days"] = _number(args["age"], high=MAX_AGE_DAYS)
    assignee = args.get("assignee", "")
    if assignee:
        values["assignee"] = "none" if assignee == "none" else _number(assignee)
    try:
        return Filters(**values)
    except ValueError as exc:
        raise _BadQuery(str(exc)) from exc


def _since() -> datetime:
    raw = request.args.get("since", "")
    try:
        return datetime.strptime(raw, SINCE_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise _BadQuery(raw) from exc


def _new_rows(view: str) -> int:
    access = current_staff()
    if view not in POLLED_VIEWS or (view == "all" and not access.is_admin):
        raise _BadQuery(view)
    department_ids: list[int] | None = None if access.is_admin else access.department_ids
    if request.args.get("department"):
        department = _number(request.args["department"])
        if not access.can_work(department):
            raise _NotYours(department)
        department_ids = [department]
    return new_since(
        db_session(),
        view=view,
        user_id=access.user_id,
        department_ids=department_ids,
        filters=_filters(),
        since=_since(),
        now=clock.now(),
    )


@bp.get("/queue/updates")
@staff_required()
def updates() -> Any:
    """``{"new": n, "new_label": ..., "unread": m, "unread_label": ..., "unread_badge": ...}``
    (``new`` only with ``view``); 304 when the client's ETag still holds."""
    data: dict[str, Any] = {}
    view = request.args.get("view")
    if view:
        try:
            count = _new_rows(view)
        except _BadQuery:
            return error_response(_("This queue cannot be checked for new cases."))
        except _NotYours:
            return error_response(_("This queue cannot be checked for new cases."), 404)
        data["new"] = count
        data["new_label"] = (
            _("More than %(num)s new cases — show", num=NEW_CAP)
            if count > NEW_CAP
            else ngettext("%(num)d new case — show", "%(num)d new cases — show", count)
        )
    unread = notices.unread_count(db_session(), user_id=current_staff().user_id)
    data["unread"] = unread
    data["unread_badge"] = "99+" if unread > 99 else str(unread)
    data["unread_label"] = (
        _("more than 99 unread notices")
        if unread > 99
        else ngettext("%(num)d unread notice", "%(num)d unread notices", unread)
    )
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    # The answer is the member's own: any cache must ask again each time (If-None-Match).
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:20])
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.vary.add("Accept-Language")
    return response.make_conditional(request)
