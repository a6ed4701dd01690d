"""Reads of the catalogue."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from .models import Campaign, Technique


@dataclass(frozen=True)
class TimelineEvent:
    day: date | None
    kind: str  # "claim", "takedown", "technique", "seen"
    text: str
    tlp: str


def removal_figures(counts: Iterable[tuple[int | None, str]], *, thousands: bool = False) -> str:
    """What a takedown removed, as "12 accounts, 3 pages": each non-zero count with what it counts."""
    return ", ".join(f"{value:,} {label}" if thousands else f"{value} {label}" for value, label in counts if value)


def campaign_list() -> QuerySet[Campaign]:
    """Campaigns with what their list columns need, in a constant number of queries."""
    return Campaign.objects.select_related("actor", "operation", "owner").prefetch_related(
        "elections", "platforms", "tools"
    )


def campaign_timeline(*, campaign: Campaign) -> list[TimelineEvent]:
    """The dated events of a campaign (first and last seen, claims, takedowns, technique uses), oldest first."""
    events: list[TimelineEvent] = []
    if campaign.first_seen:
        events.append(TimelineEvent(campaign.first_seen, "seen", "First seen", campaign.tlp))
    if campaign.last_seen:
        events.append(TimelineEvent(campaign.last_seen, "seen", "Last seen", campaign.tlp))
    for claim in campaign.claims.select_related("actor"):
        actor = f" attributes it to {claim.actor}" if claim.actor else ""
        likelihood = f" ({claim.get_likelihood_display()})" if claim.likelihood else ""
        events.append(TimelineEvent(claim.claimed_on, "claim", f"{claim.claimant}{actor}{likelihood}", claim.tlp))
    for takedown in campaign.takedowns.select_related("platform"):
        figures = removal_figures(
            (
                (takedown.accounts_removed, "accounts"),
                (takedown.pages_removed, "pages"),
                (takedown.groups_removed, "groups"),
            ),
            thousands=True,
        )
        events.append(
            TimelineEvent(
                takedown.announced_on, "takedown", f"{takedown.platform} takedown {figures}".strip(), takedown.tlp
            )
        )
    for use in campaign.technique_uses.select_related("technique"):
        events.append(
            TimelineEvent(
                use.observed_on, "technique", f"{use.technique} ({use.get_confidence_display()})", campaign.tlp
            )
        )
    return sorted(events, key=lambda e: (e.day is None, e.day or date.min, e.kind, e.text))


def technique_resolve(*, framework: str, external_id: str) -> Technique | None:
    """A technique by its framework id, retired ids included."""
    return Technique.objects.filter(framework=framework, external_id=external_id.strip().upper()).first()


def techniques_by_external_id(*, framework: str, external_ids: Iterable[str]) -> dict[str, Technique]:
    """The techniques of a framework with these ids, retired ones included, keyed by id; unknown ids are absent."""
    return {t.external_id: t for t in Technique.objects.filter(framework=framework, external_id__in=external_ids)}
