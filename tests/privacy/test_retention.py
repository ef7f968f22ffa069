"""Retention: closed requests past their category's period (or the city's) lose the reporter's
contact details and free text, in batches, once; `flask retention run [--dry-run]`; the
period is read from catalogue.toml, written by `flask city export` and in the schema."""

from __future__ import annotations

import json
import shutil
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
import tomli_w
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from portal.catalogue import loader as catalogue_loader
from portal.catalogue.models import ServiceCategory
from portal.city.folder import CityConfigError, read_folder
from portal.core import clock
from portal.core.worker import PERIODIC_JOBS
from portal.demo.loader import CITY_DIR
from portal.privacy.models import RequestRedaction
from portal.privacy.retention import run_retention, sweep_retention
from portal.requests.models import Event, Follower, ServiceRequest
from portal.surveys.models import SurveyInvitation

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "catalogue.schema.json"


def _closed(make, category, days_ago: int, **kw):
    clock.freeze(clock.now() - timedelta(days=days_ago))
    try:
        request = make.request(category=category, status="closed", **kw)
    finally:
        clock.freeze(None)
    request.status_changed_at = clock.now() - timedelta(days=days_ago)
    make.session.flush()
    return request


def _arrange(make):
    short = make.category(code="noise", retention_days=30)
    default = make.category(code="potholes")  # the city's 730 days
    reporter = make.user(name="Robin Marsh", phone="555 0199")
    due = _closed(
        make,
        short,
        40,
        reporter_id=reporter.id,
        description="Robin Marsh at 4 Elm St: loud music nightly, robin@home.test",
    )
    make.event(due, kind="comment", body="It happened again", actor_kind="resident")
    make.event(due, kind="comment", body="Thanks Robin, noted", actor_kind="staff")
    make._add(Follower(request_id=due.id, email="neighbour@example.org", token="ret-f-1"))
    make.survey_invitation(due, email="robin@home.test", state="answered")
    anonymous = _closed(
        make,
        short,
        31,
        contact_name="Kim Lee",
        contact_email="kim@example.org",
        contact_phone="555-0123",
        description="Kim Lee says the bar is loud",
    )
    recent = _closed(make, short, 10, contact_name="Recent Person", contact_email="r@example.org")
    still_open = make.request(category=short, contact_name="Open Person")
    still_open.created_at = clock.now() - timedelta(days=400)
    kept = _closed(make, default, 400, contact_name="Pat Old", contact_email="pat@example.org")
    make.session.flush()
    return due, anonymous, recent, still_open, kept


def test_dry_run_counts_per_category_and_changes_nothing(runner, db, make):
    due, anonymous, *_rest = _arrange(make)
    result = runner.invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "noise: 2 request(s) closed over 30 days ago" in result.output
    assert "potholes" not in result.output
    assert "Dry run: 2 request(s) would be redacted. Nothing was changed." in result.output
    db.expire_all()
    assert db.get(ServiceRequest, anonymous.id).contact_email == "kim@example.org"
    assert db.scalar(select(func.count()).select_from(RequestRedaction)) == 0


def test_run_redacts_what_is_due_once(runner, db, make):
    due, anonymous, recent, still_open, kept = _arrange(make)
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "noise: 2 request(s) redacted" in result.output
    assert "2 request(s) redacted." in result.output
    db.expire_all()

    request = db.get(ServiceRequest, due.id)
    assert request.description == "[name removed] at 4 Elm St: loud music nightly, [email removed]"
    assert request.reporter_id is not None  # the account is still the resident's
    bodies = db.scalars(
        select(Event.body).where(Event.request_id == due.id, Event.kind == "comment")
    ).all()
    assert sorted(bodies) == ["Thanks [name removed], noted", "[removed]"]
    assert db.scalars(select(Follower).where(Follower.request_id == due.id)).all() == []
    assert (
        db.scalar(select(SurveyInvitation.email).where(SurveyInvitation.request_id == due.id)) == ""
    )

    anon = db.get(ServiceRequest, anonymous.id)
    assert anon.contact_name == anon.contact_email == anon.contact_phone == ""
    assert anon.description == "[name removed] says the bar is loud"
    assert anon.status == "closed" and anon.category_id == anonymous.category_id

    for untouched, name in (
        (recent, "Recent Person"),
        (still_open, "Open Person"),
        (kept, "Pat Old"),
    ):
        assert db.get(ServiceRequest, untouched.id).contact_name == name

    # Idempotent: a second run finds nothing; the dry run agrees.
    again = runner.invoke(args=["retention", "run"])
    assert "0 request(s) redacted." in again.output
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert "Dry run: 0 request(s)" in dry.output


def test_the_worker_sweeps_in_batches(app, db, make, settings):
    category = make.category(retention_days=5)
    requests = [_closed(make, category, 6, contact_email=f"p{n}@example.org") for n in range(5)]
    assert sweep_retention in PERIODIC_JOBS
    database = app.extensions["portal.db"]
    assert run_retention(database, settings, clock.now(), batch=2) == {category.code: 5}
    db.expire_all()
    assert {db.get(ServiceRequest, r.id).contact_email for r in requests} == {""}
    assert db.scalar(select(func.count()).select_from(RequestRedaction)) == 5
    assert run_retention(database, settings, clock.now(), batch=2) == {}
    # The job: at most once an hour per worker.
    later = clock.now() + timedelta(days=1)
    fresh = _closed(make, category, 6, contact_email="late@example.org")
    assert (
        sweep_retention(database, settings, later) == "redacted 1 closed request(s) past retention"
    )
    another = _closed(make, category, 6, contact_email="later@example.org")
    assert sweep_retention(database, settings, later + timedelta(minutes=5)) is None
    assert sweep_retention(database, settings, later + timedelta(hours=1)) is not None
    db.expire_all()
    assert db.get(ServiceRequest, fresh.id).contact_email == ""
    assert db.get(ServiceRequest, another.id).contact_email == ""


def _folder_with(tmp_path: Path, retention_days) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(CITY_DIR, folder)
    path = folder / "catalogue.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["categories"][0]["retention_days"] = retention_days
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return folder


def test_the_catalogue_reads_a_category_retention_period(tmp_path):
    spec = read_folder(_folder_with(tmp_path, 90))
    assert spec.categories[0]["retention_days"] == 90
    assert all(c["retention_days"] is None for c in spec.categories[1:])


@pytest.mark.parametrize("bad", [0, -5, 36501, "ninety", 1.5])
def test_a_bad_retention_period_is_refused_by_the_reader_and_the_schema(tmp_path, bad):
    with pytest.raises(CityConfigError) as refused:
        read_folder(_folder_with(tmp_path, bad))
    assert '"retention_days" must be a whole number from 1 to 36500' in str(refused.value)
    category = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]["category"]
    schema = category["properties"]["retention_days"]
    assert (schema["minimum"], schema["maximum"]) == (
        catalogue_loader.RETENTION_MIN,
        catalogue_loader.RETENTION_MAX,
    )
    assert not Draft202012Validator(schema).is_valid(bad)
    assert Draft202012Validator(schema).is_valid(90)


def test_import_and_export_carry_the_retention_period(runner, db, tmp_path):
    folder = _folder_with(tmp_path, 45)
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    code = tomllib.loads((folder / "catalogue.toml").read_text())["categories"][0]["code"]
    db.expire_all()
    assert (
        db.scalar(select(ServiceCategory.retention_days).where(ServiceCategory.code == code)) == 45
    )
    out = tmp_path / "exported"
    assert runner.invoke(args=["city", "export", str(out)]).exit_code == 0
    exported = tomllib.loads((out / "catalogue.toml").read_text(encoding="utf-8"))
    periods = {c["code"]: c.get("retention_days") for c in exported["categories"]}
    assert periods[code] == 45
    assert sum(1 for v in periods.values() if v is not None) == 1
