"""Reports written offline, filed by one POST with an Idempotency-Key (issues 21 and 24)."""

from __future__ import annotations

import io
import threading
import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal import create_app
from portal.core import clock
from portal.core.idempotency import IdempotencyKey
from portal.jobs import purge_idempotency_keys
from portal.migrate import upgrade
from portal.requests.models import RequestPhoto, ServiceRequest
from tests.conftest import own_app_client
from tests.factories import INSIDE, OUTSIDE, Factories
from tests.postgres import scratch_postgres

ORIGIN = {"Origin": "http://localhost"}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def city(make):
    area = make.area(code="old-town", name="Old Town")
    category = make.category(
        code="pothole",
        name="Pothole",
        translations={"es": {"name": "Bache"}},
        questions=[
            {
                "code": "size",
                "kind": "single",
                "required": True,
                "options": [{"key": "small", "label": "Small"}, {"key": "large", "label": "Large"}],
            }
        ],
    )
    return area, category


def body(**changes):
    data = {
        "category": "pothole",
        "description": "A deep hole by the school gate",
        "q_size": "large",
        "lat": str(INSIDE[0]),
        "lon": str(INSIDE[1]),
        "address": "",
        "email": "ana@example.org",
        "locale": "en",
    }
    data.update(changes)
    return data


def post(client, data, key, *, photo=False, headers=ORIGIN):
    if photo:
        data = {**data, "photos": (io.BytesIO(jpeg()), "hole.jpg")}
    return client.post(
        "/report/offline-submit",
        data=data,
        headers={**headers, "Idempotency-Key": key} if key is not None else headers,
        content_type="multipart/form-data",
    )


def count(db, model=ServiceRequest) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_files_once_and_a_replay_gets_the_same_answer(client, db, city):
    key = str(uuid.uuid4())
    first = post(client, body(), key, photo=True)
    assert first.status_code == 201, first.get_data(as_text=True)
    answer = first.get_json()
    assert answer["reference"].startswith("SR-")
    assert answer["url"] == f"/requests/{answer['reference']}"
    filed = db.scalar(select(ServiceRequest))
    assert filed.description == "A deep hole by the school gate"
    assert filed.answers == {"size": "large"}
    assert filed.area.code == "old-town" and filed.channel == "web"
    assert count(db, RequestPhoto) == 1

    again = post(client, body(), key, photo=True)
    assert again.status_code == 200
    assert again.get_json() == answer
    assert count(db) == 1 and count(db, RequestPhoto) == 1 and count(db, IdempotencyKey) == 1
    # The page that filed it may open it (the reporter's grant, as after the wizard).
    assert client.get(answer["url"]).status_code == 200


def test_the_same_key_with_another_report_is_refused(client, db, city):
    key = str(uuid.uuid4())
    assert post(client, body(), key).status_code == 201
    other = post(client, body(description="Something else entirely"), key)
    assert other.status_code == 409
    assert "different report" in other.get_json()["error"]
    assert count(db) == 1


def test_a_withdrawn_category_is_refused_in_the_drafts_language(client, db, city):
    _area, category = city
    category.active = False
    db.flush()
    refused = post(client, body(locale="es"), str(uuid.uuid4()), photo=True)
    assert refused.status_code == 422
    message = refused.get_json()["errors"]["category"]
    assert "Este tipo de problema ya no se puede" in message
    assert count(db) == 0 and count(db, RequestPhoto) == 0 and count(db, IdempotencyKey) == 0


def test_a_place_outside_the_city_is_refused_and_the_key_stays_free(client, db, city):
    key = str(uuid.uuid4())
    refused = post(client, body(lat=str(OUTSIDE[0]), lon=str(OUTSIDE[1])), key)
    assert refused.status_code == 422
    assert "outside City of Riverton" in refused.get_json()["errors"]["address"]
    assert count(db) == 0
    # Corrected on the device, the same draft (and key) is sent again and filed.
    assert post(client, body(), key).status_code == 201
    assert count(db) == 1


def test_every_problem_is_named_by_its_field(client, db, city):
    refused = post(
        client, body(description="", q_size="huge", email="not-an-address"), str(uuid.uuid4())
    )
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert set(errors) == {"description", "q_size", "email"}
    assert errors["q_size"].startswith("Choose one of the options")
    assert count(db) == 0


def test_personal_details_in_a_public_report_are_asked_about_first(client, db, city):
    """The check step's warning: refused (and marked ``personal``) until sent anyway."""
    key = str(uuid.uuid4())
    told = "The driver left a note: call 555-010-2030 about it"
    refused = post(client, body(description=told), key)
    assert refused.status_code == 422
    answer = refused.get_json()
    assert answer["personal"] is True
    assert "A phone number: 555-010-2030" in answer["errors"]["description"]
    assert count(db) == 0
    assert post(client, body(description=told, file_anyway="1"), key).status_code == 201
    # A private report is read by staff only: no question.
    private = post(client, body(description=told, private="1"), str(uuid.uuid4()))
    assert private.status_code == 201


def test_the_number_of_the_citys_asset(client, db, make, city):
    _area, category = city
    layer = make.asset_layer()
    make.asset(layer, "SL-1042", INSIDE[0], INSIDE[1])
    category.asset_layer_id = layer.id
    category.asset_required = True
    db.flush()
    page = client.get("/report/offline").get_data(as_text=True)
    assert '"asset": {"layer": "Streetlights", "required": true}' in page
    missing = post(client, body(), str(uuid.uuid4()))
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {
        "asset": "Choose one from the list, or type the number written on it."
    }
    unknown = post(client, body(asset="SL-9"), str(uuid.uuid4()))
    assert "SL-9 is not one of the city's Streetlights" in unknown.get_json()["errors"]["asset"]
    filed = post(client, body(asset="SL-1042"), str(uuid.uuid4()))
    assert filed.status_code == 201
    assert db.scalar(select(ServiceRequest.asset_ref)) == "SL-1042"


def test_sending_is_rate_limited_like_the_form(settings):
    with own_app_client(replace(settings, ratelimit_enabled=True)) as client:
        statuses = [post(client, body(), "k" * 16, headers={}).status_code for _ in range(21)]
    assert statuses == [403] * 20 + [429]


@pytest.mark.parametrize(
    "key", [None, "", "short", "x" * 129, "has spaces in it ok", "ñandú-ñandú-ñandú", "a/b" * 8]
)
def test_a_missing_or_malformed_key_is_refused(client, db, city, key):
    refused = post(client, body(), key)
    assert refused.status_code == 400
    assert "Idempotency-Key" in refused.get_json()["error"]
    assert count(db) == 0


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}]
)
def test_a_post_from_another_site_is_refused(client, db, city, headers):
    refused = post(client, body(), str(uuid.uuid4()), headers=headers)
    assert refused.status_code == 403
    assert count(db) == 0


def test_a_referer_of_this_site_will_do(client, db, city):
    sent = post(client, body(), str(uuid.uuid4()), headers={"Referer": "http://localhost/x"})
    assert sent.status_code == 201


def test_a_key_older_than_a_day_is_new_again_and_purged(client, db, app, city, freeze_clock):
    """Decision: the store forgets a key after 24 hours, so a key sent again later files a new
    request (the device deletes a draft as soon as it is answered, so it never resends one
    that was filed; the key only guards retries, which come within minutes)."""
    key = str(uuid.uuid4())
    start = clock.now()
    freeze_clock(start)
    assert post(client, body(), key).status_code == 201
    freeze_clock(start + timedelta(hours=23))
    assert post(client, body(), key).status_code == 200
    freeze_clock(start + timedelta(hours=24, minutes=1))
    assert post(client, body(), key).status_code == 201
    assert count(db) == 2 and count(db, IdempotencyKey) == 1
    db.add(
        IdempotencyKey(
            scope="web-filing", key="old" * 8, fingerprint="0" * 64, created_at=start, owner=""
        )
    )
    db.flush()
    message = purge_idempotency_keys(
        app.extensions["portal.db"], app.extensions["portal.settings"], clock.now()
    )
    assert message == "purged 1 idempotency key(s)"
    assert count(db, IdempotencyKey) == 1


def test_the_page_carries_the_catalogue_in_spanish(client, city):
    page = client.get("/report/offline?lang=es").get_data(as_text=True)
    assert '"name": "Bache"' in page or '"name":"Bache"' in page
    assert "Esperando para enviar" in page


@contextmanager
def _sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'retries.db'}"


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_ten_concurrent_retries_file_one_request(settings, engine, tmp_path):
    scratch = scratch_postgres() if engine == "postgresql" else _sqlite(tmp_path)
    with scratch as url:
        upgrade(url)
        app = create_app(replace(settings, database_url=url))
        db = app.extensions["portal.db"]
        session = db.session(write=True)
        make = Factories(session, app.extensions["portal.settings"])
        make.area()
        make.category(
            code="pothole",
            questions=[{"code": "size", "kind": "text", "required": False}],
        )
        session.commit()
        session.close()

        key = str(uuid.uuid4())
        barrier = threading.Barrier(10)
        answers: list[tuple[int, dict]] = []
        errors: list[BaseException] = []

        def send() -> None:
            try:
                client = app.test_client()
                barrier.wait()
                response = post(client, body(q_size="big"), key, photo=True)
                answers.append((response.status_code, response.get_json()))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=send) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        codes = sorted(code for code, _ in answers)
        assert codes == [200] * 9 + [201], answers
        assert len({a["reference"] for _, a in answers}) == 1
        check = db.session()
        assert check.scalar(select(func.count()).select_from(ServiceRequest)) == 1
        assert check.scalar(select(func.count()).select_from(RequestPhoto)) == 1
        assert check.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
        check.close()
        db.dispose()
