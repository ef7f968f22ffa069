"""What looks like personal details in a public description, and what does not."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.requests.models import ServiceRequest
from portal.requests.personal import personal_details
from tests.factories import INSIDE
from tests.requests.test_filing import Journey, city  # noqa: F401 (the fixture)

POSITIVE = [
    ("Call me on 312-555-0142 when you come", "phone", "312-555-0142"),
    ("my number is (312) 555-0142", "phone", "(312) 555-0142"),
    ("ring +1 312 555 0142 anytime", "phone", "+1 312 555 0142"),
    ("text 312.555.0142", "phone", "312.555.0142"),
    ("call 3125550142", "phone", "3125550142"),
    ("neighbour's mobile +44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("llame al +34 612 34 56 78", "phone", "+34 612 34 56 78"),
    ("the landlord's line 555-0142", "phone", "555-0142"),
    ("email ana.lopez@example.org for access", "email", "ana.lopez@example.org"),
    ("Write to J.Smith+city@mail.co.uk.", "email", "J.Smith+city@mail.co.uk"),
    ("A white van ABC 1234 parks here daily", "plate", "ABC 1234"),
    ("car with plate XYZ-789 blocks the hydrant", "plate", "XYZ-789"),
    ("the truck 7ABC123 dumped tyres", "plate", "7ABC123"),
    ("licence plate is ab12 cde", "plate", "ab12 cde"),
    ("License plate number: 4GTR921", "plate", "4GTR921"),
]

NEGATIVE = [
    "Pothole outside 1234 Main Street",
    "Since 2024-03-15 the light has been out",
    "Reported on 03/15/2024 and 15.03.2024",
    "It started at 10:30 and again at 22:45",
    "Debris on I-94 near exit 43",
    "Sign down on US 131 and on IL-394 by the bridge",
    "Same as SR-2026-000123 reported last week",
    "The 100-1200 block of Elm Street floods",
    "Hydrant at 41.87811, -87.62980",
    "Mail goes to PO BOX 1234",
    "Apartment APT 402, unit STE 300",
    "Wear an N95 mask, the smell is strong; PM2.5 is high",
    "Lights 1-5 on poles 12-18 are out",
    "Budget of $1,250,000 for 2025-2026",
    "Bus 151 and route 36 stop here",
    "Call 911 if anyone is hurt",
    "Zip code 60601-1234 area",
    "price tag 2024 on the sign",
    "the plate 2 weeks ago cracked",
    "an email @ the office",
    "COVID-19 testing site trash",
    "4WD vehicles and 2nd floor windows",
]


@pytest.mark.pure
@pytest.mark.parametrize(("text", "kind", "found"), POSITIVE)
def test_personal_details_are_found(text, kind, found):
    findings = personal_details(text)
    assert [(f.kind, f.text) for f in findings] == [(kind, found)]


@pytest.mark.pure
@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_descriptions_are_not_flagged(text):
    assert personal_details(text) == []


@pytest.mark.pure
def test_several_kinds_are_all_reported_once():
    text = "Ana (ana@example.org, 312-555-0142) saw ABC 1234; ana@example.org again"
    assert [(f.kind, f.text) for f in personal_details(text)] == [
        ("phone", "312-555-0142"),
        ("email", "ana@example.org"),
        ("plate", "ABC 1234"),
    ]
    assert personal_details("") == []


# -- the warning before filing ----------------------------------------------------------------


def _to_check(client, description: str, *, private: bool = False):
    journey = Journey(client)
    journey.get("/report/")
    journey.post("/report/", {"category": "pothole"})
    journey.get("/report/details")
    response = journey.post(
        "/report/details", {"description": description, "q_size": "large", "q_depth_cm": "12"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    journey.get("/report/location")
    journey.post(
        "/report/location",
        {"address": "12 Mill Street", "lat": str(INSIDE[0]), "lon": str(INSIDE[1])},
    )
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    contact = {"name": "", "email": "", "phone": ""}
    if private:
        contact["private"] = "y"
    journey.post("/report/contact", contact)
    return journey


@pytest.mark.usefixtures("city")
def test_a_public_description_with_a_phone_number_is_warned_about_before_filing(client, db):
    journey = _to_check(client, "Van ABC 1234 dumps rubbish; owner's number 312-555-0142")
    page = journey.get("/report/check").get_data(as_text=True)
    assert "This will be public — remove personal details?" in page
    assert "A phone number: <strong>312-555-0142</strong>" in page
    assert "A licence plate: <strong>ABC 1234</strong>" in page
    assert 'href="/report/details">Edit the description</a>' in page
    assert 'name="file_anyway" value="1"' in page

    # Posting the plain form (a page opened before the description changed) does not file.
    refused = journey.post("/report/check")
    assert refused.status_code == 400
    assert "This will be public" in refused.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0

    filed = journey.post("/report/check", {"file_anyway": "1"})
    assert filed.status_code == 302 and filed.headers["Location"].endswith("/report/done")
    assert db.scalar(select(ServiceRequest.description)).endswith("312-555-0142")


@pytest.mark.usefixtures("city")
def test_editing_the_description_removes_the_warning(client, db):
    journey = _to_check(client, "Write to ana@example.org about the hole")
    assert "This will be public" in journey.get("/report/check").get_data(as_text=True)
    journey.get("/report/details")
    journey.post(
        "/report/details",
        {"description": "Deep hole by the bus stop", "q_size": "large", "q_depth_cm": "12"},
    )
    page = journey.get("/report/check").get_data(as_text=True)
    assert "This will be public" not in page
    assert journey.post("/report/check").status_code == 302


@pytest.mark.usefixtures("city")
def test_a_private_request_is_not_warned_about(client):
    journey = _to_check(client, "Call me on 312-555-0142", private=True)
    page = journey.get("/report/check").get_data(as_text=True)
    assert "Private request" in page and "This will be public" not in page
    assert journey.post("/report/check").status_code == 302
