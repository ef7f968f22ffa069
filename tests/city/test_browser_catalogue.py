"""An admin adds a category with two questions and a response template in a real browser, and
a resident files in that category straight away (Debian's chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.casework.models import ResponseTemplate
from portal.requests.models import ServiceRequest
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def city(committed_app):
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.area(name="Old Town", code="old-town")
    make.department(code="parks", name="Parks")
    make.group(code="green", name="Parks and trees")
    make.user(email="admin@city.example", role="admin")
    session.commit()
    session.close()


def test_an_admin_adds_a_category_and_a_resident_files_in_it(
    chromium, live_server, city, committed_app
):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "admin@city.example")
        page.goto(f"{live_server}/staff/")
        page.get_by_role("link", name="Settings", exact=True).click()  # the city, first
        page.get_by_role("navigation", name="Settings").get_by_role(
            "link", name="Catalogue"
        ).click()
        page.get_by_role("link", name="Add a category", exact=True).click()
        page.get_by_label("Code").fill("fallen-tree")
        page.get_by_label("Group").select_option(label="Parks and trees")
        page.get_by_label("Department").select_option(label="Parks")
        page.get_by_label("Name", exact=True).fill("Fallen tree")
        page.get_by_label("Name in Spanish").fill("Árbol caído")
        page.get_by_label("Description", exact=True).fill("A tree or a big branch is down.")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Category “Fallen tree” saved.")).to_be_visible()

        page.get_by_role("link", name="Add a question").click()
        page.get_by_label("Code").fill("blocking")
        page.get_by_label("Kind of answer").select_option("single")
        page.get_by_label("Question", exact=True).fill("What does it block?")
        page.get_by_label("Question in Spanish").fill("¿Qué bloquea?")
        page.locator("label[for=required]").click()  # USWDS hides the box itself
        page.get_by_label("Choices").fill(
            "road | The road | La calle\npath | A footpath | Una acera"
        )
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Question “What does it block?” saved.")).to_be_visible()
        page.get_by_role("link", name="Add a question").click()
        page.get_by_label("Code").fill("wires")
        page.get_by_label("Kind of answer").select_option("yesno")
        page.get_by_label("Question", exact=True).fill("Has it brought down power lines?")
        page.get_by_label("Answers that stop the form").fill("yes")
        page.get_by_label("What to tell a resident who gives one of them").fill(
            "Stay 10 metres away and call 911."
        )
        page.get_by_role("button", name="Save").click()
        expect(
            page.get_by_text("Question “Has it brought down power lines?” saved.")
        ).to_be_visible()
        problems = {}
        for path in (page.url, page.url.split("#")[0].replace("/edit", "/preview")):
            page.goto(path)
            found = axe_violations(page)
            if found:
                problems[path] = found
        assert not problems, problems

        page.goto(f"{live_server}/staff/admin/templates/new")
        page.get_by_label("Code").fill("tree-cleared")
        page.get_by_label("Department").select_option(label="Parks")
        page.get_by_label("Title in English").fill("Tree cleared")
        page.get_by_label("Text in English").fill(
            "Hello {resident_name}, the tree in {reference} has been cleared."
        )
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert "/staff/admin/templates/" in page.url and "/new" not in page.url
    finally:
        context.close()

    resident = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = resident.new_page()
    try:
        page.goto(f"{live_server}/report/")
        page.locator("label", has_text="Fallen tree").click()
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Describe the problem").fill("A big oak fell across the path")
        page.get_by_text("A footpath").click()
        page.get_by_role("group", name="Has it brought down power lines?").get_by_text("No").click()
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Street address or nearest intersection").fill("Mill Park gate")
        page.locator("#area").select_option(label="Old Town")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Continue").click()  # no photos
        page.get_by_label("Email address").fill("ana@example.org")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Send my request").click()
        expect(page.locator("[data-reference]")).to_be_visible()
    finally:
        resident.close()

    session = committed_app.extensions["portal.db"].session()
    try:
        filed = session.scalar(select(ServiceRequest))
        assert filed.category.code == "fallen-tree"
        assert filed.answers == {"blocking": "path", "wires": "no"}
        template = session.scalar(select(ResponseTemplate))
        assert (template.code, template.department_id) == ("tree-cleared", filed.department_id)
    finally:
        session.close()
