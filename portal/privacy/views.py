"""Download my data and delete my account, from the resident's account page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from portal.auth import sso
from portal.auth.models import User
from portal.core import clock
from portal.extensions import limiter
from portal.privacy import deletion, export
from portal.privacy.forms import (
    ConfirmedDeleteForm,
    DeleteAccountForm,
    DownloadForm,
    ReauthenticateForm,
)
from portal.web import REAUTHENTICATED_KEY, db_session, reauthenticated_at, settings

bp = Blueprint("privacy", __name__, url_prefix="/account")


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/download", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per hour", methods=["POST"])
def download():
    form = DownloadForm()
    if form.validate_on_submit():
        try:
            export.request_export(db_session(), _me(), now=clock.now())
        except export.ExportError as exc:
            if exc.reason == "pending":
                flash(_("Your data is already being gathered. We will email you a link."), "info")
            else:
                flash(
                    _("You have asked for your data several times today. Try again tomorrow."),
                    "error",
                )
        else:
            flash(
                _("We are gathering your data. We will email you a link to download it."),
                "success",
            )
        return redirect(url_for("privacy.download"))
    latest = export.latest_export(db_session(), _me())
    return render_template("privacy/download.html", form=form, latest=latest)


@bp.get("/download/<token>")
@login_required
def fetch(token: str):
    try:
        claimed = export.claim_download(
            db_session(), _me(), token, settings=settings(), now=clock.now()
        )
    except export.ExportError as exc:
        return _link_problem(exc.reason)
    path = export.export_path(settings(), claimed)
    # Opened, then deleted: the file is sent from the open handle and nothing stays on disk.
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # another request took it a moment ago
        return _link_problem("used")
    path.unlink(missing_ok=True)
    response = send_file(
        handle,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"my-data-{clock.now():%Y-%m-%d}.zip",
    )
    response.cache_control.no_store = True
    response.cache_control.private = True
    return _no_referrer(response)


def _link_problem(reason: str) -> Response:
    page = render_template("privacy/link_problem.html", reason=reason)
    status = 404 if reason == "unknown" else 410
    return _no_referrer(Response(page, status=status, mimetype="text/html"))


def _no_referrer(response: Response) -> Response:
    """The token is in the address: never pass it on in a Referer header."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def delete():
    user = _me()
    if user.is_staff:
        return render_template("privacy/delete_staff.html"), 403
    # Confirmed by the password, or (a person who signs in through the city's provider) by
    # signing in there again within deletion.REAUTH_WINDOW.
    now = clock.now()
    confirmed_at = reauthenticated_at(user.id)
    if confirmed_at is not None and now - confirmed_at > deletion.REAUTH_WINDOW:
        session.pop(REAUTHENTICATED_KEY, None)
        confirmed_at = None
    form: DeleteAccountForm | ConfirmedDeleteForm = (
        ConfirmedDeleteForm() if confirmed_at is not None else DeleteAccountForm()
    )
    if form.validate_on_submit():
        password = getattr(form, "password", None)
        try:
            deletion.delete_account(
                db_session(),
                user,
                password.data if password is not None else None,
                settings=settings(),
                now=now,
                reauthenticated_at=confirmed_at,
            )
        except deletion.DeletionError as exc:
            if exc.reason == "wrong_password" and password is not None:
                password.errors.append(_("Your password is not right"))
            elif exc.reason == "reauth_expired":
                session.pop(REAUTHENTICATED_KEY, None)
                return redirect(url_for("privacy.delete"))
            else:
                return render_template("privacy/delete_staff.html"), 403
        else:
            logout_user()
            session.clear()
            flash(_("Your account has been deleted."), "success")
            return redirect(url_for("pages.home"))
    linked = bool(settings().sso_enabled and sso.identities_of(db_session(), user.id))
    return render_template(
        "privacy/delete.html",
        form=form,
        confirmed=confirmed_at is not None,
        reauth_form=ReauthenticateForm() if linked and confirmed_at is None else None,
    )
