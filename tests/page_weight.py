"""What a page costs a phone on a poor connection: requests, bytes and first paint, measured in
Chromium on an emulated 1.6 Mbps / 150 ms link (issue 21).

Shared by the browser test that holds the targets (tests/app/test_browser_page_weight.py) and
``benchmarks/pages.py``, which prints the figures. Each page is measured three ways:

- *cold*: a new browser context (an empty cache) with the resident's cookies, loading the page
  by its address;
- *warm*: the same page loaded again by its address, everything it used already in the cache
  (the best of three such loads);
- *reached*: how the resident got there (a link, or the previous step's form: its POST and
  the redirect), with the cache warm from the pages before.

Bytes are what crossed the wire (headers and bodies as sent, compressed or not: the DevTools
protocol's ``encodedDataLength``); requests are those that went to the server (revalidations
included, answers from the cache not); first paint is ``first-contentful-paint`` from the start
of the navigation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: 1.6 Mbps down and up, 150 ms added to every request (Lighthouse's "slow 4G" is similar).
SLOW_LINK = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6e6 / 8,
    "uploadThroughput": 1.6e6 / 8,
}
NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    # The service worker (/sw.js) fetches outside the page's emulated link, so with it the
    # figures would not be the link's: pages are measured as a browser without it sees them
    # (the first visit, before it is installed); ``service_worker_install`` measures what it
    # downloads when it installs.
    "service_workers": "block",
}


@dataclass
class Load:
    """One load of a page: what it cost."""

    requests: int
    bytes: int
    first_paint: float | None  # seconds from the navigation's start
    urls: list[str] = field(default_factory=list)


@dataclass
class PageFigures:
    name: str
    path: str
    cold: Load
    warm: Load
    reached: Load | None = None


class Meter:
    """Counts one page's network traffic through the DevTools protocol, on the slow link."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
        self._reset()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.requestServedFromCache", self._from_cache)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _reset(self) -> None:
        self._urls: dict[str, str] = {}
        self._cached: set[str] = set()
        self._bytes: dict[str, int] = {}
        self._hops = 0

    def _sent(self, event: dict) -> None:
        url = event["request"]["url"]
        if url.startswith("data:"):
            return
        if event.get("redirectResponse"):
            self._hops += 1  # the hop that answered with the redirect went to the server
        self._urls[event["requestId"]] = url

    def _from_cache(self, event: dict) -> None:
        self._cached.add(event["requestId"])

    def _response(self, event: dict) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self._cached.add(event["requestId"])

    def _finished(self, event: dict) -> None:
        self._bytes[event["requestId"]] = int(event.get("encodedDataLength") or 0)

    def load(self, go: Any) -> Load:
        """Run ``go()`` (a navigation), wait until the network is quiet, and say what it cost."""
        self._reset()
        go()
        self.page.wait_for_load_state("load")
        self.page.wait_for_load_state("networkidle")
        paint = self.page.evaluate(
            """() => {
                const [entry] = performance.getEntriesByName('first-contentful-paint');
                return entry ? entry.startTime / 1000 : null;
            }"""
        )
        network = [rid for rid in self._urls if rid not in self._cached]
        return Load(
            requests=len(network) + self._hops,
            bytes=sum(self._bytes.get(rid, 0) for rid in self._urls),
            first_paint=paint,
            urls=[self._urls[rid] for rid in network],
        )


def _cold(browser: Any, base: str, path: str, cookies: list[dict]) -> Load:
    """``path`` in a new context (nothing cached) holding ``cookies``."""
    context = browser.new_context(**PHONE)
    try:
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        meter = Meter(page)
        return meter.load(lambda: page.goto(base + path, wait_until="commit"))
    finally:
        context.close()


def cold_page(browser: Any, base: str, path: str, *, scroll_to: str | None = None) -> Load:
    """``path`` loaded as a first visit (a new context, nothing cached); with ``scroll_to``
    (a selector), scrolled until it is in view, so what a lazy image below the fold costs is
    counted too."""
    if scroll_to is None:
        return _cold(browser, base, path, [])
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        meter = Meter(page)

        def go() -> None:
            page.goto(base + path, wait_until="load")
            page.locator(scroll_to).first.scroll_into_view_if_needed()

        return meter.load(go)
    finally:
        context.close()


def _figures(
    browser: Any, page: Any, meter: Meter, base: str, name: str, reached: Load | None
) -> PageFigures:
    path = re.sub(r"^https?://[^/]+", "", page.url)
    cold = _cold(browser, base, path, page.context.cookies())
    warm = _best(meter.load(lambda: page.goto(base + path, wait_until="commit")) for _ in range(3))
    return PageFigures(name=name, path=path, cold=cold, warm=warm, reached=reached)


def _best(loads: Any) -> Load:
    """Of a few warm loads of the same page, the one painted first: a pause of a busy machine
    (another test's browser, CI's other work) is not the page's. Requests and bytes are each
    load's own, so the one returned has its own figures, not a mix."""
    return min(loads, key=lambda load: load.first_paint if load.first_paint is not None else 1e9)


def _submit(page: Any, meter: Meter, button: Any) -> Load:
    def go() -> None:
        with page.expect_navigation(wait_until="commit"):
            button.click()

    return meter.load(go)


def home_and_filing(
    browser: Any,
    base: str,
    *,
    category: str,
    address: str,
    email: str = "ana@example.org",
    language: str = "en",
    photo: Path | None = None,
) -> list[PageFigures]:
    """The home page and each step of filing a request in ``category`` at ``address`` (every
    required choice answered with its first option; ``photo`` uploaded at the photos step,
    whose figures are then those of the page showing it), as a phone on the slow link sees
    them. Raises ``AssertionError`` when a step does not lead to the next."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        meter = Meter(page)
        pages: list[PageFigures] = []
        reached = meter.load(lambda: page.goto(f"{base}/?lang={language}", wait_until="commit"))
        pages.append(_figures(browser, page, meter, base, "home", reached))

        reached = _submit(page, meter, page.locator("main a.usa-button--big").first)
        if "/report/describe" in page.url:
            # "Describe the problem" (issue 22), offered when the city has a category model or
            # knowledge articles (the demo city): the full list is its "See all categories".
            pages.append(_figures(browser, page, meter, base, "1 describe", reached))
            reached = _submit(page, meter, page.locator("main a[href='/report/']").last)
        pages.append(_figures(browser, page, meter, base, "1 category", reached))
        radio = page.locator(f"input[name=category][value='{category}']")
        page.locator(f"label[for='{radio.get_attribute('id')}']").click()
        reached = _submit(page, meter, page.locator("main form button[type=submit]"))
        assert "/report/details" in page.url, page.url
        pages.append(_figures(browser, page, meter, base, "2 details", reached))

        page.locator("#description").fill("A deep pothole outside the library")
        page.evaluate(
            """() => {
                const seen = new Set();
                for (const radio of document.querySelectorAll('main form input[type=radio]')) {
                    if (!seen.has(radio.name)) { seen.add(radio.name); radio.checked = true; }
                }
            }"""
        )
        reached = _submit(page, meter, page.locator("main form button[type=submit]").last)
        assert "/report/location" in page.url, page.url
        pages.append(_figures(browser, page, meter, base, "3 location", reached))

        page.locator("#address").fill(address)
        reached = _submit(page, meter, page.locator("main form button[type=submit]").last)
        for _ in range(2):  # "which address do you mean?" or "not found": take it as typed
            if "/report/location" not in page.url:
                break
            choice = page.locator("button[name=choice][value=none], #choice-none")
            assert choice.count(), "the location step refused the address"
            if page.locator("#choice-none").count():
                page.locator("#choice-none").check()
                reached = _submit(page, meter, page.locator("main form button[type=submit]").last)
            else:
                reached = _submit(page, meter, page.locator("button[name=choice][value=none]"))
        assert "/report/photos" in page.url, page.url
        if photo is not None:  # the upload is not a page load: not counted, not throttled
            meter.cdp.send("Network.emulateNetworkConditions", NO_THROTTLE)
            page.locator("#photos").set_input_files(str(photo))
            with page.expect_navigation():
                page.locator("button[value=upload]").click()
            meter.cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
            assert page.locator("img.portal-thumb").count() == 1, "the photo was refused"
        pages.append(_figures(browser, page, meter, base, "4 photos", reached))

        reached = _submit(page, meter, page.locator("button[value=continue]"))
        assert "/report/contact" in page.url, page.url
        pages.append(_figures(browser, page, meter, base, "5 contact", reached))

        page.locator("#email").fill(email)
        reached = _submit(page, meter, page.locator("main form button[type=submit]"))
        assert "/report/check" in page.url, page.url
        pages.append(_figures(browser, page, meter, base, "6 check", reached))

        reached = _submit(page, meter, page.locator("main form button[type=submit]").last)
        assert "/report/done" in page.url, page.url
        pages.append(_figures(browser, page, meter, base, "7 done", reached))
        return pages
    finally:
        context.close()


def service_worker_install(browser: Any, base: str) -> Load | None:
    """What the service worker downloads when a first visit to the home page installs it
    (requests and bytes; not on the emulated link); None when the site has no worker."""
    context = browser.new_context(**{**PHONE, "service_workers": "allow"})
    sizes: list[int] = []
    urls: list[str] = []

    def finished(request: Any) -> None:
        if request.service_worker is not None:
            size = request.sizes()
            sizes.append(size["responseBodySize"] + size["responseHeadersSize"])
            urls.append(request.url)

    try:
        context.on("requestfinished", finished)
        page = context.new_page()
        page.goto(base + "/", wait_until="load")
        ready = page.evaluate(
            """() => 'serviceWorker' in navigator && navigator.serviceWorker.getRegistration()
                .then(r => r ? navigator.serviceWorker.ready.then(() => true) : false)"""
        )
        if not ready:
            return None
        page.wait_for_load_state("networkidle")
        return Load(requests=len(sizes), bytes=sum(sizes), first_paint=None, urls=urls)
    finally:
        context.close()


def camera_photo(path: Path, size: tuple[int, int] = (4000, 3000)) -> Path:
    """A JPEG like a phone camera's (12 megapixels of detail that does not compress away)."""
    from PIL import Image

    Image.effect_noise(size, 40).convert("RGB").save(path, format="JPEG", quality=90)
    return path


def table(pages: list[PageFigures]) -> str:
    """The figures as a text table (KB are 1,000 bytes; first paint in seconds)."""

    def fp(load: Load | None) -> str:
        return "-" if load is None or load.first_paint is None else f"{load.first_paint:.2f}"

    lines = [
        f"{'page':<11} {'path':<18} {'cold: req':>9} {'KB':>7} {'paint s':>7}"
        f" {'warm: req':>9} {'KB':>6} {'paint s':>7} {'reached: paint s':>16}"
    ]
    for p in pages:
        lines.append(
            f"{p.name:<11} {p.path[:18]:<18} {p.cold.requests:>9} {p.cold.bytes / 1000:>7.1f}"
            f" {fp(p.cold):>7} {p.warm.requests:>9} {p.warm.bytes / 1000:>6.1f} {fp(p.warm):>7}"
            f" {fp(p.reached):>16}"
        )
    return "\n".join(lines)
