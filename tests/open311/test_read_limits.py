"""Open311 read limits: per API key (its own read_rate_limit, the key sent as api_key or in
X-Api-Key), per address without one (the real client's, behind a trusted proxy), an invalid
key a 403, and Retry-After on every 429 (reads and posts)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal import create_app
from portal.open311 import keys
from portal.open311.views.api_limits import READ_LIMIT
from tests.factories import Factories
from tests.open311.test_post import City, _errors, _form

BALANCER = "10.0.0.2"
API = "/open311/v2"


@pytest.fixture
def limited(settings):
    """An app with the limiter on (memory storage), behind one trusted proxy, on committed
    data: a city with a key allowed 3 reads a minute."""
    from tests.conftest import truncate_all

    application = create_app(replace(settings, ratelimit_enabled=True, trusted_proxies=1))
    db = application.extensions["portal.db"]
    with db.transaction() as session:
        city = City(Factories(session, application.extensions["portal.settings"]), session)
        _key, tight = keys.new_key(
            session,
            label="Tight reader",
            rate_limit="60/minute",
            read_rate_limit="3/minute",
            contact_email="",
            by=None,
        )
        city.tight = tight
    application.city = city
    yield application
    truncate_all(db)
    db.dispose()


def _get(client, path, address, **kwargs):
    return client.get(
        f"{API}/{path}",
        headers={"X-Forwarded-For": address, **kwargs.pop("headers", {})},
        environ_base={"REMOTE_ADDR": BALANCER},
        **kwargs,
    )


def _retry_after(response) -> int:
    value = int(response.headers["Retry-After"])
    assert 0 <= value <= 60
    return value


def test_a_key_reads_under_its_own_limit_shared_by_every_read(limited):
    client = limited.test_client()
    tight = limited.city.tight
    address = "203.0.113.7"
    assert (
        _get(client, "discovery.json", address, query_string={"api_key": tight}).status_code == 200
    )
    assert _get(client, "services.json", address, headers={"X-Api-Key": tight}).status_code == 200
    third = _get(client, "requests.json", address, query_string={"api_key": tight})
    assert third.status_code == 200
    assert third.headers["X-RateLimit-Limit"] == "3"
    assert third.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in third.headers  # only an answer that says "wait" carries it
    refused = _get(client, "services.xml", address, headers={"X-Api-Key": tight})
    assert refused.status_code == 429
    assert _errors(refused, "xml") == ["Too many requests. Wait a minute and try again."]
    _retry_after(refused)
    # The same address without the key has the per-address budget, and another key its own.
    assert _get(client, "services.json", address).status_code == 200
    other = _get(client, "services.json", address, query_string={"api_key": limited.city.raw})
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Limit"] == "1000"


def test_without_a_key_each_real_client_behind_the_proxy_has_its_own_budget(limited):
    client = limited.test_client()
    allowed = int(READ_LIMIT.split("/")[0])
    first, second = "198.51.100.1", "198.51.100.2"
    statuses = [_get(client, "discovery.json", first).status_code for _ in range(allowed)]
    assert statuses == [200] * allowed
    refused = _get(client, "services.json", first)
    assert refused.status_code == 429
    _retry_after(refused)
    # Another resident's app behind the same balancer is not held back.
    assert _get(client, "services.json", second).status_code == 200


def test_an_invalid_key_on_a_read_is_a_403(limited):
    client = limited.test_client()
    refused = _get(client, "services.json", "198.51.100.9", query_string={"api_key": "nope"})
    assert refused.status_code == 403
    assert _errors(refused, "json") == ["api_key is not valid (unknown or revoked)."]
    # An empty one is no key at all.
    assert (
        _get(client, "services.json", "198.51.100.9", query_string={"api_key": ""}).status_code
        == 200
    )


def test_a_refused_post_says_when_to_retry(limited):
    db = limited.extensions["portal.db"]
    with db.transaction() as session:
        _key, raw = keys.new_key(
            session, label="One a minute", rate_limit="1/minute", contact_email="", by=None
        )
    client = limited.test_client()
    form = {**_form(limited.city), "api_key": raw}
    assert client.post(f"{API}/requests.json", data=form).status_code == 201
    refused = client.post(f"{API}/requests.json", data=form)
    assert refused.status_code == 429
    assert _retry_after(refused) > 0


def test_the_rest_of_the_apps_limits_say_when_to_retry_too(limited):
    """A page's limit (the offline report's POST, 20 a minute), behind the same proxy: the
    HTML 429 carries Retry-After like the API's."""
    client = limited.test_client()

    def send(address):
        return client.post(
            "/report/offline-submit",
            headers={"X-Forwarded-For": address},
            environ_base={"REMOTE_ADDR": BALANCER},
        )

    statuses = [send("198.51.100.20").status_code for _ in range(20)]
    assert 429 not in statuses
    refused = send("198.51.100.20")
    assert refused.status_code == 429
    assert refused.content_type.startswith("text/html")
    assert _retry_after(refused) > 0
    assert send("198.51.100.21").status_code != 429
