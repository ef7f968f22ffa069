"""Residents track a request: the public page, the private link, their requests; the blueprint
``requests_tracking`` (its other pages: ``tracking_conversation``, the reporter's reply,
reopen and photos; ``tracking_follow``, following and support).

Who may see what:
- a public request's page, public timeline and public photos: anyone;
- a private request: only its reporter (signed in) or whoever opened the private link, which
  stores a grant in the session; everyone else gets the same 404 as for an unknown reference;
- writing to staff, adding photos and reopening: the reporter or a grant holder.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from portal.auth.models import User
from portal.auth.service import email_verified
from portal.core import clock
from portal.i18n import current_locale
from portal.requests import access, follows, queries, updates
from portal.requests.labels import STATUS_CLASSES
from portal.requests.models import RequestPhoto, ServiceRequest
from portal.requests.views.expected_labels import expected_change, expected_sentences, long_day
from portal.requests.views.tracking_forms import (
    FindForm,
    FollowForm,
    PhotoForm,
    ReopenForm,
    ReplyForm,
)
from portal.templating import actor_label, status_label
from portal.web import db_session, send_photo, settings

bp = Blueprint("requests_tracking", __name__)

GRANTS_KEY = "tracking_grants"
MAX_GRANTS = 10
#: Shared with the filing journey's "is it one of these?" support button.
SUPPORTER_KEY = "supporter_key"


@bp.app_template_global("status_label")
def _status_label(status: str) -> str:
    return status_label(status)


@bp.app_template_global("status_class")
def _status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "bg-base-dark")


@bp.app_template_global("actor_label")
def _actor_label(event: Any) -> str:
    return actor_label(event)


@bp.app_template_global("expected_change")
def _expected_change(event: Any, paused: Any = None) -> str:
    return expected_change(event, paused)


@bp.app_template_global("expected_sentences")
def _expected_sentences(events: Any) -> dict[int, str]:
    return expected_sentences(events)


@bp.app_template_global("long_day")
def _long_day(moment: Any) -> str:
    return long_day(moment)


# -- who may do what -------------------------------------------------------------------------


def _user() -> User | None:
    return current_user if current_user.is_authenticated else None  # type: ignore[return-value]


def is_reporter(sr: ServiceRequest) -> bool:
    user = _user()
    return user is not None and sr.reporter_id is not None and sr.reporter_id == user.id


def has_grant(sr: ServiceRequest) -> bool:
    return sr.id in (session.get(GRANTS_KEY) or [])


def may_converse(sr: ServiceRequest) -> bool:
    return is_reporter(sr) or has_grant(sr)


def may_view(sr: ServiceRequest) -> bool:
    return sr.is_public or may_converse(sr)


def grant(sr: ServiceRequest) -> None:
    """Let this browser act as the reporter of ``sr`` (private link, or just filed it)."""
    grants = [g for g in (session.get(GRANTS_KEY) or []) if g != sr.id]
    session[GRANTS_KEY] = (grants + [sr.id])[-MAX_GRANTS:]


def _not_found(reference: str) -> NotFound:
    error = NotFound(
        _(
            "We could not find request %(reference)s. Check the reference and try again.",
            reference=reference[:40],
        )
    )
    error.portal_message = True  # type: ignore[attr-defined]
    return error


def _load(reference: str) -> ServiceRequest:
    """The request behind ``reference`` if this visitor may see it, else a 404."""
    canonical = queries.normalise_reference(reference, settings().reference_prefix)
    sr = queries.request_by_reference(db_session(), canonical) if canonical else None
    if sr is None or not may_view(sr):
        raise _not_found(canonical or reference)
    return sr


def _actor(sr: ServiceRequest) -> User | None:
    return _user() if is_reporter(sr) else None


def _back(sr: ServiceRequest, anchor: str | None = None) -> Response:
    return redirect(url_for("requests_tracking.show", reference=sr.reference, _anchor=anchor))


# -- pages -----------------------------------------------------------------------------------


@bp.get("/requests")
def find():
    form = FindForm(request.args)
    if "reference" not in request.args:
        return render_template("requests/tracking/find.html", form=FindForm(formdata=None))
    if form.validate():
        canonical = queries.normalise_reference(form.reference.data, settings().reference_prefix)
        if canonical is None:
            form.reference.errors.append(
                _("Enter a reference in the format SR-2026-000123 (letters, year, number).")
            )
        else:
            sr = queries.request_by_reference(db_session(), canonical)
            if sr is not None and may_view(sr):
                return redirect(url_for("requests_tracking.show", reference=sr.reference))
            form.reference.errors.append(
                _(
                    "We could not find request %(reference)s. Check the reference and try again.",
                    reference=canonical,
                )
            )
    return render_template("requests/tracking/find.html", form=form), 400


@bp.get("/requests/<reference>")
def show(reference: str):
    canonical = queries.normalise_reference(reference, settings().reference_prefix)
    if canonical is not None and canonical != reference:
        keep = {k: v for k, v in request.args.items() if k in ("supported", "lang")}
        return redirect(url_for("requests_tracking.show", reference=canonical, **keep), 301)
    sr = _load(reference)
    if request.args.get("supported"):
        flash(_("Your support for this request has been counted."), "success")
        return redirect(url_for("requests_tracking.show", reference=sr.reference))
    return _page(sr)


def supporter_key(*, create: bool = False) -> str | None:
    """``u:<user id>``, or ``a:<random key kept in the session>`` for anonymous supporters
    (made on first support when ``create``)."""
    user = _user()
    if user is not None:
        return f"u:{user.id}"
    if create:
        session.setdefault(SUPPORTER_KEY, access.new_token()[0])
    key = session.get(SUPPORTER_KEY)
    return f"a:{key}" if key else None


def _page(
    sr: ServiceRequest,
    *,
    status: int = 200,
    errors: list[tuple[str, str]] | None = None,
    **forms: Any,
):
    db = db_session()
    conversing = may_converse(sr)
    user = _user()
    key = supporter_key()
    deadline = updates.reopen_deadline(settings(), sr)
    context = {
        "sr": sr,
        "category": sr.category.t("name", current_locale()),
        "history": queries.public_timeline(db, sr),
        "photos": queries.visible_photos(db, sr, reporter_view=conversing),
        "may_converse": conversing,
        "is_reporter": is_reporter(sr),
        "following": queries.follower_for_user(db, sr, user.id) if user else None,
        "account_verified": user is None or email_verified(user),
        "supported": bool(key) and follows.has_supported(db, request=sr, supporter_key=key),
        "reopen_deadline": deadline,
        "can_reopen": deadline is not None and clock.now() <= deadline,
        "reopen_days": settings().reopen_days,
        "reply_form": forms.get("reply_form") or ReplyForm(formdata=None),
        "reopen_form": forms.get("reopen_form") or ReopenForm(formdata=None),
        "follow_form": forms.get("follow_form") or FollowForm(formdata=None),
        "photo_form": forms.get("photo_form") or PhotoForm(formdata=None),
        "active_form": next((f for f in forms.values() if f is not None), None),
        "errors": errors or [],
        "max_photos": updates.MAX_REQUEST_PHOTOS,
    }
    response = render_template("requests/tracking/show.html", **context)
    return response, status


@bp.get("/requests/<reference>/photos/<int:photo_id>")
def photo(reference: str, photo_id: int):
    sr = _load(reference)
    item = db_session().get(RequestPhoto, photo_id) if photo_id <= queries.MAX_ID else None
    if item is None or item.request_id != sr.id:
        abort(404)
    if not item.public and not (may_converse(sr) and item.added_by == "reporter"):
        abort(404)
    return send_photo(item.storage_key, max_age=3600)


@bp.get("/requests/<reference>/access/<token>")
def private_access(reference: str, token: str):
    canonical = queries.normalise_reference(reference, settings().reference_prefix)
    sr = queries.request_by_reference(db_session(), canonical) if canonical else None
    if (
        sr is None
        or len(token) > 200
        or not (
            access.token_matches(token, sr.tracking_token_hash)
            or access.signed_token_matches(
                settings(), token, request_id=sr.id, token_hash=sr.tracking_token_hash
            )
        )
    ):
        abort(404)
    grant(sr)
    response = redirect(url_for("requests_tracking.show", reference=sr.reference))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- my requests -----------------------------------------------------------------------------


@bp.get("/my/requests")
@login_required
def mine():
    user = _user()
    assert user is not None
    db = db_session()
    page = queries.reporter_requests(
        db, user_id=user.id, before=request.args.get("before"), after=request.args.get("after")
    )
    followed = queries.followed_requests(db, user_id=user.id)
    return render_template(
        "requests/tracking/mine.html",
        page=page,
        followed=followed,
        locale=current_locale(),
        older_url=url_for("requests_tracking.mine", before=page.older) if page.older else None,
        newer_url=url_for("requests_tracking.mine", after=page.newer) if page.newer else None,
    )
