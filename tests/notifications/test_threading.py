"""Every email about a case can be answered and threads with the case's other emails
(issue 19): delivered over real SMTP by the worker, each carries a Message-ID, In-Reply-To,
References (the case's root first) and a Reply-To whose token names the case, the recipient
and how their answer is taken. Mail about no case has none of these."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from email.message import Message

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from portal.core import clock
from portal.core.config import ROOT
from portal.core.mail import thread_root
from portal.core.replies import ReplyToken, read_token, token_in_address
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.notifications.staff import notify_staff
from portal.requests.models import Follower, ServiceRequest
from tests.casework.test_case import act, make_office
from tests.casework.test_tasks import task_act
from tests.conftest import csrf_from, sign_in
from tests.requests.test_filing import QUESTIONS, Journey, _to_check_page
from tests.smtp import body_text

DOMAIN = "mail.riverton.example"


@pytest.fixture
def mail_settings(app, settings):
    """The app with a mail domain of its own (not the sender's), as a city sets in [mail]."""
    configured = replace(settings, mail_domain=DOMAIN, mail_intake=f"311@{DOMAIN}")
    app.extensions["portal.settings"] = configured  # the next test's app resets it
    app.extensions["portal.city"].clear(configured)
    return configured


def deliver(app, settings, smtp, count: int) -> list[Message]:
    """What the worker sends now, as a mail client reads it (folded headers unfolded: a long
    Message-ID is put on a line of its own, which RFC 5322 allows)."""
    smtp.clear()
    deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    received = smtp.wait_for(count)
    assert len(received) == count, [m["Subject"] for _, m in received]
    return [
        email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        for _, message in received
    ]


def header(message: Message, name: str) -> str | None:
    value = message[name]
    return None if value is None else " ".join(str(value).split())


def token(settings, message: Message) -> ReplyToken:
    reply_to = header(message, "Reply-To")
    assert reply_to and reply_to.endswith(f"@{DOMAIN}"), reply_to
    read = read_token(settings.secret_key, token_in_address(reply_to) or "")
    assert read is not None, reply_to
    return read


def assert_chain(messages: list[Message], reference: str) -> None:
    """Each message answers the one before it; References name the root, then all before."""
    root = thread_root(reference, DOMAIN)
    ids = [header(m, "Message-ID") for m in messages]
    assert len(set(ids)) == len(ids)
    for position, message in enumerate(messages):
        assert header(message, "Message-ID").startswith(f"<{reference.lower()}.")
        assert header(message, "Message-ID").endswith(f"@{DOMAIN}>")
        assert header(message, "In-Reply-To") == (ids[position - 1] if position else root)
        assert header(message, "References").split() == [root, *ids[:position]]
        assert reference in message["Subject"]


@pytest.fixture
def city(make):
    make.area(name="Old Town", code="old-town")
    return make.category(code="pothole", name="Pothole", questions=QUESTIONS)


def test_a_residents_emails_about_their_request_chain_and_answer_back(
    app, client, db, make, city, mail_settings, smtp
):
    # Ana files in Spanish without an account: the emails go to the request's contact address.
    journey = Journey(client)
    journey.get("/report/?lang=es")
    _to_check_page(journey, name="Ana Ruiz", email="ana@example.org")
    journey.post("/report/check")
    case = db.scalar(select(ServiceRequest))
    agent = make.staff(city.department, name="Xavier")
    desk = app.test_client()
    sign_in(desk, agent)
    assert act(desk, case, "acknowledge").status_code == 302
    assert act(desk, case, "reply", body="A crew comes on Monday.", send="1").status_code == 302
    assert act(desk, case, "question", question="Which lane is it in?").status_code == 302

    confirmation, acknowledged, reply, question = deliver(app, mail_settings, smtp, 4)

    assert all(m["To"] == "ana@example.org" for m in (confirmation, reply, question))
    assert_chain([confirmation, acknowledged, reply, question], case.reference)
    for message in (confirmation, acknowledged, reply, question):
        assert token(mail_settings, message) == ReplyToken(case.id, 0, "r")
    # Spanish subjects, each with the reference; a staff reply is called one.
    assert confirmation["Subject"] == f"Recibimos su solicitud {case.reference}"
    assert acknowledged["Subject"].startswith(f"Actualización de su solicitud {case.reference}")
    assert reply["Subject"] == f"Una respuesta sobre su solicitud {case.reference}"
    assert question["Subject"] == f"Pregunta sobre su solicitud {case.reference}"
    assert "También puede responder a este correo" in body_text(question)


def test_an_account_holder_and_followers_get_their_own_tokens(
    app, client, db, make, city, mail_settings, smtp
):
    reporter = make.user(email="rita@example.org")
    fan = make.user(email="fan@example.org")
    case = make.request(category=city, reporter_id=reporter.id)
    sign_in(client, fan)
    page = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    followed = client.post(
        f"/requests/{case.reference}/follow", data={"csrf_token": csrf_from(page)}
    )
    assert followed.status_code == 302
    db.add(
        Follower(
            request_id=case.id,
            email="neighbour@example.org",
            token="neighbour-token",
            confirmed_at=clock.now(),
        )
    )
    db.flush()
    desk = app.test_client()
    sign_in(desk, make.staff(city.department))
    assert act(desk, case, "reply", body="Fixed the first half.", send="1").status_code == 302
    assert act(desk, case, "reply", body="Fixed the rest.", send="1").status_code == 302

    messages = deliver(app, mail_settings, smtp, 6)
    by_address: dict[str, list[Message]] = {}
    for message in messages:
        by_address.setdefault(message["To"], []).append(message)

    expected = {
        "rita@example.org": ReplyToken(case.id, reporter.id, "r"),
        "fan@example.org": ReplyToken(case.id, fan.id, "r"),
        "neighbour@example.org": ReplyToken(case.id, 0, "r"),
    }
    assert set(by_address) == set(expected)
    for address, read in expected.items():
        first, second = by_address[address]
        # Each recipient's two emails chain to each other, not to anyone else's.
        assert_chain([first, second], case.reference)
        assert token(mail_settings, first) == token(mail_settings, second) == read
    assert by_address["rita@example.org"][0]["Subject"] == (
        f"A reply about your request {case.reference}"
    )
    assert by_address["fan@example.org"][0]["Subject"] == (
        f"City staff wrote about request {case.reference}"
    )


def test_staff_notices_answer_as_a_note_or_as_a_reply_to_the_resident(
    app, client, db, make, mail_settings, smtp
):
    office = make_office(make, db)
    sign_in(client, office.agent_x)
    assigned = task_act(
        client, office.case, office.task_x, "assign", assignee=str(office.agent_x2.id)
    )
    assert assigned.status_code == 302
    office.agent_x.locale = "es"
    notify_staff(
        db,
        settings=mail_settings,
        user=office.agent_x,
        kind="survey_not_resolved",
        request=office.case,
    )
    db.flush()

    assignment, survey = deliver(app, mail_settings, smtp, 2)

    assert assignment["To"] == office.agent_x2.email
    assert token(mail_settings, assignment) == ReplyToken(office.case.id, office.agent_x2.id, "i")
    assert "Answer this email to add an internal note" in body_text(assignment)
    assert survey["To"] == office.agent_x.email
    assert token(mail_settings, survey) == ReplyToken(office.case.id, office.agent_x.id, "p")
    assert "para contestar al residente" in body_text(survey)
    for message in (assignment, survey):
        assert_chain([message], office.case.reference)


def test_without_a_mail_domain_emails_thread_but_promise_no_answers(
    app, client, db, make, settings, smtp
):
    office = make_office(make, db)
    sign_in(client, office.agent_x)
    assert act(client, office.case, "question", question="Which lane?").status_code == 302
    assert (
        task_act(
            client, office.case, office.task_x, "assign", assignee=str(office.agent_x2.id)
        ).status_code
        == 302
    )

    question, assignment = sorted(
        deliver(app, settings, smtp, 2), key=lambda m: m["To"] != "rita@example.org"
    )

    # Answers go to the sender's domain; no email says they may be answered.
    for message in (question, assignment):
        assert header(message, "Reply-To").endswith("@riverton.example")
        assert office.case.reference in message["Subject"]
        assert "answer this email" not in body_text(message).lower()


def test_mail_about_no_case_has_no_reply_token(app, client, make, mail_settings, smtp):
    make.user(email="ana@example.org")
    page = client.get("/account/reset").get_data(as_text=True)
    response = client.post(
        "/account/reset", data={"csrf_token": csrf_from(page), "email": "ana@example.org"}
    )
    assert response.status_code == 200

    [reset] = deliver(app, mail_settings, smtp, 1)

    assert header(reset, "Reply-To") is None and header(reset, "In-Reply-To") is None
    assert header(reset, "References") is None
    assert not header(reset, "Message-ID").endswith(f"@{DOMAIN}>")


CASE_TEMPLATES = (
    "request_confirmation",
    "request_update",
    "follow_confirm",
    "survey_invitation",
    "staff_notice",
)


@pytest.mark.pure
@pytest.mark.parametrize("template", CASE_TEMPLATES)
def test_every_subject_of_a_case_email_names_the_reference_in_both_languages(template):
    """The subject's reference is how an answer threads when its token was lost."""
    with (ROOT / "portal/translations/es/LC_MESSAGES/messages.po").open("rb") as po:
        spanish = {m.id: m.string for m in read_po(po) if m.id}
    subject = (ROOT / "templates/notifications" / template / "subject.txt").read_text("utf-8")
    msgids = re.findall(r'_\("((?:[^"\\]|\\.)*)"', subject)
    assert msgids
    for msgid in msgids:
        assert "%(reference)s" in msgid, msgid
        assert "%(reference)s" in spanish[msgid], msgid
    # The only branch without a msgid is a staff notice about no case (no reference to give).
    assert "{{ headline }}" in subject if template == "staff_notice" else True
