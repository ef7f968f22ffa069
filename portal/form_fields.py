"""Form fields shared by the features' forms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import StopValidation


class ClearDateField(DateField):
    """A date (``YYYY-MM-DD``, as the browser's date picker sends it) whose one message for
    anything that is not a real date is ``message``, in place of WTForms' own."""

    def __init__(
        self, label: Any = None, validators: Any = None, *, message: Any, **kwargs: Any
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.not_a_date = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(self.not_a_date) from error


def optional_int(value: Any) -> Any:
    """``""`` -> ``None``, ``"12"`` -> ``12``; anything else stays as it is, so the
    ``KnownChoice`` check reports it next to the field (never a crash)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 12 else text


def optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


class KnownChoice:
    """The value must be one of the field's choices (a forged id is a form error)."""

    def __init__(self, message: Any, *, required_message: Any = None) -> None:
        self.message = message
        self.required_message = required_message
        self.field_flags = {"required": True} if required_message is not None else {}

    def __call__(self, _form: FlaskForm, field: SelectField) -> None:
        if field.data is None:
            if self.required_message is not None:
                raise StopValidation(self.required_message)
            return
        choices = field.choices
        # The fields it checks are given (value, label) pairs: never None, never groups (a dict).
        assert isinstance(choices, list | tuple)
        if field.data not in {choice[0] for choice in choices if choice[0] != ""}:
            raise StopValidation(self.message)
