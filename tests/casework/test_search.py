"""Staff search: reference first, words in descriptions and notes, emails, addresses, scoping."""

from __future__ import annotations

import re

import pytest

from portal.casework.models import Task
from portal.requests.events import add_event
from portal.staff.models import StaffMembership
from tests.conftest import sign_in


@pytest.fixture
def depts(make):
    return make.department(code="water"), make.department(code="streets")


def agent_of(make, db, dept, role="agent"):
    user = make.user(role=role)
    db.add(StaffMembership(user_id=user.id, department_id=dept.id, role=role))
    db.flush()
    return user


def found(client, q: str) -> str:
    """The result links of a search, in order, as one string of references."""
    response = client.get("/staff/search/", query_string={"q": q})
    assert response.status_code == 200
    return " ".join(re.findall(r'href="/staff/cases/([^"]+)"', response.get_data(as_text=True)))


def test_finds_by_description_word_address_and_reference_first(client, make, db, depts):
    water, _ = depts
    cat = make.category(department=water)
    leak = make.request(
        category=cat, description="Water gushing from a hydrant", address="12 Quarry Lane"
    )
    other = make.request(
        category=cat, description=f"Hydrant painted the wrong colour see {leak.reference}"
    )
    agent = agent_of(make, db, water)
    sign_in(client, agent)
    html = found(client, "gushing")
    assert leak.reference in html and other.reference not in html
    assert leak.reference in found(client, "quarry lane")
    assert leak.reference in found(client, "hydrants")  # stemmed
    page = client.get("/staff/search/", query_string={"q": leak.reference.lower()})
    html = found(client, leak.reference.lower())
    assert html.split() == [leak.reference, other.reference]
    assert "Exact reference" in page.get_data(as_text=True)


def test_finds_words_in_comments_and_internal_notes(client, make, db, depts):
    water, _ = depts
    sr = make.request(category=make.category(department=water))
    add_event(db, sr, "internal_note", actor_kind="staff", body="Crew saw zebra mussels")
    add_event(db, sr, "comment", actor_kind="staff", body="We have booked an excavator")
    sign_in(client, agent_of(make, db, water))
    assert sr.reference in found(client, "zebra mussels")
    assert sr.reference in found(client, "excavator")
    assert sr.reference not in found(client, "giraffe")


def test_finds_by_contact_email_and_account_email(client, make, db, depts):
    water, _ = depts
    cat = make.category(department=water)
    by_contact = make.request(category=cat, contact_email="caller.one@example.net")
    resident = make.user(email="signed.in@example.com")
    by_account = make.request(category=cat, reporter_id=resident.id)
    sign_in(client, agent_of(make, db, water))
    html = found(client, "caller.one@example.net")
    assert by_contact.reference in html and by_account.reference not in html
    html = found(client, "signed.in@example.com")
    assert by_account.reference in html and by_contact.reference not in html
    resident.email = "renamed@example.com"
    db.flush()
    assert by_account.reference in found(client, "renamed@example.com")


def test_agents_see_only_their_departments_cases(client, make, db, depts):
    water, streets = depts
    mine = make.request(
        category=make.category(department=water), description="Sinkhole near the school"
    )
    theirs = make.request(
        category=make.category(department=streets), description="Sinkhole by the library"
    )
    sign_in(client, agent_of(make, db, water))
    html = found(client, "sinkhole")
    assert mine.reference in html and theirs.reference not in html
    assert theirs.reference not in found(client, theirs.reference)
    # A task for water on the streets case lets water find it.
    db.add(Task(request_id=theirs.id, department_id=water.id, title="Check the main"))
    db.flush()
    assert theirs.reference in found(client, "sinkhole")


def test_admins_see_every_department(client, make, db, depts):
    water, streets = depts
    a = make.request(category=make.category(department=water), description="Flooded cellar")
    b = make.request(category=make.category(department=streets), description="Flooded road")
    sign_in(client, make.user(role="admin"))
    html = found(client, "flooded")
    assert a.reference in html and b.reference in html


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "NEAR(a b)",
        "a* OR",
        "body:x",
        "-",
        "'",
        "*",
        "@",
        "x" * 500,
        "AND",
        "sr-2026-",
        "( ) ^",
    ],
)
def test_odd_queries_never_fail(client, make, db, depts, q):
    make.request(category=make.category(department=depts[0]))
    sign_in(client, agent_of(make, db, depts[0]))
    assert client.get("/staff/search/", query_string={"q": q}).status_code == 200


def test_pages(client, make, db, depts):
    cat = make.category(department=depts[0])
    for i in range(23):
        make.request(category=cat, description=f"Broken bench number {i}")
    sign_in(client, agent_of(make, db, depts[0]))
    first = client.get("/staff/search/?q=bench").get_data(as_text=True)
    assert len(found(client, "bench").split()) == 20
    assert "page=2" in first
    second = client.get("/staff/search/?q=bench&page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/staff/cases/', second)) == 3
    assert client.get("/staff/search/?q=bench&page=abc").status_code == 200


def test_residents_and_anonymous_cannot_search(client, make):
    assert client.get("/staff/search/?q=x").status_code == 302
    sign_in(client, make.user())
    assert client.get("/staff/search/?q=x").status_code == 403


def test_results_show_the_promise_made_to_the_resident(client, make, db, depts):
    from datetime import timedelta

    from portal.core import clock

    water, _ = depts
    cat = make.category(department=water)
    now = clock.now()
    late = make.request(
        category=cat, description="Hydrant leaking late", expected_at=now - timedelta(hours=3)
    )
    waiting = make.request(
        category=cat, description="Hydrant leaking waiting", status="waiting_on_third_party"
    )
    sign_in(client, agent_of(make, db, water))
    html = client.get("/staff/search/", query_string={"q": "leaking"}).get_data(as_text=True)
    rows = {ref: html[html.index(ref) :][:1500] for ref in (late.reference, waiting.reference)}
    assert "Breached by 3 hours" in rows[late.reference]
    assert "Paused" in rows[waiting.reference]
