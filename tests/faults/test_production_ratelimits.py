"""The production configuration: rate limits kept in Redis, behind one trusted proxy.

Two clients behind the load balancer are limited separately, and the count is Redis's, not the
web process's: a second app (another web process) sees the first one's. Skipped, saying why,
when no Redis server can be reached at ``PORTAL_TEST_REDIS`` (default 127.0.0.1:6379).
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from sqlalchemy import text

from portal import create_app
from portal.core.config import Settings
from portal.migrate import upgrade
from tests.app.test_proxies import ATTEMPTS, BALANCER, _sign_in
from tests.conftest import csrf_from
from tests.postgres import scratch_postgres

BASE = "https://portal.example"
REDIS = os.environ.get("PORTAL_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_server() -> Iterator[redis.Redis]:
    server = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS}, which cannot be reached: {exc}")
    yield server
    server.close()


def _addresses() -> tuple[str, str]:
    """Two client addresses no earlier run used (documentation prefix, random suffix)."""
    suffix = uuid.uuid4().hex
    return f"2001:db8:{suffix[:4]}::1", f"2001:db8:{suffix[4:8]}::2"


def _forget(server: redis.Redis, *addresses: str) -> None:
    for address in addresses:
        for key in server.scan_iter(match=f"*{address}*"):
            server.delete(key)


def _web_process(settings: Settings):
    application = create_app(settings)
    return application, application.test_client()


def test_redis_limits_are_per_client_behind_the_proxy_and_shared_by_web_processes(
    settings, redis_server
):
    production_like = replace(
        settings, ratelimit_enabled=True, ratelimit_storage_uri=REDIS, trusted_proxies=1
    )
    first_client, second_client = _addresses()
    apps = []

    def attempt(web, client_address: str):
        # Flask-Limiter's own count, in its header (the sign-in service may also refuse
        # repeated failures by itself: that is not what this test is about).
        response = _sign_in(
            web,
            f"nobody-{client_address}@example.org",
            "wrong",
            remote=BALANCER,
            forwarded=client_address,
        )
        return response.status_code, response.headers.get("X-RateLimit-Remaining")

    try:
        one, web_one = _web_process(production_like)
        apps.append(one)
        remaining = [attempt(web_one, first_client)[1] for _ in range(ATTEMPTS - 1)]
        assert remaining == [str(n) for n in range(ATTEMPTS - 1, 0, -1)]

        # Another web process, with its own Limiter storage object: the count is in Redis.
        two, web_two = _web_process(production_like)
        apps.append(two)
        assert attempt(web_two, first_client)[1] == "0"
        assert attempt(web_two, first_client) == (429, "0")
        # The other resident behind the same balancer has a count of their own.
        assert attempt(web_two, second_client)[1] == str(ATTEMPTS - 1)
        assert any(redis_server.scan_iter(match=f"*{first_client}*"))
    finally:
        _forget(redis_server, first_client, second_client)
        for application in apps:
            application.extensions["portal.db"].dispose()


@pytest.mark.postgres
def test_production_settings_with_redis_limits_start_and_serve(redis_server, smtp):
    client_address = _addresses()[0]
    with scratch_postgres() as url:
        upgrade(url)
        environ = {
            "PORTAL_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": url,
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
            "RATELIMIT_STORAGE_URI": REDIS,
            "PORTAL_TRUSTED_PROXIES": "1",
        }
        production = Settings.from_env(environ)
        assert (production.ratelimit_storage_uri, production.trusted_proxies) == (REDIS, 1)
        application = create_app(production)
        try:
            client = application.test_client()
            headers = {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https"}
            environ_base = {"REMOTE_ADDR": BALANCER}
            assert client.get("/", headers=headers, environ_base=environ_base).status_code == 200
            health = client.get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1"})
            assert health.status_code == 200
            # A wrong sign-in over HTTPS (secure cookies, CSRF's referrer check): counted in
            # Redis under the forwarded client's address.
            page = client.get(
                "/account/sign-in", headers=headers, environ_base=environ_base, base_url=BASE
            )
            assert page.status_code == 200
            attempt = client.post(
                "/account/sign-in",
                data={
                    "csrf_token": csrf_from(page.get_data(as_text=True)),
                    "email": "nobody@example.org",
                    "password": "wrong",
                },
                headers={**headers, "Referer": f"{BASE}/account/sign-in"},
                environ_base=environ_base,
                base_url=BASE,
            )
            assert attempt.status_code == 200
            assert attempt.headers["X-RateLimit-Remaining"] == str(ATTEMPTS - 1)
            assert any(redis_server.scan_iter(match=f"*{client_address}*"))
            with application.extensions["portal.db"].transaction(write=False) as session:
                assert session.execute(text("SELECT 1")).scalar() == 1
        finally:
            _forget(redis_server, client_address)
            application.extensions["portal.db"].dispose()
