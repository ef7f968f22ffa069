"""System timeline entries read in the reader's language: a Spanish-speaking agent and an
English-speaking one see the same case each in their own, and so do residents on the tracking
page. Entries written before the words moved to the page (English names, a note stored in the
resident's language) read well too. Times show no seconds and follow the language's format."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.requests.models import Event
from portal.staff.models import StaffMembership
from tests.casework.test_case import act
from tests.conftest import sign_in

#: A moment with seconds: 14:05:37 in Riverton (America/Chicago).
MOMENT = datetime(2026, 12, 7, 20, 5, 37, tzinfo=UTC)
WHEN = {"en": "Dec 7, 2026, 2:05\u202fPM", "es": "7 dic 2026, 14:05"}
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
DONE = {
    "en": "All the work on this request is done.",
    "es": "Todo el trabajo de esta solicitud está terminado.",
}


def visible(page: str) -> str:
    """What a reader sees: no scripts, no tags (so no ``datetime="..."`` attributes)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def staff(make, db, department, locale):
    user = make.user(role="agent", locale=locale, name=f"Agent {locale}")
    db.add(StaffMembership(user_id=user.id, department_id=department.id, role="agent"))
    db.flush()
    return user


@pytest.fixture
def office(make, db, freeze_clock):
    freeze_clock(MOMENT)
    streets = make.department(
        code="streets", name="Streets", translations={"es": {"name": "Calles"}}
    )
    pothole = make.category(
        department=streets, name="Pothole", translations={"es": {"name": "Bache"}}
    )
    lights = make.category(
        department=streets, name="Streetlight out", translations={"es": {"name": "Farola apagada"}}
    )
    case = make.request(category=lights, contact_email="rita@example.org", locale="es")
    return {
        "streets": streets,
        "pothole": pothole,
        "case": case,
        "en": staff(make, db, streets, "en"),
        "es": staff(make, db, streets, "es"),
    }


def _old_entries(make, office) -> None:
    """Entries as earlier code (and the demo) wrote them: names in English, a department by
    its code, the resolution note in the resident's language, photo refusals as codes."""
    case, agent = office["case"], office["en"]
    make.event(case, "routed", public=False, body="", data={"department": "streets"})
    make.event(
        case,
        "internal_note",
        public=False,
        actor=agent,
        body="",
        data={"action": "category", "from": "Pothole", "to": "Streetlight out"},
    )
    make.event(
        case,
        "sla",
        public=False,
        body="",
        data={"action": "breached", "task_id": 1, "department_name": "Streets", "level": 1},
    )
    make.event(
        case,
        "internal_note",
        public=False,
        body="broken.png: not_image",
        data={"action": "email_filed", "refused_photos": ["broken.png: not_image"]},
    )
    make.event(
        case,
        "status_changed",
        actor=agent,
        body=DONE["es"],
        data={"from": "new", "to": "resolved", "department_name": "Streets"},
    )


EXPECTED_STAFF = {
    "en": [
        "Routed to Streets",
        "Category changed from Pothole to Streetlight out",
        "Task for Streets is past its due time (escalation level 1)",
        "broken.png: not a photo",
        DONE["en"],
        "Agent en (Streets)",
    ],
    "es": [
        "Enviada a Calles",
        "La categoría cambió de Bache a Farola apagada",
        "La tarea de Calles superó su fecha límite (nivel de escalamiento 1)",
        "broken.png: no es una foto",
        DONE["es"],
        "Agent en (Calles)",
    ],
}


@pytest.mark.parametrize("locale", ["en", "es"])
def test_staff_read_system_entries_in_their_own_language(app, make, db, office, locale):
    _old_entries(make, office)
    client = app.test_client()
    sign_in(client, office[locale])  # the agent's own language, from their account

    page = client.get(f"/staff/cases/{office['case'].reference}")

    assert page.status_code == 200
    text = " ".join(visible(page.get_data(as_text=True)).split())
    for expected in EXPECTED_STAFF[locale]:
        assert " ".join(expected.split()) in text, expected
    other = "es" if locale == "en" else "en"
    assert DONE[other] not in text
    assert "Routed to streets" not in text and "Enviada a streets" not in text
    assert " ".join(WHEN[locale].split()) in text
    assert not SECONDS.search(text), SECONDS.search(text)


@pytest.mark.parametrize("locale", ["en", "es"])
def test_residents_read_system_entries_in_their_own_language(app, make, db, office, locale):
    _old_entries(make, office)

    page = app.test_client().get(f"/requests/{office['case'].reference}?lang={locale}")

    assert page.status_code == 200
    text = " ".join(visible(page.get_data(as_text=True)).split())
    assert DONE[locale] in text
    assert DONE["es" if locale == "en" else "en"] not in text
    assert ("Calles" if locale == "es" else "Streets") in text  # who signed the resolution
    assert " ".join(WHEN[locale].split()) in text
    assert not SECONDS.search(text), SECONDS.search(text)
    # Internal entries stay internal, whatever their language.
    assert "broken.png" not in text and "Routed" not in text and "Enviada" not in text


def test_the_note_of_the_last_task_closing_is_stored_as_a_code_and_read_in_each_language(
    app, make, db, office
):
    """The case resolves when its last task is done: the entry carries the note's code (the
    body keeps the words the Spanish-speaking resident was emailed), and each reader sees it
    in their own language."""
    case = office["case"]
    task = make.task(case, office["streets"])
    client = app.test_client()
    sign_in(client, office["en"])

    assert act(client, case, f"tasks/{task.id}/complete").status_code == 302

    resolved = db.scalars(
        select(Event).where(Event.request_id == case.id, Event.kind == "status_changed")
    ).all()[-1]
    assert resolved.data["note"] == "work_done" and resolved.body == DONE["es"]
    english = visible(client.get(f"/staff/cases/{case.reference}").get_data(as_text=True))
    assert DONE["en"] in english and DONE["es"] not in english
    for locale in ("en", "es"):
        page = app.test_client().get(f"/requests/{case.reference}?lang={locale}")
        assert DONE[locale] in visible(page.get_data(as_text=True))
