"""Test data of the catalogue: departments, service groups, categories and their questions."""

from __future__ import annotations

from typing import Any

from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from tests.factory_base import FactoryBase, next_n


class CatalogueFactories(FactoryBase):
    def department(self, **kw: Any) -> Department:
        n = next_n()
        kw.setdefault("code", f"dept-{n}")
        kw.setdefault("name", f"Department {n}")
        kw.setdefault("translations", {"es": {"name": f"Departamento {n}"}})
        return self._add(Department(**kw))

    def group(self, **kw: Any) -> ServiceGroup:
        n = next_n()
        kw.setdefault("code", f"group-{n}")
        kw.setdefault("name", f"Group {n}")
        return self._add(ServiceGroup(**kw))

    def category(
        self, *, questions: list[dict[str, Any]] | None = None, **kw: Any
    ) -> ServiceCategory:
        n = next_n()
        kw.setdefault("code", f"cat-{n}")
        kw.setdefault("name", f"Category {n}")
        kw.setdefault("description", f"Problems of kind {n}")
        if "department" not in kw and "department_id" not in kw:
            kw["department"] = self.department()
        if "group" not in kw and "group_id" not in kw:
            kw["group"] = self.group()
        category = self._add(ServiceCategory(**kw))
        for position, spec in enumerate(questions or []):
            spec = dict(spec)
            spec.setdefault("prompt", spec["code"].replace("_", " ").capitalize())
            self._add(CategoryQuestion(category=category, position=position, **spec))
        self.session.refresh(category)
        return category
