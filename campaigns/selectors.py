"""Reads of the catalogue."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from .models import Asset, Campaign, Election, Source, Technique, TechniqueUse
from .vocabularies import DISARM_TACTICS


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


@dataclass(frozen=True)
class TacticColumn:
    """One column of a technique matrix: a tactic and the techniques seen under it."""

    tactic_id: str
    tactic_name: str
    uses: list[TechniqueUse]


def technique_matrix(uses: Iterable[TechniqueUse]) -> list[TacticColumn]:
    """Technique uses by tactic, DISARM tactics in kill-chain order (phase, then id), other frameworks after."""
    columns: dict[tuple[str, str], list[TechniqueUse]] = {}
    for use in uses:
        technique = use.technique
        columns.setdefault((technique.tactic_id, technique.tactic_name or "No tactic"), []).append(use)

    def order(key: tuple[str, str]) -> tuple:
        tactic = DISARM_TACTICS.get(key[0])
        return (0, tactic["phase"], key[0]) if tactic else (1, key[1], key[0])

    return [
        TacticColumn(tactic_id, tactic_name, sorted(found, key=lambda u: u.technique.external_id))
        for (tactic_id, tactic_name), found in sorted(columns.items(), key=lambda item: order(item[0]))
    ]


def _sources_cited(campaigns: QuerySet[Campaign]) -> QuerySet[Source]:
    """The sources the campaigns cite, and those their claims, takedowns and technique uses rest on."""
    ids = Q(campaigns__in=campaigns) | Q(claims__campaign__in=campaigns) | Q(takedowns__campaign__in=campaigns)
    use_sources = TechniqueUse.objects.filter(campaign__in=campaigns, source__isnull=False).values("source")
    return Source.objects.filter(ids | Q(pk__in=use_sources)).distinct().order_by("reliability", "-published_on")


def _confirmed_groups(campaigns: QuerySet[Campaign]) -> QuerySet:
    """Coordinated groups a researcher confirmed and attached to the campaigns. Read through the reverse relation
    (`coordinated_groups`) since the catalogue sits below detection and does not import its models."""
    groups = Campaign.coordinated_groups.field.model.objects  # detection's CoordinatedGroup
    return groups.filter(campaign__in=campaigns, status="confirmed").select_related("run__sample", "campaign")


def campaign_dossier(*, campaign: Campaign) -> dict:
    """What a campaign's page shows above its form: who, against which elections, when, how, with what evidence."""
    single = Campaign.objects.filter(pk=campaign.pk)
    uses = campaign.technique_uses.select_related("technique", "source")
    return {
        "actor": campaign.actor,
        "actor_aliases": list(campaign.actor.aliases.all()) if campaign.actor else [],
        "operation": campaign.operation,
        "operation_aliases": list(campaign.operation.aliases.all()) if campaign.operation else [],
        "elections": list(campaign.elections.all()),
        "timeline": campaign_timeline(campaign=campaign),
        "matrix": technique_matrix(uses),
        "assets": list(campaign.assets.select_related("platform")),
        "groups": list(_confirmed_groups(single)),
        "sources": list(_sources_cited(single)),
    }


def election_timeline(*, election: Election, campaigns: list[Campaign]) -> list[TimelineEvent]:
    """The election's phases and polling days with the dated events of the campaigns against it, oldest first."""
    events = [
        TimelineEvent(phase.starts_on, "phase", f"{phase.get_phase_display()} (to {phase.ends_on})", election.tlp)
        for phase in election.phases.all()
    ]
    events += [
        TimelineEvent(r.polling_day, "polling", f"Polling day, round {r.number}", election.tlp)
        for r in election.rounds.all()
    ]
    if not election.rounds.exists():
        events.append(TimelineEvent(election.election_day, "polling", "Polling day", election.tlp))
    for campaign in campaigns:
        events += [
            TimelineEvent(e.day, e.kind, f"{campaign.name}: {e.text}", e.tlp)
            for e in campaign_timeline(campaign=campaign)
        ]
    return sorted(events, key=lambda e: (e.day is None, e.day or date.min, e.kind, e.text))


def election_dossier(*, election: Election) -> dict:
    """What an election's page shows: the campaigns against it, their actors, timeline, techniques and sources."""
    campaigns = election.campaigns.select_related("actor", "operation").order_by("-first_seen", "name")
    listed = list(campaigns)
    uses = TechniqueUse.objects.filter(campaign__in=campaigns).select_related("technique", "source", "campaign")
    return {
        "campaigns": listed,
        "phases": list(election.phases.all()),
        "rounds": list(election.rounds.all()),
        "timeline": election_timeline(election=election, campaigns=listed),
        "matrix": technique_matrix(uses),
        "assets": list(Asset.objects.filter(campaign__in=campaigns).select_related("platform", "campaign")),
        "groups": list(_confirmed_groups(campaigns)),
        "sources": list(_sources_cited(campaigns)),
    }
