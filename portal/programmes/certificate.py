"""A one-page certificate of completion as a PDF (fpdf2; no Flask).

Text is in the participant's language (strings marked with ``_l`` and translated here with the
catalogue, outside any request). Names such as "José Núñez" need a Unicode font: the first
TrueType font found in ``FONT_CANDIDATES`` (DejaVu Sans, which Debian and most Linux
distributions install) is embedded. Without one, the PDF uses the built-in Helvetica, which
covers Western European letters (Latin-1); any other character is replaced by its unaccented
form or "?", so the certificate is still produced.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from portal.core import clock
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.programmes.models import Attendance, Enrolment, Programme, ProgrammeSession

#: Unicode TrueType fonts tried in order: (regular, bold).
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
)
#: Pass as ``fonts`` to look the font up in ``FONT_CANDIDATES``.
FIND = "find"

HEADING = _l("Certificate of completion")
CERTIFIES = _l("This certifies that")
COMPLETED = _l("has successfully completed the programme")
DATES = _l("held from %(start)s to %(end)s")
ONE_DAY = _l("held on %(day)s")
ATTENDED = _l("Sessions attended: %(attended)s of %(total)s")
ISSUED = _l("Issued on %(day)s")


def find_fonts() -> tuple[str, str] | None:
    """(regular, bold) paths of the first Unicode font installed, or None."""
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return regular, bold if Path(bold).is_file() else regular
    return None


#: Letters and marks without a Latin-1 decomposition, and what to draw instead.
_PLAIN = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Œ": "OE",
        "œ": "oe",
        "ı": "i",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
    }
)


def _latin1(text: str) -> str:
    """``text`` in what the built-in fonts can draw: accents kept where Latin-1 has them,
    dropped where it does not, "?" for the rest."""
    out = []
    for char in text.translate(_PLAIN):
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


_BREAKS = re.compile(r"\s+")


def one_line(text: str) -> str:
    """``text`` on one line: control characters (CR, LF, tab, NUL, ...), line and paragraph
    separators and runs of spaces become one space, so nothing typed into a name or title can
    add a line to the certificate."""
    plain = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text or ""
    )
    return _BREAKS.sub(" ", plain).strip()


def attended_sessions(enrolment: Enrolment) -> int:
    """How many of its programme's sessions the participant was marked present at."""
    session = object_session(enrolment)
    if session is None:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
            .where(
                Attendance.enrolment_id == enrolment.id,
                Attendance.present.is_(True),
                ProgrammeSession.programme_id == enrolment.programme_id,
            )
        )
        or 0
    )


def _day(value: date | datetime | None, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "long", locale=locale)


def _dates(programme: Programme, locale: str) -> str:
    start, end = programme.starts_on, programme.ends_on
    if start is None and programme.sessions:
        start = programme.sessions[0].starts_at.date()
        end = programme.sessions[-1].starts_at.date()
    if start is None:
        return ""
    if end is None or end == start:
        return translate(locale, ONE_DAY, day=_day(start, locale))
    return translate(locale, DATES, start=_day(start, locale), end=_day(end, locale))


def certificate_pdf(
    enrolment: Enrolment,
    programme: Programme,
    locale: str,
    city_name: str,
    *,
    attended: int | None = None,
    issued: date | None = None,
    fonts: tuple[str, str] | str | None = FIND,
) -> bytes:
    """The certificate of ``enrolment``'s participant for ``programme`` in ``locale``.

    ``attended`` defaults to the sessions they were marked present at (one query on the
    enrolment's session); ``issued`` to today (UTC); ``fonts`` is a (regular, bold) pair of
    TrueType files, ``FIND`` to use an installed Unicode font, or None for the built-in one.
    """
    locale = locale if locale in ("en", "es") else "en"
    if attended is None:
        attended = attended_sessions(enrolment)
    issued = issued or clock.now().date()
    found = find_fonts() if fonts == FIND else fonts
    texts = _texts(enrolment, programme, locale, city_name, attended=attended, issued=issued)
    return _render(texts, locale=locale, fonts=found if isinstance(found, tuple) else None)


def _texts(
    enrolment: Enrolment,
    programme: Programme,
    locale: str,
    city_name: str,
    *,
    attended: int,
    issued: date,
) -> dict[str, str]:
    return {
        "city": city_name,
        "heading": translate(locale, HEADING),
        "certifies": translate(locale, CERTIFIES),
        "name": (enrolment.user.name or enrolment.user.email) if enrolment.user else "",
        "completed": translate(locale, COMPLETED),
        "title": programme.t("title", locale),
        "dates": _dates(programme, locale),
        "attended": translate(locale, ATTENDED, attended=attended, total=len(programme.sessions)),
        "issued": translate(locale, ISSUED, day=_day(issued, locale)),
    }


def _render(texts: dict[str, str], *, locale: str, fonts: tuple[str, str] | None) -> bytes:
    # Every text placed on the certificate (and in its metadata) is one line, whatever was
    # typed into a name, a title or the city's name.
    texts = {key: one_line(value) for key, value in texts.items()}
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(25, 20, 25)
    text: Callable[[str], str]
    if fonts is not None:
        pdf.add_font("Certificate", "", fonts[0])
        pdf.add_font("Certificate", "B", fonts[1])
        family = "Certificate"

        def text(value: str) -> str:
            return value
    else:
        family = "Helvetica"
        text = _latin1
    pdf.set_title(text(f"{texts['heading']}: {texts['name']} - {texts['title']}"))
    pdf.set_author(text(texts["city"]))
    pdf.set_creator("Civic Portal")
    pdf.set_lang(locale)
    pdf.add_page()
    # A double frame.
    pdf.set_draw_color(0, 94, 162)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, pdf.w - 28, pdf.h - 28)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(
        value: str, size: float, *, bold: bool = False, height: float = 10, space: float = 0
    ) -> None:
        if not value:
            return
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(width, height, text(value), align="C", new_x="LMARGIN", new_y="NEXT")
        if space:
            pdf.ln(space)

    pdf.set_text_color(27, 27, 27)
    pdf.set_y(28)
    line(texts["city"], 16, space=6)
    pdf.set_text_color(0, 94, 162)
    line(texts["heading"], 30, bold=True, height=14, space=8)
    pdf.set_text_color(27, 27, 27)
    line(texts["certifies"], 14, space=2)
    line(texts["name"], 26, bold=True, height=13, space=2)
    line(texts["completed"], 14, space=2)
    line(texts["title"], 20, bold=True, height=11, space=2)
    line(texts["dates"], 13, space=6)
    line(texts["attended"], 13)
    pdf.set_y(pdf.h - 38)
    line(texts["issued"], 11, height=7)
    return bytes(pdf.output())


__all__ = ["certificate_pdf", "find_fonts"]
