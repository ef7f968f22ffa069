"""Idempotency-Key on Open311 POST requests.{xml,json}: a retry with the same key and body gets
the first answer again (nothing filed twice), another body a 409, a malformed key a 400, a
refused POST keeps nothing, photos are part of the body, keys are per API key and kept a day,
and ten concurrent retries against a real threaded server file exactly one request on both
engines."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.core import clock
from portal.core.idempotency import IdempotencyKey
from portal.open311 import keys
from portal.requests.models import RequestPhoto, ServiceRequest
from tests.open311.test_post import City, _errors, _form, _parse, _png
from tests.scratch import ENGINES, arrange, scratch_app

URL = "/open311/v2/requests.{fmt}"


@pytest.fixture
def city(make, db) -> City:
    return City(make, db)


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _post(client, form, key, fmt="json", **kwargs):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(URL.format(fmt=fmt), data=form, headers=headers, **kwargs)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_retry_gets_the_first_answer_and_files_nothing(client, db, city, fmt):
    key = str(uuid.uuid4())
    first = _post(client, _form(city), key, fmt)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = _post(client, _form(city), key, fmt)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert (
        _parse(again, fmt)[0]["service_request_id"] == _parse(first, fmt)[0]["service_request_id"]
    )
    assert _count(db, ServiceRequest) == 1
    # Without a key every POST files (as before).
    assert _post(client, _form(city), None, fmt).status_code == 201
    assert _count(db, ServiceRequest) == 2


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_same_key_with_another_body_is_a_409(client, db, city, fmt):
    key = str(uuid.uuid4())
    assert _post(client, _form(city), key).status_code == 201
    refused = _post(client, _form(city, description="Another hole"), key, fmt)
    assert refused.status_code == 409
    assert "already used with a different request body" in _errors(refused, fmt)[0]
    assert _count(db, ServiceRequest) == 1


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space in it ok", "ünïcödé-key-1234567"])
def test_a_malformed_key_is_a_400_and_files_nothing(client, db, city, key):
    refused = _post(client, _form(city), key, "xml")
    assert refused.status_code == 400
    assert "Idempotency-Key must be 16 to 128" in _errors(refused, "xml")[0]
    assert _count(db, ServiceRequest) == 0


def test_a_refused_post_keeps_nothing_so_the_corrected_one_files(client, db, city):
    key = str(uuid.uuid4())
    bad = _post(client, _form(city, **{"attribute[depth]": None}), key)
    assert bad.status_code == 400
    assert _count(db, IdempotencyKey) == 0
    good = _post(client, _form(city), key)
    assert good.status_code == 201
    assert _count(db, ServiceRequest) == 1


def test_photos_are_part_of_the_body(client, db, city):
    key = str(uuid.uuid4())

    def send(colour):
        form = {**_form(city), "media": (io.BytesIO(_png(colour=colour)), "hole.png")}
        return _post(client, form, key, content_type="multipart/form-data")

    assert send((200, 30, 30)).status_code == 201
    replay = send((200, 30, 30))
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert send((30, 200, 30)).status_code == 409
    assert _count(db, ServiceRequest) == 1
    assert _count(db, RequestPhoto) == 1


def test_keys_belong_to_one_api_key(client, db, city):
    other, other_raw = keys.new_key(
        db, label="Other app", rate_limit="60/minute", contact_email="", by=None
    )
    key = str(uuid.uuid4())
    assert _post(client, _form(city), key).status_code == 201
    second = _post(client, {**_form(city), "api_key": other_raw}, key)
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert _count(db, ServiceRequest) == 2


def test_a_key_is_kept_a_day(client, db, city, freeze_clock):
    start = clock.now()
    freeze_clock(start)
    key = str(uuid.uuid4())
    assert _post(client, _form(city), key).status_code == 201
    freeze_clock(start + timedelta(hours=23, minutes=59))
    assert _post(client, _form(city), key).headers.get("Idempotent-Replayed") == "true"
    freeze_clock(start + timedelta(hours=24, minutes=1))
    fresh = _post(client, _form(city), key)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert _count(db, ServiceRequest) == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_ten_concurrent_retries_through_a_real_server_file_one_request(settings, engine, tmp_path):
    with scratch_app(engine, settings, tmp_path) as app:
        form = arrange(app, lambda make: _form(City(make, make.session)))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}/open311/v2/requests.json"
        body = urlencode(form, doseq=True)
        key = str(uuid.uuid4())
        barrier = threading.Barrier(10)
        answers: list[tuple[int, str, str]] = []
        errors: list[BaseException] = []

        def send() -> None:
            try:
                barrier.wait()
                response = httpx.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Idempotency-Key": key,
                    },
                    timeout=60,
                )
                answers.append(
                    (
                        response.status_code,
                        response.json()[0]["service_request_id"],
                        response.headers.get("Idempotent-Replayed", ""),
                    )
                )
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=send) for _ in range(10)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
        finally:
            server.shutdown()
            thread.join(5)
        assert not errors, errors
        assert [code for code, _id, _r in answers] == [201] * 10
        assert len({sid for _c, sid, _r in answers}) == 1
        assert sorted(r for _c, _id, r in answers) == [""] + ["true"] * 9
        session = app.extensions["portal.db"].session()
        try:
            assert _count(session, ServiceRequest) == 1
            assert _count(session, IdempotencyKey) == 1
        finally:
            session.close()
