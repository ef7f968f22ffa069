"""HTTP around the Open311 API (issue 24): CORS for reads and POST (city-wide and per key),
no cookies, Vary, validators with 304s, compression, the discovery changeset, a JSON body's
clear refusal, a private request read back by the key that filed it, status notes after a
reopen."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.core import clock
from portal.open311 import keys
from portal.requests import updates
from portal.requests.models import ServiceRequest
from tests.conftest import sign_in
from tests.factories import INSIDE

API = "/open311/v2"
READER = "https://reader.example"
APP = "https://fixit.example"
STRANGER = "https://evil.example"


@pytest.fixture
def settings(settings):
    return replace(settings, open311_cors_origins=(READER,))


@pytest.fixture
def city(make, db):
    make.area()
    streets = make.department(code="streets", name="Streets")
    pothole = make.category(code="pothole", name="Pothole", department=streets)
    hidden = make.category(code="abuse", name="Abuse report", department=streets, private=True)
    key, raw = keys.new_key(
        db, label="FixIt app", rate_limit="60/minute", contact_email="", by=None
    )
    key.allowed_origins = APP
    other, other_raw = keys.new_key(
        db, label="Other app", rate_limit="60/minute", contact_email="", by=None
    )
    db.flush()
    return {
        "pothole": pothole,
        "private": hidden,
        "key": key,
        "raw": raw,
        "other_raw": other_raw,
        "sr": make.request(category=pothole),
    }


def _form(city, **changes) -> dict:
    form = {
        "api_key": city["raw"],
        "service_code": "pothole",
        "lat": str(INSIDE[0]),
        "long": str(INSIDE[1]),
        "description": "A deep hole by the school",
    }
    form.update(changes)
    return form


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(ServiceRequest))


# -- CORS ------------------------------------------------------------------------------------


def test_reads_from_the_city_list_carry_cors_headers(client, city):
    response = client.get(f"{API}/requests.json", headers={"Origin": READER})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == READER
    exposed = response.headers["Access-Control-Expose-Headers"]
    for name in ("ETag", "Retry-After", "Location", "RateLimit", "X-RateLimit-Remaining"):
        assert name in exposed
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_reads_from_a_key_origin_need_that_key(client, city):
    plain = client.get(f"{API}/services.json", headers={"Origin": APP})
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers
    by_query = client.get(
        f"{API}/services.json", query_string={"api_key": city["raw"]}, headers={"Origin": APP}
    )
    assert by_query.headers["Access-Control-Allow-Origin"] == APP
    by_header = client.get(
        f"{API}/services.json", headers={"Origin": APP, "X-Api-Key": city["raw"]}
    )
    assert by_header.headers["Access-Control-Allow-Origin"] == APP
    wrong_key = client.get(
        f"{API}/services.json", headers={"Origin": APP, "X-Api-Key": city["other_raw"]}
    )
    assert "Access-Control-Allow-Origin" not in wrong_key.headers
    stranger = client.get(f"{API}/services.json", headers={"Origin": STRANGER})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_any_origin_may_read_when_the_city_says_star(client, city, app):
    app.extensions["portal.settings"] = replace(
        app.extensions["portal.settings"], open311_cors_origins=("*",)
    )
    app.extensions["portal.city"].clear(app.extensions["portal.settings"])
    response = client.get(f"{API}/services.xml", headers={"Origin": STRANGER})
    assert response.headers["Access-Control-Allow-Origin"] == STRANGER
    # Reads only: a POST still needs the key's own origins.
    posted = client.post(f"{API}/requests.json", data=_form(city), headers={"Origin": STRANGER})
    assert posted.status_code == 403


@pytest.mark.parametrize("origin", [READER, APP])
def test_preflight_for_a_known_origin(client, city, origin):
    response = client.options(
        f"{API}/requests.json",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET",
        "HEAD",
        "POST",
    }
    allowed = response.headers["Access-Control-Allow-Headers"]
    for name in ("Idempotency-Key", "Content-Type", "X-Api-Key", "If-None-Match"):
        assert name in allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    vary = response.headers["Vary"]
    assert "Origin" in vary and "Access-Control-Request-Method" in vary


def test_preflight_of_a_read_only_resource_lists_reads(client, city):
    response = client.options(
        f"{API}/services.json",
        headers={"Origin": READER, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD"}


def test_preflight_from_an_unknown_origin_is_refused(client, city, db):
    city["key"].revoked_at = datetime.now(UTC)
    db.flush()
    for origin in (STRANGER, APP):  # APP: only on a revoked key now
        response = client.options(
            f"{API}/requests.json",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 403
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "may not call this API" in response.get_json()[0]["description"]


def test_post_from_the_key_origin_files_and_is_readable(client, city, db):
    before = _count(db)
    response = client.post(f"{API}/requests.json", data=_form(city), headers={"Origin": APP})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert _count(db) == before + 1


@pytest.mark.parametrize("origin", [READER, STRANGER])
def test_post_from_another_origin_is_403_and_writes_nothing(client, city, db, origin):
    before = _count(db)
    uses = city["key"].use_count
    response = client.post(f"{API}/requests.json", data=_form(city), headers={"Origin": origin})
    assert response.status_code == 403
    (error,) = response.get_json()
    assert error["code"] == "403"
    assert "not registered on this api_key" in error["description"]
    assert _count(db) == before
    db.refresh(city["key"])
    assert city["key"].use_count == uses and city["key"].filed_count == 0
    # A page on the city's read list may read why; a stranger's may not.
    assert (response.headers.get("Access-Control-Allow-Origin") == READER) == (origin == READER)


@pytest.mark.parametrize("origin", [READER, STRANGER, APP])
def test_a_key_sent_in_the_header_is_checked_against_the_origin_too(client, city, db, origin):
    """X-Api-Key is a way to send the key (the OpenAPI document says so): a POST that sends
    it there, not in the body, is held to that key's origins like one that sends api_key."""
    before = _count(db)
    form = _form(city)
    del form["api_key"]
    response = client.post(
        f"{API}/requests.json", data=form, headers={"Origin": origin, "X-Api-Key": city["raw"]}
    )
    if origin == APP:
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.headers["Access-Control-Allow-Origin"] == APP
        assert _count(db) == before + 1
    else:
        assert response.status_code == 403
        assert "not registered on this api_key" in response.get_json()[0]["description"]
        assert _count(db) == before


def test_post_without_an_origin_or_from_the_portal_itself_is_unchanged(client, city, db):
    assert client.post(f"{API}/requests.json", data=_form(city)).status_code == 201
    own = client.post(
        f"{API}/requests.xml", data=_form(city), headers={"Origin": "http://localhost"}
    )
    assert own.status_code == 201


# -- cookies and Vary ------------------------------------------------------------------------


def test_api_answers_set_no_cookie(client, city, make):
    response = client.get(f"{API}/services.json", query_string={"lang": "es"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Accept-Language" in response.headers["Vary"]
    # Signed in, with a session cookie: still none on the API's answers ...
    sign_in(client, make.staff(role="admin"))
    for path in ("services.json", "requests.xml", "nothing-here.json"):
        answer = client.get(f"{API}/{path}", query_string={"lang": "es"})
        assert "Set-Cookie" not in answer.headers, path
    # ... while a page still remembers the language.
    page = client.get("/", query_string={"lang": "es"})
    assert "portal_lang=es" in page.headers.get("Set-Cookie", "")


def test_answers_vary_with_accept_language(client, city, db):
    city["pothole"].translations = {"es": {"name": "Bache"}}
    db.flush()
    english = client.get(f"{API}/services.json", headers={"Accept-Language": "en"})
    spanish = client.get(f"{API}/services.json", headers={"Accept-Language": "es"})
    assert "Bache" in spanish.get_data(as_text=True)
    assert "Bache" not in english.get_data(as_text=True)
    assert "Accept-Language" in spanish.headers["Vary"]
    assert english.headers["ETag"] != spanish.headers["ETag"]


# -- validators and 304 ----------------------------------------------------------------------


def _paths(city) -> list[str]:
    ref = city["sr"].reference
    return [
        "services.json",
        "services.xml",
        "services/pothole.json",
        "requests.json",
        "requests.xml",
        f"requests/{ref}.json",
        f"requests/{ref}.xml",
    ]


def test_every_read_answers_304_when_unchanged(client, city, make):
    make.request(category=city["pothole"])  # the list is not the one request
    etags = set()
    for path in _paths(city):
        first = client.get(f"{API}/{path}")
        assert first.status_code == 200
        etag = first.headers["ETag"]
        assert first.headers["Last-Modified"]
        assert "no-cache" in first.headers["Cache-Control"]
        etags.add(etag)
        again = client.get(f"{API}/{path}", headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.data == b""
        assert again.headers["ETag"] == etag
        since = client.get(
            f"{API}/{path}", headers={"If-Modified-Since": first.headers["Last-Modified"]}
        )
        assert since.status_code == 304, path
    assert len(etags) == len(_paths(city))  # each format and resource its own


def test_a_changed_request_changes_the_validators(client, city, db):
    ref = city["sr"].reference
    for n, path in enumerate(("requests.json", f"requests/{ref}.json"), start=1):
        first = client.get(f"{API}/{path}")
        clock.freeze(datetime.now(UTC) + timedelta(minutes=5 * n))
        try:
            city["sr"].description = f"Now deeper ({path})"
            city["sr"].updated_at = clock.now()
            db.flush()
            again = client.get(
                f"{API}/{path}",
                headers={
                    "If-None-Match": first.headers["ETag"],
                    "If-Modified-Since": first.headers["Last-Modified"],
                },
            )
        finally:
            clock.freeze(None)
        assert again.status_code == 200
        assert "Now deeper" in again.get_data(as_text=True)
        assert again.headers["ETag"] != first.headers["ETag"]
        assert again.headers["Last-Modified"] != first.headers["Last-Modified"]


def test_an_edited_service_changes_the_etag(client, city, db):
    first = client.get(f"{API}/services.json")
    city["pothole"].name = "Pothole or sinkhole"
    db.flush()
    again = client.get(f"{API}/services.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.headers["ETag"] != first.headers["ETag"]


def test_compressed_answers_have_their_own_etag(client, city, make):
    for n in range(30):
        make.request(category=city["pothole"], description=f"Hole number {n} " + "deep " * 20)
    plain = client.get(f"{API}/requests.json")
    packed = client.get(f"{API}/requests.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 3
    assert packed.headers["ETag"] != plain.headers["ETag"]
    again = client.get(
        f"{API}/requests.json",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]},
    )
    assert again.status_code == 304
    small = client.get(f"{API}/services/pothole.json", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers  # under the threshold


def test_pages_are_compressed_too(client, city):
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers["Content-Encoding"] == "gzip"
    assert b"<html" in gzip.decompress(page.data)


def test_discovery_changeset_is_the_catalogue_last_change(client, city, make):
    first = client.get(f"{API}/discovery.json").get_json()
    created = city["private"].created_at
    assert first["changeset"] == first["endpoints"][0]["changeset"]
    assert datetime.fromisoformat(first["changeset"].replace("Z", "+00:00")) == (
        created.replace(tzinfo=UTC, microsecond=0)
        if created.tzinfo is None
        else created.replace(microsecond=0)
    )
    clock.freeze(datetime.now(UTC) + timedelta(days=1))
    try:
        make.category(code="graffiti")
        later = client.get(f"{API}/discovery.json").get_json()
    finally:
        clock.freeze(None)
    assert later["changeset"] > first["changeset"]


# -- bodies, private requests, status notes --------------------------------------------------


def test_a_json_body_is_refused_clearly(client, city, db):
    before = _count(db)
    response = client.post(
        f"{API}/requests.json",
        data=json.dumps(_form(city)),
        content_type="application/json",
    )
    assert response.status_code == 415
    (error,) = response.get_json()
    assert "form fields" in error["description"] and "api_key was not" not in error["description"]
    assert _count(db) == before


def test_services_say_which_are_private(client, city):
    rows = {r["service_code"]: r for r in client.get(f"{API}/services.json").get_json()}
    assert rows["abuse"]["private"] is True and rows["pothole"]["private"] is False
    assert "<private>true</private>" in client.get(f"{API}/services.xml").get_data(as_text=True)


def test_the_filing_key_reads_back_a_private_request(client, city):
    posted = client.post(f"{API}/requests.json", data=_form(city, service_code="abuse"))
    assert posted.status_code == 201, posted.get_data(as_text=True)
    ref = posted.get_json()[0]["service_request_id"]
    assert client.get(f"{API}/requests/{ref}.json").status_code == 404
    assert (
        client.get(f"{API}/requests/{ref}.json", query_string={"api_key": city["other_raw"]})
    ).status_code == 404
    (row,) = client.get(
        f"{API}/requests/{ref}.json", query_string={"api_key": city["raw"]}
    ).get_json()
    assert row["service_request_id"] == ref and row["status"] == "open"
    by_header = client.get(f"{API}/requests/{ref}.xml", headers={"X-Api-Key": city["raw"]})
    assert by_header.status_code == 200
    listed = client.get(f"{API}/requests.json", query_string={"api_key": city["raw"]}).get_json()
    assert ref not in [r["service_request_id"] for r in listed]


def test_status_notes_after_a_reopen(client, city, db, app):
    sr = city["sr"]
    settings = app.extensions["portal.settings"]
    updates.change_status(db, settings=settings, request=sr, target="in_progress", actor=None)
    updates.change_status(
        db,
        settings=settings,
        request=sr,
        target="resolved",
        actor=None,
        note="All the work on this request is done.",
    )
    db.flush()
    (row,) = client.get(f"{API}/requests/{sr.reference}.json").get_json()
    assert row["status"] == "closed"
    assert row["status_notes"] == "All the work on this request is done."
    updates.reopen(db, settings=settings, request=sr, comment="The hole is back.")
    db.flush()
    for path in (f"requests/{sr.reference}.json", "requests.json"):
        rows = client.get(f"{API}/{path}").get_json()
        row = next(r for r in rows if r["service_request_id"] == sr.reference)
        assert row["status"] == "open"
        assert row["status_notes"] == "Reopened: the work on this request continues."
