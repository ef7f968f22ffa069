"""The case page's "Possible duplicates" panel (issue 22, ``portal.assist.duplicates``): the
requests scored as possibly the same incident when this case (or they) were filed, each with
its strength in words ("likely", "possible") and the reasons, put into words here. Only those
the member may open; "Merge into this" is the case page's own merge form, "Not a duplicate"
records the decision (``casework_case.not_duplicate``). Switched off or failing: no panel.
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.access import current_staff
from portal.assist import duplicates
from portal.casework import related
from portal.casework.views.residents import mergeable
from portal.core.outage import database_unavailable
from portal.requests.models import ServiceRequest
from portal.web import db_session, settings

log = logging.getLogger(__name__)


def _when(hours: float, earlier: bool) -> str:
    if hours < 1:
        return _("filed within the hour")
    if hours < 48:
        n = round(hours)
        if earlier:
            return ngettext("filed %(num)d hour earlier", "filed %(num)d hours earlier", n)
        return ngettext("filed %(num)d hour later", "filed %(num)d hours later", n)
    n = round(hours / 24)
    if earlier:
        return ngettext("filed %(num)d day earlier", "filed %(num)d days earlier", n)
    return ngettext("filed %(num)d day later", "filed %(num)d days later", n)


def reason_texts(reasons: list[dict[str, Any]], *, earlier: bool) -> list[str]:
    """The stored reasons in the reader's language (``earlier``: the other request was filed
    before this case)."""
    texts: list[str] = []
    for reason in reasons:
        kind = reason.get("kind")
        if kind == "distance":
            texts.append(_("%(metres)s m away", metres=int(reason.get("metres", 0))))
        elif kind == "address":
            texts.append(_("same address"))
        elif kind == "area":
            texts.append(_("same neighbourhood (no map location to compare)"))
        elif kind == "category":
            texts.append(_("same category"))
        elif kind == "department":
            texts.append(_("same department"))
        elif kind == "time":
            texts.append(_when(float(reason.get("hours", 0)), earlier))
        elif kind == "words":
            texts.append(_("words in common: %(words)s", words=", ".join(reason.get("words", []))))
        elif kind == "photo":
            texts.append(_("photo looks the same"))
    return texts


def duplicates_panel(sr: ServiceRequest) -> list[dict[str, Any]] | None:
    """The panel's rows (None: switched off or failed, no panel)."""
    if not settings().assist_duplicates:
        return None
    db = db_session()
    try:
        with db.begin_nested():
            shown = duplicates.for_case(db, sr, visible=related.visible_to(current_staff()))
    except Exception as exc:  # fails open: the case page never depends on a suggestion...
        if database_unavailable(exc):  # ...but the rest of the page cannot be read either
            raise
        log.exception("possible duplicates of %s not read", sr.reference)
        return None
    strengths = {"likely": _("Likely duplicate"), "possible": _("Possible duplicate")}
    return [
        {
            "id": item.row.id,
            "other": item.other,
            "strength": item.strength,
            "strength_text": strengths[item.strength],
            "reasons": reason_texts(item.row.reasons, earlier=item.earlier),
            "mergeable": mergeable(sr, item.other),
        }
        for item in shown
    ]
