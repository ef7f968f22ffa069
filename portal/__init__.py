"""The constituent engagement portal.

Importing the package loads nothing: ``portal.app.create_app`` builds the Flask app (``flask
--app portal`` and ``from portal import create_app`` find it here, imported on first use), and
the domain packages import no Flask.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from portal.app import create_app

        return create_app
    raise AttributeError(f"module 'portal' has no attribute {name!r}")
