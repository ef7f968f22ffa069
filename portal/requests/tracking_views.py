"""Residents track a request: the public page, follow, support, conversation, reopen.

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
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from portal.auth.models import User
from portal.core import clock
from portal.extensions import limiter
from portal.i18n import current_locale
from portal.requests import access, follows, queries, updates
from portal.requests.expected_labels import expected_change, expected_sentences, long_day
from portal.requests.labels import STATUS_CLASSES, actor_label, status_label
from portal.requests.models import RequestPhoto, ServiceRequest
from portal.requests.tracking_forms import (
    ActionForm,
    FindForm,
    FollowForm,
    PhotoForm,
    ReopenForm,
    ReplyForm,
)
from portal.web import db_session, send_photo, settings

bp = Blueprint("tracking", __name__)

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
    return redirect(url_for("tracking.show", reference=sr.reference, _anchor=anchor))


# -- pages -----------------------------------------------------------------------------------


@bp.get("/requests")
def find():
    form = FindForm(request.args)
    if "reference" not in request.args:
        return render_template("tracking/find.html", form=FindForm(formdata=None))
    if form.validate():
        canonical = queries.normalise_reference(form.reference.data, settings().reference_prefix)
        if canonical is None:
            form.reference.errors.append(
                _("Enter a reference in the format SR-2026-000123 (letters, year, number).")
            )
        else:
            sr = queries.request_by_reference(db_session(), canonical)
            if sr is not None and may_view(sr):
                return redirect(url_for("tracking.show", reference=sr.reference))
            form.reference.errors.append(
                _(
                    "We could not find request %(reference)s. Check the reference and try again.",
                    reference=canonical,
                )
            )
    return render_template("tracking/find.html", form=form), 400


@bp.get("/requests/<reference>")
def show(reference: str):
    canonical = queries.normalise_reference(reference, settings().reference_prefix)
    if canonical is not None and canonical != reference:
        keep = {k: v for k, v in request.args.items() if k in ("supported", "lang")}
        return redirect(url_for("tracking.show", reference=canonical, **keep), 301)
    sr = _load(reference)
    if request.args.get("supported"):
        flash(_("Your support for this request has been counted."), "success")
        return redirect(url_for("tracking.show", reference=sr.reference))
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
    response = render_template("tracking/show.html", **context)
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
    response = redirect(url_for("tracking.show", reference=sr.reference))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- the reporter talks to staff -------------------------------------------------------------


def _conversing(reference: str) -> ServiceRequest:
    sr = _load(reference)
    if not may_converse(sr):
        abort(403)
    return sr


def _conflict(reference: str, **forms: Any):
    """Someone else changed the request meanwhile: show it again with what was typed."""
    db_session().rollback()
    sr = _load(reference)
    return _page(
        sr,
        status=409,
        errors=[
            (
                "",
                _(
                    "This request changed while you were writing. "
                    "Check the latest updates below and send your message again."
                ),
            )
        ],
        **forms,
    )


@bp.post("/requests/<reference>/reply")
@limiter.limit("30 per hour", methods=["POST"])
def reply(reference: str):
    sr = _conversing(reference)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            event = updates.resident_reply(
                db_session(),
                settings=settings(),
                request=sr,
                body=form.message.data or "",
                actor=_actor(sr),
            )
            db_session().flush()
        except updates.RequestClosed:
            form.message.errors.append(
                _("This request is closed. If the problem is not fixed, reopen it below.")
            )
        except updates.UpdateError:
            form.message.errors.append(_("Enter your message in 2000 characters or fewer."))
        except StaleDataError:
            return _conflict(reference, reply_form=form)
        else:
            flash(
                _("Thank you. Your answer has been sent to city staff.")
                if event.kind == "answer"
                else _("Thank you. Your message has been added to the request."),
                "success",
            )
            return _back(sr, f"event-{event.id}")
    return _page(sr, status=400, reply_form=form)


@bp.post("/requests/<reference>/reopen")
@limiter.limit("30 per hour", methods=["POST"])
def reopen(reference: str):
    sr = _conversing(reference)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            updates.reopen(
                db_session(),
                settings=settings(),
                request=sr,
                comment=form.reason.data or "",
                actor=_actor(sr),
            )
        except updates.ReopenNotAllowed as exc:
            if exc.code == "window":
                form.reason.errors.append(
                    _(
                        "This request was resolved more than %(days)s days ago, "
                        "so it can no longer be reopened. Please report the problem again.",
                        days=settings().reopen_days,
                    )
                )
            else:
                form.reason.errors.append(_("Only a resolved or closed request can be reopened."))
        except updates.UpdateError:
            form.reason.errors.append(_("Keep your message to 2000 characters or fewer."))
        except StaleDataError:
            return _conflict(reference, reopen_form=form)
        else:
            flash(_("The request has been reopened. City staff will look at it again."), "success")
            return _back(sr, "history")
    return _page(sr, status=400, reopen_form=form)


@bp.post("/requests/<reference>/photos")
@limiter.limit("30 per hour", methods=["POST"])
def add_photos(reference: str):
    from portal.requests.filing_messages import photo_message
    from portal.requests.photos import PhotoError, delete_photo_file, store_photo

    sr = _conversing(reference)
    form = PhotoForm()
    uploads = [f for f in request.files.getlist("photos") if f and f.filename]
    if not form.validate_on_submit():
        return _page(sr, status=400, photo_form=form)
    if not uploads:
        form.photos.errors.append(_("Choose a photo to add."))
    elif not sr.is_open:
        form.photos.errors.append(
            _("This request is closed. If the problem is not fixed, reopen it below.")
        )
    elif queries.photo_count(db_session(), sr) + len(uploads) > updates.MAX_REQUEST_PHOTOS:
        form.photos.errors.append(
            _("A request can hold up to %(max)s photos.", max=updates.MAX_REQUEST_PHOTOS)
        )
    if form.photos.errors:
        return _page(sr, status=400, photo_form=form)
    stored = []
    for upload in uploads:
        name = (upload.filename or "")[:200]
        try:
            stored.append((name, store_photo(upload.stream, settings=settings())))
        except PhotoError as exc:
            form.photos.errors.append(photo_message(exc.code, name))
    try:
        if form.photos.errors:
            raise PhotoError("rejected")
        for name, item in stored:
            updates.add_photo(
                db_session(),
                request=sr,
                storage_key=item.storage_key,
                width=item.width,
                height=item.height,
                size_bytes=item.size_bytes,
                original_name=name,
                actor=_actor(sr),
            )
    except (PhotoError, updates.UpdateError):
        for _name, item in stored:
            delete_photo_file(settings(), item.storage_key)
        return _page(sr, status=400, photo_form=form)
    flash(_("Thank you. Your photos have been added."), "success")
    return _back(sr, "photos")


# -- following and support -------------------------------------------------------------------


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
    counted = follows.support_request(
        db_session(), request=sr, supporter_key=key, user_id=user.id if user else None
    )
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
        "tracking/follow_confirmed.html", sr=sr, public=sr is not None and sr.is_public
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
        return render_template("tracking/unsubscribed.html", sr=sr, email=follower.email)
    return render_template("tracking/unsubscribe.html", sr=sr, email=follower.email, token=token)


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
        "tracking/mine.html",
        page=page,
        followed=followed,
        locale=current_locale(),
        older_url=url_for("tracking.mine", before=page.older) if page.older else None,
        newer_url=url_for("tracking.mine", after=page.newer) if page.newer else None,
    )
