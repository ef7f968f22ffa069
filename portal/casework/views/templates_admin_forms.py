"""Forms of the response templates pages. A title and body field is added for each language
the city uses besides English (``template_form``); department choices are filled in by the
view."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.casework.templates_admin import BODY_MAX, CODE_MAX, TITLE_MAX
from portal.form_fields import KnownChoice, optional_int
from portal.i18n import LANGUAGE_NAMES

#: What the case page fills in for each placeholder (``portal.casework.placeholders.PLACEHOLDERS``).
PLACEHOLDER_MEANINGS = {
    "resident_name": _l("the resident's name"),
    "reference": _l("the case reference, like SR-2026-000123"),
    "category": _l("the case's category, in the resident's language"),
}
#: Languages as staff read them in a label ("Title in Spanish").
LANGUAGE_LABELS = {"en": _l("English"), "es": _l("Spanish")}


def language_label(locale: str) -> Any:
    return LANGUAGE_LABELS.get(locale) or LANGUAGE_NAMES.get(locale, locale)


def _title_length() -> Length:
    return Length(
        max=TITLE_MAX, message=_l("Keep the title to %(max)d characters or fewer.", max=TITLE_MAX)
    )


def _body_length() -> Length:
    return Length(
        max=BODY_MAX, message=_l("Keep the text to %(max)d characters or fewer.", max=BODY_MAX)
    )


class TemplateForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter a code for the template")),
            Length(
                max=CODE_MAX,
                message=_l("Keep the code to %(max)d characters or fewer.", max=CODE_MAX),
            ),
        ],
    )
    department = SelectField(
        _l("Department"),
        choices=[],
        coerce=optional_int,
        validate_choice=False,
        validators=[KnownChoice(_l("Choose a department from the list"))],
    )
    title = StringField(
        _l("Title in English"),
        validators=[DataRequired(_l("Enter a title for the template")), _title_length()],
    )
    body = TextAreaField(
        _l("Text in English"),
        validators=[DataRequired(_l("Enter the text of the template")), _body_length()],
    )
    state = HiddenField()

    #: The other languages' locales, in the city's order (set by ``template_form``).
    locales: tuple[str, ...] = ()

    def translated_fields(self) -> list[tuple[str, Any, Any]]:
        """``(locale, title field, body field)`` for each other language."""
        return [
            (locale, self[f"title_{locale}"], self[f"body_{locale}"]) for locale in self.locales
        ]

    def translations(self) -> dict[str, dict[str, str]]:
        return {
            locale: {"title": title.data or "", "body": body.data or ""}
            for locale, title, body in self.translated_fields()
        }


def template_form(
    languages: tuple[str, ...] | list[str], *, new: bool, **kwargs: Any
) -> TemplateForm:
    """A template form with a title and body for each of ``languages`` besides English; an
    existing template's code is shown, not edited."""
    locales = tuple(code for code in languages if code != "en")

    class Form(TemplateForm):
        pass

    Form.locales = locales
    if not new:
        Form.code = None  # type: ignore[assignment]
    for locale in locales:
        language = language_label(locale)
        setattr(
            Form,
            f"title_{locale}",
            StringField(
                _l("Title in %(language)s", language=language), validators=[_title_length()]
            ),
        )
        setattr(
            Form,
            f"body_{locale}",
            TextAreaField(
                _l("Text in %(language)s", language=language), validators=[_body_length()]
            ),
        )
    return Form(**kwargs)


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[DataRequired()])


class ActionForm(FlaskForm):
    """Only the CSRF token (retire, reactivate)."""
