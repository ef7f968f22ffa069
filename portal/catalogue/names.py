"""Display names of the catalogue (departments, categories, areas) in one language, read once
for a page that shows or offers many of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.catalogue.models import Department, ServiceCategory

#: Catalogue lists shown as choices (a city has hundreds at most).
MAX_CHOICES = 2000


class CatalogueNames:
    def __init__(self, session: Session, locale: str) -> None:
        self.departments = {
            d.id: d.t("name", locale)
            for d in session.scalars(
                select(Department).order_by(Department.name).limit(MAX_CHOICES)
            )
        }
        self.categories = {
            c.id: c.t("name", locale)
            for c in session.scalars(
                select(ServiceCategory).order_by(ServiceCategory.name).limit(MAX_CHOICES)
            )
        }
        self.areas: dict[int, str] = dict(
            session.execute(select(Area.id, Area.name).order_by(Area.name).limit(MAX_CHOICES)).all()
        )
