"""The areas file checker's problems (``portal.areas.loader``, plain English shared with
``flask city import``) in the reader's language, for the areas upload page.

Each problem the loader writes is matched by its wording; one this module does not know is
shown as the loader wrote it, so a new check is never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

_WHERE_RE = re.compile(r'^features\[(\d+)\](?: \(area "(.*)"\))?: (.*)$', re.DOTALL)

Match = re.Match[str]

#: (pattern, message) for the part after ``features[i] (area "code"): ``.
_FEATURE: list[tuple[re.Pattern[str], Callable[[Match], str]]] = [
    (re.compile(r"^is not a GeoJSON Feature$"), lambda m: _("it is not a GeoJSON Feature")),
    (
        re.compile(r"^properties must be an object$"),
        lambda m: _("its properties must be an object"),
    ),
    (
        re.compile(
            r"^properties\.code (.*) must be 1-40 lowercase letters, digits, '-' or '_'$", re.DOTALL
        ),
        lambda m: _(
            "its code %(code)s must be 1 to 40 lower-case letters, digits, hyphens or underscores",
            code=m.group(1),
        ),
    ),
    (
        re.compile(r"^properties\.name must be text of 1-120 characters$"),
        lambda m: _("its name must be text of 1 to 120 characters"),
    ),
    (
        re.compile(r"^properties\.active must be true or false$"),
        lambda m: _("its “active” property must be true or false"),
    ),
    (
        re.compile(
            r"^properties\.population must be a whole number of residents from 0 to "
            r"([\d,]+)$"
        ),
        lambda m: _(
            "its population must be a whole number of residents from 0 to %(max)s", max=m.group(1)
        ),
    ),
    (
        re.compile(r"^geometry must be a Polygon or MultiPolygon$"),
        lambda m: _("its geometry must be a Polygon or MultiPolygon"),
    ),
    (re.compile(r"^geometry has no coordinates$"), lambda m: _("its geometry has no coordinates")),
    (
        re.compile(r"^every polygon needs at least one ring$"),
        lambda m: _("each of its polygons needs at least one ring"),
    ),
    (
        re.compile(r"^every ring needs at least 4 positions \(a closed triangle\)$"),
        lambda m: _("each ring needs at least 4 positions (a closed triangle)"),
    ),
    (
        re.compile(r"^position (.*) is not \[longitude, latitude\]$", re.DOTALL),
        lambda m: _("the position %(position)s is not [longitude, latitude]", position=m.group(1)),
    ),
    (
        re.compile(r"^position (.*) is not a longitude and latitude$", re.DOTALL),
        lambda m: _(
            "the position %(position)s is not a longitude and latitude", position=m.group(1)
        ),
    ),
    (
        re.compile(r"^ring is not closed: it starts at (.*) and ends at (.*)$", re.DOTALL),
        lambda m: _(
            "a ring is not closed: it starts at %(start)s and ends at %(end)s",
            start=m.group(1),
            end=m.group(2),
        ),
    ),
    (
        re.compile(r"^geometry cannot be read \((.*)\)$", re.DOTALL),
        lambda m: _("its geometry cannot be read (%(reason)s)", reason=m.group(1)),
    ),
    (
        re.compile(r"^polygon is not valid \((?:Ring )?Self-intersection\[(.*)\]\)$", re.DOTALL),
        lambda m: _(
            "the polygon is not valid: its boundary crosses itself at %(point)s "
            "(longitude latitude)",
            point=m.group(1),
        ),
    ),
    (
        re.compile(r"^polygon is not valid \((.*)\)$", re.DOTALL),
        lambda m: _("the polygon is not valid (%(reason)s)", reason=m.group(1)),
    ),
]

#: Problems of the whole file.
_FILE: list[tuple[re.Pattern[str], Callable[[Match], str]]] = [
    (
        re.compile(r'^area "(.*)" is defined (\d+) times$', re.DOTALL),
        lambda m: _(
            "Area “%(code)s” is in the file %(count)s times: each code may appear once",
            code=m.group(1),
            count=m.group(2),
        ),
    ),
    (
        re.compile(r'^areas "(.*)" and "(.*)" overlap$', re.DOTALL),
        lambda m: _(
            "Areas “%(first)s” and “%(second)s” overlap: neighbouring areas may share "
            "an edge but not cover the same ground",
            first=m.group(1),
            second=m.group(2),
        ),
    ),
    (
        re.compile(r"^is not valid JSON: .*codec can't decode.*$", re.DOTALL),
        lambda m: _("The file is not UTF-8 text: save it as UTF-8 GeoJSON"),
    ),
    (
        re.compile(r"^is not valid JSON: .*line (\d+) column (\d+).*$", re.DOTALL),
        lambda m: _(
            "The file is not valid JSON: look near line %(line)s, column %(column)s",
            line=m.group(1),
            column=m.group(2),
        ),
    ),
    (re.compile(r"^is not valid JSON: .*$", re.DOTALL), lambda m: _("The file is not valid JSON")),
    (re.compile(r"^cannot be read: .*$", re.DOTALL), lambda m: _("The file cannot be read")),
    (
        re.compile(r"^must be a GeoJSON FeatureCollection$"),
        lambda m: _("The file must be a GeoJSON FeatureCollection"),
    ),
    (
        re.compile(r"^has no features$"),
        lambda m: _("The file has no features: it needs one feature per area"),
    ),
]


def _first(table: list[tuple[re.Pattern[str], Callable[[Match], str]]], text: str) -> str | None:
    for pattern, message in table:
        match = pattern.match(text)
        if match:
            return message(match)
    return None


def problem_message(problem: str) -> str:
    """One problem of ``AreaError.problems``, naming the feature, in the reader's language."""
    where = _WHERE_RE.match(problem)
    if where is None:
        return _first(_FILE, problem) or problem
    number = int(where.group(1)) + 1
    detail = _first(_FEATURE, where.group(3)) or where.group(3)
    if where.group(2) is not None:
        return _(
            "Area “%(code)s” (feature %(number)s): %(problem)s",
            code=where.group(2),
            number=number,
            problem=detail,
        )
    return _("Feature %(number)s: %(problem)s", number=number, problem=detail)
