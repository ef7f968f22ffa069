"""Deletes in the back office ask first (issue 20; templates/macros/confirm.html,
static/js/confirm.js), in a real browser.

With JavaScript, on a routing rule's page, a business calendar's closures and a programme's
sessions (a row of a table each): the button opens a dialog; Escape (on the rule) and Cancel
close it, keep the item and put focus back on the button; Delete removes the item. axe finds
nothing with the dialog open, in English and Spanish, at 390 and 1280 px (screenshots in
tests/screenshots/). The script also runs under the portal's own Content-Security-Policy.
Without JavaScript the box beside the button does the same: sent unticked, nothing goes and the
page says why; ticked, the rule (or the session) goes.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core.audit import AuditEntry
from portal.programmes.models import ProgrammeSession
from portal.routing.models import RoutingRule
from portal.sla.models import BusinessCalendar, CalendarClosure
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
RUNS = [("en", 1280), ("en", 390), ("es", 1280), ("es", 390)]
ADMIN = "admin@city.example"

TEXT = {
    "en": {
        "delete_rule": "Delete this rule",
        "question": "Delete the rule “{name}”?",
        "closure_question": "Delete the closure on",
        "undone": "This cannot be undone.",
        "yes": "Delete",
        "no": "Cancel",
        "deleted": "Rule “{name}” deleted.",
        "closure_deleted": "is removed",
        "session_question": "Delete the session “Session",
        "session_deleted": "Session deleted.",
    },
    "es": {
        "delete_rule": "Eliminar esta regla",
        "question": "¿Eliminar la regla “{name}”?",
        "closure_question": "¿Eliminar el cierre del",
        "undone": "Esta acción no se puede deshacer.",
        "yes": "Eliminar",
        "no": "Cancelar",
        "deleted": "Regla “{name}” eliminada.",
        "closure_deleted": "Se quitó el cierre",
        "session_question": "¿Eliminar la sesión “Session",
        "session_deleted": "Sesión eliminada.",
    },
}


@pytest.fixture
def city(committed_app):
    """An admin; a rule, a closure and a programme session for each run; a rule and a session
    for the other checks."""
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.user(email=ADMIN, name="Ada Admin", role="admin")
    water = make.department(code="water", name="Water")
    calendar = BusinessCalendar(
        code="city-hours",
        name="City hours",
        timezone="America/Chicago",
        hours={day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    session.add(calendar)
    session.flush()
    names = [f"Hydrants {lang}-{width}" for lang, width in RUNS] + ["Hydrants csp", "No script"]
    rules = {}
    for position, name in enumerate(names, start=1):
        rule = RoutingRule(name=name, department_id=water.id, position=position * 10)
        session.add(rule)
        session.flush()
        rules[name] = rule.id
    closures = []
    for n in range(len(RUNS)):
        closure = CalendarClosure(
            calendar_id=calendar.id,
            day=date.today() + timedelta(days=30 + n),
            name=f"Snow day {n}",
        )
        session.add(closure)
        session.flush()
        closures.append(closure.id)
    programme = make.programme(status="draft", sessions=len(RUNS) + 1)
    sessions = [meeting.id for meeting in programme.sessions]
    session.commit()
    session.close()
    return {
        "rules": rules,
        "calendar": calendar.id,
        "closures": closures,
        "programme": programme.id,
        "sessions": sessions,
    }


def _exists(committed_app, model, row_id: int) -> bool:
    session = committed_app.extensions["portal.db"].session()
    try:
        return session.get(model, row_id) is not None
    finally:
        session.close()


def _focused(page, selector: str) -> bool:
    return page.evaluate(f"() => document.activeElement.matches({selector!r})")


def _open(page, button, text: dict[str, str], question: str):
    """Press the delete button: the dialog opens, asking, with focus on Cancel."""
    button.click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_contain_text(question)
    expect(dialog).to_contain_text(text["undone"])
    assert _focused(page, "[data-confirm-no]")
    box = dialog.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)
    return dialog


def _check(page, problems: dict[str, list[str]], step: str) -> None:
    found = axe_violations(page)
    if found:
        problems[step] = found
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"confirm-delete-{step}.png"))


def _rule_run(page, base, committed_app, rule_id, name, text, run, problems) -> None:
    page.goto(f"{base}/staff/admin/routing/{rule_id}/edit")
    expect(page.locator("#confirm-rule")).to_be_hidden()  # the dialog asks instead
    button = page.get_by_role("button", name=text["delete_rule"])
    question = text["question"].format(name=name)

    dialog = _open(page, button, text, question)
    _check(page, problems, f"rule-dialog-{run}")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert _focused(page, "[data-confirm-open]")

    dialog = _open(page, button, text, question)
    dialog.get_by_role("button", name=text["no"], exact=True).click()
    expect(dialog).to_be_hidden()
    assert _focused(page, "[data-confirm-open]")
    assert _exists(committed_app, RoutingRule, rule_id)

    dialog = _open(page, button, text, question)
    dialog.get_by_role("button", name=text["yes"], exact=True).click()
    page.wait_for_url(re.compile(r"/staff/admin/routing/$"))
    expect(page.get_by_text(text["deleted"].format(name=name))).to_be_visible()
    assert not _exists(committed_app, RoutingRule, rule_id)


def _row_run(page, committed_app, *, url, form, model, row_id, question, done, shot, problems):
    """A delete button in a row of a table (``form``: the row's delete form)."""
    page.goto(url)
    button = page.locator(f"{form} [data-confirm-open]")
    text = TEXT[page.locator("html").get_attribute("lang")]
    dialog = _open(page, button, text, question)
    _check(page, problems, shot)
    dialog.get_by_role("button", name=text["no"], exact=True).click()
    expect(dialog).to_be_hidden()
    assert _focused(page, f"{form} [data-confirm-open]")
    assert _exists(committed_app, model, row_id)

    dialog = _open(page, button, text, question)
    dialog.get_by_role("button", name=text["yes"], exact=True).click()
    expect(page.locator(".usa-alert--success")).to_contain_text(done)
    expect(page.locator(form)).to_have_count(0)
    assert not _exists(committed_app, model, row_id)


def test_the_dialog_asks_before_a_delete(chromium, live_server, city, committed_app):
    problems: dict[str, list[str]] = {}
    for n, (language, width) in enumerate(RUNS):
        context = chromium.new_context(
            viewport={"width": width, "height": 900 if width > 400 else 844}, bypass_csp=True
        )
        page = context.new_page()
        try:
            sign_in(page, live_server, ADMIN)
            page.goto(f"{live_server}/staff/?lang={language}")
            run = f"{language}-{width}"
            name = f"Hydrants {run}"
            text = TEXT[language]
            _rule_run(
                page, live_server, committed_app, city["rules"][name], name, text, run, problems
            )
            closure = city["closures"][n]
            _row_run(
                page,
                committed_app,
                url=f"{live_server}/staff/admin/sla/calendars/{city['calendar']}/edit",
                form=f"form[action$='/closures/{closure}/delete']",
                model=CalendarClosure,
                row_id=closure,
                question=text["closure_question"],
                done=text["closure_deleted"],
                shot=f"closure-dialog-{run}",
                problems=problems,
            )
            meeting = city["sessions"][n]
            _row_run(
                page,
                committed_app,
                url=f"{live_server}/staff/programmes/{city['programme']}",
                form=f"form[action$='/sessions/{meeting}/delete']",
                model=ProgrammeSession,
                row_id=meeting,
                question=text["session_question"],
                done=text["session_deleted"],
                shot=f"session-dialog-{run}",
                problems=problems,
            )
        finally:
            context.close()
    assert not problems, problems
    session = committed_app.extensions["portal.db"].session()
    try:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "routing_rule")
        ).all()
    finally:
        session.close()
    assert actions == ["deleted"] * len(RUNS)  # Escape and Cancel deleted nothing


def test_the_dialog_runs_under_the_portals_csp(chromium, live_server, city, committed_app):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        sign_in(page, live_server, ADMIN)
        rule_id = city["rules"]["Hydrants csp"]
        page.goto(f"{live_server}/staff/admin/routing/{rule_id}/edit?lang=en")
        button = page.get_by_role("button", name="Delete this rule")
        dialog = _open(page, button, TEXT["en"], "Delete the rule “Hydrants csp”?")
        dialog.get_by_role("button", name="Delete", exact=True).click()
        page.wait_for_url(re.compile(r"/staff/admin/routing/$"))
    finally:
        context.close()
    assert not refused, refused
    assert not _exists(committed_app, RoutingRule, rule_id)


def test_without_javascript_the_box_confirms(chromium, live_server, city, committed_app):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    rule_id = city["rules"]["No script"]
    try:
        sign_in(page, live_server, ADMIN)
        page.goto(f"{live_server}/staff/admin/routing/{rule_id}/edit?lang=en")
        box = page.get_by_label("Yes, delete the rule “No script”")
        expect(box).to_be_visible()
        expect(page.get_by_role("alertdialog")).to_have_count(0)  # closed: not shown

        page.get_by_role("button", name="Delete this rule").click()  # the box left unticked
        page.wait_for_load_state()
        message = "Nothing was deleted. Tick the box to confirm you want to delete it."
        expect(page.locator("#confirm-rule-error")).to_have_text(message)
        expect(page.locator("[data-error-summary]")).to_contain_text(message)
        assert _exists(committed_app, RoutingRule, rule_id)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "confirm-delete-nojs-unticked.png"), full_page=True)

        page.locator("label[for=confirm-rule]").click()  # USWDS draws the box on the label
        expect(page.get_by_label("Yes, delete the rule “No script”")).to_be_checked()
        page.get_by_role("button", name="Delete this rule").click()
        page.wait_for_url(re.compile(r"/staff/admin/routing/$"))
        expect(page.get_by_text("Rule “No script” deleted.")).to_be_visible()

        # A row of a table: the programme's last session.
        meeting = city["sessions"][-1]
        form = page.locator(f"form[action$='/sessions/{meeting}/delete']")
        page.goto(f"{live_server}/staff/programmes/{city['programme']}")
        form.get_by_role("button").click()  # unticked
        expect(page.locator(f"#confirm-session-{meeting}-error")).to_have_text(message)
        assert _exists(committed_app, ProgrammeSession, meeting)
        page.screenshot(path=str(SCREENSHOTS / "confirm-delete-nojs-session.png"), full_page=True)
        form.locator("label").click()
        form.get_by_role("button").click()
        expect(page.get_by_text("Session deleted.")).to_be_visible()
    finally:
        context.close()
    assert not _exists(committed_app, RoutingRule, rule_id)
    assert not _exists(committed_app, ProgrammeSession, meeting)
