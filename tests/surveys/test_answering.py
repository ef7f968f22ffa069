"""Answering a survey: the page, bad input, closed links, "not resolved", opt-out, site
feedback, and what staff see of a case's survey."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.casework import tasks
from portal.casework.models import Task
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.notifications.models import StaffNotice
from portal.requests.models import Event
from portal.surveys import answering
from portal.surveys.definitions import definition_for
from portal.surveys.invitations import hash_token
from portal.surveys.models import (
    SurveyInvitation,
    SurveyOptOut,
    SurveyResponse,
    SurveyVersion,
)
from portal.surveys.schema import as_document, from_document
from tests.casework.test_case import make_office, sign_in, staff
from tests.conftest import csrf_from
from tests.sla.test_clocks import city  # noqa: F401 - a fixture
from tests.surveys.test_invitations import MONDAY, resolve, run_worker

SENT = MONDAY + timedelta(days=1, minutes=1)
LATER = SENT + timedelta(days=2)


@pytest.fixture(autouse=True)
def _thaw():
    yield
    clock.freeze(None)


@pytest.fixture
def office(make, db):
    return make_office(make, db)


def send_survey(app, db, settings, office, case=None) -> tuple[SurveyInvitation, str]:
    """Resolve the case, let the worker send the invitation; (invitation, token)."""
    case = case or office.case
    resolve(db, settings, case, office.agent_x)
    run_worker(app, settings, SENT)
    db.expire_all()
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.request_id == case.id))
    mail = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.kind == "survey_invitation", OutboxMessage.to_address == invitation.email
        )
    )
    token = re.search(r"/surveys/([A-Za-z0-9_-]{20,})\b", mail.body_text).group(1)
    assert hash_token(token) == invitation.token_hash
    clock.freeze(LATER)
    return invitation, token


def post(client, token, **answers):
    page = client.get(f"/surveys/{token}")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True))}
    data.update(answers)
    return client.post(f"/surveys/{token}", data=data)


def responses(db):
    db.expire_all()
    return list(db.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))


# -- the page --------------------------------------------------------------------------------


def test_the_survey_page_in_english(app, client, db, office, settings):
    _invitation, token = send_survey(app, db, settings, office)
    response = client.get(f"/surveys/{token}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<h1>How did we do with your request?</h1>" in html
    assert "These five short questions" in html
    # Radio groups are fieldsets with a legend; each radio has its own visible label.
    assert re.search(r'<legend class="usa-legend">Was your request resolved\?', html)
    assert 'id="q-resolved" type="radio" name="resolved" value="yes"' in html
    assert 'for="q-resolved-dont_know">I don&#39;t know</label>' in html
    assert "Very satisfied" in html and "Very dissatisfied" in html
    assert "Very easy" in html and "Very difficult" in html
    assert 'name="comment"' in html and "Up to 1,200 characters." in html
    # One "(optional)" only, even where the file's label already says so.
    assert "(optional) <span" not in html
    # its hashed copy once `make assets` has built it (portal/static_files.py)
    assert re.search(r"/static/(dist/)?js/survey(\.[0-9a-f]{12})?\.js\"", html)
    assert f"/surveys/opt-out/{token}" in html


def test_the_survey_page_in_the_residents_language(app, client, db, make, settings):
    office = make_office(make, db)
    office.case.locale = "es"
    db.flush()
    _invitation, token = send_survey(app, db, settings, office)
    html = client.get(f"/surveys/{token}").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "¿Qué tal atendimos su solicitud?" in html
    assert "¿Se resolvió su solicitud?" in html and "No lo sé" in html
    assert "Muy satisfecho" in html
    # A visitor who chose English gets English.
    chosen = client.get(f"/surveys/{token}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in chosen and "How did we do with your request?" in chosen
    again = client.get(f"/surveys/{token}").get_data(as_text=True)
    assert "How did we do with your request?" in again  # the cookie remembers the choice


def test_bad_answers_are_shown_with_the_error_summary_and_kept(app, client, db, office, settings):
    invitation, token = send_survey(app, db, settings, office)
    response = post(client, token, satisfaction="4", comment="Half done")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and "data-error-summary" in html
    assert '<a href="#q-resolved">Choose an answer to “Was your request resolved?”.</a>' in html
    assert 'id="q-resolved-error">Choose an answer.</span>' in html
    assert "<title>Error: How did we do with your request?" in html
    # What was given is still there.
    assert 'value="4" checked' in html
    assert ">Half done</textarea>" in html

    cases = [
        ({"resolved": "maybe"}, "resolved", "Choose one of the answers shown."),
        (
            {"resolved": "yes", "satisfaction": "9"},
            "satisfaction",
            "Choose one of the answers shown.",
        ),
        (
            {"resolved": "yes", "satisfaction": "abc"},
            "satisfaction",
            "Choose one of the answers shown.",
        ),
        ({"resolved": "yes", "effort": "0"}, "effort", "Choose one of the answers shown."),
        ({"resolved": "yes", "contact": "perhaps"}, "contact", "Choose one of the answers shown."),
        (
            {"resolved": "yes", "comment": "x" * 1201},
            "comment",
            "Keep your answer to 1200 characters or fewer.",
        ),
    ]
    for answers, field, message in cases:
        response = post(client, token, **answers)
        assert response.status_code == 400, answers
        html = response.get_data(as_text=True)
        assert f'id="q-{field}-error">{message}</span>' in html, answers
        assert f'href="#q-{field}"' in html
    # Two values for one radio group.
    page = client.get(f"/surveys/{token}").get_data(as_text=True)
    response = client.post(
        f"/surveys/{token}", data={"csrf_token": csrf_from(page), "resolved": ["yes", "no"]}
    )
    assert response.status_code == 400
    # Without the form's token: refused, nothing stored.
    assert client.post(f"/surveys/{token}", data={"resolved": "yes"}).status_code == 400
    assert responses(db) == []
    db.refresh(invitation)
    assert invitation.state == "sent"


def test_an_answer_is_stored_with_its_measures_once(app, client, db, office, settings):
    invitation, token = send_survey(app, db, settings, office)
    response = post(
        client,
        token,
        resolved="yes",
        satisfaction="4",
        effort="6",
        comment="  Quick work, thank you.  ",
        contact="yes",
    )
    assert response.status_code == 200
    assert "Thank you for your answers" in response.get_data(as_text=True)
    [stored] = responses(db)
    assert stored.invitation_id == invitation.id and stored.request_id == office.case.id
    assert (stored.csat, stored.ces, stored.nps, stored.resolved, stored.contact_ok) == (
        4,
        6,
        None,
        "yes",
        True,
    )
    assert stored.comment == "Quick work, thank you."
    assert stored.answers["satisfaction"] == 4
    assert stored.survey_key == "request-resolved" and stored.version == 1
    assert stored.survey_version_id == invitation.survey_version_id
    assert stored.department_id == office.dept_x.id
    assert stored.category_id == office.case.category_id
    db.refresh(invitation)
    assert invitation.state == "answered" and invitation.answered_at == LATER
    db.refresh(office.case)
    assert office.case.status == "resolved"

    # The same link again: a clear page, never a second response.
    again = client.get(f"/surveys/{token}")
    assert again.status_code == 410
    assert "You have already answered this survey" in again.get_data(as_text=True)
    csrf = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    resubmit = client.post(f"/surveys/{token}", data={"csrf_token": csrf, "resolved": "no"})
    assert resubmit.status_code == 410
    assert len(responses(db)) == 1


def test_a_double_submit_racing_past_the_state_check_hits_the_constraint(app, db, office, settings):
    invitation, _token = send_survey(app, db, settings, office)
    answering.answer_invitation(
        db, settings=settings, invitation=invitation, form={"resolved": ["yes"]}, now=LATER
    )
    # As if a second request had read the invitation before the first one committed.
    db.execute(
        SurveyInvitation.__table__.update()
        .where(SurveyInvitation.id == invitation.id)
        .values(state="sent")
    )
    db.refresh(invitation)
    with pytest.raises(answering.InvitationClosed) as closed:
        answering.answer_invitation(
            db, settings=settings, invitation=invitation, form={"resolved": ["partly"]}, now=LATER
        )
    assert closed.value.code == "answered"
    assert len(responses(db)) == 1


def test_expired_cancelled_and_forged_links_get_clear_pages(
    app, client, db, office, make, settings
):
    invitation, token = send_survey(app, db, settings, office)
    clock.freeze(invitation.expires_at + timedelta(seconds=1))
    expired = client.get(f"/surveys/{token}")
    assert expired.status_code == 410
    assert "This survey link has expired" in expired.get_data(as_text=True)
    csrf = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    assert (
        client.post(f"/surveys/{token}", data={"csrf_token": csrf, "resolved": "yes"}).status_code
        == 410
    )
    assert responses(db) == []

    clock.freeze(LATER)
    invitation.state = "cancelled"
    db.flush()
    cancelled = client.get(f"/surveys/{token}")
    assert cancelled.status_code == 410
    assert "This survey is closed" in cancelled.get_data(as_text=True)

    for forged in (
        "not-a-real-token",
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        "x" * 500,
        "..%2F..%2Fetc",
        "ñandú",
    ):
        response = client.get(f"/surveys/{forged}")
        assert response.status_code == 404, forged
        if "%" not in forged:
            assert "We could not find this survey" in response.get_data(as_text=True)
        assert client.post(f"/surveys/{forged}", data={"csrf_token": csrf}).status_code == 404
    # A pending invitation's stored hash is of a token nobody has; its hash is no key either.
    other = make.request(category=office.case.category, contact_email="sam@example.org")
    db.add(Task(request_id=other.id, department_id=office.dept_x.id, title="Fix"))
    db.flush()
    resolve(db, settings, other, office.agent_x, LATER)
    pending = db.scalar(select(SurveyInvitation).where(SurveyInvitation.request_id == other.id))
    assert pending.state == "pending"
    assert client.get(f"/surveys/{pending.token_hash}").status_code == 404


# -- "not resolved" --------------------------------------------------------------------------


def test_not_resolved_reopens_the_case_and_tells_the_supervisors(
    app, client, db, office, make, settings
):
    boss = staff(make, db, office.dept_x, role="supervisor", name="Boss")
    other_boss = staff(make, db, office.dept_y, role="supervisor")
    _invitation, token = send_survey(app, db, settings, office)
    response = post(
        client,
        token,
        resolved="no",
        satisfaction="1",
        comment="The hole is still there, deeper than before.",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"we have reopened request {office.case.reference}" in html

    db.expire_all()
    case = office.case
    assert case.status == "in_progress" and case.is_open and case.resolved_at is None
    reopened = db.scalars(
        select(Event).where(Event.request_id == case.id, Event.kind == "reopened")
    ).all()
    assert len(reopened) == 1
    assert reopened[0].public and reopened[0].actor_kind == "resident"
    assert reopened[0].body == "The hole is still there, deeper than before."
    assert reopened[0].created_at == LATER
    # The case is back in its department's queue.
    open_tasks = db.scalars(select(Task).where(Task.request_id == case.id, Task.is_open)).all()
    assert [t.department_id for t in open_tasks] == [office.dept_x.id]
    notices = db.scalars(select(StaffNotice).where(StaffNotice.kind == "survey_not_resolved")).all()
    assert [n.user_id for n in notices] == [boss.id]
    assert other_boss.id not in [n.user_id for n in notices]
    mail = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_address == boss.email, OutboxMessage.kind == "staff_notice"
        )
    )
    assert case.reference in mail.body_text and "not resolved" in mail.body_text
    # The comment is on the public page.
    public = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    assert "The hole is still there, deeper than before." in public


def test_not_resolved_without_a_comment_leaves_a_default_sentence(
    app, client, db, office, settings
):
    _invitation, token = send_survey(app, db, settings, office)
    assert post(client, token, resolved="no").status_code == 200
    event = db.scalar(
        select(Event).where(Event.request_id == office.case.id, Event.kind == "reopened")
    )
    assert event.body == (
        "The resident said in the satisfaction survey that the problem is not resolved."
    )


def test_not_resolved_after_the_reopen_window_still_reopens(app, client, db, office, settings):
    invitation, token = send_survey(app, db, settings, office)
    clock.freeze(MONDAY + timedelta(days=settings.reopen_days + 1))
    invitation.expires_at = MONDAY + timedelta(days=settings.reopen_days + 5)
    db.flush()
    assert post(client, token, resolved="no", comment="Still broken").status_code == 200
    db.refresh(office.case)
    assert office.case.status == "in_progress"


def test_partly_does_not_reopen(app, client, db, office, make, settings):
    staff(make, db, office.dept_x, role="supervisor")
    _invitation, token = send_survey(app, db, settings, office)
    assert post(client, token, resolved="partly", comment="Only one side").status_code == 200
    db.expire_all()
    assert office.case.status == "resolved"
    assert (
        db.scalar(select(Event).where(Event.request_id == office.case.id, Event.kind == "reopened"))
        is None
    )
    assert (
        db.scalars(select(StaffNotice).where(StaffNotice.kind == "survey_not_resolved")).all() == []
    )
    assert responses(db)[0].resolved == "partly"


# -- conditional questions -------------------------------------------------------------------


def _conditional_invitation(db, office, invitation):
    """Point ``invitation`` at a version whose comment shows only after "no"/"partly"."""
    document = as_document(definition_for("request_resolved"))
    document["version"] = 99
    for question in document["questions"]:
        if question["id"] == "comment":
            question["show_if"] = {"question": "resolved", "values": ["no", "partly"]}
    definition = from_document(document)
    version = SurveyVersion(
        survey_key=definition.key,
        version=99,
        fingerprint=definition.fingerprint,
        definition=as_document(definition),
    )
    db.add(version)
    db.flush()
    invitation.survey_version_id = version.id
    db.flush()
    db.expire(invitation)


def test_a_conditional_question_is_shown_with_a_hint_and_ignored_when_hidden(
    app, client, db, office, settings
):
    invitation, token = send_survey(app, db, settings, office)
    _conditional_invitation(db, office, invitation)
    html = client.get(f"/surveys/{token}").get_data(as_text=True)
    assert 'data-show-if="resolved" data-show-values="no partly"' in html
    assert "Answer this if you said “No” or “Partly” to “Was your request resolved?”." in html
    assert post(client, token, resolved="yes", comment="ignored").status_code == 200
    [stored] = responses(db)
    assert stored.comment == "" and "comment" not in stored.answers
    assert stored.version == 99


def test_the_frozen_version_is_shown_even_when_the_file_changes(app, client, db, office, settings):
    invitation, token = send_survey(app, db, settings, office)
    row = db.get(SurveyVersion, invitation.survey_version_id)
    document = dict(row.definition)
    document["title"] = {"en": "The title residents were sent", "es": "El título enviado"}
    row.definition = document
    db.flush()
    html = client.get(f"/surveys/{token}").get_data(as_text=True)
    assert "The title residents were sent" in html


# -- opting out ------------------------------------------------------------------------------


def test_opt_out_from_the_email_link(app, client, db, office, make, settings):
    invitation, token = send_survey(app, db, settings, office)
    # Another case of Rita's waits to be sent (made directly: fatigue would stop it).
    other = make.request(category=office.case.category, contact_email="rita@example.org")
    waiting = SurveyInvitation(
        survey_key="request-resolved",
        survey_version_id=invitation.survey_version_id,
        request_id=other.id,
        email="rita@example.org",
        token_hash="p" * 64,
        state="pending",
        send_after=LATER,
        expires_at=LATER + timedelta(days=14),
    )
    db.add(waiting)
    db.flush()
    page = client.get(f"/surveys/opt-out/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "rita@example.org" in html and "Stop survey emails</button>" in html
    assert db.scalar(select(SurveyOptOut)) is None  # a GET changes nothing

    done = client.post(f"/surveys/opt-out/{token}", data={"csrf_token": csrf_from(html)})
    assert done.status_code == 200
    assert "You will not get survey emails any more" in done.get_data(as_text=True)
    db.expire_all()
    assert [o.email for o in db.scalars(select(SurveyOptOut))] == ["rita@example.org"]
    assert waiting.state == "cancelled"
    assert invitation.state == "sent"  # the link in hand can still be answered
    # Again: harmless.
    assert (
        client.post(f"/surveys/opt-out/{token}", data={"csrf_token": csrf_from(html)}).status_code
        == 200
    )
    assert len(db.scalars(select(SurveyOptOut)).all()) == 1


def test_opt_out_works_after_answering_or_expiry_but_not_for_forged_links(
    app, client, db, office, settings
):
    invitation, token = send_survey(app, db, settings, office)
    assert post(client, token, resolved="yes").status_code == 200
    clock.freeze(invitation.expires_at + timedelta(days=1))
    page = client.get(f"/surveys/opt-out/{token}")
    assert page.status_code == 200
    assert (
        client.post(
            f"/surveys/opt-out/{token}", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
        ).status_code
        == 200
    )
    assert db.scalar(select(SurveyOptOut.email)) == "rita@example.org"
    assert client.get("/surveys/opt-out/forged-token").status_code == 404


# -- site feedback ---------------------------------------------------------------------------


def test_site_feedback_for_anyone(client, db):
    home = client.get("/").get_data(as_text=True)
    assert 'href="/feedback"' in home
    page = client.get("/feedback")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Give feedback on this website</h1>" in html
    assert "How could we improve this service?" in html

    bad = client.post("/feedback", data={"csrf_token": csrf_from(html), "improve": "Faster"})
    assert bad.status_code == 400
    bad_html = bad.get_data(as_text=True)
    assert 'href="#q-satisfaction"' in bad_html and ">Faster</textarea>" in bad_html

    done = client.post(
        "/feedback",
        data={
            "csrf_token": csrf_from(html),
            "satisfaction": "4",
            "improve": "A map on the home page",
        },
    )
    assert done.status_code == 200
    assert "Thank you for your feedback" in done.get_data(as_text=True)
    [stored] = responses(db)
    assert stored.invitation_id is None and stored.request_id is None
    assert stored.survey_key == "site-feedback" and stored.csat == 4
    assert stored.comment == "A map on the home page"


def test_site_feedback_in_spanish(client, db):
    html = client.get("/feedback?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "Denos su opinión sobre este sitio web" in html
    done = client.post("/feedback", data={"csrf_token": csrf_from(html), "satisfaction": "5"})
    assert done.status_code == 200
    assert responses(db)[0].locale == "es"


# -- the staff case page ---------------------------------------------------------------------


def panel(client, case) -> str:
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    start = html.index('id="survey"')
    end = html.find("<h2", start)
    return html[start : end if end != -1 else None]


def test_the_case_page_shows_the_survey_state_and_answers(app, client, db, office, settings):
    sign_in(client, office.agent_x)
    assert "Not invited" in panel(client, office.case)
    resolve(db, settings, office.case, office.agent_x)
    assert 'data-survey-state="pending"' in panel(client, office.case)
    assert "Invitation pending: it will be sent on" in panel(client, office.case)
    run_worker(app, settings, SENT)
    clock.freeze(LATER)
    assert "the link expires on" in panel(client, office.case)

    db.expire_all()
    invitation = db.scalar(select(SurveyInvitation))
    answering.answer_invitation(
        db,
        settings=settings,
        invitation=invitation,
        form={"resolved": ["partly"], "satisfaction": ["3"], "comment": ["The left lane only"]},
        now=LATER,
    )
    db.flush()
    shown = panel(client, office.case)
    assert "Answered on" in shown
    assert "Was your request resolved?" in shown and "Partly" in shown
    assert "3 / 5 (Neither satisfied nor dissatisfied)" in shown
    assert "The left lane only" in shown


def test_the_case_page_shows_cancelled_invitations_and_labels_in_the_staff_language(
    app, client, db, office, settings
):
    office.agent_x.locale = "es"
    db.flush()
    invitation, _token = send_survey(app, db, settings, office)
    answering.answer_invitation(
        db, settings=settings, invitation=invitation, form={"resolved": ["yes"]}, now=LATER
    )
    db.flush()
    sign_in(client, office.agent_x)
    shown = panel(client, office.case)
    assert "¿Se resolvió su solicitud?" in shown and "Sí" in shown

    db.execute(SurveyResponse.__table__.delete())
    invitation.state = "cancelled"
    invitation.answered_at = None
    db.flush()
    assert 'data-survey-state="cancelled"' in panel(client, office.case)


def test_anonymous_surveys_hide_the_answers_from_agents_only(app, db, office, make, settings):
    invitation, _token = send_survey(app, db, settings, office)
    row = db.get(SurveyVersion, invitation.survey_version_id)
    document = dict(row.definition)
    document["anonymous_to_staff"] = True
    row.definition = document
    db.flush()
    answering.answer_invitation(
        db,
        settings=settings,
        invitation=invitation,
        form={"resolved": ["partly"], "comment": ["Still there"]},
        now=LATER,
    )
    db.flush()
    supervisor = staff(make, db, office.dept_x, role="supervisor")
    admin = make.user(role="admin")
    for user, sees in ((office.agent_x, False), (supervisor, True), (admin, True)):
        client = app.test_client()
        sign_in(client, user)
        shown = panel(client, office.case)
        assert ("Still there" in shown) is sees, user.role
        assert ("anonymous to agents" in shown) is not sees, user.role
        assert "Answered on" in shown


def test_not_resolved_restarts_the_sla_clocks(app, client, db, settings, city):  # noqa: F811
    from tests.sla.test_clocks import at, case_clock, file, task_of

    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))
    first = case_clock(db, sr, "resolution")
    clock.freeze(at(2026, 11, 16, 11, 0))
    tasks.complete_task(db, settings=settings, task=task_of(db, sr), actor=city["agent"])
    db.flush()
    assert sr.status == "resolved" and case_clock(db, sr, "resolution").stage == "met"
    run_worker(app, settings, at(2026, 11, 17, 12, 0))
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "survey_invitation"))
    token = re.search(r"/surveys/([A-Za-z0-9_-]{20,})\b", mail.body_text).group(1)

    answered_at = at(2026, 11, 18, 10, 0)
    clock.freeze(answered_at)
    assert post(client, token, resolved="no", comment="Not fixed").status_code == 200
    db.expire_all()
    fresh = case_clock(db, sr, "resolution")
    assert fresh.id != first.id
    assert fresh.stage == "running" and fresh.started_at == answered_at
    assert sr.expected_at == fresh.due_at
    newest = db.scalar(select(Task).where(Task.request_id == sr.id, Task.is_open.is_(True)))
    assert newest.sla_stage == "running"
    # The department's supervisor is told.
    assert (
        db.scalar(select(StaffNotice.user_id).where(StaffNotice.kind == "survey_not_resolved"))
        == city["boss"].id
    )
