"""What every feature's test factories share: the session and settings, and flushing."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from portal.core.config import Settings

_seq = itertools.count(1)


def next_n() -> int:
    """A number no other factory call in this run has had (for unique codes and names)."""
    return next(_seq)


class FactoryBase:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def _add(self, obj: Any) -> Any:
        self.session.add(obj)
        self.session.flush()
        return obj
