"""Anonymous "me too" support is capped per client address: clearing cookies does not add more."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.core import clock
from portal.requests.follows import ANONYMOUS_SUPPORTS_PER_HOUR, address_hash
from portal.requests.models import SupportLimit
from portal.requests.sweeps import sweep_filing_leftovers
from tests.requests.test_tracking import page_token, sign_in


def support_from(app, sr, address: str) -> tuple[int, str]:
    """One "me too" from a fresh browser (no cookies) at ``address``: (status, page after)."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    csrf = page_token(browser, f"/requests/{sr.reference}")
    response = browser.post(f"/requests/{sr.reference}/support", data={"csrf_token": csrf})
    page = (
        browser.get(response.headers["Location"]).get_data(as_text=True)
        if (response.status_code == 302)
        else response.get_data(as_text=True)
    )
    return response.status_code, page


def test_cleared_cookies_do_not_inflate_support_from_one_address(app, db, make):
    sr = make.request()
    statuses, pages = [], []
    for _attempt in range(26):
        status, page = support_from(app, sr, "203.0.113.7")
        statuses.append(status)
        pages.append(page)
    db.refresh(sr)
    assert sr.support_count == 1
    assert set(statuses) == {302}
    assert "Your support for this request has been counted" in pages[0]
    assert "We could not count your support" in pages[25]
    # Another address still counts, and so does a signed-in resident at the same address.
    support_from(app, sr, "198.51.100.20")
    resident = make.user()
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    sign_in(browser, resident)
    csrf = page_token(browser, f"/requests/{sr.reference}")
    browser.post(f"/requests/{sr.reference}/support", data={"csrf_token": csrf})
    db.refresh(sr)
    assert sr.support_count == 3


def test_an_address_supports_only_so_many_requests_an_hour(app, db, make):
    requests = [make.request() for _ in range(ANONYMOUS_SUPPORTS_PER_HOUR + 1)]
    for sr in requests[:-1]:
        assert "has been counted" in support_from(app, sr, "203.0.113.9")[1]
    status, page = support_from(app, requests[-1], "203.0.113.9")
    assert status == 302 and "We could not count your support" in page
    db.refresh(requests[-1])
    assert requests[-1].support_count == 0


def test_only_a_keyed_hash_of_the_address_is_kept_and_it_expires(app, db, make, settings):
    sr = make.request()
    support_from(app, sr, "203.0.113.7")
    [limit] = db.scalars(select(SupportLimit))
    assert "203.0.113.7" not in limit.address_hash
    assert limit.address_hash == address_hash(settings, "203.0.113.7")
    assert address_hash(settings, "203.0.113.7") != address_hash(
        settings.__class__(secret_key="another"), "203.0.113.7"
    )
    db_handle = app.extensions["portal.db"]
    assert sweep_filing_leftovers(db_handle, settings, clock.now() + timedelta(hours=2)) is None
    assert db.scalars(select(SupportLimit)).all() != []
    # A day later the worker removes it, and the address may support the request again.
    message = sweep_filing_leftovers(db_handle, settings, clock.now() + timedelta(days=1, hours=4))
    assert message is not None and "1 expired support limit" in message
    assert db.scalars(select(SupportLimit)).all() == []
