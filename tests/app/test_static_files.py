"""Static files (issue 21): hashed names, compression, caching, the design system's subset.

The app under test serves static/dist as production does (WhiteNoise); ``make assets`` (a
prerequisite of ``make test``) builds it. The build itself is run here on a folder of its own.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import time
from pathlib import Path

import brotli
import pytest

from portal.assets import DIST, MANIFEST, STATIC, USWDS_CSS, build, hashed_name
from portal.core.config import ROOT
from portal.static_files import IMMUTABLE, Manifest

HASHED = re.compile(r"^/static/dist/[\w./-]+\.[0-9a-f]{12}\.\w+$")
STATIC_URL = re.compile(r"""(?:href|src)="(/static/[^"]+)\"""")


@pytest.fixture
def built():
    if not (STATIC / DIST / MANIFEST).exists():
        pytest.fail("static/dist/manifest.json is missing: `make assets` builds it")


def _static_urls(html: str) -> list[str]:
    return STATIC_URL.findall(html)


def test_pages_name_their_static_files_by_hash(client, built):
    for path in ("/", "/report/", "/account/sign-in", "/requests"):
        urls = _static_urls(client.get(path).get_data(as_text=True))
        assert len(urls) >= 5, (path, urls)
        assert all(HASHED.match(url) for url in urls), (path, urls)


def test_hashed_files_are_compressed_and_kept_a_year(client, built):
    urls = _static_urls(client.get("/").get_data(as_text=True))
    css = next(url for url in urls if "uswds-portal" in url and url.endswith(".css"))
    plain = client.get(css, headers={"Accept-Encoding": "identity"}, buffered=True)
    assert plain.status_code == 200
    assert plain.headers["Content-Type"].startswith("text/css")
    body = plain.get_data()
    for accept, encoding, decode in [
        ("gzip, deflate, br", "br", brotli.decompress),
        ("gzip", "gzip", gzip.decompress),
    ]:
        answer = client.get(css, headers={"Accept-Encoding": accept}, buffered=True)
        assert answer.headers.get("Content-Encoding") == encoding
        assert decode(answer.get_data()) == body
        assert len(answer.get_data()) < len(body) / 4
        assert answer.headers["Cache-Control"] == IMMUTABLE
        assert "Accept-Encoding" in answer.headers.get("Vary", "")
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for url in urls:
        assert client.get(url, buffered=True).headers["Cache-Control"] == IMMUTABLE, url


def test_plain_names_still_work_and_are_asked_about_each_time(client, built):
    for name in ("css/portal.css", USWDS_CSS, "js/portal.js", "img/favicon.svg"):
        answer = client.get(f"/static/{name}", buffered=True)
        assert answer.status_code == 200, name
        assert answer.headers["Cache-Control"] == "no-cache", name
    assert client.get("/static/css/no-such-file.css").status_code == 404
    assert client.get("/static/dist/css/portal.000000000000.css", buffered=True).status_code == 404


def test_the_design_system_is_only_what_the_pages_use(built):
    """No web font; the compiled CSS and script are a fraction of USWDS's whole; every usa-*
    and utility class the templates, scripts and views write is in it."""
    ours = (STATIC / USWDS_CSS).read_text()
    assert "@font-face" not in ours and ".woff" not in ours
    assert len(gzip.compress(ours.encode())) < 35_000
    script = STATIC / "vendor/uswds/js/uswds-portal.min.js"
    assert len(gzip.compress(script.read_bytes())) < 10_000
    whole = ROOT / "node_modules/@uswds/uswds/dist/css/uswds.min.css"
    if not whole.exists():
        pytest.fail(f"{whole} is missing: `make assets` installs USWDS from npm")

    def classes(css: str) -> set[str]:
        """The class names in the selectors of ``css`` (comments and declarations dropped)."""
        selectors = re.sub(r"\{[^{}]*\}", "{}", re.sub(r"/\*.*?\*/", "", css, flags=re.S))
        return {
            name.replace("\\", "")
            for name in re.findall(r"\.((?:[a-zA-Z0-9_-]|\\[:.])+)", selectors)
            if name[0].isalpha()
        }

    words: set[str] = set()
    for pattern in ("templates/**/*.html", "portal/**/*.py", "static/js/*.js"):
        for path in ROOT.glob(pattern):
            words |= set(re.findall(r"[a-z][a-z0-9:_-]*[a-z0-9]", path.read_text()))
    used = classes(whole.read_text()) & words
    missing = sorted(used - classes(ours))
    assert not missing, f"add their packages or families to static/src/uswds-portal.scss: {missing}"


def _tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def test_the_build_names_files_by_content_and_compresses_them(tmp_path):
    css = (
        ".a{background:url(../img/dot.svg)}"
        '.b{background:url("../vendor/x/icons.svg#close")}'
        ".c{background:url('data:image/png;base64,AAAA')}"
        ".d{background:url(/elsewhere.png)}"
        '.e{background:url("")}'
        ".f{background:url(missing.png)}" + ".g{color:red}" * 200
    )
    static = _tree(
        tmp_path / "static",
        {
            "css/site.css": css,
            "img/dot.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>" + " " * 2000,
            "vendor/x/icons.svg": "<svg xmlns='http://www.w3.org/2000/svg'></svg>",
            "js/app.js": "console.log(1);",
            "src/site.scss": "never served",
            ".stamp": "",
        },
    )
    files = build(static)
    assert sorted(files) == ["css/site.css", "img/dot.svg", "js/app.js", "vendor/x/icons.svg"]
    dist = static / DIST
    manifest = json.loads((dist / MANIFEST).read_text())["files"]
    assert manifest == files
    dot = files["img/dot.svg"]
    assert dot == hashed_name("img/dot.svg", (static / "img/dot.svg").read_bytes())
    assert re.fullmatch(r"img/dot\.[0-9a-f]{12}\.svg", dot)
    out = (dist / files["css/site.css"]).read_text()
    assert f"url(../{dot})" in out
    assert f'url("../{files["vendor/x/icons.svg"]}#close")' in out
    for kept in ("base64,AAAA", "url(/elsewhere.png)", 'url("")', "url(missing.png)"):
        assert kept in out  # not a file of the folder: as it was
    assert files["css/site.css"] == hashed_name("css/site.css", out.encode())
    # Compressed where it pays (a tiny script is not worth it).
    assert gzip.decompress((dist / f"{files['css/site.css']}.gz").read_bytes()).decode() == out
    assert brotli.decompress((dist / f"{files['css/site.css']}.br").read_bytes()).decode() == out
    assert not (dist / f"{files['js/app.js']}.br").exists()

    # A changed image gets a new name, and so does the stylesheet naming it; the old build
    # is replaced whole.
    (static / "img/dot.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><g/></svg>")
    again = build(static)
    assert again["img/dot.svg"] != dot and again["css/site.css"] != files["css/site.css"]
    assert again["js/app.js"] == files["js/app.js"]
    assert not (dist / dot).exists()
    assert sorted(p.name for p in static.iterdir() if p.name.startswith(".")) == [".stamp"]


def test_outside_production_an_edited_file_is_served_by_its_plain_name(tmp_path):
    static = _tree(tmp_path / "static", {"css/site.css": "a{}", "js/app.js": "1"})
    build(static)
    watching = Manifest(static, watch=True)
    fixed = Manifest(static, watch=False)
    assert watching.lookup("css/site.css") == fixed.lookup("css/site.css")
    assert (watching.lookup("css/site.css") or "").startswith("dist/css/site.")
    assert watching.lookup("css/other.css") is None
    later = time.time() + 5
    os.utime(static / "css/site.css", (later, later))
    assert watching.lookup("css/site.css") is None  # edited since the build
    assert fixed.lookup("css/site.css") is not None  # production: as built
    assert watching.lookup("js/app.js") is not None
    # A new build is read again.
    build(static)
    os.utime(static / DIST / MANIFEST, (later + 1, later + 1))
    assert (watching.lookup("css/site.css") or "").startswith("dist/css/site.")
