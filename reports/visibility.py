"""Who may see what in a report: an audience is a clearance ceiling or an organisation.

An organisation audience sees what `partners.selectors.visible_to` lets the organisation see. A clearance
audience is a ceiling among CLEAR < GREEN < AMBER, and reads as `principal_for_audience(ceiling)`: AMBER+STRICT
goes only to owners and named recipients and RED to named individuals, so neither is ever included for it.
Every read of the report builder goes through `audience_filter`, and so through `visible_to`, so nothing above
the audience's clearance reaches any output.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from partners.markings import TLP_RESTRICTIVENESS, Tlp
from partners.models import Organisation
from partners.selectors import (
    Principal,
    clearance_ceiling,
    principal_for_audience,
    principal_for_organisation,
    visible_to,
)

CEILING_LEVELS = {
    Tlp.CLEAR: (Tlp.CLEAR,),
    Tlp.GREEN: (Tlp.CLEAR, Tlp.GREEN),
    Tlp.AMBER: (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER),
}


# Scoring samples are shown to their owners only (partners.selectors.AUDIENCE_ONLY_MODELS); a report never names
# one and carries only the group figures derived from it, so its marking alone decides, for every audience: they
# are read as everyone holding the audience's clearance reads them.
MARKING_ONLY_MODELS = {"detection.sample"}


def organisation_clearance(organisation: Organisation) -> str:
    """An organisation's clearance ceiling (CLEAR when none was granted)."""
    return clearance_ceiling(organisation_id=organisation.pk)


@dataclass(frozen=True)
class Audience:
    """Who a report is for: an organisation, or everyone holding a clearance."""

    organisation: Organisation | None = None
    clearance: str = ""

    def __post_init__(self):
        if (self.organisation is None) == (not self.clearance):
            raise ValueError("An audience is an organisation or a clearance, not both and not neither.")
        if self.clearance and self.clearance not in CEILING_LEVELS:
            raise ValueError(f"A clearance audience is one of {', '.join(CEILING_LEVELS)}, not {self.clearance}.")

    @property
    def ceiling(self) -> str:
        return self.clearance or organisation_clearance(self.organisation)

    @property
    def principal(self) -> Principal:
        """Who the audience reads as: its organisation, or everyone holding its clearance."""
        if self.organisation is not None:
            return principal_for_organisation(self.organisation)
        return principal_for_audience(self.clearance)

    @property
    def key(self) -> str:
        return f"org:{self.organisation.slug}" if self.organisation else f"clearance:{self.clearance}"

    @property
    def label(self) -> str:
        return self.organisation.name if self.organisation else f"{Tlp(self.clearance).label} clearance"

    def can_see(self, obj) -> bool:
        """Whether the audience may see this one object (a report's scope object, say)."""
        return audience_filter(type(obj)._default_manager.filter(pk=obj.pk), self).exists()

    def allows(self, tlp: str) -> bool:
        """Whether a marking is within the ceiling (AMBER+STRICT, for its owner, is decided per object)."""
        return tlp in CEILING_LEVELS[Tlp(self.ceiling)]


def audience_filter(queryset: QuerySet, audience: Audience) -> QuerySet:
    """The rows of a queryset that the audience may see, as `visible_to` decides for its principal."""
    if queryset.model._meta.label_lower in MARKING_ONLY_MODELS:
        return visible_to(principal_for_audience(audience.ceiling), queryset)
    return visible_to(audience.principal, queryset)


def marking_rank(tlp: str) -> int:
    """How restrictive a marking is: CLEAR 0 up to RED 4, to sort by."""
    return TLP_RESTRICTIVENESS[Tlp(tlp)]
