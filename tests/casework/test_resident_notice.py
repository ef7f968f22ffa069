"""When the resident answers a staff question or writes on a case (tracking page or email), the
case's assignee is told in 'Notices' (and by email, as they chose); while nobody has the case,
the members of its department are (portal.notifications.reactions, on the ``resident_wrote``
hook of portal.requests.updates.resident_reply)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.core.outbox import OutboxMessage
from portal.notifications.models import StaffNotice
from portal.notifications.staff import excerpt
from portal.requests import updates
from tests.casework.test_case import act, make_office
from tests.conftest import csrf_from, sign_in
from tests.mail_in import conftest as mail_in
from tests.mail_in.conftest import message

# The running email receiver and its settings (fixtures of tests/mail_in).
receiver, mail_settings, token_address = (
    mail_in.receiver,
    mail_in.mail_settings,
    mail_in.token_address,
)


def _notices(db, *users) -> dict[str, list[tuple[str, str]]]:
    db.expire_all()
    found = {}
    for user in users:
        rows = db.scalars(
            select(StaffNotice).where(StaffNotice.user_id == user.id).order_by(StaffNotice.id)
        )
        found[user.name] = [(n.kind, (n.data or {}).get("excerpt", "")) for n in rows]
    return found


def _reporter_posts(client, make, case, text):
    """The reporter, signed in, writes on their request's page."""
    html = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    return client.post(
        f"/requests/{case.reference}/reply", data={"csrf_token": csrf_from(html), "message": text}
    )


def test_the_assignee_hears_when_the_resident_answers_their_question(client, app, db, make):
    office = make_office(make, db)
    resident = make.user(name="Rita", email="rita.account@example.org")
    office.case.reporter_id = resident.id
    office.task_x.assignee_id = office.agent_x.id
    db.flush()
    sign_in(client, office.agent_x)
    assert act(client, office.case, "question", question="Which lane is it in?").status_code == 302
    client.post("/account/sign-out", data={"csrf_token": csrf_from(client.get("/").text)})

    sign_in(client, resident)
    assert (
        _reporter_posts(client, make, office.case, "The left lane, near the bus stop.").status_code
        == 302
    )
    db.refresh(office.case)
    assert office.case.status == "in_progress"
    found = _notices(db, office.agent_x, office.agent_x2, office.agent_y)
    assert found == {
        "Xavier": [("resident_answered", "The left lane, near the bus stop.")],
        "Xena": [],
        "Yusuf": [],
    }
    emails = list(
        db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == office.agent_x.email,
                OutboxMessage.kind == "staff_notice",
            )
        )
    )
    assert len(emails) == 1 and office.case.reference in emails[0].subject
    assert "The left lane, near the bus stop." in emails[0].body_text

    client.post("/account/sign-out", data={"csrf_token": csrf_from(client.get("/").text)})
    sign_in(client, office.agent_x)
    html = client.get("/staff/notices").get_data(as_text=True)
    assert "The resident answered" in html
    assert f"The resident answered your question on {office.case.reference}" in html
    assert "The left lane, near the bus stop." in html


def test_unassigned_the_departments_queue_hears_a_message_in_spanish_too(client, app, db, make):
    office = make_office(make, db)
    resident = make.user(name="Rita", email="rita.account@example.org")
    office.case.reporter_id = resident.id
    office.case.status = "acknowledged"
    office.agent_x2.locale = "es"
    office.agent_x2.notice_email = "daily"
    db.flush()
    sign_in(client, resident)
    assert _reporter_posts(client, make, office.case, "It is getting bigger.").status_code == 302
    found = _notices(db, office.agent_x, office.agent_x2, office.agent_y)
    assert found == {
        "Xavier": [("resident_wrote", "It is getting bigger.")],
        "Xena": [("resident_wrote", "It is getting bigger.")],
        "Yusuf": [],
    }
    # Xena chose the daily digest: no email now.
    assert not list(
        db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == office.agent_x2.email))
    )
    client.post("/account/sign-out", data={"csrf_token": csrf_from(client.get("/").text)})
    sign_in(client, office.agent_x2)
    html = client.get("/staff/notices?lang=es").get_data(as_text=True)
    assert "Mensaje del residente" in html
    assert f"El residente escribió en {office.case.reference}" in html


def test_a_staff_member_reporting_on_their_own_account_is_not_told_about_themselves(
    db, make, settings
):
    office = make_office(make, db)
    office.case.reporter_id = office.agent_x.id
    office.case.status = "acknowledged"
    db.flush()
    updates.resident_reply(db, settings=settings, request=office.case, body="Me again")
    found = _notices(db, office.agent_x, office.agent_x2)
    assert found == {"Xavier": [], "Xena": [("resident_wrote", "Me again")]}


def test_an_emailed_answer_tells_the_assignee(receiver, make, db, token_address, mail_settings):
    office = make_office(make, db)
    office.case.contact_email = "ana@example.org"
    office.task_x.assignee_id = office.agent_x.id
    updates.ask_resident(
        db, settings=mail_settings, request=office.case, question="How deep?", actor=office.agent_x
    )
    db.commit()
    mail = receiver.send(
        message(to=token_address(office.case.id), body="About a foot deep.\n\nSent from my iPhone"),
        to=[token_address(office.case.id)],
    )
    assert mail.outcome == "answer"
    assert _notices(db, office.agent_x, office.agent_x2) == {
        "Xavier": [("resident_answered", "About a foot deep.")],
        "Xena": [],
    }


@pytest.mark.pure
def test_the_excerpt_is_one_line_cut_at_a_word():
    assert excerpt("  two\n\nlines  ") == "two lines"
    long = "word " * 60
    cut = excerpt(long)
    assert len(cut) <= 160 and cut.endswith("word…")
