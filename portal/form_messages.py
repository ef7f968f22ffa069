"""Plain-language messages for the filing error codes (view side: translated per request)."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

from portal.catalogue.models import CategoryQuestion


def location_message(field: str, code: str, city: str) -> str:
    messages = {
        ("address", "required"): _(
            "Enter a street address or nearest intersection, or choose a point on the map."
        ),
        ("address", "too_long"): _("Keep the address to 300 characters or fewer."),
        ("location", "outside_city"): _(
            "That point is outside %(city)s. Choose a point inside "
            "the city, or enter a street address.",
            city=city,
        ),
        ("location", "invalid"): _(
            "The map position was incomplete. Choose the point again, or enter a street address."
        ),
        ("area", "unknown"): _("Choose a neighbourhood from the list."),
    }
    return messages.get((field, code), _("Check this field."))


def contact_message(field: str, code: str) -> str:
    messages = {
        ("email", "invalid"): _(
            "Enter an email address in the right format, like name@example.com."
        ),
        ("phone", "invalid"): _(
            "Enter a phone number using digits, spaces, brackets, dashes or "
            "a plus sign, like (555) 010-2030."
        ),
        ("name", "too_long"): _("Keep your name to 120 characters or fewer."),
    }
    return messages.get((field, code), _("Check this field."))


def answer_message(question: CategoryQuestion, code: str, locale: str) -> str:
    prompt = question.t("prompt", locale)
    messages = {
        "required": _("Answer the question: %(question)s", question=prompt),
        "not_a_number": _("Enter a number for: %(question)s", question=prompt),
        "not_a_date": _("Enter a real date for: %(question)s", question=prompt),
        "bad_choice": _("Choose one of the options for: %(question)s", question=prompt),
        "too_long": _('Your answer to "%(question)s" is too long.', question=prompt),
    }
    return messages.get(code, _("Check this field."))


def photo_message(code: str, name: str, error: Exception | None = None) -> str:
    """The message for a refused photo; ``error`` (a ``PhotoError``) gives a too-big photo's
    size and the limit it is over."""
    width, height = getattr(error, "width", 0), getattr(error, "height", 0)
    limit = getattr(error, "max_pixels", 0)
    if code == "too_many_pixels" and width and height and limit:
        return _(
            "%(file)s is %(width)s × %(height)s pixels; photos like it may be at most "
            "%(limit)s megapixels. Choose a smaller photo, or save it at a lower resolution.",
            file=name,
            width=format_decimal(width),
            height=format_decimal(height),
            limit=format_decimal(round(limit / 1_000_000, 1)),
        )
    messages = {
        "not_image": _(
            "%(file)s is not a photo. Choose a JPEG, PNG, GIF or WebP image.", file=name
        ),
        "too_large": _("%(file)s is larger than 10 MB. Choose a smaller photo.", file=name),
        "too_many_pixels": _("%(file)s has too many pixels. Choose a smaller photo.", file=name),
        "empty": _("%(file)s is empty. Choose another file.", file=name),
        "busy": _("We could not check %(file)s just now. Try again in a minute.", file=name),
        "too_many": _("You can add up to 3 photos. Remove one to add another."),
    }
    return messages.get(code, _("Check this field."))
