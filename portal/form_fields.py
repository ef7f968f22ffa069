"""Form fields shared by the features' forms."""

from __future__ import annotations

from typing import Any

from wtforms import DateField


class ClearDateField(DateField):
    """A date (``YYYY-MM-DD``, as the browser's date picker sends it) whose one message for
    anything that is not a real date is ``message``, in place of WTForms' own."""

    def __init__(self, label: Any = None, validators: Any = None, *, message: Any,
                 **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.not_a_date = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(self.not_a_date) from error
