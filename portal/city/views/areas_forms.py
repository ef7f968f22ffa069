"""Forms of the areas admin pages: the upload, and applying a previewed upload."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField


class UploadForm(FlaskForm):
    file = FileField(
        _l("Areas file (GeoJSON)"), validators=[FileRequired(_l("Choose the areas file to upload"))]
    )


class ApplyForm(FlaskForm):
    #: The signed token naming the stored upload (``portal.city.areas_admin_uploads.sign_upload``).
    upload = HiddenField()
    #: ``portal.city.areas_admin.fingerprint`` of the areas the preview was drawn from.
    state = HiddenField()
    move_requests = BooleanField(
        _l("Also move open requests to the area their point now falls in"), default=False
    )
