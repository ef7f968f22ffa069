"""Render email templates in the recipient's language, without Flask.

Each message is a folder ``templates/notifications/<name>/`` holding ``subject.txt``,
``body.txt`` and ``body.html``. HTML is autoescaped; the ``.txt`` templates are not, so they
are never reused as HTML.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from portal.core.config import ROOT

TRANSLATIONS_DIR = ROOT / "portal" / "translations"


@lru_cache(maxsize=8)
def _translations(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


@lru_cache(maxsize=8)
def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(ROOT / "templates")),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(_translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_message(name: str, *, locale: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Return ``(subject, text, html)`` for message ``name`` in ``locale``."""
    env = _environment(locale if locale in ("en", "es") else "en")
    ctx = dict(context, locale=locale)
    base = f"notifications/{name}"
    subject = env.get_template(f"{base}/subject.txt").render(ctx).strip()
    text = env.get_template(f"{base}/body.txt").render(ctx).strip() + "\n"
    html = env.get_template(f"{base}/body.html").render(ctx)
    return " ".join(subject.split()), text, html


def gettext(locale: str, message: str, **variables: Any) -> str:
    """Translate one string outside a request (timeline text stored for a resident)."""
    translated = _translations(locale if locale in ("en", "es") else "en").gettext(message)
    return translated % variables if variables else translated
