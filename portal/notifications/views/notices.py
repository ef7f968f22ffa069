"""Staff notices: the member's list, marking them read, and how they are emailed.

The header's unread count comes from the ``unread_notice_count()`` template global, computed
once per request and only on back-office pages (where ``staff_required`` set ``g.staff``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms import BooleanField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from portal.access import CASEWORK, current_staff, staff_required
from portal.core import clock
from portal.i18n import current_locale
from portal.notifications import staff
from portal.requests.queries import MAX_ID
from portal.web import db_session, settings

bp = Blueprint("notifications_notices", __name__, url_prefix="/staff/notices")

PAGE_SIZE = 25
log = logging.getLogger(__name__)


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token."""


class NoticeEmailForm(FlaskForm):
    notice_email = RadioField(
        _l("Email me"),
        choices=[
            SelectChoice("each", _l("An email for each notice")),
            SelectChoice("daily", _l("One email a day listing the notices (at 7 am)")),
        ],
        validators=[InputRequired(_l("Choose how to get emails about your notices"))],
        validate_choice=False,
    )

    team_digest = BooleanField(_l("Send me my department's results every Monday"))

    def validate_notice_email(self, field: RadioField) -> None:
        if field.data not in staff.NOTICE_EMAIL_CHOICES:
            raise ValidationError(_("Choose how to get emails about your notices"))


@bp.app_template_global("unread_notice_count")
def unread_notice_count() -> int | None:
    """The member's unread notices (at most ``staff.COUNT_CAP``), or None outside the back
    office or for staff without casework (the link is then not shown)."""
    access = g.get("staff")
    if access is None or not access.does_casework:
        return None
    if "_unread_notices" not in g:
        try:
            g._unread_notices = staff.unread_count(db_session(), user_id=access.user_id)
        except SQLAlchemyError:
            # A page shown after a failed write (its transaction is aborted) still renders;
            # it only goes without the badge.
            log.warning("unread notice count unavailable", exc_info=True)
            g._unread_notices = 0
    return g._unread_notices


def _cursor(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        abort(404)
    return int(raw)


def _back() -> str:
    """Back to the list page the member came from (only a notices URL)."""
    target = request.form.get("next", "")
    if target.startswith("/staff/notices") and "//" not in target and "\\" not in target:
        return target
    return url_for("notifications_notices.index")


@bp.get("")
@staff_required(CASEWORK)
def index() -> Any:
    access = current_staff()
    page = staff.notice_page(
        db_session(),
        user_id=access.user_id,
        before=_cursor("before"),
        after=_cursor("after"),
        size=PAGE_SIZE,
    )
    locale = current_locale()
    timezone = settings().timezone
    rows = [
        (
            n,
            staff.notice_text(n, locale, timezone=timezone),
            staff.headline(n.kind, locale),
            staff.NOTICE_CLASSES.get(n.kind, "bg-base-dark"),
        )
        for n in page.notices
    ]
    return render_template(
        "notifications/notices/index.html",
        rows=rows,
        action=ActionForm(formdata=None),
        any_unread=bool(unread_notice_count()),
        here=request.full_path.rstrip("?"),
        older_url=url_for("notifications_notices.index", before=page.older) if page.older else None,
        newer_url=url_for("notifications_notices.index", after=page.newer) if page.newer else None,
        notice_email=current_user.notice_email,
    )


@bp.post("/<int:notice_id>/read")
@staff_required(CASEWORK)
def read(notice_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    if notice_id > MAX_ID or not staff.mark_read(
        db_session(), user_id=current_staff().user_id, notice_id=notice_id, now=clock.now()
    ):
        abort(404)
    return redirect(_back())


@bp.post("/read-all")
@staff_required(CASEWORK)
def read_all() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    staff.mark_all_read(db_session(), user_id=current_staff().user_id, now=clock.now())
    flash(_("All your notices are marked as read."), "success")
    return redirect(url_for("notifications_notices.index"))


@bp.route("/settings", methods=["GET", "POST"])
@staff_required(CASEWORK)
def email_settings() -> Any:
    user = current_user._get_current_object()
    if request.method == "GET":
        form = NoticeEmailForm(
            formdata=None, notice_email=user.notice_email, team_digest=user.team_digest
        )
        return render_template("notifications/notices/settings.html", form=form)
    form = NoticeEmailForm()
    if not form.validate_on_submit():
        return render_template("notifications/notices/settings.html", form=form), 400
    staff.set_notice_email(
        db_session(),
        user=user,
        choice=form.notice_email.data,
        team_digest=bool(form.team_digest.data),
    )
    flash(
        _("Saved. You will get an email for each notice.")
        if form.notice_email.data == "each"
        else _("Saved. You will get one email a day listing your notices."),
        "success",
    )
    return redirect(url_for("notifications_notices.index"))
