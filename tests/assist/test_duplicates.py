"""Possible duplicates (issue 22): a second report of the same incident, in other words and
with the first one's photo re-uploaded, is shown to staff as a likely duplicate of the first,
with why; a person merges it with one action or says it is not one. Filed through Open311
(multipart photos) like an app would; read through the case page and the queue."""

from __future__ import annotations

import io
import random
import re
from dataclasses import replace

import pytest
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import func, select

from portal.assist import duplicates
from portal.assist.models import DuplicateCandidate
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.open311 import keys
from portal.requests.models import RequestPhoto, ServiceRequest
from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE

FIRST = "Big pothole in the road by the school gates, my tyre burst on it this morning"
SECOND = "huge hole in the tarmac next to the school entrance, damaged my car wheel"
#: ~40 m north-east of the first.
NEAR = (INSIDE[0] + 0.0003, INSIDE[1] + 0.0002)


def scene(seed: int, size=(1200, 900)) -> Image.Image:
    """A picture of shapes (a stand-in for a photo of the street)."""
    rnd = random.Random(seed)
    image = Image.new("RGB", size, (rnd.randint(0, 255), rnd.randint(0, 255), 90))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rnd.randint(0, size[0]), rnd.randint(0, size[1])
        w, h = rnd.randint(50, 400), rnd.randint(50, 400)
        colour = (rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255))
        draw.ellipse([x, y, x + w, y + h], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(2))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def reuploaded(image: Image.Image) -> bytes:
    """The same photo as a phone shares it again: cropped a little, smaller, re-compressed."""
    w, h = image.size
    cropped = image.crop((int(w * 0.04), int(h * 0.02), int(w * 0.97), int(h * 0.96)))
    return jpeg(cropped.resize((cropped.width // 2, cropped.height // 2)), quality=60)


class City:
    def __init__(self, make, db) -> None:
        make.area()
        self.streets = make.department(code="streets", name="Streets")
        self.parks = make.department(code="parks", name="Parks")
        self.agent = make.staff(self.streets, name="Ada Agent")
        self.parks_agent = make.staff(self.parks, name="Pat Parks")
        self.pothole = make.category(code="pothole", name="Pothole", department=self.streets)
        self.tree = make.category(code="tree", name="Fallen tree", department=self.parks)
        self.key, self.raw = keys.new_key(
            db, label="FixIt app", rate_limit="600/minute", contact_email="", by=None
        )
        db.flush()


@pytest.fixture
def city(make, db) -> City:
    return City(make, db)


def file(client, db, city, *, description, at=INSIDE, photo=None, code="pothole"):
    form = {
        "api_key": city.raw,
        "service_code": code,
        "lat": str(at[0]),
        "long": str(at[1]),
        "description": description,
        "email": "reporter@example.org",
    }
    if photo is not None:
        form["media"] = (io.BytesIO(photo), "photo.jpg")
    response = client.post(
        "/open311/v2/requests.json", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    reference = response.get_json()[0]["service_request_id"]
    return db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))


def panel(html: str) -> str:
    """The "Possible duplicates" section of a case page ("" when there is none)."""
    found = re.search(r'<section[^>]*id="duplicates".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_a_second_report_with_other_words_and_the_photo_again_is_a_likely_duplicate(
    client, db, city
):
    picture = scene(1)
    first = file(client, db, city, description=FIRST, photo=jpeg(picture))
    other = file(client, db, city, description="Streetlight out", at=(41.005, -86.995))
    second = file(client, db, city, description=SECOND, at=NEAR, photo=reuploaded(picture))
    hashes = db.scalars(
        select(RequestPhoto.phash).where(RequestPhoto.request_id.in_([first.id, second.id]))
    ).all()
    assert len(hashes) == 2 and all(len(h) == 16 for h in hashes)

    sign_in(client, city.agent)
    html = client.get(f"/staff/cases/{second.reference}").get_data(as_text=True)
    shown = panel(html)
    assert "Possible duplicates" in shown
    assert f'data-duplicate="{first.reference}" data-strength="likely"' in shown
    assert other.reference not in shown
    why = re.search(r"data-duplicate-why>(.*?)</p>", shown, re.S).group(1)
    assert re.search(r"\d+ m away", why)
    assert "same category" in why
    assert "photo looks the same" in why
    assert "words in common: school" in why
    assert "filed within the hour" in why
    # The first case shows the second from its side too.
    first_page = panel(client.get(f"/staff/cases/{first.reference}").get_data(as_text=True))
    assert f'data-duplicate="{second.reference}"' in first_page
    assert db.scalar(select(ServiceRequest.status).where(ServiceRequest.id == first.id)) == "new"

    # One action: "Merge into this" closes the second as a duplicate of the first.
    response = client.post(
        f"/staff/cases/{second.reference}/merge",
        data={
            "csrf_token": csrf_from(html),
            "into": first.reference,
            "version": second.version,
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(ServiceRequest, second.id).status == "duplicate"
    assert db.get(ServiceRequest, second.id).duplicate_of_id == first.id
    row = db.scalar(select(DuplicateCandidate).where(DuplicateCandidate.request_id == second.id))
    assert row.decision == "merged" and row.decided_by_id == city.agent.id
    assert f'data-duplicate="{second.reference}"' not in panel(
        client.get(f"/staff/cases/{first.reference}").get_data(as_text=True)
    )


def test_not_a_duplicate_dismisses_it_recorded_and_audited(client, db, city):
    first = file(client, db, city, description=FIRST)
    second = file(client, db, city, description=FIRST, at=NEAR)
    sign_in(client, city.agent)
    html = client.get(f"/staff/cases/{second.reference}").get_data(as_text=True)
    assert f'data-duplicate="{first.reference}"' in panel(html)
    row = db.scalar(select(DuplicateCandidate).where(DuplicateCandidate.request_id == second.id))
    response = client.post(
        f"/staff/cases/{second.reference}/not-duplicate",
        data={"csrf_token": csrf_from(html), "candidate": row.id, "version": second.version},
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Marked as not a duplicate." in page
    assert f'data-duplicate="{first.reference}"' not in panel(page)
    assert "None found." in panel(page)
    db.expire_all()
    assert row.decision == "not_duplicate" and row.decided_by_id == city.agent.id
    assert db.get(ServiceRequest, second.id).status == "new"  # nothing else changed
    audit = db.scalar(select(AuditEntry).where(AuditEntry.entity == "duplicate_candidate"))
    assert audit.action == "not_duplicate" and audit.actor_id == city.agent.id
    # Twice, or someone else's candidate: a message, nothing changes.
    again = client.post(
        f"/staff/cases/{second.reference}/not-duplicate",
        data={"csrf_token": csrf_from(html), "candidate": row.id, "version": second.version},
    )
    assert again.status_code == 400
    assert "no longer a possible duplicate" in again.get_data(as_text=True)
    bad = client.post(
        f"/staff/cases/{second.reference}/not-duplicate",
        data={"csrf_token": csrf_from(html), "candidate": "x", "version": second.version},
    )
    assert bad.status_code == 400


def test_the_queue_filter_lists_cases_with_an_undecided_candidate(client, db, city):
    first = file(client, db, city, description=FIRST)
    second = file(client, db, city, description=FIRST, at=NEAR)
    alone = file(client, db, city, description="Streetlight out", at=(41.005, -86.995))
    sign_in(client, city.agent)
    html = client.get("/staff/queue/department?mark=possible_duplicates").get_data(as_text=True)
    assert "Possible duplicates" in html
    assert first.reference in html and second.reference in html
    assert alone.reference not in html
    plain = client.get("/staff/queue/department").get_data(as_text=True)
    assert alone.reference in plain
    bad = client.get("/staff/queue/department?mark=nonsense")
    assert bad.status_code == 200 and alone.reference in bad.get_data(as_text=True)


def test_a_candidate_the_member_may_not_open_is_not_shown(client, db, city):
    picture = scene(2)
    tree = file(client, db, city, description=FIRST, code="tree", photo=jpeg(picture))
    pothole = file(client, db, city, description=FIRST, at=NEAR, photo=reuploaded(picture))
    assert db.scalar(
        select(DuplicateCandidate).where(DuplicateCandidate.request_id == pothole.id)
    ), "scored across departments"
    sign_in(client, city.agent)  # Streets: may open the pothole, not the Parks case
    shown = panel(client.get(f"/staff/cases/{pothole.reference}").get_data(as_text=True))
    assert shown and tree.reference not in shown


def test_switched_off_filing_works_and_there_is_no_panel(app, client, db, city):
    app.extensions["portal.settings"] = replace(
        app.extensions["portal.settings"], assist_duplicates=False
    )
    app.extensions["portal.city"].clear(app.extensions["portal.settings"])
    file(client, db, city, description=FIRST)
    second = file(client, db, city, description=FIRST, at=NEAR)
    assert db.scalar(select(func.count()).select_from(DuplicateCandidate)) == 0
    sign_in(client, city.agent)
    page = client.get(f"/staff/cases/{second.reference}")
    assert page.status_code == 200 and not panel(page.get_data(as_text=True))


def test_a_failure_while_scoring_never_stops_filing(client, db, city, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the scorer broke")

    file(client, db, city, description=FIRST)
    monkeypatch.setattr(duplicates, "candidates_for", broken)
    second = file(client, db, city, description=FIRST, at=NEAR)
    assert second.status == "new"
    assert "possible duplicates of request" in caplog.text
    assert db.scalar(select(func.count()).select_from(DuplicateCandidate)) == 0
    monkeypatch.setattr(duplicates, "for_case", broken)
    sign_in(client, city.agent)
    page = client.get(f"/staff/cases/{second.reference}")
    assert page.status_code == 200 and not panel(page.get_data(as_text=True))


def test_the_cli_scores_existing_requests_again(db, make, runner, city):
    first = make.request(category=city.pothole, description=FIRST)
    second = make.request(category=city.pothole, description=FIRST, lat=NEAR[0], lon=NEAR[1])
    result = runner.invoke(args=["assist", "duplicates"])
    assert result.exit_code == 0, result.output
    assert "scored for 2 request(s)" in result.output
    rows = db.scalars(select(DuplicateCandidate)).all()
    assert [(r.request_id, r.candidate_id) for r in rows] == [(second.id, first.id)]


def test_metrics_count_what_people_decided(db, make, city, settings):
    first = make.request(category=city.pothole, description=FIRST)
    second = make.request(category=city.pothole, description=FIRST, lat=NEAR[0], lon=NEAR[1])
    third = make.request(category=city.pothole, description=FIRST, lat=NEAR[0], lon=NEAR[1])
    now = clock.now()
    duplicates.score_filed(db, second, settings=settings, now=now)
    duplicates.score_filed(db, third, settings=settings, now=now)
    pair = db.scalar(select(DuplicateCandidate).where(DuplicateCandidate.request_id == second.id))
    assert duplicates.strength(pair.score) == "likely"
    duplicates.decide(
        db, sr=second, candidate_id=pair.id, decision="not_duplicate", actor=None, now=now
    )
    figures = duplicates.metrics(db, now)
    assert figures["decided"] == 1 and figures["dismissed"] == 1 and figures["merged"] == 0
    assert figures["likely_decided"] == 1 and figures["likely_merged"] == 0
    assert figures["precision"] is None  # under MIN_DECIDED
    assert pair.candidate_id == first.id
