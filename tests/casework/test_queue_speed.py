"""Queues for speed (issue 20): quick filter chips, saved views per person, newest first with
keyset pages, the compact row, select-all without JavaScript, and the polling endpoint
behind "3 new cases — show" and the header's unread count."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.casework.saved_views import MAX_PER_USER, SavedView
from portal.core import clock
from portal.notifications.models import StaffNotice
from tests.casework.test_queues import _ids, _staff, _task, _walk
from tests.casework.test_queues import town as town  # noqa: F401 - the fixture
from tests.conftest import csrf_from, sign_in

STAMP = "%Y%m%d%H%M%S%f"
CHIP_RE = re.compile(r'<a class="portal-chip[^"]*" href="([^"]+)"[^>]*>(.*?)</a>')
TAG_RE = re.compile(r"<span class=\"usa-sr-only\">[^<]*\(.*?\)</span>|<[^>]+>")


def _chips(html: str) -> dict[str, str]:
    """Each chip's text (what a screen reader says, less the "on" note) and its link."""
    return {
        unescape(TAG_RE.sub("", label)).strip(): unescape(href)
        for href, label in CHIP_RE.findall(html)
    }


def _since(moment) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


# -- chips ----------------------------------------------------------------------------------


def test_chips_are_links_that_turn_a_filter_on_and_off(client, make, db, town):
    now = clock.now()
    new = make.request(category=town.cat_x, status="new")
    waiting = make.request(category=town.cat_x, status="waiting_on_resident")
    t_mine = _task(db, new, town.dept_x, assignee=town.agent_x)
    t_free = _task(db, waiting, town.dept_x)
    t_late = _task(
        db, waiting, town.dept_x, assignee=town.agent_x2, due_at=now - timedelta(hours=1)
    )
    t_late.sla_stage = "running"
    db.flush()
    sign_in(client, town.agent_x)
    html = client.get("/staff/queue/department").get_data(as_text=True)
    chips = _chips(html)
    assert set(chips) >= {
        "Mine",
        "Unassigned",
        "Due soon",
        "Breached",
        "Waiting on resident",
        "New",
    }
    assert _ids(client.get(chips["Mine"])) == [t_mine.id]
    assert _ids(client.get(chips["Unassigned"])) == [t_free.id]
    assert _ids(client.get(chips["Breached"])) == [t_late.id]
    assert _ids(client.get(chips["New"])) == [t_mine.id]
    assert sorted(_ids(client.get(chips["Waiting on resident"]))) == sorted([t_free.id, t_late.id])
    # Chips add up, and a chip that is on links to the queue without it.
    on = client.get(chips["Waiting on resident"]).get_data(as_text=True)
    assert 'aria-current="true"' in on
    both = _chips(on)["Unassigned"]
    assert "status=waiting_on_resident" in both and "assignee=none" in both
    assert _ids(client.get(both)) == [t_free.id]
    off = _chips(client.get(both).get_data(as_text=True))["Unassigned"]
    assert "assignee" not in off and "status=waiting_on_resident" in off
    # Tabs that fix a filter already do not offer its chips; "My work" has no assignee chips.
    mine = _chips(client.get("/staff/").get_data(as_text=True))
    assert "Mine" not in mine and "Unassigned" not in mine and "Due soon" in mine


def test_the_first_screen_is_the_work(client, make, db, town):
    """The full filter form is folded; the chips and rows come first; Spanish too."""
    case = make.request(category=town.cat_x, description="Water pouring\nfrom a hydrant " * 20)
    _task(db, case, town.dept_x)
    sign_in(client, town.agent_x)
    html = client.get("/staff/queue/department").get_data(as_text=True)
    assert '<details class="portal-more">' in html  # closed
    assert html.index("portal-chips") < html.index("portal-more") < html.index("data-queue-table")
    # One line of description, cut on the server; the longer text in its title.
    line = re.search(r'<span class="portal-queue__desc" title="([^"]+)">([^<]+)</span>', html)
    assert line and line.group(2).endswith("…") and len(line.group(2)) <= 121
    assert "\n" not in line.group(1) and len(line.group(1)) > len(line.group(2))
    # A filter that is not understood opens the form at its message.
    bad = client.get("/staff/queue/department?status=bogus").get_data(as_text=True)
    assert '<details class="portal-more" open>' in bad
    spanish = client.get("/staff/queue/department?lang=es").get_data(as_text=True)
    assert "Más filtros" in spanish and "Vence pronto" in spanish


# -- sorts ----------------------------------------------------------------------------------


def test_newest_first_and_the_default_sorts(app, client, make, db, town):
    now = clock.now()
    case = make.request(category=town.cat_x)
    old = _task(db, case, town.dept_x, created_at=now - timedelta(days=3), due_at=now)
    middle = _task(db, case, town.dept_x, created_at=now - timedelta(days=2))
    new = _task(
        db, case, town.dept_x, created_at=now - timedelta(days=1), due_at=now - timedelta(hours=2)
    )
    sign_in(client, town.agent_x)
    assert _ids(client.get("/staff/queue/department?sort=newest")) == [new.id, middle.id, old.id]
    assert _ids(client.get("/staff/queue/department?sort=age")) == [old.id, middle.id, new.id]
    # Open work by due time unless asked: the most overdue first, no due time last.
    html = client.get("/staff/queue/department").get_data(as_text=True)
    assert _ids(client.get("/staff/queue/department")) == [new.id, old.id, middle.id]
    assert '<option selected value="due">' in html
    assert "Sorted by: Due time (soonest first)" in html
    # "Everything" (cases) is newest first for admins.
    other = make.request(category=town.cat_y)
    admin = app.test_client()
    sign_in(admin, town.admin)
    html = admin.get("/staff/queue/everything").get_data(as_text=True)
    assert html.index(other.reference) < html.index(case.reference)


@pytest.mark.parametrize("view", ["department", "mine", "unassigned"])
def test_newest_keyset_pages_lose_and_repeat_nothing_with_ties(client, make, db, town, view):
    moment = clock.now() - timedelta(days=1)
    case = make.request(category=town.cat_x)
    ids = []
    for n in range(123):
        # Many rows share created_at: the id breaks the tie.
        task = _task(
            db,
            case,
            town.dept_x,
            assignee=town.agent_x if view == "mine" else None,
            created_at=moment + timedelta(seconds=n // 10),
        )
        ids.append(task.id)
    sign_in(client, town.agent_x)
    path = {
        "department": "/staff/queue/department",
        "mine": "/staff/",
        "unassigned": "/staff/queue/unassigned",
    }[view]
    pages, last_html = _walk(client, f"{path}?sort=newest")
    assert [len(p) for p in pages] == [50, 50, 23]
    seen = [i for page in pages for i in page]
    expected = [
        t for _n, t in sorted(enumerate(ids), key=lambda p: (p[0] // 10, p[1]), reverse=True)
    ]
    assert seen == expected
    previous = re.search(r'href="([^"]+)"[^>]*rel="prev"', last_html).group(1)
    assert _ids(client.get(unescape(previous))) == pages[1]
    first_again = re.search(
        r'href="([^"]+)"[^>]*rel="prev"', client.get(unescape(previous)).get_data(as_text=True)
    )
    assert _ids(client.get(unescape(first_again.group(1)))) == pages[0]


# -- select all without JavaScript ----------------------------------------------------------


def test_select_all_on_this_page_without_javascript(client, make, db, town):
    case = make.request(category=town.cat_x)
    tasks = [_task(db, case, town.dept_x) for _ in range(3)]
    sign_in(client, town.agent_x)
    html = client.get("/staff/queue/department?priority=normal").get_data(as_text=True)
    assert 'form="queue-select-all" name="select" value="all"' in html
    form = re.search(r'<form id="queue-select-all".*?</form>', html, re.S).group(0)
    assert 'name="priority" value="normal"' in form  # the filter stays
    selected = client.get("/staff/queue/department?priority=normal&select=all")
    page = selected.get_data(as_text=True)
    assert len(re.findall(r'name="task" value="\d+" id="task-\d+" checked', page)) == 3
    assert "Selected: 3" in page and "Clear the selection" in page
    # The bulk bar sends the ticked rows as before.
    response = client.post(
        "/staff/queue/bulk",
        data={
            "csrf_token": csrf_from(page),
            "task": [str(t.id) for t in tasks],
            "action": "priority",
            "bulk_priority": "high",
            "next": "/staff/queue/department",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert case.priority == "high"
    # "Clear the selection" is the same queue without it.
    clear = re.search(r'<a class="portal-bulkbar__link" href="([^"]+)"', page).group(1)
    assert unescape(clear) == "/staff/queue/department?priority=normal"


# -- saved views ----------------------------------------------------------------------------


def _save(client, name, *, view="department", query="status=new&sort=newest", token=None):
    if token is None:
        token = csrf_from(client.get("/staff/queue/department").get_data(as_text=True))
    return client.post(
        "/staff/queue/views",
        data={"csrf_token": token, "name": name, "view": view, "query": query},
    )


def test_saved_views_are_saved_listed_as_chips_and_deleted(client, make, db, town):
    new = make.request(category=town.cat_x, status="new")
    t_new = _task(db, new, town.dept_x)
    _task(db, make.request(category=town.cat_x, status="in_progress"), town.dept_x)
    sign_in(client, town.agent_x)
    # The page offers its own filter to save.
    page = client.get("/staff/queue/department?status=new&after=zzz&sort=newest").get_data(
        as_text=True
    )
    assert 'name="query" type="hidden" value="status=new&amp;sort=newest"' in page
    response = _save(client, "  New   in Streets ", query="status=new&sort=newest&bogus=1&after=x")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/queue/department?status=new&sort=newest"
    saved = db.scalar(select(SavedView).where(SavedView.user_id == town.agent_x.id))
    assert (saved.name, saved.view, saved.query) == (
        "New in Streets",
        "department",
        "status=new&sort=newest",
    )
    html = client.get("/staff/").get_data(as_text=True)
    assert (
        _chips(html)["Saved view: New in Streets"]
        == "/staff/queue/department?status=new&sort=newest"
    )
    assert _ids(client.get("/staff/queue/department?status=new&sort=newest")) == [t_new.id]
    on = client.get("/staff/queue/department?status=new&sort=newest").get_data(as_text=True)
    assert re.search(r'portal-chip--saved portal-chip--on"[^>]*aria-current="true"', on)

    # The same name again (in any case) is refused next to the field, nothing lost.
    again = _save(client, "new in streets")
    assert again.status_code == 400
    assert "You already have a view with that name" in again.get_data(as_text=True)
    assert 'value="status=new&amp;sort=newest"' in again.get_data(as_text=True)
    assert _save(client, "").status_code == 400
    assert _save(client, "x" * 61).status_code == 400

    # Delete: a confirmation in the page, then a POST with the CSRF token.
    assert "Delete the saved view “New in Streets”?" in html
    token = csrf_from(html)
    assert client.post(f"/staff/queue/views/{saved.id}/delete").status_code == 400
    response = client.post(
        f"/staff/queue/views/{saved.id}/delete",
        data={"csrf_token": token, "next": "/staff/queue/waiting"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/staff/queue/waiting"
    assert db.scalar(select(func.count()).select_from(SavedView)) == 0
    assert (
        client.post(f"/staff/queue/views/{saved.id}/delete", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(
            "/staff/queue/views/99999999999999999999/delete", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_saved_views_are_each_persons_own(app, client, make, db, town):
    sign_in(client, town.agent_x)
    assert _save(client, "Mine only").status_code == 302
    saved = db.scalar(select(SavedView))
    other = app.test_client()
    sign_in(other, town.agent_x2)
    html = other.get("/staff/queue/department").get_data(as_text=True)
    assert "Mine only" not in html
    token = csrf_from(html)
    assert (
        other.post(f"/staff/queue/views/{saved.id}/delete", data={"csrf_token": token}).status_code
        == 404
    )
    # Both may use the same name.
    assert _save(other, "Mine only", token=token).status_code == 302
    assert db.scalar(select(func.count()).select_from(SavedView)) == 2


def test_saving_needs_the_csrf_token_and_stays_within_the_members_tabs(client, make, db, town):
    sign_in(client, town.agent_x)
    assert _save(client, "No token", token="forged").status_code == 400
    assert db.scalar(select(func.count()).select_from(SavedView)) == 0
    # An agent cannot save "everything" (admins only): it becomes their own work.
    response = _save(client, "Everything", view="all", query="")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    response = _save(client, "Odd", view="../../admin", query="status=" + "x" * 300)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    for n in range(MAX_PER_USER - 2):
        assert _save(client, f"View {n}").status_code == 302
    full = _save(client, "One too many")
    assert full.status_code == 400 and "the most there can be" in full.get_data(as_text=True)


# -- polling --------------------------------------------------------------------------------


def test_polling_counts_new_rows_and_answers_304_while_nothing_changed(
    client, make, db, town, freeze_clock
):
    now = clock.now().replace(microsecond=0)
    freeze_clock(now)
    case = make.request(category=town.cat_x)
    _task(db, case, town.dept_x, created_at=now - timedelta(minutes=5))
    sign_in(client, town.agent_x)
    html = client.get("/staff/queue/department").get_data(as_text=True)
    url = unescape(re.search(r'data-updates-url="([^"]+)"', html).group(1))
    assert f"since={_since(now)}" in url and f"department={town.dept_x.id}" in url

    first = client.get(url)
    assert first.status_code == 200
    assert first.json == {
        "new": 0,
        "new_label": "0 new cases — show",
        "unread": 0,
        "unread_badge": "0",
        "unread_label": "0 unread notices",
    }
    assert (
        "private" in first.headers["Cache-Control"] and "no-cache" in first.headers["Cache-Control"]
    )
    etag = first.headers["ETag"]
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""

    # Three tasks arrive (one in another department, one before the page, not counted).
    for _ in range(3):
        _task(
            db,
            make.request(category=town.cat_x),
            town.dept_x,
            created_at=now + timedelta(seconds=1),
        )
    _task(db, make.request(category=town.cat_y), town.dept_y, created_at=now + timedelta(seconds=1))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json["new"] == 3 and changed.json["new_label"] == "3 new cases — show"
    assert changed.headers["ETag"] != etag
    # The page's filter counts: none of them is urgent.
    assert client.get(url + "&priority=urgent").json["new"] == 0
    # The unread count is in the same answer, and in the header's own poll.
    db.add(StaffNotice(user_id=town.agent_x.id, kind="sla_half", data={}))
    db.flush()
    assert client.get(url, headers={"If-None-Match": changed.headers["ETag"]}).json["unread"] == 1
    # Without a queue (the header's poll on any back-office page): the unread count alone.
    header = client.get("/staff/notices").get_data(as_text=True)
    assert 'data-unread-url="/staff/queue/updates"' in header
    assert re.search(r"js/queue(\.[0-9a-f]+)?\.js", header)  # under its hashed name once built
    assert client.get("/staff/queue/updates").json == {
        "unread": 1,
        "unread_badge": "1",
        "unread_label": "1 unread notice",
    }
    spanish = client.get(url + "&lang=es")
    assert "casos nuevos" in spanish.json["new_label"]


@pytest.mark.parametrize(
    "query",
    [
        "view=nope&since=20260101000000000000",
        "view=department&since=yesterday",
        "view=department",
        "view=all&since=20260101000000000000",
        "view=department&since=20260101000000000000&status=bogus",
        "view=department&since=20260101000000000000&category=abc",
        "view=department&since=20260101000000000000&age=99999",
        "view=department&since=20260101000000000000&assignee=-1",
        "view=department&since=20260101000000000000&department=99999999999999999999",
    ],
)
def test_polling_refuses_what_no_page_asks_clearly(client, make, db, town, query):
    sign_in(client, town.agent_x)
    response = client.get(f"/staff/queue/updates?{query}")
    assert response.status_code == 400
    assert response.json == {"error": "This queue cannot be checked for new cases."}


def test_polling_another_departments_queue_is_refused(client, make, db, town):
    sign_in(client, town.agent_x)
    since = _since(clock.now())
    url = f"/staff/queue/updates?view=department&since={since}&department={town.dept_y.id}"
    assert client.get(url).status_code == 404
    missing = f"/staff/queue/updates?view=department&since={since}&department=99999999"
    assert client.get(missing).status_code == 404
    ok = f"/staff/queue/updates?view=department&since={since}&department={town.dept_x.id}"
    assert client.get(ok).status_code == 200


def test_the_mine_poll_counts_only_the_members_tasks(client, make, db, town, freeze_clock):
    now = clock.now().replace(microsecond=0)
    freeze_clock(now)
    both = _staff(make, db, town.dept_x, town.dept_y)
    sign_in(client, both)
    url = f"/staff/queue/updates?view=mine&since={_since(now)}"
    later = now + timedelta(minutes=1)
    _task(db, make.request(category=town.cat_y), town.dept_y, assignee=both, created_at=later)
    _task(
        db, make.request(category=town.cat_x), town.dept_x, assignee=town.agent_x, created_at=later
    )
    assert client.get(url).json["new"] == 1


def test_polling_does_not_keep_a_session_alive(client, make, db, town):
    """The session cookie (12 hours, renewed by each request a person makes) is not renewed
    by the page's background polling: an open tab nobody uses still signs out."""
    sign_in(client, town.agent_x)
    page = client.get("/staff/queue/department")
    assert "session=" in page.headers.get("Set-Cookie", "")  # what a person does renews it
    polled = client.get("/staff/queue/updates")
    assert polled.status_code == 200
    assert "session=" not in polled.headers.get("Set-Cookie", "")


def test_a_scripts_fetch_or_a_static_file_never_sends_back_an_unchanged_session(client, town):
    """Only what a person opens renews an unchanged session: a script's fetch or a static file,
    answered after a form had changed the session, would otherwise put back the older cookie."""
    sign_in(client, town.agent_x)
    opened = client.get("/staff/queue/department", headers={"Sec-Fetch-Mode": "navigate"})
    assert "session=" in opened.headers.get("Set-Cookie", "")
    fetched = client.get("/staff/queue/department", headers={"Sec-Fetch-Mode": "cors"})
    assert fetched.status_code == 200
    assert "session=" not in fetched.headers.get("Set-Cookie", "")
    with client.get("/static/css/portal.css", headers={"Sec-Fetch-Mode": "no-cors"}) as static:
        assert static.status_code == 200
        assert "session=" not in static.headers.get("Set-Cookie", "")
