"""Reads for the reports: the catalogue and the scoring results of a scope and period, and reports by audience."""

from __future__ import annotations

from datetime import date

from django.db.models import Model, Q, QuerySet

from campaigns import vocabularies as vocab
from campaigns.models import (
    Asset,
    AttributionClaim,
    Campaign,
    Election,
    Narrative,
    Operation,
    Source,
    Takedown,
    TechniqueUse,
    ThreatActor,
)
from detection import selectors as detection_selectors
from partners.markings import Tlp
from partners.models import Organisation
from partners.selectors import as_principal, can_see, principal_for_organisation

from .models import Report, ReportStatus, Scope, Subscription
from .visibility import CEILING_LEVELS, Audience, audience_filter


def scope_object_get(*, scope: str, object_id: int | None) -> Model | None:
    """The election, actor or operation a report is about (None for a global report or a missing row)."""
    model = {Scope.ELECTION: Election, Scope.ACTOR: ThreatActor, Scope.OPERATION: Operation}.get(scope)
    if model is None:
        return None
    return model.objects.filter(pk=object_id).first()


def campaigns_of_scope(*, scope: str, obj: Model | None) -> QuerySet[Campaign]:
    """Every campaign of a scope, whatever its dates or marking."""
    campaigns = Campaign.objects.all()
    if scope == Scope.ELECTION:
        campaigns = campaigns.filter(elections=obj)
    elif scope == Scope.ACTOR:
        campaigns = campaigns.filter(Q(actor=obj) | Q(operation__actor=obj))
    elif scope == Scope.OPERATION:
        campaigns = campaigns.filter(operation=obj)
    return campaigns.distinct()


def operations_of_scope(*, scope: str, obj: Model | None, campaign_ids) -> QuerySet[Operation]:
    """Every operation of a scope (of an election: those running its campaigns), whatever its marking."""
    if scope == Scope.GLOBAL:
        return Operation.objects.all()
    if scope == Scope.ACTOR:
        return Operation.objects.filter(actor=obj)
    if scope == Scope.OPERATION:
        return Operation.objects.filter(pk=obj.pk)
    return Operation.objects.filter(campaigns__in=campaign_ids).distinct()


def active_in(start: date, end: date) -> Q:
    """Dated records whose first-seen to last-seen span overlaps the period (an open end is still going)."""
    dated = Q(first_seen__isnull=False) | Q(last_seen__isnull=False)
    overlaps = (Q(first_seen__lte=end) | Q(first_seen__isnull=True)) & (
        Q(last_seen__gte=start) | Q(last_seen__isnull=True)
    )
    return dated & overlaps


def undated_recorded_in(start: date, end: date) -> Q:
    """Records with no activity dates, first recorded in the catalogue during the period."""
    return Q(first_seen__isnull=True, last_seen__isnull=True, created_at__date__range=(start, end))


def campaigns_in_period(*, scope: str, obj: Model | None, start: date, end: date, audience: Audience):
    """Visible campaigns of a scope active in the period by their dates; an undated one when first recorded in it."""
    campaigns = campaigns_of_scope(scope=scope, obj=obj).filter(active_in(start, end) | undated_recorded_in(start, end))
    return (
        audience_filter(campaigns, audience)
        .select_related("actor", "operation", "operation__actor")
        .prefetch_related("elections", "platforms", "tools", "narratives", "sources")
        .order_by("-first_seen", "name")
    )


def technique_uses_of(*, campaign_ids) -> QuerySet[TechniqueUse]:
    """The technique uses of these campaigns, with their techniques (the caller passes only visible campaigns)."""
    return TechniqueUse.objects.filter(campaign_id__in=campaign_ids).select_related("technique", "technique__parent")


def _about_scope(*, scope: str, obj: Model | None, audience: Audience) -> Q:
    """Claims and takedowns about a scope: about one of its visible campaigns or their operations, or its actor."""
    if scope == Scope.GLOBAL:
        return Q()
    campaigns = audience_filter(campaigns_of_scope(scope=scope, obj=obj), audience).values("pk")
    about = Q(campaign__in=campaigns) | Q(operation__in=Operation.objects.filter(campaigns__in=campaigns).values("pk"))
    if scope == Scope.ACTOR:
        about |= Q(operation__actor=obj) | Q(actor=obj)
    elif scope == Scope.OPERATION:
        about |= Q(operation=obj)
    return about


def claims_in_period(*, scope: str, obj: Model | None, start: date, end: date, audience: Audience):
    """Visible claims about a scope made in the period; an undated one when first recorded in it."""
    made = Q(claimed_on__range=(start, end)) | Q(claimed_on__isnull=True, created_at__date__range=(start, end))
    claims = AttributionClaim.objects.filter(_about_scope(scope=scope, obj=obj, audience=audience)).filter(made)
    return (
        audience_filter(claims, audience)
        .select_related("actor", "campaign", "operation", "source")
        .order_by("-claimed_on", "claimant", "pk")
    )


def takedowns_in_period(*, scope: str, obj: Model | None, start: date, end: date, audience: Audience):
    """Visible takedowns about a scope announced in the period."""
    takedowns = Takedown.objects.filter(_about_scope(scope=scope, obj=obj, audience=audience)).filter(
        announced_on__range=(start, end)
    )
    return (
        audience_filter(takedowns, audience)
        .select_related("platform", "actor", "operation", "campaign", "source")
        .order_by("platform__code", "announced_on", "pk")
    )


def assets_of(*, campaign_ids, operation_ids, start, end, audience) -> QuerySet[Asset]:
    """Assets of the report's campaigns, and assets of the scope's operations active in the period (an undated one
    when first recorded in it)."""
    assets = Asset.objects.filter(
        Q(campaign_id__in=campaign_ids)
        | (Q(operation_id__in=operation_ids) & (active_in(start, end) | undated_recorded_in(start, end)))
    )
    return audience_filter(assets, audience).select_related("platform", "campaign", "operation").order_by("pk")


def visible_ids(model: type[Model], audience: Audience) -> set[int]:
    """Primary keys of a marked model's rows the audience may see (to check related objects against)."""
    return set(audience_filter(model.objects.all(), audience).values_list("pk", flat=True))


def visible_narratives(audience: Audience) -> dict[int, Narrative]:
    """Every narrative the audience may see, by primary key."""
    return {n.pk: n for n in audience_filter(Narrative.objects.select_related("parent"), audience)}


def visible_sources(audience: Audience) -> dict[int, Source]:
    """Every source the audience may see, by primary key."""
    return {s.pk: s for s in audience_filter(Source.objects.all(), audience)}


def coordinated_groups_in_period(*, scope: str, campaign_ids, start, end, audience) -> list:
    """Groups not rejected, visible to the audience, whose posts fall in the period (a group with no activity dates:
    when its scoring run finished in it).

    Confirmed groups first, then by score.
    """
    groups = detection_selectors.groups_active_in(start=start, end=end)
    if scope != Scope.GLOBAL:
        groups = groups.filter(campaign_id__in=campaign_ids)
    samples = audience_filter(detection_selectors.sample_list(), audience).values("pk")
    groups = groups.filter(run__sample__in=samples)
    campaigns = audience_filter(Campaign.objects.all(), audience).values("pk")
    groups = groups.filter(Q(campaign__isnull=True) | Q(campaign__in=campaigns))
    return sorted(groups, key=lambda g: (g.status != "confirmed", -g.score, g.run_id, g.number))


def narrative_clusters_in_period(*, scope: str, campaign_ids, start, end, audience) -> list:
    """Clusters a researcher accepted as a catalogue narrative, whose posts fall in the period, from samples the
    audience may see (read by their marking, as the groups are); outside the global scope, those tied to the scope's
    campaigns by their groups or by their narrative. Largest first."""
    clusters = detection_selectors.narrative_clusters_accepted_in(start=start, end=end)
    if scope != Scope.GLOBAL:
        clusters = clusters.filter(
            Q(groups__campaign_id__in=campaign_ids) | Q(narrative__campaigns__in=campaign_ids)
        ).distinct()
    samples = audience_filter(detection_selectors.sample_list(), audience).values("pk")
    return list(clusters.filter(run__sample__in=samples))


def narrative_cluster_texts(*, cluster, limit: int) -> list[str]:
    """The texts of a cluster's representative posts, closest to its centroid first."""
    return [post.text for post in detection_selectors.narrative_cluster_representatives(cluster=cluster)[:limit]]


def group_accounts(*, group, limit: int, audience: Audience) -> list:
    """The best-scored member accounts of a coordinated group that the audience may be told of, at most `limit`.

    An account is named when the audience may see the group's sample itself (its owner organisation or a named
    recipient), or when the account is an asset, visible to the audience, of the campaign the group was
    confirmed into. Otherwise the report carries the group's figures alone.
    """
    scores = detection_selectors.group_member_scores(group=group)
    sample = group.run.sample
    if audience.organisation is not None and can_see(principal_for_organisation(audience.organisation), sample):
        return [score.account for score in scores[:limit]]
    if group.status != "confirmed" or group.campaign_id is None:
        return []
    published = audience_filter(Asset.objects.filter(campaign_id=group.campaign_id, asset_type="account"), audience)
    named = set(published.values_list("platform__code", "identifier"))
    return [s.account for s in scores if (s.account.platform, s.account.account_id) in named][:limit]


def report_get(*, report_id: int) -> Report | None:
    """A report with its audience organisation, or None for a missing row; no visibility check (tasks, staff)."""
    return Report.objects.filter(pk=report_id).select_related("audience_organisation").first()


def report_previous(*, report: Report) -> Report | None:
    """The latest earlier report of the same scope and audience."""
    return (
        Report.objects.filter(scope_key=report.scope_key, audience_key=report.audience_key)
        .filter(period_start__lt=report.period_start)
        .exclude(pk=report.pk)
        .order_by("-period_end", "-period_start")
        .first()
    )


def reports_visible_to(principal, *, published_only: bool = True) -> QuerySet[Report]:
    """Reports a principal may list and download: researchers all; a partner the published reports made for its
    organisation, and those made for a clearance within its own (whose marking is within it too).

    `principal`: whatever `partners.selectors.as_principal` accepts (a Principal, a user, an Organisation, a
    Membership, None). Use this, not `visible_to` on Report: a report's audience, not only its marking, decides.
    """
    principal = as_principal(principal)
    reports = Report.objects.select_related("audience_organisation", "election", "actor", "operation")
    if principal.is_researcher:
        return reports
    if not principal.is_authenticated:
        return reports.none()
    if published_only:
        reports = reports.filter(status=ReportStatus.PUBLISHED)
    levels = CEILING_LEVELS.get(principal.ceiling, (Tlp.CLEAR,))
    visible = Q(audience_clearance__in=levels, tlp__in=levels)
    if principal.organisation_id is not None:
        visible |= Q(audience_organisation_id=principal.organisation_id)
    return reports.filter(visible)


def elections_under_way(*, start: date, end: date) -> QuerySet[Election]:
    """Elections whose campaign or counting phase overlaps the period."""
    phases = (vocab.ElectionPhaseType.CAMPAIGN, vocab.ElectionPhaseType.COUNTING)
    return Election.objects.filter(
        phases__phase__in=phases, phases__starts_on__lte=end, phases__ends_on__gte=start
    ).distinct()


def subscriptions_for(*, report: Report) -> list[Subscription]:
    """Active subscriptions whose subscriber may see the report."""
    subscriptions = Subscription.objects.filter(active=True).filter(Q(scope="") | Q(scope=report.scope))
    subscriptions = subscriptions.select_related("organisation", "user")
    chosen = []
    for subscription in subscriptions:
        if subscription.organisation_id is None:
            if subscription.user.is_staff and subscription.user.is_active:
                chosen.append(subscription)
        elif report.audience_organisation_id:
            if subscription.organisation_id == report.audience_organisation_id:
                chosen.append(subscription)
        elif reports_visible_to(subscription.organisation).filter(pk=report.pk).exists():
            chosen.append(subscription)
    return [s for s in chosen if s.address]


def scope_choices() -> list:
    """The scopes a report can have, as grouped form choices ('global', 'election:<id>', ...)."""
    return [
        ("global", "Global: everything in the period"),
        ("Elections", [(f"election:{e.pk}", f"{e.name} ({e.election_day:%Y-%m-%d})") for e in Election.objects.all()]),
        ("Threat actors", [(f"actor:{a.pk}", a.name) for a in ThreatActor.objects.order_by("name")]),
        ("Operations", [(f"operation:{o.pk}", o.name) for o in Operation.objects.order_by("name")]),
    ]


def audience_choices() -> list:
    """The audiences a report can have: a TLP ceiling (everyone cleared to it) or one organisation."""
    return [
        (
            "Everyone cleared up to",
            [(f"clearance:{tlp}", Tlp(tlp).label) for tlp in CEILING_LEVELS],
        ),
        ("One organisation", [(f"org:{o.slug}", o.name) for o in Organisation.objects.order_by("name")]),
    ]


def report_for(*, scope_key: str, start: date, end: date, audience_key: str) -> Report | None:
    """The report of a scope, period and audience, if one was built or queued."""
    return Report.objects.filter(
        scope_key=scope_key, period_start=start, period_end=end, audience_key=audience_key
    ).first()
