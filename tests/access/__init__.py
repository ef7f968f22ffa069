"""What each kind of user may do on each back-office route, one module per feature.

Each module defines ``CHECKS: list[RouteCheck]``. The walk in tests/app/test_permission_walk.py
tries every check as every kind of user, and fails on any back-office route without a check.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import object_session

KINDS = ("anonymous", "resident", "agent_x", "agent_y", "supervisor_x", "coordinator", "admin")
CASEWORK_X = frozenset({"agent_x", "supervisor_x", "admin"})  # staff of department X
CASEWORK = frozenset({"agent_x", "agent_y", "supervisor_x", "admin"})  # any casework staff
SUPERVISORS = frozenset({"supervisor_x", "admin"})
ADMINS = frozenset({"admin"})


@dataclass(frozen=True)
class RouteCheck:
    endpoint: str
    #: Builds the URL from the walk's world (see tests/app/test_permission_walk.py: World).
    url: Callable[[Any], str]
    allowed: frozenset[str]
    method: str = "GET"
    #: Form fields for a POST (the CSRF token is added by the walk).
    data: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})


def made(world: Any, name: str, build: Callable[[Any], Any]) -> Any:
    """A row of the walk's world (``world.name``), built, added and flushed on first use."""
    row = getattr(world, name, None)
    if row is None:
        session = object_session(world.dept_x)
        row = build(world)
        session.add(row)
        session.flush()
        setattr(world, name, row)
    return row


def all_checks() -> list[RouteCheck]:
    checks: list[RouteCheck] = []
    for module in pkgutil.iter_modules(__path__):
        checks.extend(importlib.import_module(f"{__name__}.{module.name}").CHECKS)
    return checks
