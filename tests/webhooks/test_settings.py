"""Webhook settings from the environment, and where endpoints may point (issue 24)."""

from __future__ import annotations

import pytest

from portal.core.config import ConfigError, Settings
from portal.webhooks.urls import BadUrl, check_url

pytestmark = pytest.mark.pure


def test_settings_come_from_the_environment_and_are_checked():
    base = Settings.from_env({})
    assert (base.outbound_allowed_networks, base.webhook_timeout, base.webhook_log_days) == (
        (),
        10,
        30,
    )
    env = Settings.from_env(
        {
            "PORTAL_OUTBOUND_ALLOWED_NETWORKS": "10.20.0.1/16, ::1",
            "PORTAL_WEBHOOK_TIMEOUT": "5",
            "PORTAL_WEBHOOK_LOG_DAYS": "7",
        }
    )
    assert (env.outbound_allowed_networks, env.webhook_timeout, env.webhook_log_days) == (
        ("10.20.0.0/16", "::1/128"),
        5,
        7,
    )
    with pytest.raises(ConfigError, match="PORTAL_OUTBOUND_ALLOWED_NETWORKS"):
        Settings.from_env({"PORTAL_OUTBOUND_ALLOWED_NETWORKS": "10.20.0.0/33"})
    # The old switch is not silently ignored.
    with pytest.raises(ConfigError, match="replaced by PORTAL_OUTBOUND_ALLOWED_NETWORKS"):
        Settings.from_env({"PORTAL_WEBHOOKS_ALLOW_PRIVATE": "1"})
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
        ("https://[::ffff:169.254.169.254]/latest/meta-data", "private"),
        ("https://[::ffff:7f00:1]/x", "private"),
        ("https://0.0.0.0/x", "private"),
        ("https://224.0.0.1/x", "private"),
        ("https://[fe80::1]/x", "private"),
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


def test_public_https_is_accepted_and_the_setting_allows_its_networks_only():
    assert check_url(Settings(), " https://hooks.example.com/portal ") == (
        "https://hooks.example.com/portal"
    )
    allowed = Settings(outbound_allowed_networks=("127.0.0.0/8", "10.20.0.0/16"))
    assert check_url(allowed, "http://127.0.0.1:8000/hooks") == "http://127.0.0.1:8000/hooks"
    assert check_url(allowed, "http://10.20.3.4/hooks") == "http://10.20.3.4/hooks"
    assert check_url(allowed, "https://works.internal/hooks") == "https://works.internal/hooks"
    # A name is checked when it is resolved, at each attempt (plain http too: it must then
    # resolve into an allowed network).
    assert check_url(allowed, "http://works.city.example/x") == "http://works.city.example/x"
    for url, code in [
        ("https://10.30.0.1/x", "private"),  # another private network
        ("https://169.254.169.254/latest", "private"),
        ("https://[::1]/x", "private"),  # only IPv4 loopback is allowed here
        ("http://93.184.216.34/x", "scheme"),  # plain http over the internet
    ]:
        with pytest.raises(BadUrl) as raised:
            check_url(allowed, url)
        assert raised.value.code == code
