"""One renderer for the Open311 API: the same data as XML (the spec's required format) or JSON,
chosen only by the resource's suffix, and the spec's error collection.

Collections are top-level JSON arrays and ``<root><item>...</item></root>`` in XML; single
documents (discovery, service_definition) are a JSON object and ``<root>...</root>``. Nested
lists use the spec's element names (``attributes/attribute``, ``values/value`` ...).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

from flask import Response

FORMATS = ("xml", "json")
CONTENT_TYPES = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

#: The element name of one entry of each nested list, as the spec names them.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "photos": "photo",
    "keywords": "keyword",
    "questions": "question",
    "options": "option",
    "scale": "value",
}

# Characters XML 1.0 cannot carry at all (control characters other than tab, LF, CR, and the
# non-characters): they are dropped from text rather than producing a document no parser reads.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ApiError(Exception):
    """An Open311 error answer: an HTTP status and one description per problem found.

    ``errors`` holds ``(code, description)`` pairs; the code is the HTTP status as a string, as
    in the spec's examples.
    """

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(status, *descriptions)
        self.status = status
        self.errors: list[tuple[str, str]] = [(str(status), d) for d in descriptions]

    def __str__(self) -> str:
        return f"{self.status}: " + "; ".join(d for _c, d in self.errors)


def w3c(moment: datetime) -> str:
    """A W3C date-time with its zone: ``2026-03-05T14:07:00-06:00`` or ``...Z`` for UTC.
    A naive datetime is taken as UTC (the portal stores UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _scalar(value: Any) -> Any:
    """A JSON-ready scalar (datetimes as W3C strings)."""
    if isinstance(value, datetime):
        return w3c(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return _scalar(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    value = _scalar(value)
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    """Put ``value`` inside ``element``: dicts as child elements, lists as repeated items named
    after the element, scalars as text (None leaves the element empty)."""
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, str(key)), child)
    elif isinstance(value, list | tuple):
        item = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, data: Any) -> str:
    """The XML document (with its declaration) for a collection (``item`` given) or a single
    document (``item=None``)."""
    element = ET.Element(root)
    if item is None:
        _fill(element, data)
    else:
        for entry in data:
            _fill(ET.SubElement(element, item), entry)
    return (
        XML_DECLARATION
        + "\n"
        + ET.tostring(element, encoding="unicode", short_empty_elements=False)
        + "\n"
    )


def to_json(data: Any) -> str:
    return json.dumps(_jsonable(data), ensure_ascii=False, separators=(",", ":"))


def render(fmt: str, root: str, item: str | None, data: Any, status: int = 200) -> Response:
    """``data`` (a list of dicts with ``item``, or one dict with ``item=None``) as a response in
    ``fmt``; an unknown format answers in XML."""
    if fmt == "json":
        body = to_json(data)
    else:
        fmt = "xml"
        body = to_xml(root, item, data)
    return Response(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, error: ApiError) -> Response:
    """The spec's error collection (``<errors><error><code/><description/></error></errors>``
    or ``[{"code": ..., "description": ...}]``) with the error's status."""
    entries = [{"code": code, "description": description} for code, description in error.errors]
    return render(fmt if fmt in FORMATS else "xml", "errors", "error", entries, error.status)
