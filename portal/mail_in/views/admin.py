"""Admins' mail page: ``/staff/admin/mail/`` lists every inbound message newest first (parked
ones and those that landed nowhere above the list), filtered by state or outcome; each opens
its stored original (``original``'s page); a parked or failed one can be processed again
(``POST /staff/admin/mail/<id>/process``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.access import ADMIN, staff_required
from portal.core import clock
from portal.mail_in import inbox
from portal.mail_in.models import InboundMail
from portal.mail_in.process import process
from portal.mail_in.views.admin_forms import OUTCOME_NAMES, STATE_NAMES, MailFilterForm
from portal.requests.models import ServiceRequest
from portal.web import db_session, settings

log = logging.getLogger(__name__)

bp = Blueprint("mail_in_admin", __name__, url_prefix="/staff/admin/mail")


def _references(mails: list[InboundMail]) -> dict[int, str]:
    """Case references of the cases the listed messages landed on."""
    ids = sorted({m.request_id for m in mails if m.request_id})
    if not ids:
        return {}
    rows = db_session().execute(
        select(ServiceRequest.id, ServiceRequest.reference).where(ServiceRequest.id.in_(ids))
    )
    return {row[0]: row[1] for row in rows}


def _names() -> dict[str, Any]:
    return {"state_names": STATE_NAMES, "outcome_names": OUTCOME_NAMES}


@bp.get("/")
@staff_required(ADMIN)
def index() -> str:
    form = MailFilterForm(formdata=request.args)
    state, outcome = form.clean()
    session = db_session()
    page = inbox.mail_page(
        session,
        state=state,
        outcome=outcome,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    filtered = bool(state or outcome)
    attention = inbox.attention(session) if not filtered and not request.args.get("after") else None
    shown = page.rows + (attention.parked + attention.unplaced if attention else [])
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    return render_template(
        "mail_in/admin_index.html",
        form=form,
        page=page,
        attention=attention,
        unplaced=inbox.UNPLACED,
        references=_references(shown),
        next_url=url_for(".index", **args, after=page.next_cursor) if page.next_cursor else None,
        previous_url=url_for(".index", **args, before=page.previous_cursor)
        if page.previous_cursor
        else None,
        **_names(),
    )


def _mail_or_404(mail_id: int) -> InboundMail:
    mail = db_session().get(InboundMail, mail_id) if 0 < mail_id < 2**62 else None
    if mail is None:
        abort(404)
    return mail


def _back(mail_id: int) -> str:
    """The list the admin came from (a same-site path), else the mail page."""
    back = request.form.get("next", "")
    if not back.startswith("/staff/admin/mail/") or back.startswith("//"):
        back = url_for(".index")
    return f"{back}#mail-{mail_id}"


@bp.post("/<int:mail_id>/process")
@staff_required(ADMIN)
def process_again(mail_id: int) -> Response:
    """Put a parked or failed message back with fresh attempts and process it now; if that
    fails again it stays queued for the worker (nothing is lost)."""
    session = db_session()
    mail = _mail_or_404(mail_id)
    now = clock.now()
    try:
        inbox.queue_again(session, mail, now=now)
    except inbox.NotRetryable:
        flash(
            _("This message is not parked or failed: there is nothing to process again."),
            "error",
        )
        return redirect(_back(mail_id))
    try:
        with session.begin_nested():
            outcome = process(session, settings(), now, mail)
    except Exception as exc:  # noqa: BLE001 - queued again: the worker retries it
        log.exception("inbound mail %s failed again", mail_id)
        session.refresh(mail)
        mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        flash(
            _(
                "Processing failed again (%(error)s). The message is queued: the worker "
                "will try it again.",
                error=type(exc).__name__,
            ),
            "error",
        )
        return redirect(_back(mail_id))
    flash(
        _("Processed again: %(outcome)s.", outcome=OUTCOME_NAMES.get(outcome, outcome)),
        "success",
    )
    return redirect(_back(mail_id))
