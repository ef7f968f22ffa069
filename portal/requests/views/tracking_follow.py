"""Following and supporting a request, and the links in follow emails (pages of the
``requests_tracking`` blueprint of ``portal.requests.views.tracking``)."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.exceptions import NotFound

from portal.auth.service import email_verified
from portal.extensions import limiter
from portal.i18n import current_locale
from portal.requests import follows, queries
from portal.requests.models import ServiceRequest
from portal.requests.views.tracking import _back, _load, _page, _user, bp, supporter_key
from portal.requests.views.tracking_forms import ActionForm, FollowForm
from portal.web import db_session, settings

# -- following and support -------------------------------------------------------------------


def unverified_message(email: str) -> str:
    return _(
        "Confirm your email address first: open the link we sent to %(email)s. Your account "
        "page can send the link again.",
        email=email,
    )


def support_limited_message() -> str:
    return _(
        "We could not count your support: this request, or many requests, have been supported "
        "from your internet connection recently. Sign in to add your support, or try again "
        "tomorrow."
    )


@bp.post("/requests/<reference>/support")
@limiter.limit("60 per hour", methods=["POST"])
def support(reference: str):
    sr = _load(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not sr.is_public or not sr.is_open:
        flash(_("Only open public requests can be supported."), "error")
        return _back(sr)
    user = _user()
    key = supporter_key(create=True)
    assert key is not None
    try:
        counted = follows.support_request(
            db_session(),
            request=sr,
            supporter_key=key,
            user_id=user.id if user else None,
            address=None if user else follows.address_hash(settings(), request.remote_addr or ""),
        )
    except follows.SupportLimited:
        flash(support_limited_message(), "error")
        return _back(sr, "support")
    if counted:
        flash(_("Thank you. Your support for this request has been counted."), "success")
    else:
        flash(_("You already support this request."), "info")
    return _back(sr, "support")


@bp.post("/requests/<reference>/follow")
@limiter.limit("20 per hour", methods=["POST"])
def follow(reference: str):
    sr = _load(reference)
    if not sr.is_public:
        abort(404)
    user = _user()
    if user is not None:
        if not ActionForm().validate_on_submit():
            abort(400)
        if not email_verified(user):
            flash(unverified_message(user.email), "error")
            return _back(sr, "follow")
        follows.follow_request(
            db_session(),
            settings=settings(),
            request=sr,
            email=user.email,
            user=user,
            locale=current_locale(),
        )
        flash(
            _(
                "You are following this request. We will email %(email)s when it changes.",
                email=user.email,
            ),
            "success",
        )
        return _back(sr, "follow")
    form = FollowForm()
    if not form.validate_on_submit():
        return _page(sr, status=400, follow_form=form)
    email = (form.follow_email.data or "").strip()
    follows.follow_request(
        db_session(), settings=settings(), request=sr, email=email, locale=current_locale()
    )
    flash(
        _(
            "Check your email: unless %(email)s already gets updates about this request, we "
            "have sent it a link. Open the link to start getting updates.",
            email=email,
        ),
        "success",
    )
    return _back(sr, "follow")


@bp.post("/requests/<reference>/unfollow")
@login_required
def unfollow(reference: str):
    sr = _load(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    user = _user()
    assert user is not None
    follower = queries.follower_for_user(db_session(), sr, user.id)
    if follower is not None:
        follows.unfollow(db_session(), follower=follower)
    flash(_("You will no longer get emails about this request."), "success")
    return _back(sr, "follow")


@bp.get("/follow/confirm/<token>")
def confirm_follow(token: str):
    follower = follows.confirm_follow(db_session(), token=token)
    if follower is None:
        raise _link_not_valid()
    sr = db_session().get(ServiceRequest, follower.request_id)
    return render_template(
        "requests/tracking/follow_confirmed.html", sr=sr, public=sr is not None and sr.is_public
    )


def _link_not_valid() -> NotFound:
    error = NotFound(
        _("This link is not valid any more. It may have been used to stop the emails already.")
    )
    error.portal_message = True  # type: ignore[attr-defined]
    return error


@bp.route("/follow/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    follower = follows.follower_by_token(db_session(), token)
    if follower is None:
        raise _link_not_valid()
    sr = db_session().get(ServiceRequest, follower.request_id)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        follows.unfollow(db_session(), follower=follower)
        return render_template("requests/tracking/unsubscribed.html", sr=sr, email=follower.email)
    return render_template(
        "requests/tracking/unsubscribe.html", sr=sr, email=follower.email, token=token
    )
