"""`GET /about/algorithms`: the public algorithm register (``portal.assist.register``), in the
reader's language, with the live figures of each assistance feature."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal, format_percent
from flask import Blueprint, render_template
from flask_babel import gettext as _

from portal.assist.register import Figure, measured_elsewhere, register
from portal.core import clock
from portal.i18n import current_locale
from portal.web import database, db_session, settings

bp = Blueprint("assist_register", __name__, url_prefix="/about")


def figure_text(figure: Figure) -> str:
    """A figure in the reader's language: shares as percentages, counts as numbers."""
    locale = current_locale()
    values: dict[str, Any] = {
        **{k: format_percent(v, locale=locale) for k, v in figure.shares.items()},
        **{k: format_decimal(v, locale=locale) for k, v in figure.counts.items()},
        **{k: _(v) for k, v in figure.words.items()},
    }
    return _(figure.message, **values)


@bp.get("/algorithms")
def algorithms() -> Any:
    config, now = settings(), clock.now()
    measured = measured_elsewhere(database(), db_session(), config, now)
    entries = register(db_session(), settings=config, now=now, measured=measured)
    return render_template("assist/algorithms.html", entries=entries, figure_text=figure_text)
