"""Language helpers that do not need Flask: ``_l`` marks a message id for extraction
(``pybabel extract -k _l``; the text is translated where it is shown), ``format_duration``
writes a duration in the reader's language."""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_timedelta


def _l(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def format_duration(seconds: float, locale: str) -> str:
    """A rounded, human duration: "3 hours", "2 days" (in ``locale``)."""
    return format_timedelta(timedelta(seconds=max(int(seconds), 0)), threshold=1.5, locale=locale)
