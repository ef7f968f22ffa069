"""Documents of a programme: the iCalendar file of its sessions and the certificate PDF."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar

from portal.programmes import attendance, certificate
from portal.programmes.ics import programme_calendar

BASE = "https://portal.riverton.example"


def _sessions(make, **kw):
    programme = make.programme(sessions=3, **kw)
    first, second, third = programme.sessions
    first.title, first.mandatory = "Welcome", True
    first.translations = {"es": {"title": "Bienvenida"}}
    second.online_url = "https://meet.example.org/academy"
    second.place = ""
    third.title = ""
    make.session.flush()
    return programme


def events(payload: bytes):
    calendar = Calendar.from_ical(payload)
    return calendar, [c for c in calendar.walk("VEVENT")]


# -- iCalendar -------------------------------------------------------------------------------


def test_calendar_has_one_event_per_session_in_utc(make):
    programme = _sessions(make, title="Citizens Academy")
    payload = programme_calendar(programme, "en", BASE)

    assert payload.startswith(b"BEGIN:VCALENDAR\r\n")
    calendar, found = events(payload)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert len(found) == 3
    for event, item in zip(found, programme.sessions, strict=True):
        assert str(event["UID"]) == (
            f"programme-{programme.id}-session-{item.id}@portal.riverton.example"
        )
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.utcoffset() == timedelta(0)
        assert start == item.starts_at.replace(microsecond=0)
        assert end == item.ends_at.replace(microsecond=0)
        assert "DTSTAMP" in event
        [alarm] = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    first, second, third = found
    assert str(first["SUMMARY"]) == "Citizens Academy: Welcome"
    assert str(first["LOCATION"]) == "City Hall, Room 101"
    assert "required" in str(first["DESCRIPTION"])
    page = f"{BASE}/programmes/{programme.id}"
    assert page in str(first["DESCRIPTION"]) and str(first["URL"]) == page
    assert "LOCATION" not in second
    assert "https://meet.example.org/academy" in str(second["DESCRIPTION"])
    assert str(second["URL"]) == "https://meet.example.org/academy"
    assert str(third["SUMMARY"]) == "Citizens Academy"
    assert b"DTSTART:" in payload and b"Z\r\n" in payload  # UTC form, no TZID


def test_calendar_is_stable_and_in_spanish(make):
    programme = _sessions(
        make, title="Citizens Academy", translations={"es": {"title": "Academia Ciudadana"}}
    )
    spanish = programme_calendar(programme, "es", BASE)
    assert spanish == programme_calendar(programme, "es", BASE)
    _calendar, found = events(spanish)
    assert str(found[0]["SUMMARY"]) == "Academia Ciudadana: Bienvenida"
    assert {str(e["UID"]) for e in found} == {
        str(e["UID"]) for e in events(programme_calendar(programme, "en", BASE))[1]
    }


def test_calendar_escapes_text(make):
    programme = _sessions(make, title="Parks; trees, and rivers\nday")
    payload = programme_calendar(programme, "en", BASE)
    _calendar, found = events(payload)
    assert str(found[0]["SUMMARY"]) == "Parks; trees, and rivers day: Welcome"
    assert b"X-WR-CALNAME:Parks\\; trees\\, and rivers day\r\n" in payload


def test_calendar_of_a_programme_without_sessions_is_valid(make):
    programme = make.programme(sessions=0)
    calendar, found = events(programme_calendar(programme, "en", BASE))
    assert found == [] and str(calendar["VERSION"]) == "2.0"


# -- certificate -----------------------------------------------------------------------------


def streams(pdf: bytes) -> list[bytes]:
    """Every stream of ``pdf``, inflated when it is compressed."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        data = match.group(1)
        try:
            out.append(zlib.decompress(data))
        except zlib.error:
            out.append(data)
    return out


@pytest.fixture
def completed(db, make):
    programme = make.programme(
        sessions=4,
        title="Citizens Engagement Academy",
        translations={"es": {"title": "Academia de Participación"}},
    )
    person = make.enrolment(programme, make.user(name="José Núñez"), completed=True)
    for item in programme.sessions[:3]:
        attendance.mark(db, programme_session=item, enrolment=person, present=True, by=None)
    return programme, person


def test_certificate_is_a_one_page_pdf_with_an_embedded_unicode_font(completed):
    programme, person = completed
    fonts = certificate.find_fonts()
    if fonts is None:
        pytest.skip("no Unicode TrueType font installed (the built-in font is tested below)")

    pdf = certificate.certificate_pdf(person, programme, "en", "City of Riverton")

    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 1
    assert b"/FontFile2" in pdf
    inflated = b"".join(streams(pdf))
    # The embedded font's character map covers the accented letters of the name.
    for letter in ("é", "ú", "ñ"):
        assert f"{ord(letter):04X}".encode() in inflated
    # The document title (UTF-16 in the PDF) names the participant and the programme.
    title = "Certificate of completion: José Núñez - Citizens Engagement Academy"
    assert (
        title.encode("utf-16-be").hex().upper().encode() in pdf.upper()
        or title.encode("utf-16-be") in pdf
    )


def test_certificate_text_with_the_built_in_font(completed):
    programme, person = completed
    pdf = certificate.certificate_pdf(
        person, programme, "en", "City of Riverton", fonts=None, issued=date(2026, 6, 1)
    )
    text = b"".join(streams(pdf)).decode("latin-1")
    for expected in (
        "City of Riverton",
        "Certificate of completion",
        "José Núñez",
        "Citizens Engagement Academy",
        "Sessions attended: 3 of 4",
        "Issued on June 1, 2026",
    ):
        assert expected in text, expected
    assert "held from" in text


def test_certificate_in_spanish(completed):
    programme, person = completed
    pdf = certificate.certificate_pdf(
        person, programme, "es", "Ciudad de Riverton", fonts=None, issued=date(2026, 6, 1)
    )
    text = b"".join(streams(pdf)).decode("latin-1")
    assert "Academia de Participación" in text
    assert "1 de junio de 2026" in text


def test_characters_beyond_latin1_fall_back_without_failing(db, make):
    programme = make.programme(sessions=1, title="Łódź exchange ✓")
    person = make.enrolment(programme, make.user(name="Zoë Łukasz"))
    pdf = certificate.certificate_pdf(person, programme, "en", "Riverton", fonts=None, attended=1)
    text = b"".join(streams(pdf)).decode("latin-1")
    assert "Zoë Lukasz" in text and "Lódz exchange ?" in text


def test_attended_counts_only_sessions_present(db, make, completed):
    programme, person = completed
    attendance.mark(
        db, programme_session=programme.sessions[3], enrolment=person, present=False, by=None
    )
    assert certificate.attended_sessions(person) == 3


def test_dates_of_a_one_day_programme(make):
    programme = make.programme(sessions=1)
    programme.starts_on = programme.ends_on = datetime(2026, 5, 4, tzinfo=UTC).date()
    person = make.enrolment(programme, make.user(name="Ana"))
    text = b"".join(
        streams(
            certificate.certificate_pdf(person, programme, "en", "Riverton", fonts=None, attended=1)
        )
    ).decode("latin-1")
    assert "held on May 4, 2026" in text
