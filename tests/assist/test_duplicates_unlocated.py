"""Possible duplicates of requests without a map position (filed by phone or email with an
address in words, or only a neighbourhood): compared on what they have, the same address
(written another way) or the same neighbourhood and category, close in time; a pair only the
neighbourhood places together is never more than "possible". Filed through staff intake and
Open311; read through the case page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.areas.models import Area
from portal.assist.models import DuplicateCandidate
from portal.requests.models import ServiceRequest
from tests.assist.test_duplicates import FIRST, SECOND, City, file, panel
from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE

#: A neighbourhood east of the one around INSIDE.
EAST = [[-86.99, 40.99], [-86.97, 40.99], [-86.97, 41.01], [-86.99, 41.01], [-86.99, 40.99]]


class Places(City):
    def __init__(self, make, db) -> None:
        super().__init__(make, db)
        self.west = db.scalar(select(Area).order_by(Area.id))  # City's first
        self.east = make.area(code="east", name="East End", ring=EAST)


@pytest.fixture
def city(make, db, client) -> Places:
    places = Places(make, db)
    sign_in(client, places.agent)
    return places


def phone(client, db, *, description, address, area=None):
    """A caller's report typed in by staff: an address in words (not in the city's register,
    so no position) and the neighbourhood when the caller named it."""
    page = client.get("/staff/intake/?category=pothole").get_data(as_text=True)
    response = client.post(
        "/staff/intake/",
        data={
            "csrf_token": csrf_from(page),
            "action": "file",
            "channel": "phone",
            "category": "pothole",
            "description": description,
            "address": address,
            "area": area.code if area is not None else "",
            "locale": "en",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    case = db.scalar(select(ServiceRequest).order_by(ServiceRequest.id.desc()))
    assert case.lat is None and case.channel == "phone"
    return case


def candidates(db, sr) -> dict[int, float]:
    rows = db.scalars(select(DuplicateCandidate).where(DuplicateCandidate.request_id == sr.id))
    return {row.candidate_id: row.score for row in rows}


def test_the_same_address_in_other_words_is_a_likely_duplicate(client, db, city):
    first = phone(client, db, description=FIRST, address="12 Main Street", area=city.west)
    elsewhere = phone(client, db, description=FIRST, address="80 Main Street", area=city.east)
    second = phone(client, db, description=SECOND, address="12 main st.", area=city.west)
    assert set(candidates(db, second)) == {first.id}
    html = client.get(f"/staff/cases/{second.reference}").get_data(as_text=True)
    shown = panel(html)
    assert f'data-duplicate="{first.reference}" data-strength="likely"' in shown
    assert "same address" in shown and "same category" in shown
    assert elsewhere.reference not in shown
    # No neighbourhood named: the address typed alike still finds it.
    third = phone(client, db, description=SECOND, address="12 MAIN STREET")
    assert third.area_id is None
    assert first.id in candidates(db, third)
    assert "same address" in panel(
        client.get(f"/staff/cases/{third.reference}").get_data(as_text=True)
    )


def test_the_same_neighbourhood_alone_is_only_a_possible_duplicate(client, db, city):
    located = file(client, db, city, description=FIRST)  # Open311, on the map, in the west
    tree = file(client, db, city, description=FIRST, code="tree")
    assert located.area_id == city.west.id and tree.area_id == city.west.id
    caller = phone(client, db, description=SECOND, address="by the library", area=city.west)
    found = candidates(db, caller)
    assert set(found) == {located.id}  # not the tree: another category
    assert found[located.id] < 0.67
    shown = panel(client.get(f"/staff/cases/{caller.reference}").get_data(as_text=True))
    assert f'data-duplicate="{located.reference}" data-strength="possible"' in shown
    assert "same neighbourhood (no map location to compare)" in shown
    spanish = client.get(f"/staff/cases/{caller.reference}?lang=es").get_data(as_text=True)
    assert "mismo barrio (sin ubicación en el mapa para comparar)" in panel(spanish)
    # Another neighbourhood, no address in common: nothing.
    east = phone(client, db, description=FIRST, address="by the school", area=city.east)
    assert candidates(db, east) == {}
    # A later report on the map in the same neighbourhood, 550 m from the first (farther than
    # the radius), is compared with the caller's.
    later = file(client, db, city, description=FIRST, at=(INSIDE[0] + 0.005, INSIDE[1]))
    assert set(candidates(db, later)) == {caller.id}
