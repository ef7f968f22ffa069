"""Staff notices: written with an email each or a daily digest, listed, counted, marked read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, deliver_outbox
from portal.notifications.models import StaffNotice
from portal.notifications.staff import (
    KINDS,
    digest_slot,
    notice_text,
    notify_staff,
    send_staff_digests,
)
from tests.casework.test_case import make_office, sign_in, staff
from tests.conftest import csrf_from
from tests.factories import Factories
from tests.smtp import body_html, body_text
from tests.threads import together

# Monday 2 March 2026: Chicago is on CST (UTC-6), so the 07:00 digest is 13:00 UTC.
SUNDAY_EVENING = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 17:30 in Chicago
BEFORE_SEVEN = datetime(2026, 3, 2, 12, 59, tzinfo=UTC)
AFTER_SEVEN = datetime(2026, 3, 2, 13, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _real_time():
    yield
    clock.freeze(None)


def _outbox(db, kind: str) -> list[OutboxMessage]:
    db.expire_all()
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def _notices(db, user) -> list[StaffNotice]:
    db.expire_all()
    return list(
        db.scalars(
            select(StaffNotice).where(StaffNotice.user_id == user.id).order_by(StaffNotice.id)
        )
    )


def _notify(db, settings, office, user=None, kind="sla_at_risk", **kw):
    data = kw.pop("data", {"due_at": "2026-03-03T17:00:00+00:00", "percent": 75})
    return notify_staff(
        db,
        settings=settings,
        user=user or office.agent_x,
        kind=kind,
        request=office.case,
        task=office.task_x,
        data=data,
        **kw,
    )


# --- writing notices and their emails -------------------------------------------------------


def test_each_queues_one_email_now_with_links(db, make, settings):
    office = make_office(make, db)
    clock.freeze(SUNDAY_EVENING)
    notice = _notify(db, settings, office)

    assert notice.email_state == "queued"
    assert notice.data["reference"] == office.case.reference
    assert notice.data["task_title"] == "Fix the pothole"
    assert notice.data["department_name"] == "Streets"
    [message] = _outbox(db, "staff_notice")
    assert message.to_address == office.agent_x.email
    assert message.next_attempt_at == SUNDAY_EVENING
    assert message.subject == f"At risk: {office.case.reference}"
    sentence = (
        f"{office.case.reference} (Fix the pothole) is at risk: 75% of the time is "
        "used; it is due Mar 3, 2026, 11:00\u202fAM."
    )
    assert sentence in message.body_text
    case_url = f"http://portal.test/staff/cases/{office.case.reference}"
    for body in (message.body_text, message.body_html):
        assert case_url in body
        assert "http://portal.test/staff/notices" in body
        assert "http://portal.test/staff/notices/settings" in body
    assert "Department: Streets" in message.body_text


def test_each_waits_for_the_next_working_moment_when_told(app, db, make, settings):
    office = make_office(make, db)
    clock.freeze(SUNDAY_EVENING)
    monday_morning = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    _notify(
        db,
        settings,
        office,
        kind="sla_breached",
        data={"late_seconds": 7200},
        email_not_before=monday_morning,
    )
    [message] = _outbox(db, "staff_notice")
    assert message.next_attempt_at == monday_morning
    assert f"{office.case.reference} (Fix the pothole) is overdue by 2 hours." in message.body_text

    # The worker does not send it before then.
    db.commit()
    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=SUNDAY_EVENING, max_attempts=3
    )
    assert stats.claimed == 0


def test_the_email_is_in_the_members_language(db, make, settings):
    office = make_office(make, db)
    member = staff(make, db, office.dept_x, locale="es")
    _notify(db, settings, office, user=member, kind="task_assigned", data={})
    [message] = _outbox(db, "staff_notice")
    assert message.locale == "es"
    assert "911" in message.body_text


def test_nothing_for_a_deactivated_member(db, make, settings):
    office = make_office(make, db)
    gone = staff(make, db, office.dept_x, active=False)
    assert _notify(db, settings, office, user=gone) is None
    assert _notices(db, gone) == []
    assert _outbox(db, "staff_notice") == []


def test_daily_means_no_email_until_the_digest(db, make, settings):
    office = make_office(make, db)
    member = staff(make, db, office.dept_x, notice_email="daily")
    notice = _notify(db, settings, office, user=member)
    assert notice.email_state == "digest"
    assert _outbox(db, "staff_notice") == []
    assert _outbox(db, "staff_digest") == []


@pytest.mark.parametrize(
    "kind, data, expected",
    [
        (
            "sla_half",
            {"due_at": "2026-03-03T17:00:00+00:00"},
            "Half of the time for SR-1 (Mow) is used; it is due Mar 3, 2026, 11:00\u202fAM.",
        ),
        ("sla_half", {}, "Half of the time for SR-1 (Mow) is used."),
        ("sla_at_risk", {"percent": 80}, "SR-1 (Mow) is at risk: 80% of the time is used."),
        ("sla_breached", {"late_seconds": 3 * 86400}, "SR-1 (Mow) is overdue by 3 days."),
        ("sla_breached", {}, "SR-1 (Mow) is overdue."),
        (
            "sla_case_breached",
            {"late_seconds": 5400, "task_title": ""},
            "SR-1 missed the resolution time promised to the resident by 2 hours.",
        ),
        ("task_assigned", {"due_at": "not a date"}, "SR-1 (Mow) was assigned to you."),
        ("something_new", {}, "SR-1 (Mow) needs your attention."),
    ],
)
def test_notice_text_per_kind(kind, data, expected):
    notice = StaffNotice(kind=kind, data={"reference": "SR-1", "task_title": "Mow", **data})
    assert notice_text(notice, "en", timezone="America/Chicago") == expected


def test_every_kind_has_a_sentence_in_both_languages():
    for kind in KINDS:
        for locale in ("en", "es"):
            assert notice_text(StaffNotice(kind=kind, data={}), locale)


# --- the daily digest -----------------------------------------------------------------------


def test_digest_slot_is_seven_in_the_city(settings):
    assert digest_slot(settings, BEFORE_SEVEN) is None
    assert digest_slot(settings, AFTER_SEVEN) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    # After the change to daylight time, 07:00 in Chicago is 12:00 UTC.
    assert digest_slot(settings, datetime(2026, 3, 9, 12, 1, tzinfo=UTC)) == datetime(
        2026, 3, 9, 12, 0, tzinfo=UTC
    )


def test_digest_once_a_day_lists_the_waiting_notices(app, db, make, settings, smtp):
    assert send_staff_digests in PERIODIC_JOBS
    office = make_office(make, db)
    member = staff(make, db, office.dept_x, notice_email="daily", email="daily@example.org")
    clock.freeze(SUNDAY_EVENING)
    _notify(db, settings, office, user=member)
    _notify(db, settings, office, user=member, kind="sla_breached", data={"late_seconds": 7200})
    clock.freeze(AFTER_SEVEN)
    late = _notify(db, settings, office, user=member, kind="task_assigned", data={})
    clock.freeze(None)
    db.commit()
    database = app.extensions["portal.db"]

    assert send_staff_digests(database, settings, BEFORE_SEVEN) is None
    assert _outbox(db, "staff_digest") == []

    assert send_staff_digests(database, settings, AFTER_SEVEN) == "queued 1 staff digest(s)"
    assert send_staff_digests(database, settings, AFTER_SEVEN + timedelta(hours=2)) is None
    [digest] = _outbox(db, "staff_digest")
    assert digest.to_address == "daily@example.org"
    assert digest.subject == "2 notices about your work"
    assert "is at risk" in digest.body_text and "is overdue by 2 hours" in digest.body_text
    assert "was assigned to you" not in digest.body_text  # after 07:00: tomorrow's digest
    states = {n.id: n.email_state for n in _notices(db, member)}
    assert list(states.values()).count("digested") == 2 and states[late.id] == "digest"

    # The next morning the one left over goes out, alone.
    tomorrow = AFTER_SEVEN + timedelta(days=1)
    assert send_staff_digests(database, settings, tomorrow) == "queued 1 staff digest(s)"
    assert len(_outbox(db, "staff_digest")) == 2
    assert {n.email_state for n in _notices(db, member)} == {"digested"}

    deliver_outbox(database, SmtpSender(settings), now=clock.now(), max_attempts=3)
    received = smtp.wait_for(2)
    assert [m["Subject"] for _r, m in received] == [
        "2 notices about your work",
        "1 notice about your work",
    ]
    first = received[0][1]
    case_url = f"http://portal.test/staff/cases/{office.case.reference}"
    assert case_url in body_text(first) and case_url in body_html(first)


def test_digest_lists_fifty_and_counts_the_rest(app, db, make, settings):
    office = make_office(make, db)
    member = staff(make, db, office.dept_x, notice_email="daily")
    clock.freeze(SUNDAY_EVENING)
    for _ in range(53):
        _notify(db, settings, office, user=member, data={})
    clock.freeze(None)
    send_staff_digests(app.extensions["portal.db"], settings, AFTER_SEVEN)
    [digest] = _outbox(db, "staff_digest")
    assert digest.subject == "53 notices about your work"
    assert digest.body_text.count("Half the time used") == 0
    assert digest.body_text.count("At risk:") == 50
    assert "And 3 more." in digest.body_text


def test_two_workers_send_each_digest_once(committed_app, settings):
    database = committed_app.extensions["portal.db"]
    session = database.session(write=True)
    factories = Factories(session, settings)
    office = make_office(factories, session)
    members = [staff(factories, session, office.dept_x, notice_email="daily") for _ in range(6)]
    clock.freeze(SUNDAY_EVENING)
    for member in members:
        for _ in range(3):
            _notify(session, settings, office, user=member)
    clock.freeze(None)
    session.commit()
    session.close()

    _results, errors = together([lambda: send_staff_digests(database, settings, AFTER_SEVEN)] * 2)
    assert errors == []
    check = database.session()
    recipients = check.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "staff_digest")
    ).all()
    states = set(check.scalars(select(StaffNotice.email_state)))
    check.close()
    assert sorted(recipients) == sorted(m.email for m in members)
    assert states == {"digested"}


# --- the pages ------------------------------------------------------------------------------


def test_the_list_shows_only_my_notices_newest_first(client, db, make, settings):
    office = make_office(make, db)
    clock.freeze(SUNDAY_EVENING)
    older = _notify(db, settings, office, kind="sla_half")
    newer = _notify(db, settings, office, kind="sla_breached", data={"late_seconds": 600})
    theirs = _notify(db, settings, office, user=office.agent_x2, kind="task_assigned")
    clock.freeze(None)
    sign_in(client, office.agent_x)
    page = client.get("/staff/notices")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="notice-{older.id}"' in html and f'id="notice-{newer.id}"' in html
    assert f'id="notice-{theirs.id}"' not in html
    assert html.index(f'id="notice-{newer.id}"') < html.index(f'id="notice-{older.id}"')
    assert f'href="/staff/cases/{office.case.reference}"' in html
    assert html.count(">Unread</span>") == 2
    assert "is overdue by 10 minutes" in html


def test_the_list_pages_by_id(client, db, make, settings):
    office = make_office(make, db)
    notices = [_notify(db, settings, office, data={}) for _ in range(30)]
    sign_in(client, office.agent_x)
    first = client.get("/staff/notices").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'id="notice-(\d+)"', first)]
    assert ids == [n.id for n in reversed(notices)][:25]
    older = re.search(r'href="(/staff/notices\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'id="notice-(\d+)"', second)] == [
        n.id for n in reversed(notices)
    ][25:]
    newer = re.search(r'href="(/staff/notices\?after=\d+)"', second).group(1)
    back = client.get(newer.replace("&amp;", "&")).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'id="notice-(\d+)"', back)] == ids
    assert client.get("/staff/notices?before=abc").status_code == 404


def test_marking_read_one_and_all(client, db, make, settings):
    office = make_office(make, db)
    mine = [_notify(db, settings, office, data={}) for _ in range(3)]
    theirs = _notify(db, settings, office, user=office.agent_x2)
    sign_in(client, office.agent_x)
    html = client.get("/staff/notices").get_data(as_text=True)
    token = csrf_from(html)
    assert "3 unread notices" in html

    response = client.post(
        f"/staff/notices/{mine[0].id}/read",
        data={"csrf_token": token, "next": "/staff/notices?before=999"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/notices?before=999"
    assert [n.read_at is not None for n in _notices(db, office.agent_x)] == [True, False, False]
    # Again: nothing changes; someone else's, or none at all: 404; no CSRF token: 400.
    assert (
        client.post(f"/staff/notices/{mine[0].id}/read", data={"csrf_token": token}).status_code
        == 302
    )
    assert (
        client.post(f"/staff/notices/{theirs.id}/read", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post("/staff/notices/99999999/read", data={"csrf_token": token}).status_code == 404
    )
    assert client.post(f"/staff/notices/{mine[1].id}/read").status_code == 400
    assert "2 unread notices" in client.get("/staff/notices").get_data(as_text=True)

    assert client.post("/staff/notices/read-all", data={"csrf_token": token}).status_code == 302
    assert all(n.read_at is not None for n in _notices(db, office.agent_x))
    assert _notices(db, office.agent_x2)[0].read_at is None
    html = client.get("/staff/notices").get_data(as_text=True)
    assert "unread notice" not in html and ">Unread</span>" not in html


def test_the_header_counts_unread_notices_up_to_99_plus(client, db, make, settings):
    office = make_office(make, db)
    sign_in(client, office.agent_x)
    html = client.get("/staff/").get_data(as_text=True)
    # The back office's header (templates/backoffice/base.html): the badge is hidden at 0.
    assert re.search(r'<span id="notice-count"[^>]*hidden>0</span>', html)

    _notify(db, settings, office, data={})
    html = client.get("/staff/").get_data(as_text=True)
    assert "data-unread-text>(1 unread notice)</span>" in html

    for _ in range(120):
        db.add(StaffNotice(user_id=office.agent_x.id, kind="sla_half", data={}))
    db.flush()
    html = client.get("/staff/").get_data(as_text=True)
    assert re.search(r'<span id="notice-count"[^>]*aria-hidden="true">99\+</span>', html)
    assert "more than 99 unread notices" in html


def test_no_notices_link_for_staff_without_casework(client, db, make):
    coordinator = make.user(role="coordinator")
    sign_in(client, coordinator)
    assert client.get("/staff/notices").status_code == 403


def test_choosing_daily_or_each(client, db, make):
    office = make_office(make, db)
    sign_in(client, office.agent_x)
    page = client.get("/staff/notices/settings")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'type="radio" name="notice_email" value="each" checked', html)
    assert 'for="notice_email"' in html and 'for="notice_email-daily"' in html
    token = csrf_from(html)

    response = client.post(
        "/staff/notices/settings", data={"csrf_token": token, "notice_email": "daily"}
    )
    assert response.status_code == 302
    db.expire_all()
    assert office.agent_x.notice_email == "daily"
    assert "one email a day" in client.get("/staff/notices").get_data(as_text=True)


@pytest.mark.parametrize("data", [{}, {"notice_email": "hourly"}, {"notice_email": ""}])
def test_a_bad_choice_is_shown_next_to_the_field(client, db, make, data):
    office = make_office(make, db)
    sign_in(client, office.agent_x)
    token = csrf_from(client.get("/staff/notices/settings").get_data(as_text=True))
    response = client.post("/staff/notices/settings", data={"csrf_token": token, **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="notice_email-error"' in html
    assert "Choose how to get emails about your notices" in html
    assert 'href="#notice_email"' in html
    db.expire_all()
    assert office.agent_x.notice_email == "each"
