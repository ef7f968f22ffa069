"""The certificate's texts stay on their own lines, whatever was typed into them."""

from __future__ import annotations

import contextlib
import re
import zlib
from datetime import date

import pytest

from portal.programmes import certificate


def shown_lines(pdf: bytes) -> list[str]:
    """The text of each line drawn on the page (one ``Tj`` each with the built-in font)."""
    lines = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        data = match.group(1)
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
        for shown in re.finditer(rb"\((.*?)(?<!\\)\) ?Tj", data, re.S):
            lines.append(shown.group(1).decode("latin-1"))
    return lines


@pytest.mark.parametrize(
    "name",
    ["Ana\r\nCERTIFIED: Mayor", "Ana\nCERTIFIED: Mayor", "Ana\u2028CERTIFIED:\x0c Mayor\t"],
)
def test_line_breaks_in_a_name_do_not_add_lines(db, make, name):
    programme = make.programme(sessions=2, title="Budget\r\nSchool")
    person = make.enrolment(programme, make.user(name=name), completed=True)
    plain = make.enrolment(programme, make.user(name="Ana Mayor"), completed=True)

    def lines(enrolment):
        return shown_lines(
            certificate.certificate_pdf(
                enrolment,
                programme,
                "en",
                "Riverton\nCity",
                fonts=None,
                attended=2,
                issued=date(2026, 6, 1),
            )
        )

    drawn = lines(person)
    assert "Ana CERTIFIED: Mayor" in drawn
    assert "Budget School" in drawn and "Riverton City" in drawn
    assert not any(line.strip() in ("Ana", "CERTIFIED: Mayor") for line in drawn)
    # As many lines as the certificate of an ordinary name.
    assert len(drawn) == len(lines(plain))
    assert not any(ch in "".join(drawn) for ch in "\r\n\x0c\t")


def test_one_line_keeps_ordinary_text():
    assert certificate.one_line("  José   Núñez ") == "José Núñez"
    assert certificate.one_line("Ana\r\n\r\nMayor") == "Ana Mayor"
    assert certificate.one_line("") == ""
