"""Translation markers that do not need Flask: ``_l`` marks a message id for extraction
(``pybabel extract -k _l``); the text is translated where it is shown."""

from __future__ import annotations


def _l(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message
