"""The placeholders the case page fills in a response template's body (``fill_template``),
and the check that a template names no other: shared by the templates admin and the city's
``templates.toml``."""

from __future__ import annotations

import re

from portal.catalogue.loader import suggestion

PLACEHOLDERS = ("resident_name", "reference", "category")


def placeholder_problem(body: str) -> str | None:
    """Why ``body`` names a placeholder the case page cannot fill, or ``None``."""
    for name in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", body):
        if name not in PLACEHOLDERS:
            return (
                f"placeholder {{{name}}} is unknown (expected "
                f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
                + suggestion(name, PLACEHOLDERS)
            )
    return None
