"""A second city goes live with exactly the README's commands, and nothing of the demo city
shows: its own name, zone, holidays, languages and logo, routed on its own calendar."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import create_app
from portal.casework.models import Task
from portal.catalogue.models import Department
from portal.core.config import Settings
from portal.core.worker import run_worker
from portal.open311 import keys
from portal.requests.models import ServiceRequest
from portal.sla.models import BusinessCalendar, SlaClock
from tests.conftest import csrf_from
from tests.scratch import scratch
from tests.smtp import body_text

ROOT = Path(__file__).resolve().parents[2]
PORT_ALDER = Path(__file__).resolve().parents[1] / "cities" / "port-alder"
HARBOR = ("38.52", "-121.58")  # lat, lon inside the Harbor area


def flask(*args: str, env: dict[str, str], stdin: str = "") -> str:
    """One of the README's commands, run as an administrator would."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def file_on_the_web(client, description: str) -> str:
    """Walk the resident's form; return the page the resident ends on."""

    def step(url, data=None):
        page = client.get(url).get_data(as_text=True)
        if data is None:
            return page
        response = client.post(url, data={"csrf_token": csrf_from(page), **data})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    step("/report/", {"category": "road-damage"})
    details = step("/report/details")
    assert "Is it on a bridge?" in details
    step("/report/details", {"description": description, "q_on_bridge": "no"})
    step("/report/location", {"address": "4 Harbor Way", "lat": HARBOR[0], "lon": HARBOR[1]})
    step("/report/photos", {"action": "continue"})
    step("/report/contact", {"name": "Rosa Díaz", "email": "rosa@example.org", "phone": ""})
    step("/report/check", {})
    return client.get("/report/done").get_data(as_text=True)


@pytest.fixture
def live_city(settings, smtp, tmp_path):
    engine = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
    with scratch(engine, tmp_path) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORTAL_ENV": "development",
            "SECRET_KEY": "a-secret-for-port-alder-that-is-long-enough",
            "PORTAL_MAIL_DIR": str(tmp_path / "mail"),
            "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
        }
        env.pop("PORTAL_CITY_NAME", None)
        # The README's "Set up your city", command for command.
        flask("db", "upgrade", env=env)
        checked = flask("city", "import", str(PORT_ALDER), "--dry-run", env=env)
        assert "is valid" in checked
        imported = flask("city", "import", str(PORT_ALDER), env=env)
        assert "categories: 2 added" in imported
        staff = flask("staff", "import", str(PORT_ALDER / "staff.csv"), env=env)
        assert "3 staff added" in staff
        flask(
            "staff",
            "create",
            "it@portalder.example",
            "--name",
            "IT Desk",
            "--role",
            "admin",
            env=env,
            stdin="a-long-admin-password\na-long-admin-password\n",
        )
        app = create_app(
            Settings(
                env="test",
                secret_key="a-secret-for-port-alder-that-is-long-enough",
                database_url=url,
                smtp_host=smtp.host,
                smtp_port=smtp.port,
                mail_dir=str(tmp_path / "mail"),
                upload_dir=str(tmp_path / "uploads"),
                ratelimit_enabled=False,
            )
        )
        try:
            yield app
        finally:
            app.extensions["portal.db"].dispose()


def test_a_second_city_goes_live_and_takes_its_first_requests(live_city, smtp):
    app = live_city
    client = app.test_client()

    home = client.get("/").get_data(as_text=True)
    assert "Port Alder Fix-It" in home and "Town of Port Alder" in home
    # The header shows the PNG logo's copy at twice its height (portal.city.app_icons).
    assert "(555) 013-2200" in home and "/logo-header.png" in home
    logo = client.get("/city/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    spanish = app.test_client().get("/?lang=es").get_data(as_text=True)
    assert "Pueblo de Port Alder" in spanish and "Port Alder Arréglalo" in spanish

    done = file_on_the_web(client, "Flooding from a water main under the road")
    db = app.extensions["portal.db"]
    with db.transaction(write=False) as session:
        filed = session.scalar(select(ServiceRequest))
        assert filed.reference in done
        utilities = session.scalar(select(Department).where(Department.code == "utilities"))
        assert filed.department_id == utilities.id  # the city's routing rule, not the category
        town_hall = session.scalar(
            select(BusinessCalendar.id).where(BusinessCalendar.code == "town-hall")
        )
        task = session.scalar(select(Task).where(Task.request_id == filed.id))
        clock = session.scalar(select(SlaClock).where(SlaClock.task_id == task.id))
        assert clock.calendar_id == town_hall and clock.target_seconds == 20 * 3600
        key, raw = keys.new_key(
            session, label="Town app", rate_limit="60/minute", contact_email="", by=None
        )
        session.commit()

    posted = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": raw,
            "service_code": "leak",
            "lat": HARBOR[0],
            "long": HARBOR[1],
            "description": "Water bubbling up by the ferry dock",
            "jurisdiction_id": "portalder.example",
        },
    )
    assert posted.status_code == 201, posted.get_data(as_text=True)
    discovery = client.get("/open311/v2/discovery.json").get_json()
    assert discovery["contact"] == "Port Alder IT, api@portalder.example"
    assert discovery["endpoints"][0]["url"].startswith("https://fixit.portalder.example")
    services = client.get("/open311/v2/services.json").get_json()
    assert {s["service_code"] for s in services} == {"road-damage", "leak"}
    with db.transaction(write=False) as session:
        by_api = session.scalar(select(ServiceRequest).where(ServiceRequest.channel == "api"))
        assert by_api.department_id == utilities.id

    smtp.clear()
    assert run_worker(app, once=True, echo=lambda _line: None)
    delivered = smtp.wait_for(4)
    assert delivered
    for _recipients, message in delivered:
        text = body_text(message) + message["Subject"] + message["From"]
        assert "riverton" not in text.lower()
    invitation = smtp.to("tom.field@portalder.example")[0]
    assert invitation["Subject"] == "Your Port Alder Fix-It staff account"
    assert "https://fixit.portalder.example/" in body_text(invitation)

    pages = [
        home,
        spanish,
        done,
        client.get("/performance").get_data(as_text=True),
        client.get("/open311/v2/discovery.xml").get_data(as_text=True),
    ]
    for page in pages:
        assert "riverton" not in page.lower()
