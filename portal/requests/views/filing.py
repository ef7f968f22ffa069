"""Residents file a request: category, details, location, photos, contact, check, done.

Each step is its own page and form, so the journey works without JavaScript and with a
screen reader; what was entered lives in a server-side draft, so going back keeps it.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    after_this_request,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.areas.models import Area
from portal.auth.service import email_verified
from portal.catalogue.models import ServiceGroup
from portal.extensions import limiter
from portal.form_messages import answer_message, contact_message, location_message, photo_message
from portal.i18n import current_locale
from portal.places.assets import active_layer, find_asset, nearest_assets
from portal.places.geocode import geocode
from portal.places.search import has_address_points
from portal.requests import drafts
from portal.requests.answers import check_answers, raw_answers
from portal.requests.follows import (
    SupportLimited,
    address_hash,
    follow_request,
    support_request,
)
from portal.requests.models import RequestPhoto, ServiceRequest
from portal.requests.personal import personal_details
from portal.requests.photos import PhotoError, store_photo
from portal.requests.service import (
    FilingError,
    active_category,
    check_contact,
    nearby_open_requests,
    parse_coordinate,
    resolve_location,
    submit_request,
)
from portal.requests.views import filing_once
from portal.requests.views.filing_forms import (
    AssetForm,
    CategoryForm,
    ContactForm,
    DetailsForm,
    LocationForm,
)
from portal.requests.views.filing_steps import (
    DRAFT_KEY,
    current_draft,
    draft_category,
    filing_from,
    missing_step,
    signed_in_user,
    step_for,
)
from portal.requests.views.tracking import grant, supporter_key
from portal.requests.views.tracking_follow import support_limited_message
from portal.web import db_session, send_photo, settings

bp = Blueprint("requests_filing", __name__, url_prefix="/report")


@bp.before_request
def _verified_accounts_only():
    """A signed-in account files only once its email address is confirmed (anonymous filing
    is open to everyone): until then every step shows how to confirm it."""
    user = signed_in_user()
    if user is not None and not email_verified(user):
        return render_template("requests/filing/verify_email.html", user=user), 403
    return None


@bp.route("/", methods=["GET", "POST"])
def start():
    db = db_session()
    chosen = request.values.get("category")
    error = None
    if request.method == "POST" or chosen:
        category = active_category(db, chosen)
        if category is not None:
            draft = current_draft(create=True)
            assert draft is not None
            if draft.data.get("category") != category.code:
                drafts.update_draft(
                    draft, settings=settings(), category=category.code, answers={}, stopped=None
                )
            return redirect(url_for("requests_filing.details"))
        error = _("Choose the kind of problem from the list.")
    draft = current_draft()
    groups = db.scalars(
        select(ServiceGroup)
        .order_by(ServiceGroup.position, ServiceGroup.id)
        .options(selectinload(ServiceGroup.categories))
    ).all()
    return render_template(
        "requests/filing/category.html",
        form=CategoryForm(),
        groups=groups,
        error=error,
        selected=(draft.data.get("category") if draft else None),
        locale=current_locale(),
    ), (400 if error else 200)


@bp.route("/details", methods=["GET", "POST"])
def details():
    draft = current_draft()
    if (missing := missing_step(draft, "category")) is not None:
        return missing
    assert draft is not None
    category = draft_category(draft)
    assert category is not None
    locale = current_locale()
    form = DetailsForm(data={"description": draft.data.get("description", "")})
    answers = draft.data.get("answers", {})
    answer_errors: dict[str, str] = {}
    if request.method == "POST":
        raw = raw_answers(category, request.form)
        answers = raw
        valid = form.validate_on_submit()
        checked = check_answers(category, raw)
        answer_errors = {
            code: answer_message(q, err, locale)
            for q in category.questions
            for code, err in checked.errors.items()
            if q.code == code
        }
        drafts.update_draft(
            draft,
            settings=settings(),
            answers=raw,
            description=(form.description.data or "")[:8000],
        )
        if checked.stopper is not None:
            drafts.update_draft(draft, settings=settings(), stopped=checked.stopper.code)
            return redirect(url_for("requests_filing.stop"))
        if valid and not answer_errors:
            drafts.update_draft(
                draft, settings=settings(), stopped=None, description=form.description.data.strip()
            )
            return redirect(url_for("requests_filing.location"))
    summary = [(f"q_{code}", msg) for code, msg in answer_errors.items()]
    return render_template(
        "requests/filing/details.html",
        form=form,
        category=category,
        answers=answers,
        answer_errors=answer_errors,
        summary=summary,
        locale=locale,
    ), (400 if request.method == "POST" else 200)


@bp.get("/stop")
def stop():
    draft = current_draft()
    category = draft_category(draft)
    if draft is None or category is None or not draft.data.get("stopped"):
        return redirect(url_for("requests_filing.start"))
    question = next((q for q in category.questions if q.code == draft.data["stopped"]), None)
    if question is None:
        return redirect(url_for("requests_filing.details"))
    return render_template(
        "requests/filing/stop.html", category=category, question=question, locale=current_locale()
    )


@bp.route("/location", methods=["GET", "POST"])
def location():
    draft = current_draft()
    if (missing := missing_step(draft, "category", "description")) is not None:
        return missing
    assert draft is not None
    db = db_session()
    areas = db.scalars(select(Area).where(Area.active.is_(True)).order_by(Area.name)).all()
    data = draft.data
    form = LocationForm(
        data={
            "address": data.get("address", ""),
            "area": data.get("area") or "",
            "lat": data.get("lat") or "",
            "lon": data.get("lon") or "",
            "point": data.get("address_point_id") or "",
        }
    )
    form.area.choices = [("", _("I don't know"))] + [(a.code, a.name) for a in areas]
    errors: list[tuple[str, str]] = []
    candidates: list = []
    not_found = False
    if request.method == "POST" and form.validate_on_submit():
        lat, lat_ok = parse_coordinate(form.lat.data)
        lon, lon_ok = parse_coordinate(form.lon.data)
        address = (form.address.data or "").strip()
        city = settings().city_text("name", current_locale())
        point_id = _point_id(form.point.data) if lat is not None and lon is not None else None
        if lat is None and lon is None and address and has_address_points(db):
            searched = _search_on_submit(db, form, areas, address)
            address, lat, lon, point_id, candidates, not_found = searched
        if not (lat_ok and lon_ok):
            errors.append(("address", location_message("location", "invalid", city)))
        elif (candidates and (form.choice.data or "") != "none") or not_found:
            drafts.update_draft(draft, settings=settings(), address=address)
            form.address.data = address
        else:
            area, problems = resolve_location(
                db, address=address, lat=lat, lon=lon, area_code=form.area.data or None
            )
            for field, code in problems.items():
                errors.append(
                    ("address" if field != "area" else "area", location_message(field, code, city))
                )
            if not problems:
                drafts.update_draft(
                    draft,
                    settings=settings(),
                    address=address,
                    lat=lat,
                    lon=lon,
                    area=area.code if area else None,
                    address_point_id=point_id,
                    location_done=True,
                )
                category = draft_category(draft)
                if category is not None and _asset_layer(db, category) is not None:
                    tapped = _tapped_asset(db, category, form.asset.data or "")
                    drafts.update_draft(
                        draft,
                        settings=settings(),
                        asset_ref=tapped.source_id if tapped else "",
                        asset_label=tapped.label if tapped else "",
                    )
                    if tapped is None:  # the list of assets near the place, on its own step
                        return redirect(url_for("requests_filing.asset"))
                return _after_location(db, draft, category)
        drafts.update_draft(draft, settings=settings(), address=address)
    elif request.method == "POST":
        errors.extend((f.id, e) for f in form for e in f.errors)
    field_errors: dict[str, list[str]] = {}
    for fid, message in errors:
        field_errors.setdefault(fid, []).append(message)
    return render_template(
        "requests/filing/location.html",
        form=form,
        errors=errors,
        field_errors=field_errors,
        category=draft_category(draft),
        candidates=candidates,
        not_found=not_found,
    ), (200 if request.method == "GET" or candidates or not_found else 400)


def _after_location(db, draft, category):
    """The "is it one of these?" step when open requests of the category are near the point,
    else the photos step."""
    data = draft.data
    if (
        data.get("lat") is not None
        and data.get("lon") is not None
        and category is not None
        and nearby_open_requests(
            db,
            category_id=category.id,
            lat=data["lat"],
            lon=data["lon"],
            radius_m=settings().nearby_radius_m,
            limit=1,
        )
    ):
        return redirect(url_for("requests_filing.nearby"))
    return redirect(url_for("requests_filing.photos"))


def _asset_layer(db, category):
    return active_layer(db, category.asset_layer_id)


def _tapped_asset(db, category, ref: str):
    if not ref.strip() or category.asset_layer_id is None:
        return None
    return find_asset(db, layer_id=category.asset_layer_id, ref=ref)


@bp.route("/asset", methods=["GET", "POST"])
def asset():
    """Which of the city's assets it is (a category with an asset layer): the nearest ones to
    the place as a list, "I don't know", or the number typed. The map's path is a tap on the
    asset in the location step; this list is the path without it."""
    draft = current_draft()
    if (missing := missing_step(draft, "category", "description", "location_done")) is not None:
        return missing
    assert draft is not None
    db = db_session()
    category = draft_category(draft)
    assert category is not None
    layer = _asset_layer(db, category)
    if layer is None:
        return _after_location(db, draft, category)
    data = draft.data
    near = (
        nearest_assets(db, layer_id=layer.id, lat=data["lat"], lon=data["lon"])
        if data.get("lat") is not None and data.get("lon") is not None
        else []
    )
    form = AssetForm()
    locale = current_locale()
    layer_name = layer.t("name", locale)
    error = None
    chosen = data.get("asset_ref") or ("" if category.asset_required else "none")
    if request.method == "POST":
        if not form.validate_on_submit():
            error = next(
                (e for f in form for e in f.errors),
                _("The form expired. Choose again."),
            )
        else:
            chosen = (form.asset.data or "").strip()
            typed = (form.number.data or "").strip()
            ref = typed or (chosen if chosen != "none" else "")
            picked = find_asset(db, layer_id=layer.id, ref=ref) if ref else None
            if ref and picked is None:
                error = _(
                    "%(ref)s is not one of the city's %(layer)s. Check the number, or choose "
                    "from the list.",
                    ref=ref,
                    layer=layer_name,
                )
            elif picked is None and category.asset_required:
                error = _("Choose one from the list, or type the number written on it.")
            else:
                drafts.update_draft(
                    draft,
                    settings=settings(),
                    asset_ref=picked.source_id if picked else "",
                    asset_label=picked.label if picked else "",
                )
                return _after_location(db, draft, category)
    return render_template(
        "requests/filing/asset.html",
        form=form,
        near=near,
        layer_name=layer_name,
        category=category,
        chosen=chosen,
        error=error,
        locale=locale,
    ), (400 if error else 200)


def _search_on_submit(db, form: LocationForm, areas, address: str):
    """Without JavaScript the same search runs on submit: an exact match is used, several are
    offered as a choice, none is sent as text once the resident has been told (``choice`` is
    "none"). Returns (address, lat, lon, point id, candidates to offer, not found)."""
    answer = geocode(db, address)
    choice = (form.choice.data or "").strip()
    if answer.found and answer.match is not None:
        picked = answer.match
    elif choice.isdigit() and int(choice) < len(answer.candidates):
        picked = answer.candidates[int(choice)]
    else:
        not_found = not answer.candidates and choice != "none"
        return address, None, None, None, answer.candidates, not_found
    if picked.area_id is not None:
        form.area.data = next((a.code for a in areas if a.id == picked.area_id), "")
    return picked.label, picked.lat, picked.lon, picked.id, [], False


def _point_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


@bp.route("/nearby", methods=["GET", "POST"])
def nearby():
    draft = current_draft()
    if (missing := missing_step(draft, "category", "description", "location_done")) is not None:
        return missing
    assert draft is not None
    data = draft.data
    category = draft_category(draft)
    assert category is not None
    if data.get("lat") is None or data.get("lon") is None:
        return redirect(url_for("requests_filing.photos"))
    found = nearby_open_requests(
        db_session(),
        category_id=category.id,
        lat=data["lat"],
        lon=data["lon"],
        radius_m=settings().nearby_radius_m,
    )
    if not found:
        return redirect(url_for("requests_filing.photos"))
    return render_template(
        "requests/filing/nearby.html", found=found, category=category, locale=current_locale()
    )


@bp.post("/nearby/support")
def support():

    draft = current_draft()
    if draft is None:
        return redirect(url_for("requests_filing.start"))
    reference = request.form.get("reference", "")
    db = db_session()
    target = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.reference == reference,
            ServiceRequest.is_public.is_(True),
            ServiceRequest.is_open.is_(True),
        )
    )
    if target is None:
        abort(404)
    user = signed_in_user()
    key = supporter_key(create=True)
    assert key is not None
    try:
        support_request(
            db,
            request=target,
            supporter_key=key,
            user_id=user.id if user else None,
            address=None if user else address_hash(settings(), request.remote_addr or ""),
        )
    except SupportLimited:
        flash(support_limited_message(), "error")
        return redirect(url_for("requests_tracking.show", reference=target.reference))
    if user is not None:
        follow_request(
            db,
            settings=settings(),
            request=target,
            email=user.email,
            user=user,
            locale=current_locale(),
        )
    drafts.discard_draft(db, draft)
    session.pop(DRAFT_KEY, None)
    return redirect(url_for("requests_tracking.show", reference=target.reference, supported=1))


@bp.route("/photos", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def photos():
    draft = current_draft()
    if (missing := missing_step(draft, "category", "description", "location_done")) is not None:
        return missing
    assert draft is not None
    db = db_session()
    current = drafts.draft_photos(db, draft)
    errors: list[tuple[str, str]] = []
    if request.method == "POST":
        action = request.form.get("action", "continue")
        if action.startswith("remove:"):
            photo = next((p for p in current if str(p.id) == action[7:]), None)
            if photo is not None:
                db.delete(photo)
                db.flush()
            return redirect(url_for("requests_filing.photos"))
        uploads = [f for f in request.files.getlist("photos") if f and f.filename]
        for upload in request.files.getlist("photos"):
            # Werkzeug spools big uploads to temporary files: close them with the request.
            after_this_request(_closing(upload))
        if len(current) + len(uploads) > settings().max_photos:
            errors.append(("photos", photo_message("too_many", "")))
        else:
            for upload in uploads:
                try:
                    stored = store_photo(upload.stream, settings=settings())
                except PhotoError as exc:
                    errors.append(("photos", photo_message(exc.code, upload.filename or "", exc)))
                    continue
                db.add(
                    RequestPhoto(
                        draft_id=draft.id,
                        storage_key=stored.storage_key,
                        width=stored.width,
                        height=stored.height,
                        size_bytes=stored.size_bytes,
                        original_name=(upload.filename or "")[:200],
                        phash=stored.phash,
                    )
                )
            db.flush()
        if not errors:
            if action == "upload":
                return redirect(url_for("requests_filing.photos"))
            drafts.update_draft(draft, settings=settings(), photos_done=True)
            return redirect(url_for("requests_filing.contact"))
        current = drafts.draft_photos(db, draft)
    return render_template(
        "requests/filing/photos.html",
        photos=current,
        errors=errors,
        max_photos=settings().max_photos,
    ), (400 if errors else 200)


def _closing(upload):
    def close(response):
        upload.close()
        return response

    return close


@bp.get("/photos/<int:photo_id>")
def draft_photo(photo_id: int):
    draft = current_draft()
    if draft is None:
        abort(404)
    photo = db_session().scalar(
        select(RequestPhoto).where(RequestPhoto.id == photo_id, RequestPhoto.draft_id == draft.id)
    )
    if photo is None:
        abort(404)
    # ?size=thumb: the steps' 96 px previews get a small copy, not the whole photo.
    return send_photo(photo.storage_key)


@bp.route("/contact", methods=["GET", "POST"])
def contact():
    draft = current_draft()
    if (
        missing := missing_step(draft, "category", "description", "location_done", "photos_done")
    ) is not None:
        return missing
    assert draft is not None
    data = draft.data
    user = signed_in_user()
    defaults = {
        "name": data.get("name", user.name if user else ""),
        "email": data.get("email", user.email if user else ""),
        "phone": data.get("phone", user.phone if user else ""),
        "private": data.get("private", False),
    }
    form = ContactForm(data=defaults)
    errors: list[tuple[str, str]] = []
    if request.method == "POST":
        valid = form.validate_on_submit()
        _email, problems = check_contact(
            form.name.data or "", form.email.data or "", form.phone.data or ""
        )
        errors = [(field, contact_message(field, code)) for field, code in problems.items()]
        drafts.update_draft(
            draft,
            settings=settings(),
            name=(form.name.data or "").strip(),
            email=(form.email.data or "").strip(),
            phone=(form.phone.data or "").strip(),
            private=bool(form.private.data),
        )
        if valid and not errors:
            drafts.update_draft(draft, settings=settings(), contact_done=True)
            return redirect(url_for("requests_filing.check"))
    field_errors: dict[str, list[str]] = {}
    for fid, message in errors:
        field_errors.setdefault(fid, []).append(message)
    return render_template(
        "requests/filing/contact.html",
        form=form,
        errors=errors,
        field_errors=field_errors,
        user=user,
        category=draft_category(draft),
    ), (400 if request.method == "POST" else 200)


@bp.route("/check", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def check():
    claimed = None
    if request.method == "POST":
        # Once per key (``filing_once``): a second "Send" lands on the same confirmation.
        claimed, answer = filing_once.claim(db_session())
        if answer is not None:
            return answer
    response = _check(claimed)
    filing_once.release(db_session(), claimed)
    return response


def _check(claimed):
    draft = current_draft()
    if draft is None and request.method == "POST" and session.get("filed_reference"):
        # A second click on "Submit": the request is already filed.
        return redirect(url_for("requests_filing.done"))
    if (
        missing := missing_step(
            draft, "category", "description", "location_done", "photos_done", "contact_done"
        )
    ) is not None:
        return missing
    assert draft is not None
    db = db_session()
    category = draft_category(draft)
    assert category is not None
    form = CategoryForm()
    # A public description is read by anyone: warn before filing one that looks like it holds
    # someone's phone number, email address or licence plate.
    public = not (draft.data.get("private") or category.private)
    findings = personal_details(draft.data.get("description", "")) if public else []
    warned = request.method == "POST" and bool(findings) and not request.form.get("file_anyway")
    if request.method == "POST" and not warned:
        try:
            submitted = submit_request(
                db, settings=settings(), filing=filing_from(draft), reporter=signed_in_user()
            )
        except FilingError as exc:
            return redirect(url_for(step_for(exc.errors)))
        drafts.discard_draft(db, draft)
        session.pop(DRAFT_KEY, None)
        session["filed_reference"] = submitted.request.reference
        if submitted.tracking_token:
            # The reporter may reply and add photos from this browser straight away.
            grant(submitted.request)
        filing_once.record(claimed, submitted.request, granted=bool(submitted.tracking_token))
        return redirect(url_for("requests_filing.done"))
    area = (
        db.scalar(select(Area).where(Area.code == draft.data.get("area")))
        if draft.data.get("area")
        else None
    )
    return render_template(
        "requests/filing/check.html",
        form=form,
        draft=draft,
        data=draft.data,
        category=category,
        area=area,
        locale=current_locale(),
        photos=drafts.draft_photos(db, draft),
        findings=[(PERSONAL_KINDS[f.kind](), f.text) for f in findings],
        idempotency_key=filing_once.new_key(),
    ), (400 if warned else 200)


#: What each kind of personal detail is called in the warning.
PERSONAL_KINDS = {
    "phone": lambda: _("A phone number"),
    "email": lambda: _("An email address"),
    "plate": lambda: _("A licence plate"),
}


@bp.get("/done")
def done():
    reference = session.get("filed_reference")
    if not reference:
        return redirect(url_for("requests_filing.start"))
    filed = db_session().scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    if filed is None:
        session.pop("filed_reference", None)
        return redirect(url_for("requests_filing.start"))
    return render_template("requests/filing/done.html", filed=filed, locale=current_locale())
