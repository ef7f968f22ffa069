"""Back office: a programme's roster (by state, with approve/reject/cancel), its CSV export,
and the attendance page used on a tablet at the door."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from portal.access import COORDINATOR, staff_required
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.exports import csv_response
from portal.i18n import current_locale
from portal.programmes import applications, attendance, roster, service
from portal.programmes.models import Attendance, Enrolment, Programme, ProgrammeSession
from portal.programmes.views.admin import (
    MAX_ID,
    actor,
    names,
    programme_or_404,
    settings,
    timezone,
)
from portal.programmes.views.admin_forms import STATE_NAMES, ActionForm, CheckInForm, MarkForm
from portal.web import db_session

bp = Blueprint("programmes_roster", __name__, url_prefix="/staff/programmes")
#: Enrolment ids are 64-bit; the URL converter already stops longer numbers.
ENROLMENT_ID_MAX = 2**63 - 1


def _state_names() -> dict[str, str]:
    return {k: str(v) for k, v in STATE_NAMES.items()}


# --- the roster ------------------------------------------------------------------------------


@bp.get("/<int:programme_id>/roster", endpoint="roster")
@staff_required(COORDINATOR)
def roster_page(programme_id: int) -> Any:
    programme = programme_or_404(programme_id)
    state = request.args.get("state", "enrolled")
    if state not in roster.TABS:
        state = "enrolled"
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and len(number) < 6 else 1
    page = roster.roster_page(db_session(), programme, state=state, page=number)
    return render_template(
        "programmes/roster/roster.html",
        programme=programme,
        page=page,
        tabs=roster.TABS,
        states=_state_names(),
        names=names(),
        action_form=ActionForm(),
        locale=current_locale(),
        answer_text=roster.answer_text,
        previous_url=url_for(".roster", programme_id=programme.id, state=state, page=page.page - 1)
        if page.page > 1
        else None,
        next_url=url_for(".roster", programme_id=programme.id, state=state, page=page.page + 1)
        if page.has_next
        else None,
    )


def _export_labels() -> roster.ExportLabels:
    return roster.ExportLabels(
        header=[
            _("Name"),
            _("Email"),
            _("Phone"),
            _("State"),
            _("Waitlist position"),
            _("Check-in code"),
            _("Enrolled at"),
            _("Sessions attended"),
            _("Completed"),
        ],
        states=_state_names(),
        yes=_("yes"),
        no=_("no"),
    )


@bp.get("/<int:programme_id>/roster.csv")
@staff_required(COORDINATOR)
def roster_csv(programme_id: int) -> Response:
    session = db_session()
    programme = programme_or_404(programme_id)
    rows = list(
        roster.export_rows(
            session,
            programme,
            labels=_export_labels(),
            locale=current_locale(),
            timezone=timezone(),
        )
    )
    session.add(
        AuditEntry(
            actor_id=actor().id,
            entity="programme",
            entity_id=str(programme.id),
            action="roster_export",
            before={},
            after={"rows": len(rows) - 1},
            created_at=clock.now(),
        )
    )
    session.flush()
    return csv_response(rows, f"programme-{programme.id}-roster.csv")


def _enrolment_or_404(programme: Programme, enrolment_id: int) -> Enrolment:
    enrolment = roster.enrolment_of(db_session(), programme, enrolment_id)
    if enrolment is None:
        abort(404)
    return enrolment


def _refused(error: service.ProgrammeError) -> str:
    if error.detail == "window_open":
        return _("Applications can be decided once enrolment has closed.")
    return _("That is no longer possible: the enrolment changed. The roster shows it as it is now.")


def _decide(programme_id: int, enrolment_id: int, decision: str) -> Response:
    programme = programme_or_404(programme_id)
    enrolment = _enrolment_or_404(programme, enrolment_id)
    if not ActionForm().validate():
        abort(400)
    state = enrolment.state
    name = enrolment.user.name or enrolment.user.email
    session = db_session()
    kwargs = {"settings": settings(), "enrolment": enrolment}
    try:
        if decision == "approve":
            outcome = applications.approve_application(session, by=actor(), **kwargs)
            message = (
                _("%(name)s is enrolled.", name=name)
                if outcome == "enrolled"
                else _("No place is free: %(name)s is on the waitlist.", name=name)
            )
        elif decision == "reject":
            applications.reject_application(session, by=actor(), **kwargs)
            message = _("%(name)s's application is rejected.", name=name)
        else:
            service.cancel_enrolment(session, by=actor(), reason="coordinator", **kwargs)
            message = _("%(name)s's enrolment is cancelled.", name=name)
    except service.ProgrammeError as error:
        session.rollback()
        flash(_refused(error), "error")
    else:
        flash(message, "success")
    return redirect(url_for(".roster", programme_id=programme_id, state=state))


@bp.post("/<int:programme_id>/enrolments/<int:enrolment_id>/approve")
@staff_required(COORDINATOR)
def approve(programme_id: int, enrolment_id: int) -> Response:
    return _decide(programme_id, enrolment_id, "approve")


@bp.post("/<int:programme_id>/enrolments/<int:enrolment_id>/reject")
@staff_required(COORDINATOR)
def reject(programme_id: int, enrolment_id: int) -> Response:
    return _decide(programme_id, enrolment_id, "reject")


@bp.post("/<int:programme_id>/enrolments/<int:enrolment_id>/cancel")
@staff_required(COORDINATOR)
def cancel(programme_id: int, enrolment_id: int) -> Response:
    return _decide(programme_id, enrolment_id, "cancel")


# --- attendance ------------------------------------------------------------------------------


def _meeting_or_404(programme: Programme, session_id: int) -> ProgrammeSession:
    if session_id > MAX_ID:
        abort(404)
    meeting = db_session().get(ProgrammeSession, session_id)
    if meeting is None or meeting.programme_id != programme.id:
        abort(404)
    return meeting


def _sheet_page(
    programme: Programme, meeting: ProgrammeSession, form: CheckInForm, status: int = 200
) -> tuple[str, int]:
    sheet = attendance.session_sheet(db_session(), meeting)
    present = sum(1 for _enrolment, mark in sheet if mark is not None and mark.present)
    unmarked = sum(1 for _enrolment, mark in sheet if mark is None)
    return render_template(
        "programmes/roster/attendance.html",
        programme=programme,
        meeting=meeting,
        sheet=sheet,
        present=present,
        unmarked=unmarked,
        count_text=_count_text(present, len(sheet)),
        form=form,
        mark_form=MarkForm(),
        locale=current_locale(),
    ), status


@bp.route(
    "/<int:programme_id>/sessions/<int:session_id>/attendance",
    methods=["GET", "POST"],
    endpoint="attendance",
)
@staff_required(COORDINATOR)
def attendance_page(programme_id: int, session_id: int) -> Any:
    programme = programme_or_404(programme_id)
    meeting = _meeting_or_404(programme, session_id)
    if request.method == "GET":
        return _sheet_page(programme, meeting, CheckInForm(formdata=None))
    here = url_for(".attendance", programme_id=programme.id, session_id=meeting.id)
    if "enrolment" in request.form:
        return _mark(programme, meeting, here)
    form = CheckInForm()
    if not form.validate():
        return _sheet_page(programme, meeting, form, 400)
    try:
        enrolment = attendance.check_in(
            db_session(), programme_session=meeting, code=form.code.data or "", by=actor()
        )
    except attendance.CheckInError as error:
        db_session().rollback()
        form.code.errors = [
            *form.code.errors,
            _(
                "No one enrolled in this programme has that code. Check it, or find the person "
                "by name below."
            )
            if error.code == "unknown_code"
            else _(
                "That code belongs to someone who is not enrolled (waiting, offered a place or "
                "cancelled)."
            ),
        ]
        return _sheet_page(programme, meeting, form, 400)
    flash(_("Checked in: %(name)s.", name=enrolment.user.name or enrolment.user.email), "success")
    return redirect(here)


def _wants_json() -> bool:
    """The attendance script asks for JSON (``Accept: application/json``); a form posted
    without JavaScript gets the page back at the person's row."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _count_text(present: int, total: int) -> str:
    return _("%(present)d of %(total)d present", present=present, total=total)


def _row_state(mark: Attendance | None) -> dict[str, Any]:
    if mark is None:
        return {"state": "unmarked", "method": None}
    return {"state": "present" if mark.present else "absent", "method": mark.method}


def _sheet_json(meeting: ProgrammeSession, message: str, ids: set[int], status: int = 200) -> Any:
    """What the attendance script shows: the message (for the live region), the count, and
    the new state of the rows in ``ids``."""
    sheet = attendance.session_sheet(db_session(), meeting)
    present = sum(1 for _enrolment, mark in sheet if mark is not None and mark.present)
    rows = [
        {"id": enrolment.id, **_row_state(mark)} for enrolment, mark in sheet if enrolment.id in ids
    ]
    return jsonify(
        message=message,
        count=_count_text(present, len(sheet)),
        unmarked=sum(1 for _enrolment, mark in sheet if mark is None),
        rows=rows,
    ), status


def _mark(programme: Programme, meeting: ProgrammeSession, here: str) -> Any:
    form = MarkForm()
    if not form.validate():
        abort(400)
    raw = form.enrolment.data or ""
    if not raw.isdigit() or len(raw) > 19 or int(raw) > ENROLMENT_ID_MAX:
        abort(404)
    if form.present.data not in ("1", "0"):
        abort(400)
    enrolment = _enrolment_or_404(programme, int(raw))
    name = enrolment.user.name or enrolment.user.email
    present = form.present.data == "1"
    try:
        attendance.mark(
            db_session(),
            programme_session=meeting,
            enrolment=enrolment,
            present=present,
            by=actor(),
        )
    except attendance.CheckInError:
        db_session().rollback()
        refusal = _("%(name)s is not enrolled, so cannot be marked.", name=name)
        if _wants_json():
            return _sheet_json(meeting, refusal, set(), 409)
        flash(refusal, "error")
        return redirect(here)
    message = _("%(name)s: present.", name=name) if present else _("%(name)s: absent.", name=name)
    if _wants_json():
        return _sheet_json(meeting, message, {enrolment.id})
    flash(message, "success")
    return redirect(f"{here}#p-{enrolment.id}")


@bp.post(
    "/<int:programme_id>/sessions/<int:session_id>/attendance/all",
    endpoint="mark_all",
)
@staff_required(COORDINATOR)
def mark_all(programme_id: int, session_id: int) -> Any:
    """Mark everyone not marked yet present (one action; absences already recorded stay)."""
    programme = programme_or_404(programme_id)
    meeting = _meeting_or_404(programme, session_id)
    if not ActionForm().validate():
        abort(400)
    marked = attendance.mark_all_present(db_session(), programme_session=meeting, by=actor())
    message = (
        ngettext(
            "%(num)d person marked present.",
            "%(num)d people marked present.",
            len(marked),
        )
        if marked
        else _("Everyone was already marked.")
    )
    if _wants_json():
        return _sheet_json(meeting, message, {enrolment.id for enrolment in marked})
    flash(message, "success")
    here = url_for(".attendance", programme_id=programme.id, session_id=meeting.id)
    return redirect(f"{here}#participants")
