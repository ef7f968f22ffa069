"""Response templates on the case page (no Flask here): the ones a case may use (its
department's and the city-wide ones) and a template's text filled in for the case."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.casework.models import ResponseTemplate
from portal.requests.models import ServiceRequest


def response_templates(session: Session, request: ServiceRequest) -> list[ResponseTemplate]:
    """Active templates of the case's department and the city-wide ones."""
    return list(
        session.scalars(
            select(ResponseTemplate)
            .where(
                ResponseTemplate.active.is_(True),
                (ResponseTemplate.department_id == request.department_id)
                | ResponseTemplate.department_id.is_(None),
            )
            .order_by(
                ResponseTemplate.department_id.is_(None),
                ResponseTemplate.position,
                ResponseTemplate.id,
            )
            .limit(200)
        )
    )


def fill_template(template: ResponseTemplate, request: ServiceRequest, locale: str) -> str:
    """The template's text with ``{resident_name}``, ``{reference}``, ``{category}`` filled."""
    name = request.reporter.name if request.reporter is not None else request.contact_name
    values = {
        "{resident_name}": name or "",
        "{reference}": request.reference or "",
        "{category}": request.category.t("name", locale),
    }
    text = template.t("body", locale)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text
