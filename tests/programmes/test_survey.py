"""The programme survey: invited when a programme completes, emailed by the worker with a
single-use link, answered on the survey page (about the programme, no case), stored once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.programmes import completion
from portal.surveys.invitations import hash_token, send_due_invitations
from portal.surveys.models import SurveyInvitation, SurveyResponse
from tests.conftest import csrf_from
from tests.smtp import body_html, body_text

START = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(freeze_clock):
    freeze_clock(START)


@pytest.fixture
def finished(db, make, settings):
    """A programme that just completed, with one participant (Spanish-speaking unless
    changed) invited."""
    programme = make.programme(
        sessions=2,
        title="Neighborhood Liaison Program",
        translations={"es": {"title": "Programa de Enlace Vecinal"}},
    )
    person = make.enrolment(
        programme, make.user(name="José Núñez", email="jose@example.org"), locale="es"
    )
    end = programme.sessions[-1].ends_at
    clock.freeze(end)
    completion.complete_programme(db, settings=settings, programme=programme, now=end)
    db.flush()
    return programme, person, end


def send(app, settings, at):
    clock.freeze(at)
    return send_due_invitations(app.extensions["portal.db"], settings, at)


def token_from(text: str) -> str:
    return re.search(r"/surveys/([A-Za-z0-9_-]{20,})\b", text).group(1)


def test_the_email_is_delivered_and_its_link_stores_a_response(
    app, client, db, settings, smtp, finished
):
    programme, person, end = finished
    assert send(app, settings, end) == "sent 1 survey invitation(s), cancelled 0"
    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=end, max_attempts=3
    )
    assert stats.sent == 1
    smtp.wait_for(1)
    [mail] = smtp.to("jose@example.org")
    assert "Programa de Enlace Vecinal" in mail["Subject"]
    text = body_text(mail)
    assert "Programa de Enlace Vecinal" in text
    assert "/surveys/opt-out/" in text and "/surveys/opt-out/" in body_html(mail)
    token = token_from(text)
    db.expire_all()
    invitation = db.scalar(select(SurveyInvitation))
    assert invitation.state == "sent" and hash_token(token) == invitation.token_hash

    clock.freeze(end + timedelta(days=1))
    page = client.get(f"/surveys/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Programa de Enlace Vecinal" in html  # in the participant's language
    assert "¿Qué le pareció el programa?" in html
    assert "SR-" not in html

    answer = client.post(
        f"/surveys/{token}",
        data={
            "csrf_token": csrf_from(html),
            "satisfaction": "5",
            "recommend": "9",
            "comment": "Muy útil",
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "Programa de Enlace Vecinal" in answer.get_data(as_text=True)
    db.expire_all()
    [stored] = db.scalars(select(SurveyResponse)).all()
    assert (stored.survey_key, stored.csat, stored.nps, stored.comment) == (
        "programme-completed",
        5,
        9,
        "Muy útil",
    )
    assert stored.request_id is None and stored.department_id is None
    assert stored.invitation_id == invitation.id and stored.locale == "es"
    db.refresh(invitation)
    assert invitation.state == "answered"
    assert client.get(f"/surveys/{token}").status_code == 410


def test_bad_answers_show_errors_and_store_nothing(app, client, db, settings, finished):
    _programme, _person, end = finished
    send(app, settings, end)
    db.expire_all()
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "programme_survey"))
    token = token_from(mail.body_text)
    page = client.get(f"/surveys/{token}?lang=en")
    html = page.get_data(as_text=True)
    assert "Neighborhood Liaison Program" in html
    answer = client.post(
        f"/surveys/{token}?lang=en", data={"csrf_token": csrf_from(html), "recommend": "12"}
    )
    assert answer.status_code == 400
    assert "Neighborhood Liaison Program" in answer.get_data(as_text=True)
    assert db.scalars(select(SurveyResponse)).all() == []


def test_the_invitation_is_cancelled_when_the_enrolment_is_gone(app, db, settings, finished):
    _programme, person, end = finished
    db.delete(person)
    db.flush()
    assert send(app, settings, end) == "sent 0 survey invitation(s), cancelled 1"
    db.expire_all()
    assert db.scalar(select(SurveyInvitation.state)) == "cancelled"
    assert (
        db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "programme_survey")).all()
        == []
    )


def test_the_invitation_is_cancelled_when_the_programme_was_cancelled(app, db, settings, finished):
    programme, _person, end = finished
    programme.status = "cancelled"
    db.flush()
    assert send(app, settings, end) == "sent 0 survey invitation(s), cancelled 1"


def test_opting_out_from_the_programme_email(app, client, db, settings, finished, make):
    _programme, _person, end = finished
    send(app, settings, end)
    db.expire_all()
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "programme_survey"))
    token = token_from(mail.body_text)
    page = client.get(f"/surveys/opt-out/{token}")
    assert page.status_code == 200
    done = client.post(
        f"/surveys/opt-out/{token}", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert done.status_code == 200
    # A later programme does not invite the address again.
    other = make.programme(sessions=1)
    again = make.enrolment(other, db.get(type(_person), _person.id).user)
    completion.complete_programme(
        db, settings=settings, programme=other, now=end + timedelta(days=90)
    )
    db.expire_all()
    assert (
        db.scalar(
            select(SurveyInvitation).where(SurveyInvitation.subject_key == f"enrolment:{again.id}")
        )
        is None
    )
