"""Open data, for anyone: ``GET /open-data`` (the columns documented, and a download form) and
the anonymised request list as ``/open-data/requests.csv`` and ``/open-data/requests.json``.

``start`` and ``end`` are local dates (YYYY-MM-DD, both included, at most 366 days apart;
by default the last 30 days). A bad value is a 400 with the message (JSON for the JSON file,
the error page otherwise); the form on the documentation page shows it next to its field.
The files are streamed in keyset batches (constant memory however many rows), may be cached
publicly for a few minutes, and hold only what ``portal.reports.open_data`` lets out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice

from portal.core import clock
from portal.exports import safe_cell
from portal.reports import open_data
from portal.web import database, settings

bp = Blueprint("reports_open_data", __name__, url_prefix="/open-data")

#: How long browsers and shared caches may keep a download (seconds).
MAX_AGE = 300
FORMATS = {"csv": _l("CSV (spreadsheets)"), "json": _l("JSON (programs)")}


class DownloadForm(FlaskForm):
    """Which days (local dates, both included) and which format."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    start = StringField(_l("From"))
    end = StringField(_l("To (inclusive)"))
    format = RadioField(
        _l("Format"),
        default="csv",
        validate_choice=False,
        choices=[SelectChoice(k, v) for k, v in FORMATS.items()],
    )


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def _today() -> date:
    return clock.now().astimezone(_zone()).date()


@bp.get("")
def index() -> Any:
    """The documentation of every column, and the download form (which checks the dates and
    sends the browser on to the file)."""
    form = DownloadForm(request.args)
    status = 200
    if "format" in request.args:
        fmt = request.args["format"] if request.args["format"] in FORMATS else "csv"
        try:
            first, last = open_data.parse_range(form.start.data, form.end.data, today=_today())
        except open_data.RangeError as error:
            form[error.field].errors = [_(error.message)]
            status = 400
        else:
            return redirect(
                url_for(
                    f"reports_open_data.requests_{fmt}",
                    start=first.isoformat(),
                    end=last.isoformat(),
                ),
                303,
            )
    if not request.args:
        first, last = open_data.parse_range(None, None, today=_today())
        form.start.data, form.end.data = first.isoformat(), last.isoformat()
    return render_template(
        "reports/open_data/index.html",
        form=form,
        columns=open_data.COLUMNS,
        max_days=open_data.MAX_DAYS,
        default_days=open_data.DEFAULT_DAYS,
        formats=FORMATS,
    ), status


def _range(fmt: str) -> tuple[date, date] | Response:
    """The requested dates, or the 400 answer that explains what is wrong."""
    try:
        return open_data.parse_range(
            request.args.get("start"), request.args.get("end"), today=_today()
        )
    except open_data.RangeError as error:
        message = _(error.message)
        if fmt == "json":
            body = {"error": {"code": 400, "field": error.field, "message": message}}
            return Response(json.dumps(body), status=400, mimetype="application/json")
        bad = BadRequest(f"{error.field}: {message}")
        bad.portal_message = True  # type: ignore[attr-defined]
        raise bad from None


def _download(fmt: str, chunks: Iterator[str], first: date, last: date) -> Response:
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    response = Response(chunks, mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="requests-{first.isoformat()}-to-{last.isoformat()}.{fmt}"'
    )
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response


def _rows(first: date, last: date) -> Iterator[dict[str, Any]]:
    """Every row of the range, read in batches by a session of its own that lives as long as
    the stream. Everything it needs from the app is taken now, so the stream needs no request
    context (``stream_with_context`` would pop a context out of order when a client drops a
    response unread)."""
    start, end = open_data.bounds(first, last, tz=_zone())
    batch = int(current_app.config.get("OPEN_DATA_BATCH", open_data.BATCH))
    db = database()

    def stream() -> Iterator[dict[str, Any]]:
        session = db.session()
        try:
            yield from open_data.iter_rows(session, start, end, batch=batch)
        finally:
            session.close()

    return stream()


@bp.get("/requests.csv")
def requests_csv() -> Response:
    found = _range("csv")
    if isinstance(found, Response):
        return found
    rows = _rows(*found)

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        # A byte-order mark, so spreadsheet programs read the file as UTF-8.
        buffer.write("\ufeff")
        writer.writerow(open_data.NAMES)
        for number, row in enumerate(rows, start=1):
            writer.writerow([_csv_cell(row[name]) for name in open_data.NAMES])
            if number % 200 == 0:
                yield _drain(buffer)
        yield _drain(buffer)

    return _download("csv", chunks(), *found)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@bp.get("/requests.json")
def requests_json() -> Response:
    found = _range("json")
    if isinstance(found, Response):
        return found
    rows = _rows(*found)

    def chunks() -> Iterator[str]:
        parts = ["["]
        separator = "\n"
        for row in rows:
            parts.append(separator + json.dumps(row, ensure_ascii=False))
            separator = ",\n"
            if len(parts) >= 200:
                yield "".join(parts)
                parts.clear()
        parts.append("\n]\n")
        yield "".join(parts)

    return _download("json", chunks(), *found)
