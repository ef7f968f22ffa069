"""Webhook settings from the environment, and where endpoints may point (issue 24)."""

from __future__ import annotations

import pytest

from portal.core.config import ConfigError, Settings
from portal.webhooks.urls import BadUrl, check_destination, check_url

pytestmark = pytest.mark.pure


def test_settings_come_from_the_environment_and_are_checked():
    base = Settings.from_env({})
    assert (base.webhooks_allow_private, base.webhook_timeout, base.webhook_log_days) == (
        False,
        10,
        30,
    )
    env = Settings.from_env(
        {
            "PORTAL_WEBHOOKS_ALLOW_PRIVATE": "1",
            "PORTAL_WEBHOOK_TIMEOUT": "5",
            "PORTAL_WEBHOOK_LOG_DAYS": "7",
        }
    )
    assert (env.webhooks_allow_private, env.webhook_timeout, env.webhook_log_days) == (True, 5, 7)
    with pytest.raises(ConfigError, match="PORTAL_WEBHOOK_TIMEOUT"):
        Settings.from_env({"PORTAL_WEBHOOK_TIMEOUT": "0"})
    with pytest.raises(ConfigError, match="PORTAL_WEBHOOK_LOG_DAYS"):
        Settings.from_env({"PORTAL_WEBHOOK_LOG_DAYS": "0"})


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "required"),
        ("ftp://hooks.example.com/x", "invalid"),
        ("https://user:pw@hooks.example.com/x", "invalid"),
        ("https://hooks.example.com:99999/x", "invalid"),
        ("https://hooks.example.com/x#frag", "invalid"),
        ("http://hooks.example.com/x", "scheme"),
        ("https://127.0.0.1/x", "private"),
        ("https://localhost/x", "private"),
        ("https://10.1.2.3/x", "private"),
        ("https://192.168.0.10/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[::1]/x", "private"),
        ("https://[fd00::1]/x", "private"),
        ("https://works.internal/x", "private"),
        ("https://intranet/x", "private"),
        ("https://" + "a" * 2000 + ".example.com", "too_long"),
    ],
)
def test_production_refuses_private_and_plain_http_addresses(url, code):
    with pytest.raises(BadUrl) as raised:
        check_url(Settings(), url)
    assert raised.value.code == code


def test_public_https_is_accepted_and_the_setting_allows_loopback():
    assert check_url(Settings(), " https://hooks.example.com/portal ") == (
        "https://hooks.example.com/portal"
    )
    allowed = Settings(webhooks_allow_private=True)
    assert check_url(allowed, "http://127.0.0.1:8000/hooks") == "http://127.0.0.1:8000/hooks"
    # Before each attempt the resolved addresses are checked again.
    with pytest.raises(BadUrl):
        check_destination(Settings(), "https://127.0.0.1/x")
    check_destination(allowed, "https://127.0.0.1/x")
