"""Routing: the pure rules (no database), routing on filing, and the admin pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from portal.casework.models import Task
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.requests.models import Event
from portal.requests.service import Filing, submit_request
from portal.routing import service
from portal.routing.models import RoutingRule
from portal.routing.rules import (
    CATEGORY_DEFAULT,
    NewCase,
    Rule,
    decide,
    mentions,
    parse_keywords,
)
from tests.conftest import csrf_from
from tests.factories import PASSWORD

#: What a delete sent without its box ticked says (portal/confirm.py).
UNCONFIRMED = "Nothing was deleted. Tick the box to confirm you want to delete it."

# --- pure rules: no database, no Flask -------------------------------------------------------

CASE = NewCase(
    category_id=1,
    category_department_id=100,
    area_id=7,
    channel="web",
    description="Water is pouring out of a broken Fire Hydrant on Elm St.",
)


def test_no_rules_falls_back_to_the_category_department():
    decision = decide([], CASE)
    assert decision.department_id == 100
    assert decision.rule is None and decision.rule_name == CATEGORY_DEFAULT


def test_rules_by_category_area_and_channel():
    assert decide([Rule(department_id=2, name="cat", category_id=1)], CASE).department_id == 2
    assert decide([Rule(department_id=2, category_id=9)], CASE).department_id == 100
    assert decide([Rule(department_id=3, area_id=7)], CASE).department_id == 3
    assert decide([Rule(department_id=3, area_id=8)], CASE).department_id == 100
    assert decide([Rule(department_id=4, channel="web")], CASE).department_id == 4
    assert decide([Rule(department_id=4, channel="phone")], CASE).department_id == 100


def test_every_condition_must_hold():
    rule = Rule(department_id=5, category_id=1, area_id=7, channel="phone")
    assert decide([rule], CASE).department_id == 100
    rule = Rule.build(department_id=5, category_id=1, area_id=7, channel="web", keywords="hydrant")
    assert decide([rule], CASE).department_id == 5


def test_keywords_are_whole_words_or_phrases_ignoring_case():
    assert mentions(CASE.description, "fire hydrant")
    assert mentions(CASE.description, "FIRE   HYDRANT")
    assert mentions(CASE.description, "elm st")
    assert not mentions(CASE.description, "pour")  # part of "pouring"
    assert not mentions(CASE.description, "hydrant fire")
    assert not mentions(CASE.description, "")
    assert mentions("a (c++) problem", "c++")
    rule = Rule.build(department_id=6, keywords="sewer, fire hydrant")
    assert decide([rule], CASE).department_id == 6
    rule = Rule.build(department_id=6, keywords="sewer, drain")
    assert decide([rule], CASE).department_id == 100


def test_parse_keywords():
    assert parse_keywords(" Pothole, sink  hole,, pothole ,") == ("Pothole", "sink hole")
    assert parse_keywords("") == () and parse_keywords(None) == ()


def test_first_match_wins_in_position_order_and_inactive_rules_are_skipped():
    first = Rule(id=2, department_id=10, name="first", position=1)
    second = Rule(id=1, department_id=20, name="second", position=2)
    assert decide([second, first], CASE).rule_name == "first"
    off = Rule(id=3, department_id=30, name="off", position=0, active=False)
    assert decide([off, second, first], CASE).department_id == 10
    tie_a = Rule(id=5, department_id=50, position=3)
    tie_b = Rule(id=4, department_id=40, position=3)
    assert decide([tie_a, tie_b], CASE).department_id == 40  # same position: lower id first


# --- routing a filed request -----------------------------------------------------------------


def _rule(db, **kw) -> RoutingRule:
    kw.setdefault("name", "Rule")
    kw.setdefault("position", 10)
    rule = RoutingRule(**kw)
    db.add(rule)
    db.flush()
    return rule


def _file(db, settings: Settings, category, **kw):
    filing = Filing(
        category_code=category.code,
        description=kw.pop("description", "A hole"),
        address="1 Main Street",
        **kw,
    )
    return submit_request(db, settings=settings, filing=filing).request


def _routed(db, request) -> Event:
    return db.scalar(select(Event).where(Event.request_id == request.id, Event.kind == "routed"))


def test_filing_uses_the_category_department_when_no_rule_matches(db, make, settings):
    category = make.category()
    _rule(db, name="Phone only", channel="phone", department_id=make.department().id)
    filed = _file(db, settings, category)
    assert filed.department_id == category.department_id
    event = _routed(db, filed)
    assert event.public is False
    assert event.data["department"] == category.department.code
    assert event.data["rule"] == "category default"
    task = db.scalar(select(Task).where(Task.request_id == filed.id))
    assert task.department_id == category.department_id and task.assignee_id is None
    assert task.is_open and task.status == "open"


def test_filing_follows_the_first_matching_rule_by_keyword(db, make, settings):
    category = make.category()
    water, streets = make.department(code="water"), make.department(code="streets")
    _rule(db, name="Hydrants", keywords="hydrant, water main", department_id=water.id, position=20)
    _rule(
        db,
        name="Catch-all for this category",
        category_id=category.id,
        department_id=streets.id,
        position=30,
    )
    filed = _file(db, settings, category, description="The WATER MAIN burst near the school")
    assert filed.department_id == water.id
    assert _routed(db, filed).data == {
        "department": "water",
        "department_name": water.name,
        "rule": "Hydrants",
        "task_id": db.scalar(select(Task.id).where(Task.request_id == filed.id)),
        "rule_id": _routed(db, filed).data["rule_id"],
    }
    other = _file(db, settings, category, description="Watermain? no: a pothole")
    assert other.department_id == streets.id
    assert _routed(db, other).data["rule"] == "Catch-all for this category"


def test_filing_by_area_and_channel_skips_inactive_rules(db, make, settings):
    category = make.category()
    area = make.area()
    north, phones = make.department(), make.department()
    _rule(db, name="Off", active=False, department_id=make.department().id, position=1)
    _rule(db, name="North", area_id=area.id, department_id=north.id, position=2)
    _rule(db, name="Phones", channel="phone", department_id=phones.id, position=3)
    assert _file(db, settings, category, area_code=area.code).department_id == north.id
    assert _file(db, settings, category, channel="phone").department_id == phones.id
    assert _file(db, settings, category).department_id == category.department_id


def test_a_rule_to_an_inactive_department_is_skipped(db, make, settings):
    category = make.category()
    closed = make.department(active=False)
    _rule(db, name="Closed", department_id=closed.id)
    assert _file(db, settings, category).department_id == category.department_id


# --- the admin pages -------------------------------------------------------------------------


def _sign_in(client, user) -> None:
    page = client.get("/account/sign-in").get_data(as_text=True)
    response = client.post(
        "/account/sign-in",
        data={"csrf_token": csrf_from(page), "email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302


@pytest.fixture
def admin(make, client):
    user = make.user(role="admin", name="Ada Admin")
    _sign_in(client, user)
    return user


def _form(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def test_admin_creates_edits_reorders_and_deletes_rules(client, db, make, admin):
    category = make.category(name="Potholes")
    water = make.department(name="Water Works")
    streets = make.department(name="Street Crews")
    token = _form(client, "/staff/admin/routing/new")
    response = client.post(
        "/staff/admin/routing/new",
        data={
            "csrf_token": token,
            "name": "Hydrants",
            "department": str(water.id),
            "category": "",
            "area": "",
            "channel": "",
            "keywords": "hydrant, water main",
            "active": "y",
        },
    )
    assert response.status_code == 302
    hydrants = db.scalar(select(RoutingRule).where(RoutingRule.name == "Hydrants"))
    assert hydrants.keywords == "hydrant, water main" and hydrants.department_id == water.id
    client.post(
        "/staff/admin/routing/new",
        data={
            "csrf_token": token,
            "name": "Potholes by phone",
            "department": str(streets.id),
            "category": str(category.id),
            "channel": "phone",
            "active": "y",
        },
    )
    potholes = db.scalar(select(RoutingRule).where(RoutingRule.name == "Potholes by phone"))
    listing = client.get("/staff/admin/routing/").get_data(as_text=True)
    assert listing.index("Hydrants") < listing.index("Potholes by phone")

    response = client.post(
        f"/staff/admin/routing/{potholes.id}/move", data={"csrf_token": token, "direction": "up"}
    )
    assert response.status_code == 302
    listing = client.get("/staff/admin/routing/").get_data(as_text=True)
    assert listing.index("Potholes by phone") < listing.index("Hydrants")

    db.refresh(hydrants)
    edit = client.get(f"/staff/admin/routing/{hydrants.id}/edit").get_data(as_text=True)
    assert "hydrant, water main" in edit
    response = client.post(
        f"/staff/admin/routing/{hydrants.id}/edit",
        data={
            "csrf_token": token,
            "name": "Hydrants and mains",
            "department": str(water.id),
            "keywords": "hydrant",
            "version": str(hydrants.version),
        },
    )
    assert response.status_code == 302
    db.refresh(hydrants)
    assert hydrants.name == "Hydrants and mains" and hydrants.active is False

    # Without the box ticked nothing is deleted: the rule's page comes back with the message
    # beside the box (and in the error summary).
    response = client.post(f"/staff/admin/routing/{hydrants.id}/delete", data={"csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert page.count(UNCONFIRMED) == 2 and 'href="#confirm-rule"' in page
    assert 'id="confirm-rule" name="confirm" value="yes"' in page
    assert "Yes, delete the rule “Hydrants and mains”" in page
    assert 'value="Hydrants and mains"' in page  # the rule's form, as it is
    db.expire_all()
    assert db.get(RoutingRule, hydrants.id) is not None

    response = client.post(
        f"/staff/admin/routing/{hydrants.id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 302
    assert db.scalar(select(RoutingRule.id).where(RoutingRule.id == hydrants.id)) is None

    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.entity == "routing_rule").order_by(AuditEntry.id)
    ).all()
    assert actions == ["created", "created", "moved_up", "updated", "deleted"]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "updated"))
    assert entry.actor_id == admin.id
    assert entry.before["name"] == "Hydrants" and entry.after["name"] == "Hydrants and mains"


def test_preview_says_where_a_request_would_go(client, db, make, admin):
    category = make.category(name="Water leak", department=make.department(name="Streets"))
    water = make.department(name="Water Works")
    _rule(db, name="Hydrants", keywords="hydrant", department_id=water.id)
    page = client.get(
        "/staff/admin/routing/preview",
        query_string={
            "category": category.id,
            "area": "",
            "channel": "web",
            "description": "Broken hydrant on Elm",
        },
    ).get_data(as_text=True)
    assert "A request like this would go to" in page
    assert "Water Works" in page and "Hydrants" in page
    page = client.get(
        "/staff/admin/routing/preview",
        query_string={"category": category.id, "channel": "web", "description": "A leak"},
    ).get_data(as_text=True)
    assert "Streets" in page and "category default" in page


def test_bad_input_is_a_form_error_not_a_500(client, db, make, admin):
    token = _form(client, "/staff/admin/routing/new")
    response = client.post(
        "/staff/admin/routing/new",
        data={"csrf_token": token, "name": "Forged", "department": "999999", "channel": "pigeon"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose a department from the list" in page
    assert "Choose a channel from the list" in page
    response = client.post(
        "/staff/admin/routing/new",
        data={"csrf_token": token, "name": "", "department": "not-a-number"},
    )
    assert response.status_code == 400
    assert db.scalar(select(RoutingRule)) is None
    assert (
        client.get(
            "/staff/admin/routing/preview", query_string={"category": "x", "channel": "web"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/staff/admin/routing/999999/delete", data={"csrf_token": token, "confirm": "yes"}
        ).status_code
        == 404
    )
    rule = _rule(db, name="One", department_id=make.department().id)
    assert (
        client.post(
            f"/staff/admin/routing/{rule.id}/move",
            data={"csrf_token": token, "direction": "sideways"},
        ).status_code
        == 400
    )


def test_a_stale_edit_is_refused_with_a_clear_message(client, db, make, admin):
    dept = make.department()
    rule = _rule(db, name="Original", department_id=dept.id)
    token = _form(client, f"/staff/admin/routing/{rule.id}/edit")
    stale = rule.version
    rule.name = "Changed meanwhile"
    db.flush()
    response = client.post(
        f"/staff/admin/routing/{rule.id}/edit",
        data={
            "csrf_token": token,
            "name": "Mine",
            "department": str(dept.id),
            "version": str(stale),
        },
    )
    assert response.status_code == 409
    assert "This rule changed while you were editing" in response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert "Changed meanwhile" in page and 'value="Mine"' in page
    db.refresh(rule)
    assert rule.name == "Changed meanwhile"
    response = client.post(
        f"/staff/admin/routing/{rule.id}/edit",
        data={
            "csrf_token": token,
            "name": "Mine",
            "department": str(dept.id),
            "version": str(rule.version),
        },
    )
    assert response.status_code == 302  # saved again, knowingly
    db.refresh(rule)
    assert rule.name == "Mine"


def test_a_change_racing_another_is_a_conflict_not_a_crash(db, make):
    dept = make.department()
    rule = _rule(db, name="Racing", department_id=dept.id)
    db.execute(
        update(RoutingRule)
        .where(RoutingRule.id == rule.id)
        .values(version=99)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(service.RuleConflict):
        service.update_rule(
            db, rule, service.RuleInput(name="Mine", department_id=dept.id), actor=None
        )
    db.rollback()


def test_two_rules_cannot_share_a_name(client, db, make, admin):
    """A rule is known by its name in the city's routing.toml, so names are unique."""
    water = make.department(name="Water Works")
    first = _rule(db, name="Hydrants", keywords="hydrant", department_id=water.id)
    token = _form(client, "/staff/admin/routing/new")
    response = client.post(
        "/staff/admin/routing/new",
        data={
            "csrf_token": token,
            "name": "  hydrants ",
            "department": str(water.id),
            "keywords": "main",
            "active": "y",
        },
    )
    assert response.status_code == 400
    assert "Another rule has this name" in response.get_data(as_text=True)
    response = client.post(
        f"/staff/admin/routing/{first.id}/edit",
        data={
            "csrf_token": token,
            "name": "Hydrants",
            "department": str(water.id),
            "keywords": "hydrant, fire plug",
            "active": "y",
            "version": str(first.version),
        },
    )
    assert response.status_code == 302  # its own name is not someone else's
    assert db.scalar(select(func.count()).select_from(RoutingRule)) == 1
