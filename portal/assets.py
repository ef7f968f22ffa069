"""The static files as browsers get them (issue 21): each under a name carrying a hash of its
content, compressed with gzip and Brotli, listed in a manifest.

``python -m portal.assets`` (run by ``make assets`` after Sass and esbuild have built the design
system into static/vendor/uswds) does three things:

1. copies into static/vendor/uswds/img only the USWDS images something names: the compiled
   design-system CSS (its ``url(../img/...)``) and the templates (``vendor/uswds/img/...``);
2. copies every file under static/ (but the sources in static/src and the build itself) to
   static/dist/ as ``<name>.<hash>.<ext>``; in a stylesheet every ``url()`` naming another
   static file is rewritten to that file's hashed name first, so a new image makes a new
   stylesheet name too;
3. writes static/dist/manifest.json (``{"files": {"css/portal.css":
   "css/portal.1a2b3c4d5e6f.css", ...}}``) and the ``.gz`` and ``.br`` of every file worth
   compressing (WhiteNoise's compressor).

A hashed name never changes content, so it is served with a year's caching
(``portal.static_files``); the plain names keep working, revalidated on every use.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import sys
from pathlib import Path

from portal.core.config import ROOT

STATIC = ROOT / "static"
#: Under STATIC: the hashed copies and the manifest.
DIST = "dist"
MANIFEST = "manifest.json"
#: Under STATIC: what is built from, never served.
SOURCES = "src"
#: The design system's images, as npm installs them, and where the ones in use are copied.
USWDS_IMAGES = ROOT / "node_modules" / "@uswds" / "uswds" / "dist" / "img"
VENDOR_USWDS = "vendor/uswds"
USWDS_CSS = "vendor/uswds/css/uswds-portal.min.css"

HASH_LENGTH = 12
URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""")
TEMPLATE_IMAGE_RE = re.compile(r"vendor/uswds/img/([A-Za-z0-9_./-]+\.(?:svg|png|gif))")


def _is_relative(url: str) -> bool:
    return bool(url) and not re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", url, re.IGNORECASE)


def hashed_name(name: str, content: bytes) -> str:
    """``css/portal.css`` -> ``css/portal.<first 12 hex of its SHA-256>.css``."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return f"{name}.{digest}"
    return f"{stem}.{digest}.{ext}"


def copy_uswds_images(
    static: Path = STATIC, templates: Path = ROOT / "templates", source: Path = USWDS_IMAGES
) -> list[str]:
    """Copy the USWDS images the compiled CSS and the templates name into
    static/vendor/uswds/img; return their names (relative to img/)."""
    css = (static / USWDS_CSS).read_text(encoding="utf-8")
    names = {
        posixpath.normpath(posixpath.join("css", url)).removeprefix("img/")
        for _, url in URL_RE.findall(css)
        if _is_relative(url) and posixpath.normpath(posixpath.join("css", url)).startswith("img/")
    }
    for template in templates.rglob("*.html"):
        names.update(TEMPLATE_IMAGE_RE.findall(template.read_text(encoding="utf-8")))
    target = static / VENDOR_USWDS / "img"
    for name in sorted(names):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)
    return sorted(names)


def _sources(static: Path) -> list[str]:
    """Every servable file under ``static`` (POSIX names relative to it), stylesheets last."""
    names = []
    for path in static.rglob("*"):
        name = path.relative_to(static).as_posix()
        top = name.split("/", 1)[0]
        if path.is_file() and top not in (DIST, SOURCES) and not path.name.startswith("."):
            names.append(name)
    return sorted(names, key=lambda n: (n.endswith(".css"), n))


def _rewrite_css(name: str, text: str, files: dict[str, str]) -> str:
    """``text`` (the stylesheet ``name``) with each url() naming a static file pointed at
    that file's hashed copy, relative to the stylesheet's own hashed copy."""
    folder = posixpath.dirname(name)

    def swap(match: re.Match[str]) -> str:
        quote, url = match.groups()
        if not _is_relative(url):
            return match.group(0)
        path = re.split(r"[?#]", url, maxsplit=1)[0]
        rest = url[len(path) :]
        target = posixpath.normpath(posixpath.join(folder, path))
        if target not in files:
            return match.group(0)
        # the hashed stylesheet sits in the same folder as the plain one
        new = posixpath.relpath(files[target], folder or ".")
        return f"url({quote}{new}{rest}{quote})"

    return URL_RE.sub(swap, text)


def build(static: Path = STATIC) -> dict[str, str]:
    """Write static/dist (hashed copies, manifest, compressed copies) from ``static``, replacing
    the one before at once; return the manifest's files."""
    from whitenoise.compress import Compressor

    dist = static / DIST
    building = static / f".{DIST}-building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    files: dict[str, str] = {}
    for name in _sources(static):
        content = (static / name).read_bytes()
        if name.endswith(".css"):
            content = _rewrite_css(name, content.decode("utf-8"), files).encode("utf-8")
        files[name] = hashed_name(name, content)
        out = building / files[name]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
    (building / MANIFEST).write_text(
        json.dumps({"files": files}, indent=1, sort_keys=True), encoding="utf-8"
    )
    compressor = Compressor(quiet=True)
    for name in files.values():
        path = str(building / name)
        if compressor.should_compress(path):
            compressor.compress(path)
    old = static / f".{DIST}-old-{os.getpid()}"
    if dist.exists():
        dist.rename(old)
    building.rename(dist)
    shutil.rmtree(old, ignore_errors=True)
    return files


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["uswds-images"]:
        names = copy_uswds_images()
        print(f"USWDS images in use: {len(names)} copied to static/{VENDOR_USWDS}/img")
        return 0
    if args[:1] in ([], ["build"]):
        files = build()
        print(f"static/{DIST}: {len(files)} files under hashed names, with .gz and .br")
        return 0
    print("usage: python -m portal.assets [build | uswds-images]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
