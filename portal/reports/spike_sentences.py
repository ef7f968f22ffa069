"""The hotspot flags in words: ``spike_sentence`` says why an (area, category) was flagged in one
sentence in the reader's language, with the figures that justify it (the rule is in
``portal.reports.hotspots``), for the hotspots page and the weekly digest. No Flask here.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from portal.core.i18n import _l, gettext
from portal.reports.hotspots import Spike

_PREVIOUS = {
    "week": _l("%(ratio)s times its average of the previous %(n)d weeks (%(baseline)s)"),
    "month": _l("%(ratio)s times its average of the previous %(n)d months (%(baseline)s)"),
    "quarter": _l("%(ratio)s times its average of the previous %(n)d quarters (%(baseline)s)"),
}
_NONE_BEFORE = {
    "week": _l("none in the previous %(n)d weeks"),
    "month": _l("none in the previous %(n)d months"),
    "quarter": _l("none in the previous %(n)d quarters"),
}


def _number(value: float, locale: str) -> str:
    return format_decimal(value, "#,##0.0", locale=locale)


def spike_sentence(spike: Spike, locale: str) -> str:
    """The flag as one sentence in ``locale``, e.g. "Parking in Northside: 32 requests in
    March 2026, 3.2 times the city rate (10.0 per area)."."""
    parts = []
    if spike.reason in ("city", "both") and spike.per_thousand is not None:
        parts.append(
            gettext(
                locale,
                _l(
                    "%(ratio)s times the city rate (%(rate)s per 1,000 residents, against "
                    "%(city)s city-wide)"
                ),
                ratio=_number(spike.city_ratio, locale),
                rate=_number(spike.per_thousand, locale),
                city=_number(spike.city_per_thousand or 0.0, locale),
            )
        )
    elif spike.reason in ("city", "both"):
        parts.append(
            gettext(
                locale,
                _l("%(ratio)s times the city rate (%(rate)s per area)"),
                ratio=_number(spike.city_ratio, locale),
                rate=_number(spike.city_rate, locale),
            )
        )
    if spike.reason in ("baseline", "both"):
        kind = spike.period.kind
        if spike.baseline_ratio is None:
            parts.append(gettext(locale, _NONE_BEFORE[kind], n=spike.baseline_periods))
        else:
            parts.append(
                gettext(
                    locale,
                    _PREVIOUS[kind],
                    ratio=_number(spike.baseline_ratio, locale),
                    n=spike.baseline_periods,
                    baseline=_number(spike.baseline, locale),
                )
            )
    figures = (
        gettext(locale, _l("%(first)s and %(second)s"), first=parts[0], second=parts[1])
        if len(parts) == 2
        else parts[0]
    )
    return gettext(
        locale,
        _l("%(category)s in %(area)s: %(count)d requests in %(period)s, %(figures)s."),
        category=spike.category_name,
        area=spike.area_name,
        count=spike.count,
        period=spike.period.label(locale),
        figures=figures,
    )


__all__ = ["spike_sentence"]
