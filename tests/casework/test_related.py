"""The case page's "Related" panel, through HTTP: requests at the same address, nearby and of
the same reporter, their programmes and survey answers; what an agent must not see (another
department's cases, answers to a survey anonymous to staff); the merge one click away."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.core import clock
from portal.requests.models import ServiceRequest
from portal.surveys.definitions import load_definitions
from portal.surveys.versions import record_version
from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@dataclass
class Town:
    streets: Any
    water: Any
    pothole: Any
    leak: Any
    agent: Any  # Streets
    boss: Any  # Streets' supervisor
    water_agent: Any
    rita: Any  # a resident with an account (confirmed address)
    case: ServiceRequest


def staff(make, db, department, role="agent"):
    return make.staff(department, role=role)


def make_town(make, db) -> Town:
    streets = make.department(code="streets", name="Streets")
    water = make.department(code="water", name="Water")
    pothole = make.category(department=streets, name="Pothole")
    leak = make.category(department=water, name="Leak", private=True)
    rita = make.user(name="Rita Resident", email="rita@example.org", email_verified_at=NOW)
    case = make.request(
        category=pothole,
        reporter_id=rita.id,
        contact_email="rita@example.org",
        address="12 Mill Street",
        address_point_id=501,
    )
    return Town(
        streets=streets,
        water=water,
        pothole=pothole,
        leak=leak,
        agent=make.staff(streets, role="agent"),
        boss=make.staff(streets, role="supervisor"),
        water_agent=make.staff(water, role="agent"),
        rita=rita,
        case=case,
    )


@pytest.fixture
def town(make, db) -> Town:
    return make_town(make, db)


def panel(client, case: ServiceRequest) -> str:
    response = client.get(f"/staff/cases/{case.reference}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = re.search(r'<section class="portal-related.*?</section>', html, re.S)
    assert match, "no Related panel on the case page"
    return match.group(0)


def listed(html: str, kind: str) -> list[str]:
    match = re.search(rf'data-related-list="{kind}">(.*?)</ul>', html, re.S)
    return re.findall(r'data-related="([^"]+)"', match.group(1)) if match else []


def test_same_address_open_and_recent_only_and_only_what_the_agent_may_open(
    app, client, make, db, town
):
    old = NOW - timedelta(days=200)
    open_old = make.request(category=town.pothole, address_point_id=501, created_at=old)
    closed_recent = make.request(
        category=town.pothole,
        address_point_id=501,
        status="resolved",
        created_at=NOW - timedelta(days=10),
    )
    make.request(category=town.pothole, address_point_id=501, status="closed", created_at=old)
    other_department = make.request(category=town.leak, address_point_id=501)
    make.request(category=town.pothole, address_point_id=777)  # another address, same spot
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    assert sorted(listed(shown, "address")) == sorted([open_old.reference, closed_recent.reference])
    assert other_department.reference not in shown
    # The open requests within the radius are listed too, without those at the same address.
    assert open_old.reference not in listed(shown, "nearby")

    # An admin sees the other department's (private) case; its Water agent only that one.
    admin = make.user(role="admin")
    client2 = app.test_client()
    sign_in(client2, admin)
    assert other_department.reference in listed(panel(client2, town.case), "address")


def test_same_address_text_when_the_case_is_on_no_point(client, make, db, town):
    case = make.request(
        category=town.pothole, address="  4 Elm   Road.", lat=None, lon=None, contact_email=""
    )
    same = make.request(category=town.pothole, address="4 elm road", lat=None, lon=None)
    make.request(category=town.pothole, address="4 Elm Road", address_point_id=9)  # placed
    make.request(category=town.pothole, address="40 Elm Road", lat=None, lon=None)
    sign_in(client, town.agent)
    shown = panel(client, case)
    assert listed(shown, "address") == [same.reference]
    assert "left no email address and has no account" in shown


def test_nearby_open_requests_within_the_radius(client, make, db, town):
    near = make.request(
        category=town.pothole, address="20 Mill Street", lat=INSIDE[0] + 0.0005, lon=INSIDE[1]
    )
    far = make.request(category=town.pothole, lat=INSIDE[0] + 0.01, lon=INSIDE[1])
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    assert listed(shown, "nearby") == [near.reference]
    assert far.reference not in shown
    assert re.search(r"(50|60) m away", shown)


def test_the_reporters_other_requests_by_account_and_by_address(app, client, make, db, town):
    by_account = make.request(category=town.pothole, reporter_id=town.rita.id)
    before_the_account = make.request(
        category=town.pothole, contact_email="rita@example.org", address="1 Oak Lane"
    )
    private_elsewhere = make.request(category=town.leak, reporter_id=town.rita.id)
    someone_else = make.request(
        category=town.pothole, contact_email="sam@example.org", lat=INSIDE[0] + 0.01
    )
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    mine = listed(shown, "reporter")
    assert sorted(mine) == sorted([by_account.reference, before_the_account.reference])
    assert private_elsewhere.reference not in shown and someone_else.reference not in shown
    assert "data-resident-link" in shown

    # A resident without an account: the requests under the same contact address.
    anon = make.request(category=town.pothole, contact_email="sam@example.org")
    shown = panel(client, anon)
    assert listed(shown, "reporter") == [someone_else.reference]
    assert "sam@example.org" not in re.search(r'href="(/staff/residents/[^"]+)"', shown).group(1)


def test_an_unconfirmed_account_does_not_collect_requests_filed_under_its_address(
    client, make, db, town
):
    town.rita.email_verified_at = None
    make.request(category=town.pothole, contact_email="rita@example.org", address="1 Oak Lane")
    db.flush()
    sign_in(client, town.agent)
    assert listed(panel(client, town.case), "reporter") == []


def test_merge_into_a_related_request_in_one_click(client, make, db, town):
    keep = make.request(category=town.pothole, address_point_id=501)
    closed = make.request(category=town.pothole, address_point_id=501, status="resolved")
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    forms = dict(
        re.findall(r'data-merge-into="([^"]+)">(.*?)</form>', shown, re.S)
    )  # reference -> form body
    assert keep.reference in forms and closed.reference not in forms  # a closed one: a link
    body = forms[keep.reference]
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', body))
    assert fields["into"] == keep.reference and fields["version"] == str(town.case.version)
    response = client.post(
        f"/staff/cases/{town.case.reference}/merge",
        data={**fields, "csrf_token": csrf_from(shown)},
    )
    assert response.status_code == 302
    db.refresh(town.case)
    assert town.case.status == "duplicate" and town.case.duplicate_of_id == keep.id
    # A closed case offers no merge any more.
    assert "data-merge-into" not in panel(client, town.case)


def _answer(make, db, request, *, anonymous: bool, comment: str, email="rita@example.org"):
    definition = load_definitions()["request-resolved"]
    if anonymous:
        definition = replace(definition, version=definition.version + 50, anonymous_to_staff=True)
    version = record_version(db, definition)
    invitation = make.survey_invitation(request, email=email, state="answered")
    response = make.survey_response(
        invitation, comment=comment, answers={"resolved": "yes", "comment": comment}
    )
    invitation.survey_version_id = response.survey_version_id = version.id
    response.version = version.version
    db.flush()
    db.expire(invitation, ["version"])
    return response


def test_survey_answers_follow_the_staff_anonymity_rule(app, client, make, db, town):
    earlier = make.request(category=town.pothole, reporter_id=town.rita.id, status="closed")
    later = make.request(category=town.pothole, reporter_id=town.rita.id, status="closed")
    _answer(make, db, earlier, anonymous=False, comment="Quick work, thanks")
    _answer(make, db, later, anonymous=True, comment="Rude crew")
    water_case = make.request(category=town.leak, reporter_id=town.rita.id, status="closed")
    _answer(make, db, water_case, anonymous=False, comment="Water was slow")
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    assert "Quick work, thanks" in shown
    assert "Rude crew" not in shown and later.reference not in listed(shown, "surveys")
    assert "Water was slow" not in shown  # another department's case

    boss = app.test_client()
    sign_in(boss, town.boss)
    shown = panel(boss, town.case)
    assert "Quick work, thanks" in shown and "Rude crew" in shown
    assert "Water was slow" not in shown


def test_programme_enrolments_are_listed(client, make, db, town):
    programme = make.programme(title="Walk academy", sessions=2)
    make.enrolment(programme, town.rita, state="waitlisted")
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    assert re.search(r"Walk academy\s*&middot; Waitlisted", shown)


def test_in_spanish(client, make, db, town):
    town.agent.locale = "es"
    db.flush()
    make.request(category=town.pothole, address_point_id=501)
    sign_in(client, town.agent)
    shown = panel(client, town.case)
    assert "Relacionado" in shown and "Fusionar con esta" in shown
    assert "En la misma dirección" in shown


def test_statements_do_not_grow_with_the_related_rows(app, client, make, db, town):
    from tests.app.test_query_counts import counting

    programme = make.programme(title="Walk academy", sessions=1)
    make.enrolment(programme, town.rita)
    sign_in(client, town.agent)

    def count() -> int:
        client.get(f"/staff/cases/{town.case.reference}")  # warm-up
        with counting(app) as statements:
            assert client.get(f"/staff/cases/{town.case.reference}").status_code == 200
        return len(statements)

    def add(n: int) -> None:
        for _ in range(n):
            make.request(category=town.pothole, address_point_id=501)
            make.request(category=town.pothole, reporter_id=town.rita.id, address="2 Oak Lane")
            done = make.request(category=town.pothole, reporter_id=town.rita.id, status="closed")
            _answer(make, db, done, anonymous=False, comment="Fine")
            make.enrolment(make.programme(), town.rita)

    add(1)
    few = count()
    add(30)
    assert count() == few
    clock.freeze(NOW)
