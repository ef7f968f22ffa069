"""The Done-when of issue 24's CORS, in a real browser (Debian's chromium): a page served
from another origin (a second loopback port) reads the request list and files a request with
fetch(), and sees the 201's body; a page on an origin no key lists cannot file (nothing is
written, and the browser gets no answer it may read)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.open311 import keys
from portal.requests.models import ServiceRequest
from tests.factories import INSIDE, Factories

pytestmark = pytest.mark.browser

PAGE = "<!doctype html><html lang='en'><head><title>FixIt</title></head><body>FixIt</body></html>"

#: What the app's page runs: a read with the key in a header (a preflight), a plain read, and
#: a filing with FormData (multipart, the key in the body) and an Idempotency-Key.
SCRIPT = """
async ([api, key, lat, lon]) => {
  const out = {};
  try {
    const list = await fetch(api + "/requests.json", {headers: {"X-Api-Key": key}});
    out.list = {status: list.status, rows: (await list.json()).length,
                etag: list.headers.get("ETag")};
    const plain = await fetch(api + "/services.json?api_key=" + encodeURIComponent(key));
    out.services = {status: plain.status, body: await plain.json()};
  } catch (error) {
    out.readError = String(error);
  }
  const form = new FormData();
  form.append("api_key", key);
  form.append("service_code", "pothole");
  form.append("lat", lat);
  form.append("long", lon);
  form.append("description", "Filed from another origin");
  try {
    const posted = await fetch(api + "/requests.json", {
      method: "POST", body: form, headers: {"Idempotency-Key": "browser-" + key.slice(0, 8)},
    });
    out.post = {status: posted.status, body: await posted.json()};
  } catch (error) {
    out.postError = String(error);
  }
  return out;
}
"""


def _serve_page() -> Iterator[str]:
    @Request.application
    def page(_request: Request) -> Response:
        return Response(PAGE, content_type="text/html; charset=utf-8")

    server = make_server("127.0.0.1", 0, page, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def app_origin() -> Iterator[str]:
    yield from _serve_page()


@pytest.fixture
def stranger_origin() -> Iterator[str]:
    yield from _serve_page()


@pytest.fixture
def api_key(committed_app, app_origin) -> str:
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.area()
    pothole = make.category(code="pothole", name="Pothole")
    make.request(category=pothole, description="Already reported")
    _key, raw = keys.new_key(
        session,
        label="FixIt web",
        rate_limit="60/minute",
        contact_email="",
        by=None,
        allowed_origins=app_origin,
    )
    session.commit()
    session.close()
    return raw


def _count(committed_app) -> int:
    session = committed_app.extensions["portal.db"].session()
    try:
        return session.scalar(select(func.count()).select_from(ServiceRequest))
    finally:
        session.close()


def _run(chromium, origin: str, live_server: str, key: str) -> dict:
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(origin + "/")
        return page.evaluate(
            SCRIPT, [f"{live_server}/open311/v2", key, str(INSIDE[0]), str(INSIDE[1])]
        )
    finally:
        context.close()


def test_a_page_on_the_key_origin_reads_and_files(
    chromium, live_server, committed_app, api_key, app_origin
):
    before = _count(committed_app)
    out = _run(chromium, app_origin, live_server, api_key)
    assert "readError" not in out and "postError" not in out, out
    assert out["list"]["status"] == 200 and out["list"]["rows"] == 1
    assert out["list"]["etag"]  # exposed to the page
    assert out["services"]["status"] == 200
    assert [s["service_code"] for s in out["services"]["body"]] == ["pothole"]
    assert out["post"]["status"] == 201, out
    (answer,) = out["post"]["body"]
    assert answer["service_request_id"] or answer["token"]
    assert _count(committed_app) == before + 1


def test_a_page_on_another_origin_cannot_file(
    chromium, live_server, committed_app, api_key, stranger_origin
):
    before = _count(committed_app)
    out = _run(chromium, stranger_origin, live_server, api_key)
    assert "Failed to fetch" in out.get("readError", ""), out  # not on any list
    assert "Failed to fetch" in out.get("postError", ""), out
    assert _count(committed_app) == before  # the form POST reached the server: refused
