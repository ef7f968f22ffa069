"""Back office: the city's areas (admins only): the list, and a GeoJSON upload that is checked
whole, previewed, then applied (``portal.city.areas_admin``; the stored upload:
``portal.city.areas_admin_uploads``)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    after_this_request,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.access import ADMIN, staff_required
from portal.areas.loader import AreaError
from portal.city import areas_admin as admin
from portal.city import areas_admin_uploads as uploads
from portal.city.views.areas_forms import ApplyForm, UploadForm
from portal.city.views.areas_messages import problem_message
from portal.web import db_session, settings

bp = Blueprint("city_areas", __name__, url_prefix="/staff/admin/areas")


def _actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _upload_dir() -> str:
    return settings().upload_dir


def _secret() -> str:
    return settings().secret_key


def _index_page(
    form: UploadForm, status: int = 200, problems: list[str] | None = None
) -> tuple[str, int]:
    return render_template(
        "city/areas/index.html",
        rows=admin.list_areas(db_session()),
        form=form,
        problems=problems or [],
        max_mb=uploads.FILE_MAX // (1024 * 1024),
    ), status


def _gone() -> tuple[str, int]:
    """The preview's file expired, was swept, or the token is not ours: upload it again."""
    form = UploadForm(formdata=None)
    form.file.errors = [
        _(
            "This preview has expired or cannot be found: nothing was changed. "
            "Upload the areas file again."
        )
    ]
    return _index_page(form, 400)


@bp.get("/")
@staff_required(ADMIN)
def index() -> tuple[str, int]:
    return _index_page(UploadForm())


def _closing(upload: Any):
    def close(response: Response) -> Response:
        upload.close()
        return response

    return close


@bp.post("/upload")
@staff_required(ADMIN)
def upload() -> Any:
    form = UploadForm()
    if not form.validate():
        return _index_page(form, 400)
    file = form.file.data
    # Werkzeug spools big uploads to temporary files: close them with the request.
    after_this_request(_closing(file))
    try:
        stored = uploads.store_upload(
            file.stream, upload_dir=_upload_dir(), filename=file.filename or ""
        )
    except uploads.UploadError as error:
        form.file.errors = [
            {
                "empty": _("The file is empty: choose the areas file"),
                "too_large": _(
                    "The file is larger than %(size)s MB: an areas file is usually a "
                    "few hundred kilobytes",
                    size=uploads.FILE_MAX // (1024 * 1024),
                ),
            }.get(error.code, _("Upload the areas file again"))
        ]
        return _index_page(form, 400)
    try:
        uploads.read_upload(stored, upload_dir=_upload_dir())
    except AreaError as error:
        uploads.discard_upload(stored, upload_dir=_upload_dir())
        problems = [problem_message(p) for p in error.problems]
        form.file.errors = [
            ngettext(
                "The file has %(num)d problem, listed below: nothing was changed. Fix it and "
                "upload the file again.",
                "The file has %(num)d problems, listed below: nothing was changed. Fix them and "
                "upload the file again.",
                len(problems),
            )
        ]
        return _index_page(form, 400, problems)
    except uploads.UploadError:
        return _gone()
    return redirect(url_for(".preview", upload=uploads.sign_upload(_secret(), stored)), 303)


def _load(token: str | None) -> tuple[uploads.Upload, list[dict[str, Any]]] | None:
    try:
        upload = uploads.unsign_upload(_secret(), token)
        return upload, uploads.read_upload(upload, upload_dir=_upload_dir())
    except (uploads.UploadError, AreaError):
        return None


def _preview_page(
    form: ApplyForm,
    upload: uploads.Upload,
    entries: list[dict[str, Any]],
    status: int = 200,
    *,
    stale: bool = False,
) -> tuple[str, int]:
    drawn = admin.preview(db_session(), entries)
    form.state.data = drawn.fingerprint
    return render_template(
        "city/areas/preview.html", preview=drawn, form=form, upload=upload, stale=stale
    ), status


@bp.get("/preview")
@staff_required(ADMIN)
def preview() -> Any:
    token = request.args.get("upload")
    if not token:
        return redirect(url_for(".index"))
    loaded = _load(token)
    if loaded is None:
        return _gone()
    return _preview_page(ApplyForm(data={"upload": token}), *loaded)


def _summary(result: admin.Applied, move_requests: bool) -> str:
    if not result.changed_anything:
        return _("Nothing changed: the file matches the areas as they are.")
    text = ", ".join(
        [
            ngettext("%(num)d area added", "%(num)d areas added", len(result.added)),
            ngettext("%(num)d changed", "%(num)d changed", len(result.changed)),
            ngettext("%(num)d deactivated", "%(num)d deactivated", len(result.deactivated)),
        ]
    )
    if move_requests:
        return _(
            "%(areas)s; %(requests)s.",
            areas=text,
            requests=ngettext(
                "%(num)d open request moved", "%(num)d open requests moved", result.moved
            ),
        )
    return _("%(areas)s; open requests keep their area.", areas=text)


@bp.post("/apply")
@staff_required(ADMIN)
def apply() -> Any:
    form = ApplyForm()
    if not form.validate():
        abort(400)
    loaded = _load(form.upload.data)
    if loaded is None:
        return _gone()
    upload, entries = loaded
    session = db_session()
    move_requests = bool(form.move_requests.data)
    try:
        result = admin.apply_upload(
            session,
            entries,
            expected=form.state.data or "",
            move_requests=move_requests,
            actor=_actor(),
            upload=upload,
        )
    except admin.StalePreview:
        session.rollback()
        return _preview_page(form, upload, entries, 409, stale=True)
    # Written for good before the file goes (a failed commit leaves it to apply again).
    session.commit()
    uploads.discard_upload(upload, upload_dir=_upload_dir())
    flash(_summary(result, move_requests), "success")
    return redirect(url_for(".index"))
