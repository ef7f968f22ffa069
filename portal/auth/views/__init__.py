"""Sign up, sign in, sign out, password reset, confirming the email address and the
resident's own account page.

Sign-up does not sign in, as FixMyStreet does not: the page after it reads the same whether or
not the address already had an account (telling it would reveal who has one), and the new
account confirms its address first. The emailed link confirms the address and, the first time,
signs that browser in (unless someone else is signed in there), so the usual path is still
"sign up, click the link, carry on".
"""

from __future__ import annotations

import math

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.auth import service, sso
from portal.auth.forms import (
    AccountForm,
    ChangePasswordForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignInForm,
    SignUpForm,
    password_message,
)
from portal.auth.models import User
from portal.auth.views.landing import ATTEMPTS_LIMIT, landing_page, safe_next
from portal.core import clock
from portal.extensions import limiter, login_manager
from portal.i18n import current_locale
from portal.push.subscriptions import devices_of
from portal.web import db_session, settings

bp = Blueprint("auth", __name__, url_prefix="/account")

#: "Send the link again", per client address (the service also sends at most one link per
#: account every two minutes).
RESEND_LIMIT = "5 per hour"


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        try:
            raw_id, version = user_id.split(":", 1)
            uid, ver = int(raw_id), int(version)
        except ValueError:
            return None
        user = db_session().scalar(select(User).where(User.id == uid))
        if user is None or user.session_version != ver or not user.active:
            return None
        return user

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        flash(_("Sign in to see that page."), "info")
        return redirect(url_for("auth.sign_in", next=_here()))


def _here() -> str:
    """The current path and query, for coming back after signing in."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def _sign_in(user: User) -> None:
    login_user(user, remember=False)
    session.permanent = True


def _after_sign_in() -> Response:
    return redirect(safe_next(request.args.get("next")) or landing_page(current_user))


def _password_message(reason: str) -> str:
    return str(password_message(reason))


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit(ATTEMPTS_LIMIT, methods=["POST"])
def sign_up():
    if current_user.is_authenticated:
        return _after_sign_in()
    form = SignUpForm()
    if request.method == "GET":
        form.locale.data = current_locale()
    if form.validate_on_submit():
        try:
            service.sign_up(
                db_session(),
                settings=settings(),
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                phone=form.phone.data or "",
                locale=form.locale.data,
            )
        except service.WeakPassword as exc:
            form.password.errors.append(_password_message(exc.reason))
        else:
            # The same page whether the account is new or the address already had one (its
            # owner was emailed instead).
            email = service.normalise_email(form.email.data)
            return render_template("auth/sign_up_sent.html", email=email)
    return render_template(
        "auth/sign_up.html",
        form=form,
        next=safe_next(request.args.get("next")),
        password_min=service.PASSWORD_MIN,
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(ATTEMPTS_LIMIT, methods=["POST"])
def sign_in():
    if current_user.is_authenticated:
        return _after_sign_in()
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = service.sign_in(
                db_session(),
                settings=settings(),
                email=form.email.data,
                password=form.password.data,
                now=clock.now(),
            )
        except service.SignInRefused as exc:
            # The same whether or not an account has the address.
            minutes = max(1, math.ceil(exc.wait_seconds / 60))
            form.email.errors.append(
                ngettext(
                    "Too many failed sign-ins for this account. Try again in %(num)d minute "
                    "or reset your password.",
                    "Too many failed sign-ins for this account. Try again in %(num)d minutes "
                    "or reset your password.",
                    minutes,
                )
            )
            page = render_template(
                "auth/sign_in.html", form=form, next=safe_next(request.args.get("next"))
            )
            # A refused attempt changed nothing; one that failed and started the wait was
            # counted, and its count must be committed (a 2xx).
            response = Response(page, status=200 if exc.checked else 429, mimetype="text/html")
            response.headers["Retry-After"] = str(exc.wait_seconds)
            return response
        if user is not None and not sso.password_sign_in_allowed(user, settings()):
            form.email.errors.append(
                _("City staff sign in with single sign-on: use the button on this page.")
            )
        elif user is not None:
            _sign_in(user)
            return _after_sign_in()
        else:
            # One message whether the address is unknown or the password wrong.
            form.email.errors.append(
                _(
                    "The email address or password is not right. Check them "
                    "and try again, or reset your password."
                )
            )
    return render_template("auth/sign_in.html", form=form, next=safe_next(request.args.get("next")))


@bp.post("/sign-out")
def sign_out():
    from portal.auth.views.oidc import ID_TOKEN_KEY, provider_logout_url

    provider_logout = None
    if current_user.is_authenticated:
        service.end_sessions(db_session(), current_user._get_current_object())
        # Signed in through single sign-on: the provider's session ends too (issue 24).
        provider_logout = provider_logout_url(session.get(ID_TOKEN_KEY))
        logout_user()
        # Nothing from this visit (drafts, choices) is left for the next person at this browser.
        session.clear()
        flash(_("You have signed out."), "success")
    return redirect(provider_logout or url_for("pages.home"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(ATTEMPTS_LIMIT, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        service.request_password_reset(
            db_session(), settings=settings(), email=form.email.data, locale=current_locale()
        )
        # The same answer whether or not an account has this address (staff who sign in only
        # through the provider are emailed a pointer to its button instead of a link).
        return render_template("auth/reset_sent.html", staff_sso_only=_staff_sso_only())
    return render_template("auth/reset_request.html", form=form, staff_sso_only=_staff_sso_only())


def _staff_sso_only() -> bool:
    return settings().sso_staff_only and settings().sso_enabled


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(ATTEMPTS_LIMIT, methods=["POST"])
def reset_password(token: str):
    try:
        user = service.user_for_reset_token(db_session(), token, settings())
    except service.AccountError as exc:
        return _bad_reset_link(exc)
    if not sso.password_sign_in_allowed(user, settings()):
        # A link sent before staff passwords were switched off: a password would be unusable.
        return _no_referrer(render_template("auth/reset_use_provider.html"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            service.reset_password(db_session(), token, form.password.data, settings())
        except service.WeakPassword as exc:
            form.password.errors.append(_password_message(exc.reason))
        except service.AccountError as exc:
            return _bad_reset_link(exc)
        else:
            logout_user()
            flash(_("Your password has been changed. Sign in with your new password."), "success")
            return _no_referrer(redirect(url_for("auth.sign_in")))
    return _no_referrer(
        render_template(
            "auth/reset_password.html", form=form, token=token, password_min=service.PASSWORD_MIN
        )
    )


def _bad_reset_link(exc: Exception) -> Response:
    expired = isinstance(exc, service.ResetTokenExpired)
    page = render_template("auth/reset_link_problem.html", expired=expired)
    return _no_referrer(Response(page, status=400, mimetype="text/html"))


def _no_referrer(response: Response | str) -> Response:
    """The reset token is in the address: never pass it on in a Referer header."""
    if isinstance(response, str):
        response = Response(response, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/confirm/<token>")
def confirm_email(token: str):
    """The emailed link: confirms the address; the first time, signs this browser in."""
    try:
        user, newly = service.confirm_email(db_session(), token, settings())
    except service.AccountError as exc:
        expired = isinstance(exc, service.EmailLinkExpired)
        page = render_template("auth/confirm_link_problem.html", expired=expired)
        return _no_referrer(Response(page, status=400, mimetype="text/html"))
    if (
        newly
        and not current_user.is_authenticated
        and sso.password_sign_in_allowed(user, settings())
    ):
        _sign_in(user)
    if current_user.is_authenticated and current_user.id == user.id:
        flash(_("Your email address is confirmed. Thank you."), "success")
        return _no_referrer(redirect(url_for("auth.account")))
    flash(_("Your email address is confirmed. Sign in to carry on."), "success")
    return _no_referrer(redirect(url_for("auth.sign_in")))


@bp.post("/confirm")
@login_required
@limiter.limit(RESEND_LIMIT)
def send_email_link():
    """ "Send the link again" on the account page."""
    user: User = current_user._get_current_object()
    if not service.email_verified(user):
        service.send_email_link(db_session(), settings=settings(), user=user)
        flash(
            _(
                "We have sent a new link to %(email)s. It works for %(days)d days.",
                email=user.email,
                days=service.EMAIL_LINK_MAX_AGE_SECONDS // 86400,
            ),
            "success",
        )
    return redirect(url_for("auth.account"))


@bp.route("", methods=["GET", "POST"])
@login_required
def account():
    user: User = current_user._get_current_object()
    form = AccountForm(obj=user)
    if form.validate_on_submit():
        service.update_profile(
            db_session(),
            user,
            name=form.name.data,
            phone=form.phone.data or "",
            locale=form.locale.data,
        )
        flash(_("Your details have been saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html",
        form=form,
        user=user,
        verified=service.email_verified(user),
        devices=devices_of(db_session(), user.id),
        push_key=settings().vapid_public_key,
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(ATTEMPTS_LIMIT, methods=["POST"])
def change_password():
    user: User = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(
                db_session(),
                user,
                current_password=form.current_password.data,
                new_password=form.password.data,
            )
        except service.WrongPassword:
            form.current_password.errors.append(_("Your current password is not right"))
        except service.WeakPassword as exc:
            form.password.errors.append(_password_message(exc.reason))
        else:
            _sign_in(user)  # this browser stays signed in; every other session ends
            flash(
                _("Your password has been changed. Other devices have been signed out."), "success"
            )
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/change_password.html", form=form, password_min=service.PASSWORD_MIN
    )
