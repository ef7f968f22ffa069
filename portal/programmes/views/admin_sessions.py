"""Back office: a programme's sessions, added, edited and deleted on its overview page; pages
of the ``programmes_admin`` blueprint of ``portal.programmes.views.admin`` (``create_app``
imports this module so that they are added)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.access import COORDINATOR, staff_required
from portal.confirm import ConfirmDeleteForm, unconfirmed
from portal.programmes.admin import common, sessions
from portal.programmes.models import ProgrammeSession
from portal.programmes.views.admin import (
    _message,
    _part_or_404,
    actor,
    bp,
    overview,
    programme_or_404,
    show_errors,
    timezone,
)
from portal.programmes.views.admin_forms import ActionForm, SessionForm
from portal.web import db_session


def _session_input(form: SessionForm) -> sessions.SessionInput:
    return sessions.SessionInput(
        day=form.day.data,
        start=form.start.data,
        end=form.end.data,
        title=form.title.data or "",
        title_es=form.title_es.data or "",
        place=form.place.data or "",
        online_url=form.online_url.data or "",
        mandatory=bool(form.mandatory.data),
    )


def _session_data(meeting: ProgrammeSession) -> dict[str, Any]:
    starts = common.local(meeting.starts_at, timezone())
    ends = common.local(meeting.ends_at, timezone())
    assert starts is not None and ends is not None
    return {
        "title": meeting.title,
        "title_es": (meeting.translations or {}).get("es", {}).get("title", ""),
        "day": starts.date(),
        "start": starts.time().replace(second=0, microsecond=0),
        "end": ends.time().replace(second=0, microsecond=0),
        "place": meeting.place,
        "online_url": meeting.online_url,
        "mandatory": meeting.mandatory,
    }


@bp.post("/<int:programme_id>/sessions")
@staff_required(COORDINATOR)
def add_session(programme_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=True)
    form = SessionForm(prefix="session")
    if form.validate():
        try:
            sessions.add_session(
                db_session(), programme, _session_input(form), actor=actor(), timezone=timezone()
            )
        except common.ProgrammeAdminError as error:
            show_errors(form, error)
        else:
            flash(_("Session added."), "success")
            return redirect(url_for(".show", programme_id=programme.id, _anchor="sessions"))
    db_session().rollback()
    return overview(programme_or_404(programme_id), 400, session_form=form)


@bp.route("/<int:programme_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff_required(COORDINATOR)
def edit_session(programme_id: int, session_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=request.method == "POST")
    meeting = _part_or_404(programme, programme.sessions, session_id)
    if request.method == "GET":
        form = SessionForm(prefix="session", data=_session_data(meeting))
    else:
        form = SessionForm(prefix="session")
        if form.validate():
            try:
                sessions.update_session(
                    db_session(), meeting, _session_input(form), actor=actor(), timezone=timezone()
                )
            except common.ProgrammeAdminError as error:
                show_errors(form, error)
            else:
                flash(_("Session saved."), "success")
                return redirect(url_for(".show", programme_id=programme.id, _anchor="sessions"))
    return render_template(
        "programmes/admin/session_form.html",
        form=form,
        programme=programme,
        meeting=meeting,
        action_form=ActionForm(),
        timezone=timezone(),
    ), (200 if request.method == "GET" else 400)


@bp.post("/<int:programme_id>/sessions/<int:session_id>/delete")
@staff_required(COORDINATOR)
def delete_session(programme_id: int, session_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=True)
    meeting = _part_or_404(programme, programme.sessions, session_id)
    form = ConfirmDeleteForm()
    if not form.validate():
        abort(400)
    if not form.confirmed:
        return overview(programme, 400, confirm_errors=unconfirmed(f"confirm-session-{meeting.id}"))
    try:
        sessions.delete_session(db_session(), meeting, actor=actor(), timezone=timezone())
    except common.ProgrammeAdminError as error:
        for key, code in error.errors.items():
            flash(_message(key, code), "error")
    else:
        flash(_("Session deleted."), "success")
    return redirect(url_for(".show", programme_id=programme.id, _anchor="sessions"))


from portal.programmes.views import admin_cohorts as _admin_cohorts  # noqa: E402, F401 - adds its routes
