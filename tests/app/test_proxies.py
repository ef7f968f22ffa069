"""Rate limits key on the real client: behind PORTAL_TRUSTED_PROXIES proxies, the address the
nearest trusted proxy saw; with none, the connecting address, whatever X-Forwarded-For says."""

from __future__ import annotations

from dataclasses import replace

from tests.auth.factories import PASSWORD
from tests.conftest import csrf_from, own_app_client
from tests.factories import Factories

ATTEMPTS = 10  # portal.auth.views.ATTEMPTS_LIMIT: "10 per minute"
# Each attempt names another address: the sign-in service also counts failures per email
# address (portal.auth.throttle), and these tests are about the limit per client.
BALANCER = "10.1.2.3"


def _sign_in(client, email: str, password: str, *, remote: str, forwarded: str | None = None):
    environ = {"REMOTE_ADDR": remote}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    page = client.get("/account/sign-in", environ_base=environ, headers=headers)
    return client.post(
        "/account/sign-in",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": email,
            "password": password,
        },
        environ_base=environ,
        headers=headers,
    )


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    """A client cannot pick a fresh address per attempt by sending X-Forwarded-For."""
    with own_app_client(replace(settings, ratelimit_enabled=True, trusted_proxies=0)) as client:
        codes = [
            _sign_in(
                client,
                f"nobody{n}@example.org",
                "wrong",
                remote="198.51.100.7",
                forwarded=f"10.0.0.{n}",
            ).status_code
            for n in range(ATTEMPTS + 1)
        ]
    assert 429 not in codes[:ATTEMPTS]
    assert codes[ATTEMPTS] == 429


def test_behind_one_proxy_clients_are_limited_separately(settings):
    """Ten wrong sign-ins from one resident behind the load balancer do not lock out another."""
    with own_app_client(replace(settings, ratelimit_enabled=True, trusted_proxies=1)) as client:
        with client.application.extensions["portal.db"].transaction() as session:
            Factories(session, settings).user(email="admin-behind-lb@example.org")
        for n in range(ATTEMPTS + 1):
            last = _sign_in(
                client, f"nobody{n}@example.org", "wrong", remote=BALANCER, forwarded="203.0.113.9"
            )
        assert last.status_code == 429
        ok = _sign_in(
            client,
            "admin-behind-lb@example.org",
            PASSWORD,
            remote=BALANCER,
            forwarded="203.0.113.10",
        )
        assert ok.status_code == 302


def test_behind_one_proxy_a_forged_chain_is_not_believed(settings):
    """The client may prepend any addresses; only the one the trusted proxy added counts."""
    with own_app_client(replace(settings, ratelimit_enabled=True, trusted_proxies=1)) as client:
        codes = [
            _sign_in(
                client,
                f"nobody{n}@example.org",
                "wrong",
                remote=BALANCER,
                forwarded=f"192.0.2.{n}, 203.0.113.9",
            ).status_code
            for n in range(ATTEMPTS + 1)
        ]
    assert codes[ATTEMPTS] == 429
