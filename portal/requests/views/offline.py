"""Reports written offline (issue 21): the page that writes one on the device, and the single
POST that files it when the connection returns.

The page (``/report/offline``) carries the catalogue (categories, their questions, in the
page's language) and its own words in JSON blocks, so ``static/js/offline-reports.js`` can
write a report with no connection and keep it in IndexedDB until it is sent.

``/report/offline-submit`` files one report in one request (multipart: the wizard's own field
names), checked by ``submit_request`` like every filing, once per ``Idempotency-Key``
(``portal.core.idempotency``): 201 ``{reference, url}``; 200 with the same body for a replay;
409 for the key reused with another submission; 422 ``{errors: {field: message}}`` in the
draft's language (the draft then stays on the device with the message); 400 for a missing
or malformed key.

CSRF: a report may wait days on the device, longer than a session's CSRF token lives, so this
endpoint does not use one. It requires instead (1) an ``Origin`` (or, without one, a
``Referer``) of this site, and (2) the key in the ``Idempotency-Key`` *header*: a cross-site
form cannot set a header, and a cross-site ``fetch`` with one needs a CORS preflight this site
never grants. The session cookie is also ``SameSite=Lax``.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.service import email_verified
from portal.catalogue.models import ServiceCategory, ServiceGroup
from portal.core import clock, idempotency
from portal.extensions import csrf, limiter
from portal.form_messages import answer_message, contact_message, location_message, photo_message
from portal.i18n import current_locale
from portal.places.models import AssetLayer
from portal.requests.answers import raw_answers
from portal.requests.models import RequestPhoto
from portal.requests.personal import personal_details
from portal.requests.photos import PhotoError, delete_photo_file, store_photo
from portal.requests.service import (
    DESCRIPTION_MAX,
    Filing,
    FilingError,
    parse_coordinate,
    submit_request,
)
from portal.requests.views.filing import PERSONAL_KINDS
from portal.requests.views.filing_steps import signed_in_user
from portal.requests.views.tracking import grant
from portal.web import db_session, settings

bp = Blueprint("requests_offline", __name__, url_prefix="/report")

SCOPE = "web-filing"
TEXT_FIELDS = ("category", "description", "address", "area", "asset", "name", "email", "phone")


def _json(body: dict[str, Any], status: int) -> Response:
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )
    response.cache_control.no_store = True
    return response


def _error(message: str, status: int) -> Response:
    return _json({"error": message}, status)


def _same_origin() -> bool:
    """The POST comes from a page of this site (Origin, else Referer)."""
    mine = urlsplit(request.host_url)
    claimed = request.headers.get("Origin") or request.headers.get("Referer") or ""
    theirs = urlsplit(claimed)
    return bool(claimed) and (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc)


@bp.get("/offline")
def page():
    """The offline report page: the form, the catalogue and the words the script needs."""
    db = db_session()
    locale = current_locale()
    groups = db.scalars(
        select(ServiceGroup)
        .order_by(ServiceGroup.position, ServiceGroup.id)
        .options(selectinload(ServiceGroup.categories).selectinload(ServiceCategory.questions))
    ).all()
    layers = {
        layer.id: layer.t("name", locale)
        for layer in db.scalars(select(AssetLayer).where(AssetLayer.active.is_(True)))
    }
    catalogue = [
        {
            "group": group.t("name", locale),
            "categories": [
                {
                    "code": c.code,
                    "name": c.t("name", locale),
                    "questions": [_question(q, locale) for q in c.questions],
                    # The city's asset the report is about (a streetlight's number), if asked.
                    "asset": {"layer": layers[c.asset_layer_id], "required": c.asset_required}
                    if c.asset_layer_id in layers
                    else None,
                }
                for c in group.categories
                if c.active
            ],
        }
        for group in groups
    ]
    return render_template(
        "requests/filing/offline.html",
        catalogue=[g for g in catalogue if g["categories"]],
        user=signed_in_user(),
        locale=locale,
        max_photos=settings().max_photos,
        max_photo_bytes=settings().max_photo_bytes,
    )


def _question(q, locale: str) -> dict[str, Any]:
    return {
        "code": q.code,
        "kind": q.kind,
        "prompt": q.t("prompt", locale),
        "help": q.t("help", locale),
        "required": q.required,
        "options": [
            {"key": o.get("key"), "label": q.option_label(o.get("key"), locale)}
            for o in (q.options or [])
        ],
    }


@bp.post("/offline-submit")
@csrf.exempt
@limiter.limit("20 per minute")
def submit():
    if not _same_origin():
        return _error(_("This report can only be sent from this site's own pages."), 403)
    key = request.headers.get("Idempotency-Key", "")
    if not idempotency.valid_key(key):
        return _error(
            _(
                "The Idempotency-Key header must be 16 to 128 letters, digits, dashes or "
                "underscores."
            ),
            400,
        )
    user = signed_in_user()
    if user is not None and not email_verified(user):
        return _error(_("Confirm your email address before reporting a problem."), 403)
    locale = request.form.get("locale", "")
    if locale not in settings().languages:
        locale = current_locale()
    db = db_session()
    category = db.scalar(
        select(ServiceCategory).where(ServiceCategory.code == request.form.get("category", ""))
    )
    answers = raw_answers(category, request.form) if category is not None else {}
    uploads = [f for f in request.files.getlist("photos") if f and f.filename]
    photos = [(u.filename or "", u.stream.read(settings().max_photo_bytes + 1)) for u in uploads]
    digest = idempotency.fingerprint(
        {
            **{name: request.form.get(name, "").strip() for name in TEXT_FIELDS},
            "lat": request.form.get("lat", "").strip(),
            "lon": request.form.get("lon", "").strip(),
            "private": bool(request.form.get("private")),
            "answers": answers,
            "photos": [hashlib.sha256(data).hexdigest() for _name, data in photos],
        }
    )
    owner = f"user:{user.id}" if user is not None else "anonymous"
    try:
        row, replay = idempotency.claim(
            db, scope=SCOPE, key=key, owner=owner, digest=digest, now=clock.now()
        )
    except idempotency.KeyReused:
        return _error(
            _("This report's key was already used for a different report. Nothing was filed."),
            409,
        )
    if replay is not None:
        return _json(replay.response, 200)
    assert row is not None
    with force_locale(locale):
        filed = _file(db, row=row, user=user, locale=locale, category=category, photos=photos)
    return filed


def _file(db, *, row, user, locale, category, photos) -> Response:
    """Store the photos and file the report; 422 with every problem, in ``locale``."""
    lat, lat_ok = parse_coordinate(request.form.get("lat"))
    lon, lon_ok = parse_coordinate(request.form.get("lon"))
    errors: dict[str, str] = {}
    if not (lat_ok and lon_ok):
        errors["address"] = _messages({"location": "invalid"}, category, locale)["address"]
    stored = []
    if len(photos) > settings().max_photos:
        errors["photos"] = photo_message("too_many", "")
    else:
        for name, data in photos:
            try:
                stored.append(store_photo(io.BytesIO(data), settings=settings()))
            except PhotoError as exc:
                errors["photos"] = photo_message(exc.code, name[:200], exc)
    if errors:
        return _refused(errors, stored)
    if (personal := _personal(category)) is not None:
        return _refused({"description": personal}, stored, personal=True)
    photo_rows = [
        RequestPhoto(
            storage_key=s.storage_key,
            width=s.width,
            height=s.height,
            size_bytes=s.size_bytes,
            original_name=name[:200],
            phash=s.phash,
        )
        for s, (name, _data) in zip(stored, photos, strict=True)
    ]
    db.add_all(photo_rows)
    db.flush()
    filing = Filing(
        category_code=request.form.get("category", ""),
        description=request.form.get("description", ""),
        answers=raw_answers(category, request.form) if category is not None else {},
        address=request.form.get("address", ""),
        lat=lat,
        lon=lon,
        area_code=request.form.get("area") or None,
        asset_ref=request.form.get("asset", "")[:64],
        contact_name=request.form.get("name", ""),
        contact_email=request.form.get("email", ""),
        contact_phone=request.form.get("phone", ""),
        private=bool(request.form.get("private")),
        locale=locale,
        channel="web",
        photo_ids=[p.id for p in photo_rows],
    )
    try:
        submitted = submit_request(db, settings=settings(), filing=filing, reporter=user)
    except FilingError as exc:
        return _refused(_messages(exc.errors, category, locale), stored)
    sr = submitted.request
    body = {
        "reference": sr.reference,
        "url": url_for("requests_tracking.show", reference=sr.reference),
    }
    idempotency.record(row, status_code=201, response=body, result_id=sr.id)
    if submitted.tracking_token:
        grant(sr)  # this browser may reply and add photos, as after the wizard
    return _json(body, 201)


def _refused(errors: dict[str, str], stored, *, personal: bool = False) -> Response:
    """A 422 (the transaction, with the key's claim, rolls back): the photo files go too.
    ``personal``: only the check step's warning, which ``file_anyway`` answers."""
    for photo in stored:
        delete_photo_file(settings(), photo.storage_key)
    return _json({"errors": errors, **({"personal": True} if personal else {})}, 422)


def _personal(category: ServiceCategory | None) -> str | None:
    """The check step's warning: a public description that seems to hold someone's phone
    number, email address or licence plate is not filed unless sent with ``file_anyway``."""
    private = bool(request.form.get("private")) or (category is not None and category.private)
    if private or request.form.get("file_anyway"):
        return None
    findings = personal_details(request.form.get("description", ""))
    if not findings:
        return None
    held = "; ".join(f"{PERSONAL_KINDS[f.kind]()}: {f.text}" for f in findings)
    return " ".join(
        [
            _("This will be public — remove personal details?"),
            _("Anyone can read the description of a public request. It seems to hold:"),
            held,
        ]
    )


def _messages(
    errors: dict[str, str], category: ServiceCategory | None, locale: str
) -> dict[str, str]:
    """The wizard's messages for ``submit_request``'s error codes, one per form field."""
    city = settings().city_text("name", locale)
    out: dict[str, str] = {}
    questions = {q.code: q for q in (category.questions if category is not None else [])}
    for field, code in errors.items():
        if field == "category":
            out["category"] = (
                _(
                    "This kind of problem can no longer be reported here. Choose another kind "
                    "of problem, or contact the city."
                )
                if category is not None
                else _("Choose the kind of problem from the list.")
            )
        elif field == "description":
            out["description"] = (
                _("Keep the description to %(max)d characters or fewer.", max=DESCRIPTION_MAX)
                if code == "too_long"
                else _("Describe the problem so the crew knows what to look for.")
            )
        elif field.startswith("answers.") and field[8:] in questions:
            question = questions[field[8:]]
            out[f"q_{question.code}"] = (
                question.t("stop_message", locale)
                if code == "stopped"
                else answer_message(question, code, locale)
            )
        elif field in ("address", "location", "area"):
            name = "area" if field == "area" else "address"
            out.setdefault(name, location_message(field, code, city))
        elif field == "asset":
            out["asset"] = _asset_message(category, code, locale)
        elif field == "photos":
            out["photos"] = photo_message(code, "")
        else:
            out[field] = contact_message(field, code)
    return out


def _asset_message(category: ServiceCategory | None, code: str, locale: str) -> str:
    layer = category.asset_layer if category is not None else None
    if code == "unknown" and layer is not None:
        return _(
            "%(ref)s is not one of the city's %(layer)s. Check the number, or choose from the "
            "list.",
            ref=request.form.get("asset", "")[:64],
            layer=layer.t("name", locale),
        )
    return _("Choose one from the list, or type the number written on it.")
