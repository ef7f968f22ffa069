"""Test data of surveys: versions, invitations and responses written directly (the results
tests build them this way)."""

from __future__ import annotations

from typing import Any

from portal.core import clock
from portal.requests.models import ServiceRequest
from tests.factory_base import FactoryBase, next_n


class SurveyFactories(FactoryBase):
    def survey_version(self, key: str = "request-resolved", version: int = 1) -> Any:
        """The ``SurveyVersion`` row of (key, version), made when missing."""
        from sqlalchemy import select

        from portal.surveys.models import SurveyVersion

        row = self.session.scalar(
            select(SurveyVersion).where(
                SurveyVersion.survey_key == key, SurveyVersion.version == version
            )
        )
        return row or self._add(
            SurveyVersion(survey_key=key, version=version, fingerprint="0" * 64, definition={})
        )

    def survey_invitation(
        self,
        request: ServiceRequest | None = None,
        *,
        survey_key: str = "request-resolved",
        **kw: Any,
    ) -> Any:
        """An invitation written directly (state "sent" unless given), with the case's
        department and category."""
        from datetime import timedelta

        from portal.surveys.models import SurveyInvitation

        n = next_n()
        now = kw.pop("created_at", None) or clock.now()
        kw.setdefault("state", "sent")
        kw.setdefault("email", f"surveyed{n}@example.org")
        kw.setdefault("send_after", now)
        kw.setdefault("sent_at", now if kw["state"] in ("sent", "answered") else None)
        kw.setdefault("expires_at", now + timedelta(days=14))
        kw.setdefault("token_hash", f"{n:064x}")
        if request is not None:
            kw.setdefault("department_id", request.department_id)
            kw.setdefault("category_id", request.category_id)
        version = self.survey_version(survey_key)
        return self._add(
            SurveyInvitation(
                survey_key=survey_key,
                survey_version_id=version.id,
                request_id=request.id if request is not None else None,
                created_at=now,
                **kw,
            )
        )

    def survey_response(
        self, invitation: Any = None, *, survey_key: str | None = None, **kw: Any
    ) -> Any:
        """A response written directly: measures (csat, ces, nps, resolved, comment...) as
        given; case, department and category from the invitation unless given."""
        from portal.surveys.models import SurveyResponse

        survey_key = survey_key or (
            invitation.survey_key if invitation is not None else "request-resolved"
        )
        version = self.survey_version(survey_key)
        if invitation is not None:
            kw.setdefault("request_id", invitation.request_id)
            kw.setdefault("department_id", invitation.department_id)
            kw.setdefault("category_id", invitation.category_id)
            kw.setdefault("invitation_id", invitation.id)
        kw.setdefault("created_at", clock.now())
        return self._add(
            SurveyResponse(
                survey_key=survey_key, survey_version_id=version.id, version=version.version, **kw
            )
        )
