"""Back office: business calendars and their closures (admins only), on the service-level
blueprint of ``portal.sla.views.admin``: the list of calendars, a calendar's form with its
upcoming public holidays and closures, adding and removing a closure."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.access import ADMIN, staff_required
from portal.confirm import ConfirmDeleteForm, unconfirmed
from portal.sla.admin import calendars as calendar_admin
from portal.sla.admin import common
from portal.sla.models import WEEKDAYS, BusinessCalendar
from portal.sla.views.admin import acting_user, bp, row_or_404, show_errors
from portal.sla.views.admin_forms import DAY_NAMES, CalendarForm, ClosureForm
from portal.web import db_session


@bp.get("/calendars/")
@staff_required(ADMIN)
def calendars() -> str:
    rows = calendar_admin.list_calendars(db_session())
    return render_template(
        "sla/admin/calendars.html",
        calendars=rows,
        hours={c.id: calendar_admin.hours_text(c.hours) for c in rows},
        days=WEEKDAYS,
        day_names=DAY_NAMES,
    )


def _calendar_input(form: CalendarForm) -> calendar_admin.CalendarInput:
    return calendar_admin.CalendarInput(
        code=form.code.data or "",
        name=form.name.data or "",
        timezone=form.timezone.data or "",
        always_open=bool(form.always_open.data),
        hours=form.hours(),
        holiday_country=form.holiday_country.data or "",
        holiday_subdivision=form.holiday_subdivision.data or "",
    )


def _calendar_data(calendar: BusinessCalendar) -> dict[str, Any]:
    snapshot = calendar_admin.calendar_snapshot(calendar)
    data = {key: value for key, value in snapshot.items() if key != "hours"}
    data.update(
        {f"hours_{day}": text for day, text in calendar_admin.hours_text(calendar.hours).items()}
    )
    data["state"] = common.fingerprint(snapshot)
    return data


def _calendar_page(
    form: CalendarForm,
    calendar: BusinessCalendar | None,
    status: int = 200,
    *,
    conflict: bool = False,
    closure_form: ClosureForm | None = None,
    confirm_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    context: dict[str, Any] = {
        "form": form,
        "calendar": calendar,
        "conflict": conflict,
        "days": WEEKDAYS,
        "day_names": DAY_NAMES,
        "confirm_errors": confirm_errors or {},
    }
    if calendar is not None:
        today = calendar_admin.calendar_today(calendar)
        context.update(
            holidays=calendar_admin.upcoming_holidays(calendar, today=today),
            closures=calendar_admin.upcoming_closures(db_session(), calendar, today=today),
            closure_form=closure_form or ClosureForm(formdata=None),
            current_hours=calendar_admin.hours_text(calendar.hours),
            today=today,
        )
    return render_template("sla/admin/calendar_form.html", **context), status


@bp.route("/calendars/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new_calendar() -> Any:
    form = CalendarForm()
    if request.method == "GET":
        return _calendar_page(form, None)
    if form.validate():
        try:
            calendar = calendar_admin.create_calendar(
                db_session(), _calendar_input(form), actor=acting_user()
            )
        except common.SlaAdminError as error:
            show_errors(form, error)
        else:
            flash(
                _(
                    "Calendar “%(name)s” added. You can now add the city's closures.",
                    name=calendar.name,
                ),
                "success",
            )
            return redirect(url_for(".edit_calendar", calendar_id=calendar.id))
    return _calendar_page(form, None, 400)


@bp.route("/calendars/<int:calendar_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit_calendar(calendar_id: int) -> Any:
    if request.method == "GET":
        calendar = row_or_404(BusinessCalendar, calendar_id)
        return _calendar_page(CalendarForm(data=_calendar_data(calendar)), calendar)
    calendar = row_or_404(BusinessCalendar, calendar_id, lock=True)
    form = CalendarForm()
    if form.validate():
        try:
            calendar_admin.update_calendar(
                db_session(),
                calendar,
                _calendar_input(form),
                actor=acting_user(),
                expected=form.state.data or "",
            )
        except common.Conflict:
            form.state.data = _calendar_data(calendar)["state"]
            return _calendar_page(form, calendar, 409, conflict=True)
        except common.SlaAdminError as error:
            show_errors(form, error)
        else:
            flash(_("Calendar “%(name)s” saved.", name=calendar.name), "success")
            return redirect(url_for(".edit_calendar", calendar_id=calendar.id))
    return _calendar_page(form, calendar, 400)


@bp.post("/calendars/<int:calendar_id>/closures")
@staff_required(ADMIN)
def add_closure(calendar_id: int) -> Any:
    calendar = row_or_404(BusinessCalendar, calendar_id, lock=True)
    closure_form = ClosureForm()
    if closure_form.validate():
        try:
            closure = calendar_admin.add_closure(
                db_session(),
                calendar,
                day=closure_form.closure_day.data,
                name=closure_form.closure_name.data or "",
                actor=acting_user(),
            )
        except common.SlaAdminError as error:
            show_errors(closure_form, error, prefix="closure_")
        else:
            flash(
                _("Closed on %(day)s: %(name)s.", day=closure.day.isoformat(), name=closure.name),
                "success",
            )
            return redirect(url_for(".edit_calendar", calendar_id=calendar.id, _anchor="closures"))
    return _calendar_page(
        CalendarForm(formdata=None, data=_calendar_data(calendar)),
        calendar,
        400,
        closure_form=closure_form,
    )


@bp.post("/calendars/<int:calendar_id>/closures/<int:closure_id>/delete")
@staff_required(ADMIN)
def remove_closure(calendar_id: int, closure_id: int) -> Any:
    calendar = row_or_404(BusinessCalendar, calendar_id, lock=True)
    form = ConfirmDeleteForm()
    if not form.validate():
        abort(400)
    closure = next((c for c in calendar.closures if c.id == closure_id), None)
    if closure is None:
        flash(_("That closure was already removed."), "info")
    elif not form.confirmed:
        return _calendar_page(
            CalendarForm(formdata=None, data=_calendar_data(calendar)),
            calendar,
            400,
            confirm_errors=unconfirmed(f"confirm-closure-{closure.id}"),
        )
    else:
        day, name = closure.day.isoformat(), closure.name
        calendar_admin.remove_closure(db_session(), closure, actor=acting_user())
        flash(_("The closure on %(day)s (%(name)s) is removed.", day=day, name=name), "success")
    return redirect(url_for(".edit_calendar", calendar_id=calendar.id, _anchor="closures"))
