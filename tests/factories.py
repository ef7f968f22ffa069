"""Factories for test data, one mixin per feature (``tests/<feature>/factories.py``), composed
here as the ``make`` fixture's ``Factories``. Each returns a flushed model; defaults make a valid
object."""

from __future__ import annotations

from tests.areas.factories import INSIDE, OUTSIDE, SQUARE, AreaFactories
from tests.auth.factories import PASSWORD, AuthFactories
from tests.casework.factories import CaseworkFactories
from tests.catalogue.factories import CatalogueFactories
from tests.places.factories import PlacesFactories
from tests.programmes.factories import ProgrammeFactories
from tests.requests.factories import RequestFactories
from tests.sla.factories import SlaFactories
from tests.staff.factories import StaffFactories
from tests.surveys.factories import SurveyFactories

__all__ = ["INSIDE", "OUTSIDE", "PASSWORD", "SQUARE", "Factories"]


class Factories(
    CatalogueFactories,
    AreaFactories,
    PlacesFactories,
    AuthFactories,
    StaffFactories,
    RequestFactories,
    CaseworkFactories,
    SlaFactories,
    SurveyFactories,
    ProgrammeFactories,
):
    """Every feature's factories on one object (``make.request(...)``, ``make.task(...)``)."""
