"""Back office: what the city's outside Open311 systems have (``/staff/outbound``, admins).

The configured endpoints (city.toml ``[[open311.outbound]]``: department, system, URL, whether
the API key's environment variable is set, never the key), how many tasks each system has in
each state, the tasks newest first (filter by state and system, keyset pages), and "Send
again" for a task that failed, once the cause is fixed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from portal.access import ADMIN, staff_required
from portal.core import clock
from portal.outbound import service
from portal.outbound.config import api_key, endpoints
from portal.outbound.models import OUTBOUND_STATES, OutboundTask
from portal.web import db_session

bp = Blueprint("outbound_admin", __name__, url_prefix="/staff/outbound")

PAGE_SIZE = 50
STATE_LABELS = {
    "posting": _l("Waiting to be sent"),
    "filed": _l("With the outside system"),
    "failed": _l("Not sent"),
    "closed": _l("Closed there"),
}


class ActionForm(FlaskForm):
    """Only the CSRF token: each action is a POST from a button."""


def _filters() -> tuple[str, str, int | None]:
    state = request.args.get("state", "")
    if state and state not in OUTBOUND_STATES:
        abort(400)
    system = request.args.get("system", "")[:120]
    raw = request.args.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) <= 18 else None
    return state, system, before


@bp.get("/")
@staff_required(ADMIN)
def index() -> str:
    session = db_session()
    state, system, before = _filters()
    configured = sorted(endpoints(session).values(), key=lambda e: (e.name, e.department))
    counts = service.counts(session)
    systems = sorted({name for name, _state in counts} | {e.name for e in configured})
    found = service.page(session, state=state, system=system, before=before, limit=PAGE_SIZE)
    return render_template(
        "outbound/index.html",
        configured=configured,
        key_set={e.department: bool(api_key(e.api_key_env)) for e in configured},
        counts=counts,
        systems=systems,
        states=OUTBOUND_STATES,
        state_labels=STATE_LABELS,
        state_headers=[STATE_LABELS[s] for s in OUTBOUND_STATES],
        state=state,
        system=system,
        page=found,
        first=before is None,
        form=ActionForm(),
    )


@bp.post("/<int:link_id>/send-again")
@staff_required(ADMIN)
def send_again(link_id: int) -> Any:
    session = db_session()
    link = session.get(OutboundTask, link_id)
    if link is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    refused = service.send_again(
        session,
        link,
        by=current_user._get_current_object(),  # type: ignore[attr-defined]
        now=clock.now(),
    )
    messages = {
        None: (_("The task will be sent to %(system)s again.", system=link.system), "success"),
        service.NOT_FAILED: (_("This task has not failed: nothing to send again."), "info"),
        service.NO_ENDPOINT: (
            _(
                "The task's department is no longer served by an outside system: handle the "
                "task in the portal."
            ),
            "error",
        ),
        service.NO_SERVICE_CODE: (
            _(
                "The city's configuration still has no service code for this category at "
                "%(system)s: add one to city.toml's [[open311.outbound]] first.",
                system=link.system,
            ),
            "error",
        ),
    }
    text, kind = messages[refused]
    flash(text, kind)
    return redirect(url_for("outbound_admin.index", state=request.args.get("state") or None))
