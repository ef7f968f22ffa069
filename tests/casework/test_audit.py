"""The audit trail: admins browse changes by person, case and date, newest first, by key."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.casework.audit import AuditFilter, Cursor, audit_trail
from portal.core.audit import AuditEntry
from portal.requests.models import Event
from portal.staff.models import StaffMembership
from tests.conftest import sign_in

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 10:00 in Chicago


@pytest.fixture
def trail(make, db):
    admin = make.user(role="admin", email="boss@city.example")
    alice = make.user(role="agent", email="alice@city.example", name="Alice Agent")
    bob = make.user(role="agent", email="bob@city.example", name="Bob Agent")
    case_a, case_b = make.request(), make.request()
    rows = [
        Event(
            request_id=case_a.id,
            kind="status_changed",
            actor_id=alice.id,
            actor_kind="staff",
            data={"from": "new", "to": "in_progress"},
            created_at=T0,
        ),
        Event(
            request_id=case_a.id,
            kind="internal_note",
            public=False,
            actor_id=bob.id,
            actor_kind="staff",
            body="Called the contractor",
            created_at=T0 + timedelta(days=1),
        ),
        Event(
            request_id=case_b.id,
            kind="comment",
            actor_id=alice.id,
            actor_kind="staff",
            body="Crew booked",
            created_at=T0 + timedelta(days=2),
        ),
        AuditEntry(
            actor_id=alice.id,
            entity="routing_rule",
            entity_id="7",
            action="updated",
            before={"department": "streets"},
            after={"department": "water"},
            created_at=T0 + timedelta(days=3),
        ),
        AuditEntry(
            actor_id=bob.id,
            entity="request",
            entity_id=case_a.reference,
            action="bulk_priority",
            before={"priority": "normal"},
            after={"priority": "high"},
            created_at=T0 + timedelta(days=4),
        ),
    ]
    db.add_all(rows)
    db.flush()
    return admin, alice, bob, case_a, case_b


def shown(client, **args) -> list[str]:
    response = client.get("/staff/audit/", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return re.findall(r'<tr id="((?:event|audit)-\d+)"', response.get_data(as_text=True))


def test_admins_see_who_what_before_and_after_newest_first(client, trail):
    admin, alice, bob, case_a, _ = trail
    sign_in(client, admin)
    html = client.get("/staff/audit/", query_string={"case": case_a.reference}).get_data(
        as_text=True
    )
    rows = re.findall(r'<tr id="((?:event|audit)-\d+)"', html)
    # the factory's "submitted" event is today; the rest are in March
    assert [r.split("-")[0] for r in rows] == ["event", "audit", "event", "event"]
    assert "bulk_priority" in html and "high" in html and "normal" in html
    assert "in_progress" in html and "Called the contractor" in html
    assert "Alice Agent" in html and "bob@city.example" in html


def test_filter_by_person(client, trail):
    admin, alice, bob, _, _ = trail
    sign_in(client, admin)
    html = client.get("/staff/audit/", query_string={"person": "ALICE@city.example"}).get_data(
        as_text=True
    )
    assert "routing_rule #7" in html and "Crew booked" in html
    assert "Called the contractor" not in html and "bulk_priority" not in html


def test_filter_by_case(client, trail):
    admin, _, _, case_a, case_b = trail
    sign_in(client, admin)
    html = client.get("/staff/audit/", query_string={"case": case_b.reference.lower()}).get_data(
        as_text=True
    )
    assert "Crew booked" in html and "Called the contractor" not in html
    assert "routing_rule" not in html


def test_filter_by_dates_in_the_city_timezone(client, trail):
    admin, *_ = trail
    sign_in(client, admin)
    html = client.get(
        "/staff/audit/", query_string={"since": "2026-03-11", "until": "2026-03-12"}
    ).get_data(as_text=True)
    assert "Called the contractor" in html and "Crew booked" in html
    assert "in_progress" not in html and "routing_rule" not in html


@pytest.mark.parametrize(
    "args, message",
    [
        ({"person": "nobody@example.org"}, "No one has that email address."),
        ({"case": "SR-1999-999999"}, "There is no case with that reference."),
        ({"since": "2026-03-12", "until": "2026-03-11"}, "on or after the start date"),
        ({"since": "not-a-date"}, "Not a valid date value."),
    ],
)
def test_bad_filters_are_explained(client, trail, args, message):
    sign_in(client, trail[0])
    response = client.get("/staff/audit/", query_string=args)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_keyset_pages_cover_everything_once(db, make, trail):
    admin, alice, *_ = trail
    case = make.request()
    for i in range(7):  # ties on created_at across both sources
        db.add(
            Event(
                request_id=case.id,
                kind="comment",
                actor_id=alice.id,
                actor_kind="staff",
                body=f"tie {i}",
                created_at=T0 + timedelta(days=5),
            )
        )
        db.add(
            AuditEntry(
                actor_id=alice.id,
                entity="template",
                entity_id=str(i),
                action="updated",
                created_at=T0 + timedelta(days=5),
            )
        )
    db.flush()
    filters = AuditFilter(actor_id=alice.id)
    everything = audit_trail(db, filters=filters, limit=1000).rows
    seen, cursor = [], None
    while True:
        page = audit_trail(db, filters=filters, cursor=cursor, limit=4)
        seen.extend((r.source, r.id) for r in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert Cursor.decode(cursor.encode()) == cursor
    assert seen == [(r.source, r.id) for r in everything]
    assert len(seen) == len(set(seen)) == 17
    times = [r.created_at for r in everything]
    assert times == sorted(times, reverse=True)


def test_web_pages_follow_the_cursor(client, db, trail):
    admin, alice, *_ = trail
    for i in range(60):
        db.add(
            AuditEntry(
                actor_id=alice.id,
                entity="template",
                entity_id=str(i),
                action="updated",
                created_at=T0 + timedelta(minutes=i),
            )
        )
    db.flush()
    sign_in(client, admin)
    first = client.get("/staff/audit/").get_data(as_text=True)
    older = re.search(r'href="([^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older)
    assert second.status_code == 200
    ids = set(re.findall(r'<tr id="([^"]+)"', first))
    assert ids.isdisjoint(re.findall(r'<tr id="([^"]+)"', second.get_data(as_text=True)))
    assert client.get("/staff/audit/?after=garbage").status_code == 200


def test_only_admins(client, make, db, trail):
    agent = make.user(role="supervisor")
    dept = make.department()
    db.add(StaffMembership(user_id=agent.id, department_id=dept.id, role="supervisor"))
    db.flush()
    assert client.get("/staff/audit/").status_code == 302
    sign_in(client, agent)
    assert client.get("/staff/audit/").status_code == 403
