"""Static files served as production serves them, in every environment (issue 21).

Templates keep writing ``url_for('static', filename='css/portal.css')``; when static/dist's
manifest (``python -m portal.assets``, run by ``make assets``) lists the file, the URL is its
hashed copy, ``/static/dist/css/portal.<hash>.css``, which WhiteNoise (wrapped around the app)
serves compressed (Brotli or gzip, as the browser accepts) with a year's caching,
``Cache-Control: public, max-age=31536000, immutable``: a page's files are fetched once, and
never asked about again until they change (and with them their names).

A file the manifest does not list (no build yet, or a file added since) keeps its plain URL,
served by Flask with ``Cache-Control: no-cache`` (asked about again on each use); the plain
URLs of listed files keep working too (old links, emails). Outside production a file changed
since the build also falls back to its plain URL, so an edit shows on the next reload (and a
test never runs yesterday's script).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flask import Flask

from portal.assets import DIST, MANIFEST

#: What WhiteNoise sends for a hashed file (its own default is ten years).
IMMUTABLE = "public, max-age=31536000, immutable"


class Manifest:
    """The hashed names of static/dist/manifest.json. With ``watch`` (not production) the
    manifest is read again when rebuilt, and a source newer than it is not looked up."""

    def __init__(self, static: Path, *, watch: bool) -> None:
        self.static = static
        self.path = static / DIST / MANIFEST
        self.watch = watch
        self._read_at = -1.0
        self._files: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            self._files, self._read_at = {}, -1.0
            return
        if stamp != self._read_at:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._files, self._read_at = dict(data.get("files", {})), stamp

    def lookup(self, filename: str) -> str | None:
        """The URL path under /static/ of ``filename``'s hashed copy, or None."""
        if self.watch:
            self._load()
        hashed = self._files.get(filename)
        if hashed is None:
            return None
        if self.watch:
            try:
                if os.stat(self.static / filename).st_mtime > self._read_at:
                    return None
            except OSError:
                return None
        return f"{DIST}/{hashed}"


def _static_headers(headers: Any, path: str, url: str) -> None:
    headers["Cache-Control"] = IMMUTABLE
    headers["X-Content-Type-Options"] = "nosniff"


def init_app(app: Flask, *, watch: bool) -> None:
    """Serve static/dist through WhiteNoise and point ``url_for('static', ...)`` at it."""
    from whitenoise import WhiteNoise

    assert app.static_folder is not None
    static = Path(app.static_folder)
    manifest = Manifest(static, watch=watch)
    app.extensions["portal.static_manifest"] = manifest
    dist = static / DIST
    if dist.is_dir() or watch:  # WhiteNoise warns of a missing folder unless it autorefreshes
        app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
            app.wsgi_app,
            root=str(dist),
            prefix=f"{app.static_url_path}/{DIST}/",
            max_age=None,
            autorefresh=watch,
            immutable_file_test=lambda path, url: True,
            add_headers_function=_static_headers,
        )

    @app.url_defaults
    def _hashed_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static":
            return
        filename = values.get("filename")
        if isinstance(filename, str) and (hashed := manifest.lookup(filename)):
            values["filename"] = hashed
