"""Back office: a programme's cohorts. Run the next cohort by copying this one with its
sessions moved to a new start date (``/copy``), and see every cohort side by side
(``/cohorts``). Pages of the ``programmes_admin`` blueprint of
``portal.programmes.views.admin`` (``admin_sessions`` imports this module so they are added)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from portal.access import COORDINATOR, staff_required
from portal.core import clock
from portal.i18n import current_locale
from portal.programmes.admin import cohorts
from portal.programmes.views.admin import (
    actor,
    bp,
    names,
    programme_or_404,
    timezone,
)
from portal.programmes.views.admin_forms import CopyCohortForm
from portal.web import db_session


def _dates(first: date | None, last: date | None) -> str:
    if first is None:
        return _("no sessions")
    if last is None or last == first:
        return format_date(first, "medium")
    return _(
        "%(first)s to %(last)s",
        first=format_date(first, "medium"),
        last=format_date(last, "medium"),
    )


def _copy_message(code: str, overlap: cohorts.Overlap | None) -> str:
    if code == "no_sessions":
        return _("This cohort has no sessions to copy: add its sessions first")
    if code == "in_past":
        return _("Choose a date in the future: the first session would already have started")
    if code == "overlaps" and overlap is not None:
        return _(
            "A cohort with this title already runs on some of these days (%(dates)s): choose a "
            "later date or change the title",
            dates=_dates(overlap.starts_on, overlap.ends_on),
        )
    return {
        "required": _("This is required"),
        "too_long": _("This is too long"),
    }.get(code, _("Check this"))


def _copy_page(programme: Any, form: CopyCohortForm, status: int = 200) -> tuple[str, int]:
    zone = ZoneInfo(timezone())
    first = programme.sessions[0].starts_at.astimezone(zone) if programme.sessions else None
    return render_template(
        "programmes/admin/copy.html",
        programme=programme,
        form=form,
        names=names(),
        weekday=format_date(first.date(), "EEEE") if first else None,
        timezone=timezone(),
        locale=current_locale(),
    ), status


@bp.route("/<int:programme_id>/copy", methods=["GET", "POST"])
@staff_required(COORDINATOR)
def copy(programme_id: int) -> Any:
    programme = programme_or_404(programme_id)
    if request.method == "GET":
        spanish = (programme.translations or {}).get("es", {})
        form = CopyCohortForm(
            formdata=None, data={"title": programme.title, "title_es": spanish.get("title", "")}
        )
        return _copy_page(programme, form)
    form = CopyCohortForm()
    if not form.validate():
        return _copy_page(programme, form, 400)
    data = cohorts.CohortInput(
        starts_on=form.starts_on.data,
        title=form.title.data or "",
        title_es=form.title_es.data or "",
    )
    try:
        cohort = cohorts.copy_cohort(
            db_session(), programme, data, actor=actor(), timezone=timezone(), now=clock.now()
        )
    except cohorts.CopyRefused as error:
        db_session().rollback()
        programme = programme_or_404(programme_id)
        for key, code in error.errors.items():
            field = getattr(form, key, form.starts_on)
            field.errors = [*field.errors, _copy_message(code, error.overlap)]
        return _copy_page(programme, form, 400)
    flash(
        _(
            "The next cohort is ready as a draft, its %(count)d sessions from %(dates)s. Check "
            "the enrolment dates, then open enrolment.",
            count=len(cohort.sessions),
            dates=_dates(cohort.starts_on, cohort.ends_on),
        ),
        "success",
    )
    return redirect(url_for(".show", programme_id=cohort.id))


@bp.get("/<int:programme_id>/cohorts")
@staff_required(COORDINATOR)
def compare(programme_id: int) -> Any:
    programme = programme_or_404(programme_id)
    figures = cohorts.compare_cohorts(db_session(), programme, now=clock.now())
    return render_template(
        "programmes/admin/cohorts.html",
        programme=programme,
        figures=figures,
        names=names(),
        dates=_dates,
        locale=current_locale(),
    )
