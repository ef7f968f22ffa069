"""Residents subscribe to a daily digest of new requests in an area."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from portal.areas.models import Area
from portal.auth.service import email_verified
from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.i18n import current_locale
from portal.requests import alerts
from portal.requests.queries import MAX_ID
from portal.requests.views.tracking_follow import unverified_message
from portal.requests.views.tracking_forms import ActionForm, AreaAlertForm
from portal.web import db_session

bp = Blueprint("requests_alerts", __name__)

#: A city has tens of areas and categories; these caps only guard against a runaway catalogue.
MAX_CHOICES = 500


def _form(*, submitted: bool) -> AreaAlertForm:
    """The form with the city's areas and categories as choices (posted data if submitted)."""
    db = db_session()
    locale = current_locale()
    form = AreaAlertForm() if submitted else AreaAlertForm(formdata=None)
    areas = db.scalars(
        select(Area).where(Area.active.is_(True)).order_by(Area.name, Area.id).limit(MAX_CHOICES)
    ).all()
    categories = db.scalars(
        select(ServiceCategory)
        .where(ServiceCategory.active.is_(True))
        .order_by(ServiceCategory.position, ServiceCategory.name, ServiceCategory.id)
        .limit(MAX_CHOICES)
    ).all()
    form.area.choices = [(0, _("Choose an area"))] + [(a.id, a.name) for a in areas]
    form.categories.choices = [(c.id, c.t("name", locale)) for c in categories]
    return form


def _page(form: AreaAlertForm, status: int = 200):
    names = dict(form.categories.choices or [])
    rows = [
        (sub, ", ".join(names[c] for c in sub.category_ids or [] if c in names))
        for sub in alerts.user_subscriptions(db_session(), user_id=current_user.id)
    ]
    return render_template("requests/alerts/index.html", form=form, subscriptions=rows), status


@bp.get("/my/alerts/")
@login_required
def index():
    return _page(_form(submitted=False))


@bp.post("/my/alerts/")
@login_required
def subscribe():
    form = _form(submitted=True)
    if not email_verified(current_user):
        # A daily email to an address nobody has proved is theirs would be spam.
        form.area.errors = [unverified_message(current_user.email)]
    elif form.validate_on_submit():
        try:
            subscription = alerts.subscribe(
                db_session(),
                user=current_user,
                area_id=form.area.data or 0,
                category_ids=list(form.categories.data or []),
                now=clock.now(),
            )
        except alerts.AlertError as exc:
            if exc.code == "unknown_area":
                form.area.errors.append(_("Choose an area from the list."))
            elif exc.code == "unknown_category":
                form.categories.errors.append(_("Choose kinds of problem from the list."))
            else:
                form.area.errors.append(
                    _(
                        "You can have up to %(max)s area alerts. Remove one to add another.",
                        max=alerts.MAX_SUBSCRIPTIONS,
                    )
                )
        else:
            flash(
                _(
                    "Area alert saved. We will email you each day there are new requests in "
                    "%(area)s.",
                    area=subscription.area.name,
                ),
                "success",
            )
            return redirect(url_for("requests_alerts.index"))
    return _page(form, 400)


@bp.post("/my/alerts/<int:subscription_id>/remove")
@login_required
def remove(subscription_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    if subscription_id > MAX_ID or not alerts.remove_subscription(
        db_session(), user_id=current_user.id, subscription_id=subscription_id
    ):
        abort(404)
    flash(_("Area alert removed."), "success")
    return redirect(url_for("requests_alerts.index"))


def _link_not_valid() -> NotFound:
    error = NotFound(
        _("This link is not valid any more. It may have been used to stop the emails already.")
    )
    error.portal_message = True  # type: ignore[attr-defined]
    return error


@bp.route("/alerts/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Mail scanners open links: GET only asks, the POST button stops the emails."""
    db = db_session()
    subscription = alerts.subscription_by_token(db, token)
    if subscription is None:
        raise _link_not_valid()
    area = subscription.area.name
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        alerts.cancel(db, subscription=subscription)
        return render_template("requests/alerts/unsubscribed.html", area=area)
    return render_template("requests/alerts/unsubscribe.html", area=area, token=token)
