"""The audit trail for admins: who changed what, when, before and after."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from portal.access import ADMIN, staff_required
from portal.auth.models import User
from portal.casework.audit import AuditFilter, Cursor, audit_trail
from portal.requests.models import ServiceRequest
from portal.web import db_session, settings

bp = Blueprint("casework_audit", __name__, url_prefix="/staff/audit")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    person = StringField(_l("Person (email address)"), validators=[Length(max=254)])
    case = StringField(_l("Case reference"), validators=[Length(max=24)])
    since = DateField(_l("From (date)"), validators=[Optional()])
    until = DateField(_l("To (date, inclusive)"), validators=[Optional()])


def _filters(form: AuditFilterForm) -> AuditFilter | None:
    """The filters the form describes, or None after putting errors on its fields."""
    if not form.validate():
        return None
    db = db_session()
    actor_id = None
    if email := (form.person.data or "").strip():
        actor_id = db.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
        if actor_id is None:
            form.person.errors = [_l("No one has that email address.")]
    case = None
    if reference := (form.case.data or "").strip():
        case = db.scalar(
            select(ServiceRequest).where(ServiceRequest.reference == reference.upper())
        )
        if case is None:
            form.case.errors = [_l("There is no case with that reference.")]
    if form.since.data and form.until.data and form.since.data > form.until.data:
        form.until.errors = [_l("The end date must be on or after the start date.")]
    if form.person.errors or form.case.errors or form.until.errors:
        return None
    zone = ZoneInfo(settings().timezone)

    def start_of(day):
        return datetime.combine(day, time.min, tzinfo=zone)

    return AuditFilter(
        actor_id=actor_id,
        request=case,
        since=start_of(form.since.data) if form.since.data else None,
        until=start_of(form.until.data + timedelta(days=1)) if form.until.data else None,
    )


@bp.get("/")
@staff_required(ADMIN)
def trail():
    form = AuditFilterForm(formdata=request.args)
    filters = _filters(form)
    page = None
    older_url = newest_url = None
    cursor = Cursor.decode(request.args.get("after"))
    if filters is not None:
        page = audit_trail(db_session(), filters=filters, cursor=cursor)
        args = {k: v for k, v in request.args.items() if k != "after" and v}
        if page.next_cursor is not None:
            older_url = url_for("casework_audit.trail", **args, after=page.next_cursor.encode())
        if cursor is not None:
            newest_url = url_for("casework_audit.trail", **args)
    return render_template(
        "casework/audit/trail.html",
        form=form,
        page=page,
        older_url=older_url,
        newest_url=newest_url,
    ), (200 if filters is not None else 400)
