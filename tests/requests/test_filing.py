"""Filing a request through the web form, step by step, as a resident would."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.core.outbox import OutboxMessage
from portal.requests.models import Event, RequestDraft, RequestPhoto, ServiceRequest
from tests.conftest import csrf_from
from tests.factories import INSIDE, OUTSIDE

QUESTIONS = [
    {
        "code": "size",
        "kind": "single",
        "required": True,
        "options": [
            {"key": "small", "label": "Smaller than a plate"},
            {"key": "large", "label": "Larger than a plate"},
        ],
    },
    {"code": "depth_cm", "kind": "number", "required": False},
    {
        "code": "gas",
        "kind": "yesno",
        "required": False,
        "stop_values": ["yes"],
        "stop_message": "Leave the area and call the gas emergency line now.",
    },
]


@pytest.fixture
def city(make):
    area = make.area(name="Old Town", code="old-town")
    category = make.category(
        code="pothole",
        name="Pothole",
        questions=QUESTIONS,
        notice="Call 911 if anyone is hurt.",
        notice_level="warning",
    )
    return area, category


class Journey:
    """Walks the form like a browser: GET each page, post with its CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        if b'name="csrf_token"' in response.data:
            self.token = csrf_from(response.get_data(as_text=True))
        return response

    def post(self, url, data=None, **kw):
        if self.token is None:
            self.get(url)
        payload = {"csrf_token": self.token, **(data or {})}
        response = self.client.post(url, data=payload, **kw)
        if b'name="csrf_token"' in response.data:
            self.token = csrf_from(response.get_data(as_text=True))
        return response

    def through_location(self, *, lat=INSIDE[0], lon=INSIDE[1], address="12 Mill Street"):
        self.get("/report/")
        assert self.post("/report/", {"category": "pothole"}).status_code == 302
        self.get("/report/details")
        response = self.post(
            "/report/details",
            {"description": "Deep hole by the bus stop", "q_size": "large", "q_depth_cm": "12"},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        self.get("/report/location")
        return self.post("/report/location", {"address": address, "lat": str(lat), "lon": str(lon)})


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (41.0, 0.0, 0.0), 3: "W", 4: (87.0, 0.0, 0.0)}  # GPSInfo
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_anonymous_resident_files_a_request_end_to_end(client, db, city, app):
    area, category = city
    journey = Journey(client)
    response = journey.through_location()
    assert response.headers["Location"].endswith("/report/photos")
    journey.get("/report/photos")
    response = journey.post(
        "/report/photos",
        {
            "action": "continue",
            "photos": [(io.BytesIO(jpeg_with_gps()), "IMG_0001.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    journey.get("/report/contact")
    response = journey.post(
        "/report/contact", {"name": "Ana Ruiz", "email": "Ana@Example.org", "phone": ""}
    )
    assert response.headers["Location"].endswith("/report/check")
    page = journey.get("/report/check").get_data(as_text=True)
    assert "Deep hole by the bus stop" in page and "Larger than a plate" in page
    response = journey.post("/report/check")
    assert response.headers["Location"].endswith("/report/done")
    done = client.get("/report/done").get_data(as_text=True)

    filed = db.scalar(select(ServiceRequest))
    assert filed.reference in done
    assert filed.reference.startswith("SR-") and len(filed.reference.split("-")[2]) == 6
    assert filed.area_id == area.id
    assert filed.department_id == category.department_id
    assert filed.answers == {"size": "large", "depth_cm": 12}
    assert filed.contact_email == "ana@example.org"
    assert filed.tracking_token_hash is not None
    photo = db.scalar(select(RequestPhoto).where(RequestPhoto.request_id == filed.id))
    upload_dir = app.extensions["portal.settings"].upload_dir
    with Image.open(f"{upload_dir}/{photo.storage_key}") as stored:
        assert stored.format == "JPEG"
        assert not stored.getexif(), "EXIF (GPS, camera) must be stripped"
    assert db.scalar(select(func.count()).select_from(RequestDraft)) == 0
    kinds = db.scalars(
        select(Event.kind).where(Event.request_id == filed.id).order_by(Event.id)
    ).all()
    assert kinds == ["submitted", "routed"]  # routing notes its decision (internal)
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "ana@example.org"))
    assert filed.reference in mail.subject
    assert f"/requests/{filed.reference}/access/" in mail.body_text


def test_going_back_keeps_what_was_entered(client, city):
    journey = Journey(client)
    journey.through_location(address="99 Elm Street")
    details = journey.get("/report/details").get_data(as_text=True)
    assert "Deep hole by the bus stop" in details
    assert 'value="large" checked' in details
    location = journey.get("/report/location").get_data(as_text=True)
    assert 'value="99 Elm Street"' in location


@pytest.mark.parametrize(
    "form, message",
    [
        ({"description": "", "q_size": "large"}, "Describe the problem"),
        ({"description": "x" * 4001, "q_size": "large"}, "4000 characters or fewer"),
        ({"description": "Hole", "q_size": ""}, "Answer the question"),
        ({"description": "Hole", "q_size": "huge"}, "Choose one of the options"),
        ({"description": "Hole", "q_size": "small", "q_depth_cm": "deep"}, "Enter a number"),
    ],
)
def test_details_errors_are_shown_next_to_the_field(client, city, form, message):
    journey = Journey(client)
    journey.post("/report/", {"category": "pothole"})
    journey.get("/report/details")
    response = journey.post("/report/details", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert "usa-error-message" in page


def test_a_stopper_answer_ends_the_form_with_guidance(client, db, city):
    journey = Journey(client)
    journey.post("/report/", {"category": "pothole"})
    journey.get("/report/details")
    response = journey.post(
        "/report/details", {"description": "Smell", "q_size": "small", "q_gas": "yes"}
    )
    assert response.headers["Location"].endswith("/report/stop")
    page = client.get("/report/stop").get_data(as_text=True)
    assert "call the gas emergency line" in page
    assert client.get("/report/location").status_code == 302  # cannot skip past it... yet
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_the_category_notice_is_shown(client, city):
    journey = Journey(client)
    journey.post("/report/", {"category": "pothole"})
    assert "Call 911 if anyone is hurt." in client.get("/report/details").get_data(as_text=True)


def test_a_point_outside_the_city_is_refused(client, city):
    journey = Journey(client)
    response = journey.through_location(lat=OUTSIDE[0], lon=OUTSIDE[1])
    assert response.status_code == 400
    assert "outside" in response.get_data(as_text=True)


@pytest.mark.parametrize("lat, lon", [("abc", "1"), ("nan", "inf"), ("41.0", "")])
def test_garbage_coordinates_are_refused_clearly(client, city, lat, lon):
    journey = Journey(client)
    response = journey.through_location(lat=lat, lon=lon)
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)


def test_an_address_alone_is_enough(client, city):
    journey = Journey(client)
    response = journey.through_location(lat="", lon="")
    assert response.headers["Location"].endswith("/report/photos")


def test_no_address_and_no_point_is_refused(client, city):
    journey = Journey(client)
    response = journey.through_location(lat="", lon="", address="")
    assert response.status_code == 400
    assert "Enter a street address" in response.get_data(as_text=True)


def test_a_file_that_is_not_an_image_is_refused(client, db, city):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    response = journey.post(
        "/report/photos",
        {
            "action": "continue",
            "photos": [(io.BytesIO(b"%PDF-1.4 not a photo"), "photo.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "photo.jpg is not a photo" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(RequestPhoto)) == 0


def test_an_oversized_photo_is_refused(client, city):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    big = jpeg_with_gps() + b"\0" * (10 * 1024 * 1024)
    response = journey.post(
        "/report/photos",
        {
            "action": "continue",
            "photos": [(io.BytesIO(big), "huge.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "larger than 10 MB" in response.get_data(as_text=True)


def test_at_most_three_photos(client, db, city):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    files = [(io.BytesIO(jpeg_with_gps()), f"p{i}.jpg") for i in range(4)]
    response = journey.post(
        "/report/photos", {"action": "upload", "photos": files}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "up to 3 photos" in response.get_data(as_text=True)


def test_missing_csrf_token_is_a_clear_400(client, city):
    response = client.post("/report/", data={"category": "pothole"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_unknown_category_is_refused(client, city):
    journey = Journey(client)
    response = journey.post("/report/", {"category": "no-such-thing"})
    assert response.status_code == 400
    assert "Choose the kind of problem" in response.get_data(as_text=True)


def test_steps_cannot_be_skipped(client, city):
    assert client.get("/report/check").headers["Location"].endswith("/report/")
    assert client.get("/report/done").headers["Location"].endswith("/report/")


def test_signed_in_resident_gets_contact_prefilled_and_request_in_their_name(
    client, db, make, city
):
    from tests.factories import PASSWORD

    user = make.user(email="maria@example.org", name="María López", phone="555 010 2030")
    journey = Journey(client)
    journey.get("/account/sign-in")
    journey.post("/account/sign-in", {"email": user.email, "password": PASSWORD})
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    page = journey.get("/report/contact").get_data(as_text=True)
    assert 'value="maria@example.org"' in page and "María López" in page
    journey.post("/report/contact", {"name": user.name, "email": user.email, "phone": ""})
    journey.get("/report/check")
    journey.post("/report/check")
    filed = db.scalar(select(ServiceRequest))
    assert filed.reporter_id == user.id and filed.tracking_token_hash is None


def test_nearby_open_requests_are_offered_before_filing(client, db, make, city):
    _area, category = city
    existing = make.request(category=category, lat=INSIDE[0] + 0.0005, lon=INSIDE[1])
    far = make.request(category=category, lat=INSIDE[0] + 0.008, lon=INSIDE[1])
    private = make.request(category=category, private_by_reporter=True)
    journey = Journey(client)
    response = journey.through_location()
    assert response.headers["Location"].endswith("/report/nearby")
    page = journey.get("/report/nearby").get_data(as_text=True)
    assert existing.reference in page and "56 m away" in page
    assert far.reference not in page and private.reference not in page
    response = journey.post("/report/nearby/support", {"reference": existing.reference})
    assert response.status_code == 302
    db.refresh(existing)
    assert existing.support_count == 1
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 3  # nothing new


def test_a_private_request_is_never_public(client, db, city):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {"email": "x@example.org", "private": "y"})
    journey.get("/report/check")
    journey.post("/report/check")
    filed = db.scalar(select(ServiceRequest))
    assert filed.is_public is False and filed.private_by_reporter is True


def test_submitting_twice_files_once(client, db, city):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    journey.get("/report/check")
    journey.post("/report/check")
    again = journey.post("/report/check")
    assert again.headers["Location"].endswith("/report/done")
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 1


def _to_check_page(journey, **contact):
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", contact)
    journey.get("/report/check")


def test_a_failed_submission_saves_nothing_and_keeps_the_draft(client, db, city):
    _area, category = city
    journey = Journey(client)
    _to_check_page(journey, email="ana@example.org")
    category.active = False  # withdrawn by staff while the resident was typing
    db.flush()
    response = journey.post("/report/check")
    assert response.headers["Location"].endswith("/report/")
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.scalar(select(func.count()).select_from(RequestDraft)) == 1


def test_the_confirmation_email_is_in_the_residents_language(client, db, city):
    journey = Journey(client)
    journey.get("/report/?lang=es")
    _to_check_page(journey, email="ana@example.org")
    journey.post("/report/check")
    mail = db.scalar(select(OutboxMessage))
    assert mail.locale == "es"
    assert mail.subject.startswith("Recibimos su solicitud")
    assert "Número de referencia" in mail.body_text or "Referencia" in mail.body_text
