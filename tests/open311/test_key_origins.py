"""The web origins of an API key (CORS, issue 24): set when the key is made or later on its
own page, each origin checked and the mistake shown beside the field, audited."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from portal.core.audit import AuditEntry
from portal.open311 import keys, origins
from portal.open311.models import ApiKey
from tests.conftest import csrf_from, sign_in


@pytest.fixture
def admin_client(client, make):
    sign_in(client, make.user(role="admin"))
    return client


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("https://App.Example.org", "https://app.example.org"),
        ("https://app.example.org/", "https://app.example.org"),
        ("https://app.example.org:443", "https://app.example.org"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(written, stored):
    assert origins.normalise(written) == stored


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("app.example.org", "invalid"),
        ("ftp://app.example.org", "invalid"),
        ("https://app.example.org/path", "invalid"),
        ("https://app.example.org?x=1", "invalid"),
        ("https://user@app.example.org", "invalid"),
        ("https://app.example.org:99999", "invalid"),
        ("*", "any"),
        ("https://" + "a" * 300 + ".org", "too_long"),
    ],
)
def test_what_is_not_an_origin(written, code):
    with pytest.raises(origins.OriginError) as exc:
        origins.normalise(written)
    assert exc.value.code == code


def test_an_admin_makes_a_key_with_origins(admin_client, db):
    token = csrf_from(admin_client.get("/staff/api-keys/new").get_data(as_text=True))
    response = admin_client.post(
        "/staff/api-keys/new",
        data={
            "csrf_token": token,
            "label": "FixIt web",
            "rate_limit": "60/minute",
            "allowed_origins": "https://FixIt.example\nhttp://localhost:5173, https://fixit.example/",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    key = db.scalar(select(ApiKey))
    assert key.allowed_origins == "https://fixit.example\nhttp://localhost:5173"


def test_a_bad_origin_is_named_beside_the_field_and_nothing_is_made(admin_client, db):
    token = csrf_from(admin_client.get("/staff/api-keys/new").get_data(as_text=True))
    response = admin_client.post(
        "/staff/api-keys/new",
        data={
            "csrf_token": token,
            "label": "",
            "rate_limit": "60/minute",
            "allowed_origins": "https://ok.example\nfixit.example/app",
        },
    )
    assert response.status_code == 400
    page = html_lib.unescape(response.get_data(as_text=True))
    assert re.search(r'id="allowed_origins-error-1">“fixit.example/app” is not a web origin', page)
    assert 'id="label-error-1"' in page  # every mistake at once
    assert db.scalar(select(ApiKey)) is None


def test_an_admin_changes_a_key_origins(admin_client, db):
    key, _raw = keys.new_key(
        db, label="FixIt web", rate_limit="60/minute", contact_email="", by=None
    )
    listing = admin_client.get("/staff/api-keys/").get_data(as_text=True)
    assert f'href="/staff/api-keys/{key.id}/origins"' in listing
    page = admin_client.get(f"/staff/api-keys/{key.id}/origins")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    refused = admin_client.post(
        f"/staff/api-keys/{key.id}/origins", data={"csrf_token": token, "allowed_origins": "*"}
    )
    assert refused.status_code == 400
    assert "only for the city’s list" in html_lib.unescape(refused.get_data(as_text=True)) or (
        "only for the city's list" in html_lib.unescape(refused.get_data(as_text=True))
    )
    db.refresh(key)
    assert key.allowed_origins == ""
    saved = admin_client.post(
        f"/staff/api-keys/{key.id}/origins",
        data={"csrf_token": token, "allowed_origins": "https://fixit.example"},
    )
    assert saved.status_code == 302
    db.refresh(key)
    assert key.allowed_origins == "https://fixit.example"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "origins"))
    assert entry.after["allowed_origins"] == "https://fixit.example"
    again = admin_client.get(f"/staff/api-keys/{key.id}/origins").get_data(as_text=True)
    assert "https://fixit.example</textarea>" in again


def test_a_revoked_key_has_no_origins_page(admin_client, db):
    from datetime import UTC, datetime

    key, _raw = keys.new_key(db, label="Old", rate_limit="60/minute", contact_email="", by=None)
    keys.revoke(db, key, by=None, now=datetime.now(UTC))
    assert admin_client.get(f"/staff/api-keys/{key.id}/origins").status_code == 404


def test_the_origins_page_in_spanish(admin_client, db):
    key, _raw = keys.new_key(db, label="FixIt", rate_limit="60/minute", contact_email="", by=None)
    page = admin_client.get(f"/staff/api-keys/{key.id}/origins?lang=es").get_data(as_text=True)
    assert "Orígenes web" in html_lib.unescape(page)
