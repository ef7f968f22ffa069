"""Storm-day burst: many residents filing and checking requests at once, over real HTTP.

Starts gunicorn (sync workers) on loopback against a scratch database with the demo city,
then runs C concurrent simulated residents for S seconds. Each resident walks the whole filing
journey (7 GETs and 6 POSTs with cookies and CSRF tokens, like a browser) and then opens a
tracking page. Prints requests/s, filings/s, latency percentiles and any errors.

    .venv/bin/python benchmarks/storm.py [--clients 16] [--seconds 30] [--workers 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/portal_bench]

All traffic goes to 127.0.0.1; the run is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REFERENCE = re.compile(r"data-reference>(SR-\d{4}-\d{6})<")


class Resident:
    def __init__(self, base: str, stats: Stats) -> None:
        self.base = base
        self.stats = stats
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""

    def call(self, path: str, data: dict[str, str] | None = None) -> str:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                text = response.read().decode()
                ok = response.status < 400
        except urllib.error.HTTPError as error:
            text, ok = error.read().decode(errors="replace"), False
        except OSError:
            text, ok = "", False
        self.stats.record(time.perf_counter() - started, ok, path)
        if match := CSRF.search(text):
            self.token = match.group(1)
        return text

    def post(self, path: str, data: dict[str, str]) -> str:
        return self.call(path, {"csrf_token": self.token, **data})

    def file_one(self, n: int) -> None:
        self.call("/report/")
        self.post("/report/", {"category": "pothole"})
        self.post(
            "/report/details",
            {"description": f"Storm damage {n}", "q_size": "large", "q_location": "travel_lane"},
        )
        self.post(
            "/report/location", {"address": f"{n} Mill Street", "lat": "41.001", "lon": "-87.011"}
        )
        page = self.call("/report/photos")
        if "Is it one of these" in page or "/report/nearby" in page:
            self.call("/report/photos")
        self.post("/report/photos", {"action": "continue"})
        self.post("/report/contact", {"email": f"storm{n}@example.org"})
        done = self.post("/report/check", {})
        if match := REFERENCE.search(done):
            self.stats.filed()
            self.call(f"/requests/{match.group(1)}")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.filings = 0

    def record(self, seconds: float, ok: bool, path: str) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if not ok:
                key = re.sub(r"SR-\d+-\d+", "SR-…", path)
                self.errors[key] = self.errors.get(key, 0) + 1

    def filed(self) -> None:
        with self.lock:
            self.filings += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(scratch.name) / 'storm.db'}"
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": url,
        "SECRET_KEY": "storm-benchmark-" + "x" * 32,
        "PORTAL_UPLOAD_DIR": scratch.name,
        "PORTAL_MAIL_DIR": scratch.name,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    python = sys.executable
    sys.path.insert(0, str(ROOT))
    from portal.migrate import recreate

    recreate(url)
    flask = [python, "-m", "flask", "--app", "portal"]
    subprocess.run(
        [*flask, "demo", "load", "--requests", "200"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "portal:create_app()",
        ],
        # One load generator on one address: per-IP limits would measure the limiter.
        env={**env, "RATELIMIT_ENABLED": "false"},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        stats = Stats()
        deadline = time.monotonic() + args.seconds
        counter = iter(range(10**9))

        def run() -> None:
            resident = Resident(base, stats)
            while time.monotonic() < deadline:
                resident.file_one(next(counter))

        threads = [threading.Thread(target=run) for _ in range(args.clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 60)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(10)
    lat = sorted(stats.latencies)
    print(
        f"engine: {url.split(':')[0]}, gunicorn {args.workers} sync workers, "
        f"{args.clients} concurrent residents, {elapsed:.0f} s"
    )
    print(
        f"requests: {len(lat):,} ({len(lat) / elapsed:.0f}/s), "
        f"filings: {stats.filings:,} ({stats.filings / elapsed:.1f}/s)"
    )
    print(
        f"latency: p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {lat[int(len(lat) * 0.95)] * 1000:.0f} ms, "
        f"p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )
    print(f"errors: {sum(stats.errors.values())} {stats.errors or ''}")


if __name__ == "__main__":
    main()
