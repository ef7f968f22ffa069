"""Page weight on a phone with a poor connection (issue 21): the home page and each step of
filing a request, in Chromium on an emulated 1.6 Mbps / 150 ms link at 390x844.

Imports the demo city's configuration (portal/demo/city: its catalogue, areas, address points
and logo) into a scratch database, serves the app on loopback as production does (static files
through WhiteNoise, compressed, under hashed names; ``make assets`` builds them), and walks the
journey a resident makes: home, then category, details, location, photos, contact, check and
done, with a 12-megapixel camera photo uploaded at the photos step. For each page prints the
requests and kilobytes of a cold load (an empty cache), its first paint, the same for a warm
load (the page again, its files cached), and the first paint of the page as reached (by the
link or the previous step's form). Pages are measured with the service worker blocked (it
fetches outside the emulated link); what it downloads when a first visit installs it is
printed after the table. The measuring is tests/page_weight.py, which the browser test
tests/app/test_browser_page_weight.py shares.

    .venv/bin/python benchmarks/pages.py [--database-url URL] [--language en] [--urls]

Without --database-url (or DATABASE_URL) a throw-away SQLite file is used. --urls lists what
each cold load fetched. Prints figures, never asserts them; changes nothing else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import scratch_app  # benchmarks/common.py
from werkzeug.serving import make_server

from portal.city.folder import read_folder
from portal.city.importer import import_city
from portal.core import clock
from portal.demo.loader import CITY_DIR

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.page_weight import (  # noqa: E402
    SLOW_LINK,
    camera_photo,
    home_and_filing,
    service_worker_install,
    table,
)

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")


def first_address() -> str:
    """The first address point of the demo city, as a resident would type it."""
    with (CITY_DIR / "addresses.csv").open(encoding="utf-8") as rows:
        next(rows)
        _lon, _lat, number, street, *_ = next(rows).split(",")
    return f"{number} {street}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--language", default="en", choices=["en", "es"])
    parser.add_argument("--urls", action="store_true", help="list what each cold load fetched")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    started = time.perf_counter()
    with db.transaction() as session:
        import_city(session, read_folder(CITY_DIR), now=clock.now())
    app.extensions["portal.city"].clear()
    print(f"demo city imported in {time.perf_counter() - started:.1f} s")
    manifest = ROOT / "static" / "dist" / "manifest.json"
    print(f"hashed static files: {'yes' if manifest.exists() else 'no (run make assets)'}")
    link = SLOW_LINK
    print(
        f"link: {link['downloadThroughput'] * 8 / 1e6:.1f} Mbps down, "
        f"{link['uploadThroughput'] * 8 / 1e6:.1f} Mbps up, {link['latency']} ms per request; "
        "390x844 phone; KB = 1,000 bytes as sent (headers and bodies)"
    )

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic"],
            )
            try:
                worker = service_worker_install(browser, base)
                pages = home_and_filing(
                    browser,
                    base,
                    category="pothole",
                    address=first_address(),
                    language=args.language,
                    photo=camera_photo(Path(scratch.name) / "photo.jpg"),
                )
            finally:
                browser.close()
    finally:
        server.shutdown()
        thread.join(5)
        db.dispose()
    print(table(pages))
    if worker is None:
        print("service worker: none registered")
    else:
        print(
            f"service worker install (first visit, after the page; not on the emulated link): "
            f"{worker.requests} requests, {worker.bytes / 1000:.1f} KB"
        )
    if args.urls:
        for page in pages:
            print(f"-- {page.name}: cold")
            for url in page.cold.urls:
                print(f"   {url.replace(base, '')}")


if __name__ == "__main__":
    main()
