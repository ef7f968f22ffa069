"""Delete my account: confirmed with the password and a checkbox; the person goes, the
city's record of the requests stays without them; audited without personal data."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.auth.models import User
from portal.core.audit import AuditEntry
from portal.privacy.models import DataExport
from portal.programmes.models import Enrolment
from portal.requests.models import AreaSubscription, Event, Follower, ServiceRequest, Support
from portal.surveys.models import SurveyInvitation, SurveyResponse
from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD


def _delete(client, password: str = PASSWORD, understood: bool = True):
    page = client.get("/account/delete")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "password": password}
    if understood:
        data["understood"] = "y"
    return client.post("/account/delete", data=data)


def test_a_wrong_password_deletes_nothing(client, db, make):
    user = make.user()
    sign_in(client, user)
    response = _delete(client, password="not my password at all")
    assert response.status_code == 200
    assert "Your password is not right" in response.get_data(as_text=True)
    db.refresh(user)
    assert user.active and "@example.org" in user.email
    assert client.get("/account").status_code == 200  # still signed in


def test_the_checkbox_must_be_ticked(client, db, make):
    user = make.user()
    sign_in(client, user)
    response = _delete(client, understood=False)
    assert response.status_code == 200
    assert "Tick the box to confirm" in response.get_data(as_text=True)
    db.refresh(user)
    assert user.active


def test_staff_cannot_delete_their_account_here(client, db, make):
    agent = make.staff(make.department())
    sign_in(client, agent)
    response = client.get("/account/delete")
    assert response.status_code == 403
    assert "Staff accounts cannot be deleted here" in response.get_data(as_text=True)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    posted = client.post(
        "/account/delete", data={"csrf_token": token, "password": PASSWORD, "understood": "y"}
    )
    assert posted.status_code == 403
    db.refresh(agent)
    assert agent.active


def test_deleting_removes_the_person_and_keeps_the_requests(app, client, db, make, settings):
    user = make.user(name="Dana Fields", phone="555 0100")
    staff = make.staff(make.department())
    public = make.request(
        reporter_id=user.id,
        description="Dana Fields here: pothole outside my house, call 555-0100",
        answers={"depth": "deep, ask Dana", "size": 3},
    )
    reply = make.event(public, kind="comment", body="Thanks Dana, we will fix it", actor=staff)
    mine = make.event(public, kind="comment", body="Dana again, dana.fields@mail.test", actor=user)
    mine.actor_kind = "resident"
    elsewhere = make.request(description="Broken bench")
    make._add(Follower(request_id=elsewhere.id, email=user.email, user_id=user.id, token="f-9"))
    make._add(Support(request_id=elsewhere.id, supporter_key=f"u:{user.id}", user_id=user.id))
    invitation = make.survey_invitation(public, email=user.email, user_id=user.id, state="answered")
    response_row = make.survey_response(invitation, csat=5, comment="Great, from Dana Fields")
    programme = make.programme(capacity=1)
    place = make.enrolment(programme, user, answers={"age_band": "30-39"})
    waiting = make.enrolment(programme, state="waitlisted")
    make._add(AreaSubscription(user_id=user.id, area_id=make.area().id, token="alert-del-1"))
    make._add(DataExport(user_id=user.id, state="pending"))
    other_browser = app.test_client()
    sign_in(other_browser, user)
    sign_in(client, user)
    email = user.email

    response = _delete(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Your account has been deleted" in client.get("/").get_data(as_text=True)

    db.expire_all()
    gone = db.get(User, user.id)
    assert not gone.active and gone.name == "" and gone.phone == ""
    assert gone.email != email and gone.email.endswith("@deleted.invalid")
    # Sessions end, here and in the other browser; the account cannot sign in again.
    for browser in (client, other_browser):
        assert browser.get("/account").status_code == 302
    sign_in_page = client.get("/account/sign-in").get_data(as_text=True)
    refused = client.post(
        "/account/sign-in",
        data={"csrf_token": csrf_from(sign_in_page), "email": email, "password": PASSWORD},
    )
    assert refused.status_code == 200

    request = db.get(ServiceRequest, public.id)
    assert request.is_public and request.reporter_id is None
    assert request.contact_name == request.contact_email == request.contact_phone == ""
    assert "Dana" not in request.description and "555" not in request.description
    assert "pothole outside my house" in request.description
    assert request.answers == {"depth": "deep, ask [name removed]", "size": 3}
    assert db.get(Event, reply.id).body == "Thanks [name removed], we will fix it"
    own = db.get(Event, mine.id)
    assert own.actor_id is None and "Dana" not in own.body and "dana.fields" not in own.body
    assert db.scalars(select(Follower).where(Follower.request_id == elsewhere.id)).all() == []
    assert db.scalar(select(Support.user_id).where(Support.request_id == elsewhere.id)) is None
    assert db.scalars(select(AreaSubscription)).all() == []
    assert db.scalars(select(DataExport)).all() == []
    survey = db.get(SurveyResponse, response_row.id)
    assert survey.csat == 5 and "Dana" not in survey.comment
    assert db.get(SurveyInvitation, invitation.id).email == ""
    held = db.get(Enrolment, place.id)
    assert held.state == "cancelled" and held.answers == {}
    assert db.get(Enrolment, waiting.id).state == "offered"  # the place moved on

    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.entity == "account")).all()
    assert entry.action == "deleted_by_owner" and entry.actor_id is None
    recorded = json.dumps([entry.before, entry.after, entry.entity_id])
    for personal in (email, "Dana", "555"):
        assert personal not in recorded

    # The address is free again: a new account can be made with it.
    page = client.get("/account/sign-up").get_data(as_text=True)
    assert 'name="email"' in page


def test_a_long_history_is_deleted_in_batches(client, db, make, monkeypatch):
    monkeypatch.setattr("portal.privacy.deletion.BATCH", 2)
    user = make.user(name="Sam Brook")
    filed = [
        make.request(reporter_id=user.id, description=f"Sam Brook, report {n}") for n in range(5)
    ]
    for request in filed:
        make.event(request, kind="comment", body="Sam again", actor=user)
    sign_in(client, user)
    assert _delete(client).status_code == 302
    db.expire_all()
    for request in filed:
        row = db.get(ServiceRequest, request.id)
        assert row.reporter_id is None and "Sam" not in row.description
    assert db.scalars(select(Event).where(Event.actor_id == user.id)).all() == []
    assert "Sam" not in " ".join(db.scalars(select(Event.body)).all())
