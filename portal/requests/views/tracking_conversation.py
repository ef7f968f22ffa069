"""The reporter talks to staff on the request's page: reply, reopen, add photos (pages of the
``requests_tracking`` blueprint of ``portal.requests.views.tracking``)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import limiter
from portal.requests import queries, updates
from portal.requests.models import ServiceRequest
from portal.requests.views.tracking import _actor, _back, _load, _page, bp, may_converse
from portal.requests.views.tracking_forms import PhotoForm, ReopenForm, ReplyForm
from portal.web import db_session, settings

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
    from portal.form_messages import photo_message
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
            form.photos.errors.append(photo_message(exc.code, name, exc))
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
                phash=item.phash,
            )
    except (PhotoError, updates.UpdateError):
        for _name, item in stored:
            delete_photo_file(settings(), item.storage_key)
        return _page(sr, status=400, photo_form=form)
    flash(_("Thank you. Your photos have been added."), "success")
    return _back(sr, "photos")
