"""Survey results: every figure, the trend buckets, the fewer-than-5 rule, who sees which
department, comments and their cases, the CSV exports and filters that make no sense.

Responses and invitations are written directly (``make.survey_response`` /
``make.survey_invitation``); answering is tested in the answering tests."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text

from portal.core.keyset import encode_cursor
from portal.surveys.comments import comments_page
from portal.surveys.definitions import load_definitions
from portal.surveys.results import (
    MAX_BUCKETS,
    ResultsError,
    Selection,
    buckets,
    survey_results,
)
from portal.surveys.views import results as results_views
from tests.casework.test_case import sign_in
from tests.plans import sqlite_plans

CHICAGO = ZoneInfo("America/Chicago")
#: Wednesday 18 March 2026, 10:00 in Chicago.
NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
MARCH = (datetime(2026, 3, 1, tzinfo=CHICAGO), datetime(2026, 4, 1, tzinfo=CHICAGO))
PAGE = "/staff/surveys/results"
CSV = "/staff/surveys/results.csv"


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@dataclass
class Town:
    streets: object
    water: object
    potholes: object
    lights: object
    leaks: object
    agent: object
    supervisor: object
    water_agent: object
    admin: object


@pytest.fixture
def town(make) -> Town:
    streets = make.department(code="streets", name="Streets")
    water = make.department(code="water", name="Water")
    return Town(
        streets=streets,
        water=water,
        potholes=make.category(department=streets, name="Pothole"),
        lights=make.category(department=streets, name="Streetlight"),
        leaks=make.category(department=water, name="Leak"),
        agent=make.staff(streets, name="Xavier"),
        supervisor=make.staff(streets, role="supervisor", name="Sue"),
        water_agent=make.staff(water, name="Wanda"),
        admin=make.user(role="admin", name="Ada"),
    )


def answer(make, category, at: datetime, survey_key: str = "request-resolved", **measures):
    """A case of ``category`` whose reporter was invited a day before ``at`` and answered
    at ``at``."""
    case = make.request(category=category, status="resolved")
    invitation = make.survey_invitation(
        case, survey_key=survey_key, state="answered", created_at=at - DAY, answered_at=at
    )
    return make.survey_response(invitation, created_at=at, **measures)


def march(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=CHICAGO).astimezone(UTC)


def select_march(*departments, category=None, key="request-resolved") -> Selection:
    return Selection(
        survey_key=key,
        start=MARCH[0],
        end=MARCH[1],
        department_ids=tuple(d.id for d in departments) if departments else None,
        category_id=category.id if category else None,
    )


def six_streets_answers(make, town) -> None:
    """Six Streets responses in March (and invitations: 6 answered, 4 sent, 1 pending,
    1 cancelled), plus what must not count: Water, February, another survey."""
    answers = [  # csat, resolved, ces, nps, category
        (5, "yes", 7, 10, town.potholes),
        (5, "yes", 6, 10, town.potholes),
        (4, "partly", 5, 9, town.potholes),
        (3, "no", 2, 7, town.lights),
        (1, "dont_know", 1, 6, town.lights),
        (2, "yes", None, 3, town.lights),
    ]
    for n, (csat, resolved, ces, nps, category) in enumerate(answers):
        answer(
            make,
            category,
            march(2 + n),
            csat=csat,
            resolved=resolved,
            ces=ces,
            nps=nps,
            comment=f"Comment {n}" if n % 2 == 0 else "",
        )
    for state in ("sent", "sent", "sent", "sent", "pending", "cancelled"):
        case = make.request(category=town.potholes, status="resolved")
        make.survey_invitation(case, state=state, created_at=march(10))
    answer(make, town.leaks, march(5), csat=1, resolved="no", ces=1)  # Water
    answer(make, town.potholes, march(1) - 2 * DAY, csat=1, resolved="no")  # February
    answer(make, town.potholes, march(6), survey_key="site-feedback", csat=1)


# -- the figures ------------------------------------------------------------------------------


def test_every_figure_of_a_department(db, make, town):
    six_streets_answers(make, town)

    results = survey_results(db, select_march(town.streets), breakdown="overall", zone=CHICAGO)

    total = results.total
    assert not total.suppressed
    assert (total.invitations, total.responses) == (10, 6)
    assert total.response_rate == pytest.approx(0.6)
    assert total.csat_answers == 6
    assert total.csat_average == pytest.approx(20 / 6)
    assert total.csat_counts == (1, 1, 1, 1, 2)
    assert total.csat_shares == pytest.approx((1 / 6, 1 / 6, 1 / 6, 1 / 6, 2 / 6))
    assert total.resolved_answers == 6
    assert total.share_resolved == pytest.approx(3 / 6)  # partly, no and don't know are not yes
    assert total.ces_answers == 5
    assert total.ces_average == pytest.approx(21 / 5)
    assert total.nps_answers == 6
    assert total.nps == pytest.approx(100 * (3 - 2) / 6)  # 10, 10, 9 minus 6, 3
    assert results.rows == [replace(total, key=None)]


def test_breakdowns_and_their_total(db, make, town):
    six_streets_answers(make, town)
    for day in range(2, 7):
        answer(make, town.leaks, march(day), csat=4, resolved="yes")

    by_department = survey_results(db, select_march(), breakdown="department", zone=CHICAGO)
    rows = {row.key: row for row in by_department.rows}
    assert set(rows) == {town.streets.id, town.water.id}
    assert rows[town.streets.id].responses == 6
    assert rows[town.water.id].responses == 6
    assert rows[town.water.id].csat_average == pytest.approx(21 / 6)
    assert rows[town.water.id].response_rate == 1.0
    assert by_department.total.responses == 12
    assert by_department.total.csat_average == pytest.approx(41 / 12)
    assert by_department.total.invitations == 16

    by_category = survey_results(db, select_march(town.streets), breakdown="category", zone=CHICAGO)
    assert [row.key for row in by_category.rows] == sorted([town.potholes.id, town.lights.id])
    assert all(row.suppressed for row in by_category.rows)  # 3 and 3: fewer than 5 each
    assert by_category.total.responses == 6  # the total has enough

    one_category = survey_results(
        db, select_march(category=town.potholes), breakdown="department", zone=CHICAGO
    )
    assert one_category.total.suppressed  # 3 Streets responses about potholes
    assert one_category.total.invitations is None


def test_fewer_than_five_responses_show_no_figures(db, make, town):
    for day in range(2, 6):
        answer(make, town.potholes, march(day), csat=5, resolved="yes", ces=7)

    results = survey_results(db, select_march(town.streets), zone=CHICAGO)

    for row in (results.total, *results.rows, *results.trend_rows):
        assert row.suppressed
        assert (
            row.invitations,
            row.responses,
            row.csat_average,
            row.csat_counts,
            row.share_resolved,
            row.ces_average,
            row.nps,
            row.response_rate,
        ) == (None,) * 8

    answer(make, town.potholes, march(7), csat=4)  # a fifth response, without the others
    fifth = survey_results(db, select_march(town.streets), zone=CHICAGO).total
    assert not fifth.suppressed and fifth.responses == 5
    assert fifth.csat_average == pytest.approx(24 / 5)
    assert fifth.share_resolved is None and fifth.resolved_answers == 4  # 4 answers: left out
    assert fifth.ces_average is None and fifth.nps is None


def test_results_are_two_grouped_queries_whatever_the_number_of_responses(db, make, town):
    six_streets_answers(make, town)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    bind = db.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        survey_results(db, select_march(), breakdown="category", trend="week", zone=CHICAGO)
    finally:
        event.remove(bind, "before_cursor_execute", record)
    assert len(statements) == 2
    assert all("GROUP BY" in s and "count(" in s.lower() for s in statements)


# -- the trend ----------------------------------------------------------------------------------


def test_month_buckets_follow_the_city_calendar(db, make, town):
    start = datetime(2026, 1, 15, tzinfo=CHICAGO)
    end = datetime(2026, 4, 1, tzinfo=CHICAGO)
    periods = buckets(start, end, "month", CHICAGO)
    assert [(b.first_day.isoformat(), b.last_day.isoformat()) for b in periods] == [
        ("2026-01-15", "2026-01-31"),
        ("2026-02-01", "2026-02-28"),
        ("2026-03-01", "2026-03-31"),
    ]
    assert periods[1].start == datetime(2026, 2, 1, 6, tzinfo=UTC)  # midnight in Chicago

    late_january = datetime(2026, 2, 1, 5, 30, tzinfo=UTC)  # 31 Jan, 23:30 in Chicago
    for n in range(5):
        answer(make, town.potholes, late_january - n * timedelta(hours=20), csat=4)
    for n in range(6):
        answer(make, town.potholes, datetime(2026, 2, 1, 6, tzinfo=UTC) + n * DAY, csat=2)
    answer(make, town.potholes, datetime(2026, 3, 3, 18, tzinfo=UTC), csat=5)

    results = survey_results(
        db, Selection("request-resolved", start, end), trend="month", zone=CHICAGO
    )
    january, february, mar = results.trend_rows
    assert (january.responses, january.csat_average) == (5, 4.0)
    assert (february.responses, february.csat_average) == (6, 2.0)
    assert mar.suppressed
    assert results.total.responses == 12


def test_week_buckets_start_on_monday_across_the_clock_change(db, make, town):
    start = datetime(2026, 3, 4, tzinfo=CHICAGO)  # a Wednesday
    end = datetime(2026, 3, 18, tzinfo=CHICAGO)
    periods = buckets(start, end, "week", CHICAGO)
    assert [(b.first_day.isoformat(), b.last_day.isoformat()) for b in periods] == [
        ("2026-03-04", "2026-03-08"),
        ("2026-03-09", "2026-03-15"),
        ("2026-03-16", "2026-03-17"),
    ]
    # Daylight saving time began on Sunday 8 March: Monday's midnight is 05:00 UTC.
    assert periods[1].start == datetime(2026, 3, 9, 5, tzinfo=UTC)

    sunday_night = datetime(2026, 3, 9, 4, 30, tzinfo=UTC)  # 8 March, 23:30 in Chicago
    for n in range(5):
        answer(make, town.potholes, sunday_night - n * DAY / 2, csat=5, resolved="yes")
    for n in range(5):
        answer(
            make,
            town.potholes,
            datetime(2026, 3, 9, 5, tzinfo=UTC) + n * DAY,
            csat=3,
            resolved="no",
        )

    results = survey_results(
        db,
        Selection("request-resolved", start, end, department_ids=(town.streets.id,)),
        trend="week",
        zone=CHICAGO,
    )
    first, second, third = results.trend_rows
    assert (first.responses, first.csat_average, first.share_resolved) == (5, 5.0, 1.0)
    assert (second.responses, second.csat_average, second.share_resolved) == (5, 3.0, 0.0)
    assert third.suppressed
    assert [row.key for row in results.trend_rows] == [0, 1, 2]


def test_too_many_buckets_and_bad_arguments_are_refused():
    start = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday
    assert len(buckets(start, start + MAX_BUCKETS * 7 * DAY, "week", UTC)) == MAX_BUCKETS
    with pytest.raises(ResultsError):
        buckets(start, start + MAX_BUCKETS * 7 * DAY + DAY, "week", UTC)
    with pytest.raises(ResultsError):
        buckets(start + DAY, start + MAX_BUCKETS * 7 * DAY + DAY, "week", UTC)
    with pytest.raises(ResultsError):
        buckets(start, start + DAY, "fortnight", UTC)
    with pytest.raises(ResultsError):
        Selection("request-resolved", start, start)


# -- comments -------------------------------------------------------------------------------


def test_comments_newest_first_page_by_page_across_departments(db, make, town):
    made = []
    for n in range(7):
        category = town.leaks if n % 3 == 0 else town.potholes
        made.append(answer(make, category, march(2 + n), comment=f"Note {n}"))
    answer(make, town.potholes, march(12), comment="")  # no comment: not listed
    answer(make, town.potholes, march(1) - DAY, comment="February")  # outside the period
    selection = select_march(town.streets, town.water)
    expected = [r.id for r in reversed(made)]

    seen, cursor, pages = [], None, []
    while True:
        page = comments_page(db, selection, after=cursor, per_page=3)
        pages.append(page)
        seen += [c.id for c in page.comments]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages[0].previous_cursor is None and pages[1].previous_cursor
    back = comments_page(db, selection, before=pages[2].previous_cursor, per_page=3)
    assert [c.id for c in back.comments] == expected[3:6]
    first = comments_page(db, selection, before=pages[1].previous_cursor, per_page=3)
    assert [c.id for c in first.comments] == expected[:3] and first.previous_cursor is None
    assert (
        comments_page(db, selection, after="garbage.1.2", per_page=3).comments == pages[0].comments
    )
    # Forged cursors outside the period never reach beyond it.
    late = encode_cursor("cm", [datetime(2030, 1, 1, tzinfo=UTC), 1])
    early = encode_cursor("cm", [datetime(2020, 1, 1, tzinfo=UTC), 1])
    assert [
        c.id for c in comments_page(db, selection, after=late, per_page=3).comments
    ] == expected[:3]
    assert [
        c.id for c in comments_page(db, selection, before=early, per_page=3).comments
    ] == expected[-3:]
    assert comments_page(db, selection, after=early).comments == []
    only_water = comments_page(db, select_march(town.water))
    assert [c.comment for c in only_water.comments] == ["Note 6", "Note 3", "Note 0"]
    assert only_water.comments[0].reference.startswith("SR-")


def test_comment_cases_hidden_when_identify_says_no(db, make, town):
    answer(make, town.potholes, march(3), comment="Street one")
    answer(make, town.leaks, march(4), comment="Water one")

    page = comments_page(
        db, select_march(), identify=lambda department_id: department_id == town.water.id
    )

    assert [(c.comment, c.reference is not None) for c in page.comments] == [
        ("Water one", True),
        ("Street one", False),
    ]


# -- the page ---------------------------------------------------------------------------------


def _page(client, **args) -> str:
    response = client.get(PAGE, query_string={"from": "2026-03-01", "to": "2026-03-31", **args})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _rows(html: str) -> dict[str, str]:
    """Each table row's header cell -> the row's text (tags dropped)."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        header = re.search(r'<th scope="row"[^>]*>(.*?)</th>', row, re.S)
        if header:
            name = re.sub(r"<[^>]+>", "", header.group(1)).strip()
            rows[name] = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    return rows


def as_user(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def test_results_page_for_an_agent_shows_their_department_only(app, client, make, town):
    six_streets_answers(make, town)
    for day in range(2, 7):
        answer(make, town.leaks, march(day), csat=4, resolved="yes", comment=f"Leak {day}")
    sign_in(client, town.agent)

    html = _page(client)
    rows = _rows(html)
    assert "Streets" in rows and "Water" not in rows
    assert rows["Streets"] == "Streets 10 60% 6 3.33 50% 4.2"
    assert "Leak 2" not in html and "Comment 0" in html
    assert 'href="/staff/surveys/results"' in html  # the "Satisfaction" link in the staff nav
    assert "fewer than 5 responses shows no figures" in html

    other = _page(client, department=str(town.water.id))
    assert "Choose one of your departments." in other
    assert "Water" not in _rows(other) and "Leak 2" not in other

    client = as_user(app, town.admin)
    everything = _rows(_page(client))
    assert everything["Water"] == "Water 6 100% 6 3.5 83% — fewer than 5 answers"  # 1 ease
    assert everything["Total"].startswith("Total 16 ")  # 10 Streets + 6 Water invitations
    water_only = _rows(_page(client, department=str(town.water.id)))
    assert "Streets" not in water_only and "Water" in water_only


def test_results_page_suppresses_small_rows_and_distributes_scores(client, make, town):
    six_streets_answers(make, town)
    sign_in(client, town.supervisor)

    html = _page(client, breakdown="category", trend="week")
    rows = _rows(html)
    assert rows["Pothole"] == "Pothole Fewer than 5 responses"
    assert rows["Streetlight"] == "Streetlight Fewer than 5 responses"
    assert rows["Total"].startswith("Total 10 60% 6 3.33")
    assert rows["5 – Very satisfied"] == "5 – Very satisfied 2 33%"
    assert rows["1 – Very dissatisfied"] == "1 – Very dissatisfied 1 17%"
    assert '<meter class="portal-bar" min="0" max="100" value="33.3" aria-hidden="true">' in html
    # The trend's rows are weeks ("Mar 2, 2026 to Mar 8, 2026", the first a single day); the
    # comments' rows are moments ("Mar 6, 2026, 12:00 PM").
    weeks = [name for name in rows if " to " in name or re.fullmatch(r"Mar \d+, 2026", name)]
    assert len(weeks) == 6, weeks  # 1 March (a Sunday), then five weeks from Monday
    assert "style=" not in html
    assert html.count("Fewer than 5 responses") >= 6
    spanish = _page(client, breakdown="category", lang="es")
    assert "3,33" in spanish and 'lang="es"' in spanish  # figures in the reader's language


def test_comment_cases_are_hidden_from_agents_on_anonymous_surveys(
    app, client, make, town, monkeypatch
):
    answer(make, town.potholes, march(3), comment="Slow but fixed")
    case_link = re.compile(r'href="/staff/cases/SR-[^"]+"')
    sign_in(client, town.agent)
    assert case_link.search(_page(client))

    definitions = load_definitions()
    anonymous = {
        **definitions,
        "request-resolved": replace(definitions["request-resolved"], anonymous_to_staff=True),
    }
    monkeypatch.setattr(results_views, "load_definitions", lambda: anonymous)

    html = _page(client)
    assert "Slow but fixed" in html and not case_link.search(html)
    assert "Not shown (anonymous survey)" in html
    exported = client.get(
        CSV, query_string={"table": "comments", "from": "2026-03-01", "to": "2026-03-31"}
    ).get_data(as_text=True)
    assert "Slow but fixed" in exported and "SR-" not in exported

    assert case_link.search(_page(as_user(app, town.supervisor)))
    assert case_link.search(_page(as_user(app, town.admin)))


# -- CSV --------------------------------------------------------------------------------------


def _csv(client, **args) -> list[list[str]]:
    response = client.get(CSV, query_string={"from": "2026-03-01", "to": "2026-03-31", **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_exports_each_table(client, make, town):
    six_streets_answers(make, town)
    sign_in(client, town.agent)

    breakdown = _csv(client, table="breakdown", breakdown="category")
    assert breakdown[0][:4] == ["Category", "Invitations", "Response rate (%)", "Responses"]
    assert "Satisfaction 5" in breakdown[0] and "Net promoter score" not in breakdown[0]
    assert breakdown[1][0] == "Pothole" and breakdown[1][-1] == "Fewer than 5 responses"
    assert set(breakdown[1][1:-1]) == {""}
    total = dict(zip(breakdown[0], breakdown[-1], strict=True))
    assert total["Category"] == "Total"
    assert (total["Invitations"], total["Response rate (%)"], total["Responses"]) == (
        "10",
        "60.0",
        "6",
    )
    assert total["Satisfaction average (1-5)"] == "3.33"
    assert [total[f"Satisfaction {s}"] for s in range(1, 6)] == ["1", "1", "1", "1", "2"]
    assert (total["Resolved (%)"], total["Ease average (1-7)"]) == ("50.0", "4.2")

    trend = _csv(client, table="trend", trend="month")
    assert trend[0][:2] == ["From", "To"]
    assert trend[1][:5] == ["2026-03-01", "2026-03-31", "10", "60.0", "6"]

    comments = _csv(client, table="comments")
    assert comments[0] == [
        "Date",
        "Case",
        "Department",
        "Category",
        "Satisfaction (1-5)",
        "Resolved",
        "Comment",
    ]
    assert [row[-1] for row in comments[1:]] == ["Comment 4", "Comment 2", "Comment 0"]
    assert comments[1][1].startswith("SR-") and comments[1][2] == "Streets"
    assert comments[1][5] == "Don't know"


def test_csv_cells_cannot_become_formulas(client, make, town, db):
    town.lights.name = "=Lights"
    db.flush()
    nasty = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "plain"]
    for n, comment in enumerate(nasty):
        answer(
            make,
            town.lights,
            march(2 + n),
            comment=comment,
            nps=0 if n < 3 else 10,
            survey_key="programme-completed",
        )
    sign_in(client, town.admin)

    comments = _csv(client, table="comments", survey="programme-completed")
    assert [row[-1] for row in comments[1:]] == [
        "plain",
        "'\tTab",
        "'@SUM(A1)",
        "'-2+3",
        "'+1+1",
        '\'=HYPERLINK("http://evil.example","x")',
    ]
    assert {row[3] for row in comments[1:]} == {"'=Lights"}
    breakdown = _csv(client, table="breakdown", survey="programme-completed", breakdown="category")
    row = dict(zip(breakdown[0], breakdown[1], strict=True))
    assert row["Category"] == "'=Lights"
    assert row["Net promoter score"] == "0"  # 3 promoters, 3 detractors
    assert "Resolved (%)" not in row  # programme surveys do not ask


def test_csv_negative_numbers_stay_numbers(client, make, town):
    for n, score in enumerate([0, 0, 0, 10, 9]):
        answer(make, town.potholes, march(2 + n), nps=score, survey_key="programme-completed")
    sign_in(client, town.admin)
    rows = _csv(client, table="breakdown", survey="programme-completed", breakdown="overall")
    assert dict(zip(rows[0], rows[1], strict=True))["Net promoter score"] == "-20"


# -- filters that make no sense ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [  # the CSV: 404 for departments, else 400
        ({"survey": "no-such-survey"}, "Choose one of the surveys in the list."),
        ({"department": "abc"}, "Choose one of the departments in the list."),
        ({"department": "9" * 30}, "Choose one of the departments in the list."),
        ({"category": "-1"}, "Choose one of the categories in the list."),
        ({"from": "2026-02-30"}, "Enter a real date, like 2026-03-31."),
        ({"to": "yesterday"}, "Enter a real date, like 2026-03-31."),
        ({"from": "0001-01-01"}, "Enter a date between 2000 and 2099."),
        ({"to": "9999-12-31"}, "Enter a date between 2000 and 2099."),
        (
            {"from": "2026-03-10", "to": "2026-03-01"},
            "The end date must be on or after the start date.",
        ),
        ({"from": "2000-01-01", "to": "2026-03-01"}, "Choose a period of at most ten years."),
        (
            {"from": "2019-01-01", "to": "2026-03-01", "trend": "week"},
            "A trend by week covers at most five years",
        ),
        ({"breakdown": "area"}, "Choose one of the options in the list."),
        ({"trend": "daily"}, "Choose one of the options in the list."),
    ],
)
def test_garbage_filters_get_a_message_and_are_ignored(client, make, town, args, message):
    six_streets_answers(make, town)
    sign_in(client, town.admin)
    query = {"from": "2026-03-01", "to": "2026-03-31", **args}

    response = client.get(PAGE, query_string=query)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert "There is a problem" in html
    exported = client.get(CSV, query_string={"table": "breakdown", **query})
    assert exported.status_code == (404 if "department" in args else 400)
    if exported.status_code == 400:
        assert message in exported.get_data(as_text=True)


def test_export_refuses_unknown_tables_and_other_departments(client, make, town):
    sign_in(client, town.agent)
    for table in ("", "responses", "x" * 500):
        response = client.get(CSV, query_string={"table": table})
        assert response.status_code == 400
        assert "breakdown, trend or comments" in response.get_data(as_text=True)
    outside = client.get(CSV, query_string={"table": "comments", "department": str(town.water.id)})
    assert outside.status_code == 404
    inside = client.get(CSV, query_string={"table": "comments", "department": str(town.streets.id)})
    assert inside.status_code == 200


def test_default_period_is_the_last_twelve_months(client, make, town):
    answer(make, town.potholes, datetime(2025, 3, 1, 12, tzinfo=UTC), comment="Last March")
    answer(make, town.potholes, datetime(2025, 2, 27, 12, tzinfo=UTC), comment="Too old")
    sign_in(client, town.agent)

    html = client.get(PAGE).get_data(as_text=True)

    assert 'value="2025-04-01"' in html and 'value="2026-03-18"' in html
    assert "Too old" not in html and "Last March" not in html
    html = client.get(PAGE, query_string={"from": "2025-03-01"}).get_data(as_text=True)
    assert "Last March" in html and "Too old" not in html


# -- indexes ----------------------------------------------------------------------------------


def test_results_and_comments_read_the_survey_indexes(db, make, town):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("plans checked on SQLite (benchmarks/survey_results.py --plans for both)")
    six_streets_answers(make, town)
    db.execute(text("ANALYZE"))

    one = sqlite_plans(db, lambda: survey_results(db, select_march(town.streets), zone=CHICAGO))
    assert "ix_survey_responses_survey_department_created" in one[0], one
    assert "ix_survey_invitations_survey_department_created" in one[1], one
    everyone = sqlite_plans(db, lambda: survey_results(db, select_march(), zone=CHICAGO))
    assert "ix_survey_responses_survey_created" in everyone[0], everyone
    for plan in one + everyone:
        assert "SCAN survey_" not in plan, plan
    listed = sqlite_plans(db, lambda: comments_page(db, select_march(town.streets, town.water)))
    for plan in listed[:2]:
        assert "ix_survey_responses_survey_department_created" in plan, listed
        assert "TEMP B-TREE" not in plan and "SCAN survey_responses" not in plan, listed


# -- in a browser -----------------------------------------------------------------------------


@pytest.mark.markup
@pytest.mark.browser
def test_results_page_is_accessible_and_fits_a_phone(
    committed_app, live_server, audited_phone, chromium
):
    from tests.casework.test_browser import sign_in as browser_sign_in
    from tests.factories import Factories
    from tests.requests.test_browser_filing import axe_violations

    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    streets = make.department(code="streets", name="Streets")
    potholes = make.category(department=streets, name="Pothole")
    lights = make.category(department=streets, name="Streetlight")
    make.staff(streets, role="supervisor", email="sue@city.example")
    for n in range(7):
        answer(
            make,
            potholes,
            march(2 + n),
            csat=1 + n % 5,
            resolved="yes",
            ces=5,
            comment=f"A long comment number {n} " * (6 if n == 0 else 1),
        )
    answer(make, lights, march(10), csat=2, resolved="partly")
    session.commit()
    session.close()
    path = "/staff/surveys/results?from=2026-03-01&to=2026-03-31&breakdown=category"
    problems = {}
    for name, page in (
        ("phone", audited_phone),
        (
            "desktop",
            chromium.new_context(
                viewport={"width": 1280, "height": 900}, bypass_csp=True
            ).new_page(),
        ),
    ):
        browser_sign_in(page, live_server, "sue@city.example")
        page.goto(f"{live_server}{path}")
        assert page.locator("h1").inner_text() == "Satisfaction"
        found = axe_violations(page)
        if found:
            problems[name] = found
        page.screenshot(path=f"/tmp/survey-results-{name}.png", full_page=True)
        if name == "phone":
            wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > 391)
                .slice(0, 5).map(e => e.tagName + '.' + e.className + ' '
                                 + Math.round(e.getBoundingClientRect().right))""")
            assert not wide, f"the page scrolls sideways on a phone: {wide}"
    assert not problems, problems
