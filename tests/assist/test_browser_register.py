"""The algorithm register in a browser (issue 22): WCAG 2.2 AA by axe, no sideways scroll at
320 px, in English and Spanish."""

from __future__ import annotations

import pytest

from tests.requests.test_browser_filing import axe_violations


@pytest.mark.markup
@pytest.mark.parametrize("width", [320, 1280])
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_register_meets_wcag_aa_at_every_width(chromium, live_server, width, language):
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        response = page.goto(f"{live_server}/about/algorithms?lang={language}")
        assert response is not None and response.status == 200
        assert page.locator("section[data-algorithm]").count() >= 3
        assert page.evaluate(
            "() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
        )
        assert axe_violations(page) == []
        # The footer's link leads here from any page.
        page.goto(f"{live_server}/?lang={language}")
        page.locator("footer a[href='/about/algorithms']").click()
        page.wait_for_url("**/about/algorithms")
    finally:
        context.close()
