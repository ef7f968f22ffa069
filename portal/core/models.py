"""Column types and mixins shared by the feature models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock

#: A 64-bit key on PostgreSQL that still autoincrements on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSONB on PostgreSQL, JSON text on SQLite.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Translatable:
    """English lives in the plain columns; other languages in ``translations[locale][field]``."""

    translations: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)

    def t(self, field: str, locale: str | None) -> Any:
        if locale and locale != "en":
            value = (self.translations or {}).get(locale, {}).get(field)
            if value:
                return value
        return getattr(self, field)


class OptionLabels:
    """Questions with choices: ``options`` is a list of ``{"key", "label",
    "translations": {locale: {"label"}}}``."""

    options: Any

    def option_label(self, key: str, locale: str | None) -> str:
        for option in self.options or []:
            if option.get("key") == key:
                if locale and locale != "en":
                    label = option.get("translations", {}).get(locale, {}).get("label")
                    if label:
                        return label
                return option.get("label", key)
        return key
