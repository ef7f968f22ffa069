"""Open311 API keys: made once and shown once, stored as a sha256, revoked, counted; and the
admins' back-office pages for them (validation next to the fields, audit entries, paging)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.core.audit import AuditEntry
from portal.open311 import keys
from portal.open311.models import ApiKey
from tests.conftest import csrf_from, sign_in

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _key(db, **kw):
    kw.setdefault("label", "FixIt app")
    kw.setdefault("rate_limit", "60/minute")
    kw.setdefault("contact_email", "")
    return keys.new_key(db, by=None, **kw)


# -- the domain ---------------------------------------------------------------------------------


def test_a_new_key_is_kept_only_as_its_hash(db, make):
    admin = make.user(role="admin")
    key, raw = keys.new_key(
        db,
        label="  County   bridge ",
        rate_limit="1000/hour;60/minute",
        contact_email="Team@County.example",
        by=admin,
    )
    assert len(raw) >= 40
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.prefix == raw[:8]
    assert raw not in {key.label, key.prefix, key.key_hash, key.contact_email}
    assert (key.label, key.rate_limit, key.contact_email) == (
        "County bridge",
        "1000/hour;60/minute",
        "Team@county.example",
    )
    assert key.created_by_id == admin.id and key.active
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.entity == "api_key")).all()
    assert (entry.action, entry.entity_id, entry.actor_id) == ("create", str(key.id), admin.id)
    assert raw not in str(entry.after)


def test_keys_are_different_each_time(db):
    raws = {_key(db)[1] for _ in range(5)}
    assert len(raws) == 5


def test_find_key_finds_only_active_keys(db):
    key, raw = _key(db)
    assert keys.find_key(db, raw) is key
    assert keys.find_key(db, f" {raw} ") is key
    for wrong in (None, "", raw[:-1], raw + "x", "x" * 5000):
        assert keys.find_key(db, wrong) is None
    assert keys.revoke(db, key, by=None, now=NOW)
    assert keys.find_key(db, raw) is None


def test_revoking_twice_writes_one_entry(db, make):
    admin = make.user(role="admin")
    key, _raw = _key(db)
    assert keys.revoke(db, key, by=admin, now=NOW) is True
    assert keys.revoke(db, key, by=admin, now=NOW) is False
    assert key.revoked_at == NOW and key.revoked_by_id == admin.id
    actions = db.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity == "api_key", AuditEntry.entity_id == str(key.id)
        )
    ).all()
    assert sorted(actions) == ["create", "revoke"]


def test_record_use_counts_in_the_database(db):
    key, _raw = _key(db)
    keys.record_use(db, key, filed=True, now=NOW)
    keys.record_use(db, key.id, filed=False, now=NOW)
    keys.record_use(db, key, filed=True, now=NOW)
    db.refresh(key)
    assert (key.use_count, key.filed_count, key.last_used_at) == (3, 2, NOW)


@pytest.mark.parametrize(
    ("rate", "problem"),
    [
        ("60/minute", None),
        ("1000/hour;60/minute", None),
        ("5 per second", None),
        ("", "required"),
        ("often", "invalid"),
        ("0/minute", "zero"),
        ("-1/minute", "invalid"),
        ("1/" + "minute" * 20, "too_long"),
    ],
)
def test_rate_limits_are_checked_with_the_limiter_parser(rate, problem):
    assert keys.check_rate_limit(rate) == problem


def test_bad_input_is_refused_field_by_field(db):
    with pytest.raises(keys.ApiKeyError) as caught:
        keys.new_key(db, label=" ", rate_limit="lots", contact_email="nobody", by=None)
    assert caught.value.errors == {
        "label": "required",
        "rate_limit": "invalid",
        "contact_email": "invalid",
    }
    assert db.scalar(select(ApiKey)) is None


def test_keys_are_listed_newest_first_a_page_at_a_time(db):
    made = [_key(db, label=f"App {n}")[0] for n in range(keys.PAGE_SIZE + 3)]
    first = keys.list_keys(db)
    assert [k.id for k in first.keys] == [k.id for k in reversed(made)][: keys.PAGE_SIZE]
    second = keys.list_keys(db, before=first.next_before)
    assert [k.label for k in second.keys] == ["App 2", "App 1", "App 0"]
    assert second.next_before is None


# -- the back office ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, make):
    sign_in(client, make.user(role="admin"))
    return client


def test_the_back_office_links_admins_to_api_keys(admin_client):
    html = admin_client.get("/staff/api-keys/").get_data(as_text=True)
    assert 'href="/staff/api-keys/"' in html
    assert "There are no API keys yet." in html


def test_an_admin_makes_a_key_and_sees_it_once(admin_client, db):
    page = admin_client.get("/staff/api-keys/new")
    assert page.status_code == 200
    response = admin_client.post(
        "/staff/api-keys/new",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "label": "FixIt app",
            "rate_limit": "30/minute",
            "contact_email": "dev@fixit.example",
        },
    )
    assert response.status_code == 201
    assert response.content_type.startswith("text/html")
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    raw = re.search(r'id="api-key" type="text" value="([^"]+)"', html).group(1)
    key = keys.find_key(db, raw)
    assert key is not None and key.rate_limit == "30/minute"
    listing = admin_client.get("/staff/api-keys/").get_data(as_text=True)
    assert "FixIt app" in listing and key.prefix in listing and "30/minute" in listing
    assert raw not in listing
    # The key works for the API at once.
    assert admin_client.post("/open311/v2/requests.json", data={"api_key": raw}).status_code == 400


def test_mistakes_are_shown_next_to_their_fields(admin_client, db):
    token = csrf_from(admin_client.get("/staff/api-keys/new").get_data(as_text=True))
    response = admin_client.post(
        "/staff/api-keys/new",
        data={
            "csrf_token": token,
            "label": "",
            "rate_limit": "whenever",
            "contact_email": "not-an-email",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    for field_id, message in (
        ("label", "Enter who will use the key"),
        ("rate_limit", "Write the rate limit like 60/minute"),
        ("contact_email", "Enter an email address in the right format"),
    ):
        assert re.search(
            rf'<span class="usa-error-message" id="{field_id}-error-1">'
            rf"{re.escape(message)}",
            html,
        ), field_id
        assert f'aria-describedby="{field_id}-hint {field_id}-error-1"' in html
    assert db.scalar(select(ApiKey)) is None


def test_zero_rate_is_refused_by_the_domain_rules(admin_client, db):
    token = csrf_from(admin_client.get("/staff/api-keys/new").get_data(as_text=True))
    response = admin_client.post(
        "/staff/api-keys/new", data={"csrf_token": token, "label": "App", "rate_limit": "0/minute"}
    )
    assert response.status_code == 400
    assert "A rate limit must allow at least one request" in response.get_data(as_text=True)


def test_revoking_asks_first_then_stops_the_key(admin_client, db):
    key, raw = _key(db)
    confirm = admin_client.get(f"/staff/api-keys/{key.id}/revoke")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "Revoke the key" in html
    assert keys.find_key(db, raw) is key  # looking is not revoking
    response = admin_client.post(
        f"/staff/api-keys/{key.id}/revoke", data={"csrf_token": csrf_from(html)}
    )
    assert response.status_code == 302
    db.refresh(key)
    assert key.revoked_at is not None
    assert admin_client.post("/open311/v2/requests.json", data={"api_key": raw}).status_code == 403
    listing = admin_client.get("/staff/api-keys/").get_data(as_text=True)
    assert "is revoked: it no longer works" in listing
    assert "Revoked" in listing
    entries = db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "api_key")).all()
    assert sorted(entries) == ["create", "revoke"]


def test_revoking_without_the_form_token_does_nothing(admin_client, db):
    key, _raw = _key(db)
    response = admin_client.post(f"/staff/api-keys/{key.id}/revoke", data={})
    assert response.status_code == 400
    db.refresh(key)
    assert key.revoked_at is None


def test_unknown_keys_are_not_found(admin_client):
    assert admin_client.get("/staff/api-keys/987654/revoke").status_code == 404
    assert admin_client.get("/staff/api-keys/" + "9" * 30 + "/revoke").status_code == 404


def test_the_list_pages(admin_client, db):
    for n in range(keys.PAGE_SIZE + 1):
        _key(db, label=f"App {n:02d}")
    html = admin_client.get("/staff/api-keys/").get_data(as_text=True)
    assert "App 25" in html and "App 00" not in html
    after = re.search(r'href="(/staff/api-keys/\?before=\d+)"', html).group(1)
    older = admin_client.get(after.replace("&amp;", "&")).get_data(as_text=True)
    assert "App 00" in older and "App 25" not in older
    assert admin_client.get("/staff/api-keys/?before=garbage").status_code == 200


def test_an_admin_sets_the_read_rate_limit(admin_client, db):
    page = admin_client.get("/staff/api-keys/new?lang=es").get_data(as_text=True)
    assert "Límite de lecturas" in page and 'value="1000/minute"' in page
    token = csrf_from(page)
    form = {"csrf_token": token, "label": "Reader", "rate_limit": "30/minute"}
    refused = admin_client.post(
        "/staff/api-keys/new?lang=en", data={**form, "read_rate_limit": "lots", "label": ""}
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert re.search(
        r'<span class="usa-error-message" id="read_rate_limit-error-1">'
        r"Write the rate limit like 60/minute",
        html,
    )
    assert db.scalar(select(ApiKey)) is None
    made = admin_client.post("/staff/api-keys/new", data={**form, "read_rate_limit": "5000/minute"})
    assert made.status_code == 201
    assert "5000/minute" in made.get_data(as_text=True)
    assert db.scalar(select(ApiKey.read_rate_limit)) == "5000/minute"
