"""STIX 2.1 export of the catalogue as a principal may see it: records as SDOs, links as relationships.

Every record is read through `visible_to` and made into STIX by the mapping in `partners.stix`; a relationship
exists only when both its ends are visible, and carries the most restrictive marking of everything it was derived
from. Nothing made from a record carries a lower marking than the record: a claimant's identity is marked as the
claim, an object cites (external references) or lists (a takedown's object_refs) only what is no more restrictive
than itself. Locations, techniques and platforms are reference data, marked CLEAR. Markings are the TLP 2.0
marking-definitions with the OASIS ids, or (flavour "opencti") the ids OpenCTI uses for the same levels.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Model, Prefetch

from campaigns import models as c
from campaigns.selectors import removal_figures
from campaigns.vocabularies import Framework
from partners import stix
from partners.markings import Tlp, most_restrictive_tlp
from partners.selectors import Principal, visible_to
from partners.stix import StixGraph, sid

FLAVOURS = ("oasis", "opencti")
FRAMEWORK_SOURCES = {Framework.DISARM: "DISARM", Framework.META_KILL_CHAIN: "Meta Online Operations Kill Chain"}
STIX_TYPES = {
    "campaigns.threatactor": "threat-actor",
    "campaigns.operation": "intrusion-set",
    "campaigns.campaign": "campaign",
    "campaigns.narrative": "narrative",
    "campaigns.attributionclaim": "relationship",
    "campaigns.takedown": "report",
    "campaigns.asset": "channel",
}


def _stamps(record) -> dict:
    return {"stix_uuid": record.stix_uuid, "created": record.created_at, "modified": record.updated_at}


def _references(tlp: str, sources) -> list[dict]:
    """External references to the sources an object marked `tlp` may cite: none more restrictive than it."""
    return [stix.external_reference(publisher=s.publisher, title=s.title, url=s.url) for s in _within(tlp, sources)]


def _within(tlp: str, records) -> list:
    """The records that may be shown inside an object marked `tlp`: none more restrictive than it."""
    return [r for r in records if most_restrictive_tlp([tlp, r.tlp]) == tlp]


def _sources(principal: Principal) -> Prefetch:
    return Prefetch("sources", queryset=visible_to(principal, c.Source.objects.all()))


def _aliases(principal: Principal) -> Prefetch:
    return Prefetch("aliases", queryset=visible_to(principal, c.Alias.objects.all()))


def _technique_pattern_id(technique: c.Technique) -> str:
    return stix.technique_id(
        stix_id=technique.stix_id, framework=technique.framework, external_id=technique.external_id
    )


def _threat_actors_add(graph: StixGraph, principal: Principal) -> None:
    actors = list(visible_to(principal, c.ThreatActor.objects.prefetch_related(_aliases(principal))))
    for actor in actors:
        graph.add(
            stix.threat_actor(
                **_stamps(actor),
                name=actor.name,
                actor_type=actor.actor_type,
                description=actor.description,
                aliases=[a.name for a in actor.aliases.all()],
            ),
            actor.tlp,
            actor,
        )
    for actor in actors:
        actor_id = sid("threat-actor", actor)
        graph.relate(actor_id, "located-at", stix.location_add(graph, actor.country) or "", [actor.tlp])
        if actor.parent_id:
            parent = next((a for a in actors if a.pk == actor.parent_id), None)
            if parent is not None:
                graph.relate(actor_id, "related-to", sid("threat-actor", parent), [actor.tlp])


def _operations_add(graph: StixGraph, principal: Principal) -> None:
    operations = c.Operation.objects.prefetch_related(_aliases(principal), _sources(principal)).select_related("actor")
    for op in visible_to(principal, operations):
        graph.add(
            stix.intrusion_set(
                **_stamps(op),
                name=op.name,
                description=op.description,
                aliases=[a.name for a in op.aliases.all()],
                first_seen=op.first_seen,
                last_seen=op.last_seen,
                references=_references(op.tlp, op.sources.all()),
            ),
            op.tlp,
            op,
        )
        if op.actor_id:
            graph.relate(sid("intrusion-set", op), "attributed-to", sid("threat-actor", op.actor), [op.tlp])


def _narratives_add(graph: StixGraph, principal: Principal) -> None:
    narratives = list(visible_to(principal, c.Narrative.objects.all()))
    for narrative in narratives:
        graph.add(
            stix.narrative(
                **_stamps(narrative),
                name=narrative.name,
                summary=narrative.summary,
                five_ds=narrative.five_ds,
                languages=narrative.languages,
            ),
            narrative.tlp,
            narrative,
        )
    for narrative in narratives:
        if narrative.parent_id:
            parent = next((n for n in narratives if n.pk == narrative.parent_id), None)
            if parent is not None:
                graph.relate(sid("narrative", narrative), "subnarrative-of", sid("narrative", parent), [narrative.tlp])


def _campaigns_read(principal: Principal) -> list[c.Campaign]:
    technique_uses = c.TechniqueUse.objects.select_related("technique")
    uses = Prefetch("technique_uses", queryset=visible_to(principal, technique_uses))
    narratives = Prefetch("narratives", queryset=visible_to(principal, c.Narrative.objects.all()))
    campaigns = c.Campaign.objects.select_related("actor", "operation").prefetch_related(
        _sources(principal), uses, narratives
    )
    return list(visible_to(principal, campaigns))


def _techniques_add(graph: StixGraph, technique_ids: Iterable[int]) -> None:
    for technique in c.Technique.objects.filter(pk__in=set(technique_ids)):
        graph.add(
            stix.attack_pattern(
                stix_id=technique.stix_id,
                framework=technique.framework,
                source_name=FRAMEWORK_SOURCES.get(technique.framework, technique.framework),
                external_id=technique.external_id,
                name=technique.name,
                tactic=technique.tactic_id,
                summary=technique.summary,
            ),
            Tlp.CLEAR,
            technique,
        )


def _campaigns_add(graph: StixGraph, campaigns: list[c.Campaign]) -> None:
    for campaign in campaigns:
        cid = sid("campaign", campaign)
        graph.add(
            stix.campaign(
                **_stamps(campaign),
                name=campaign.name,
                description=campaign.summary,
                objective=campaign.objective,
                first_seen=campaign.first_seen,
                last_seen=campaign.last_seen,
                references=_references(campaign.tlp, campaign.sources.all()),
            ),
            campaign.tlp,
            campaign,
        )
        if campaign.actor_id:
            graph.relate(cid, "attributed-to", sid("threat-actor", campaign.actor), [campaign.tlp])
        if campaign.operation_id:
            graph.relate(cid, "attributed-to", sid("intrusion-set", campaign.operation), [campaign.tlp])
        for use in campaign.technique_uses.all():
            graph.relate(cid, "uses", _technique_pattern_id(use.technique), [campaign.tlp], description=use.evidence)
        for narrative in campaign.narratives.all():
            graph.relate(cid, "uses", sid("narrative", narrative), [campaign.tlp])
        for country in campaign.target_countries or []:
            graph.relate(cid, "targets", stix.location_add(graph, str(country)) or "", [campaign.tlp])


def _assets_add(graph: StixGraph, principal: Principal) -> None:
    for asset in visible_to(principal, c.Asset.objects.select_related("platform", "campaign", "operation")):
        graph.add(
            stix.channel(**_stamps(asset), identifier=asset.identifier, notes=asset.notes, asset_type=asset.asset_type),
            asset.tlp,
            asset,
        )
        owner = sid("campaign", asset.campaign) if asset.campaign_id else sid("intrusion-set", asset.operation)
        graph.relate(owner, "uses", sid("channel", asset), [asset.tlp])


def _claims_add(graph: StixGraph, principal: Principal) -> None:
    visible_sources = set(visible_to(principal, c.Source.objects.all()).values_list("pk", flat=True))
    claims = c.AttributionClaim.objects.select_related("actor", "campaign", "operation", "source")
    for claim in visible_to(principal, claims):
        claimant = stix.identity_add(
            graph, f"claimant:{claim.claimant}", claim.claimant, stix.claimant_class(claim.claimant_category), claim.tlp
        )
        refs = []
        if claim.source_id in visible_sources:
            refs = _references(claim.tlp, [claim.source])
        target = None
        if claim.campaign_id:
            target = sid("campaign", claim.campaign)
        elif claim.operation_id:
            target = sid("intrusion-set", claim.operation)
        if target and claim.actor_id:
            graph.relate(
                target,
                "attributed-to",
                sid("threat-actor", claim.actor),
                [claim.tlp],
                claim,
                **stix.claim_attribution(
                    stix_uuid=claim.stix_uuid,
                    claimant_ref=claimant,
                    description=claim.summary or claim.title,
                    references=refs,
                    created=claim.created_at,
                    modified=claim.updated_at,
                ),
            )
        elif target and target in graph.objects:
            graph.add(
                stix.claim_note(
                    **_stamps(claim),
                    claimant_ref=claimant,
                    claimant=claim.claimant,
                    title=claim.title,
                    content=claim.summary or claim.title or claim.claimant,
                    object_refs=[target],
                    references=refs,
                ),
                most_restrictive_tlp([claim.tlp, graph.markings[target]]),
                claim,
            )
            graph.links.setdefault(target, set()).add(sid("note", claim))
            graph.links.setdefault(sid("note", claim), set()).add(target)


def _takedowns_add(graph: StixGraph, principal: Principal) -> None:
    takedowns = c.Takedown.objects.select_related("platform", "actor", "operation", "campaign")
    for takedown in visible_to(principal, takedowns):
        platform = stix.identity_add(graph, f"platform:{takedown.platform.code}", str(takedown.platform))
        linked = [
            ref
            for ref in (
                sid("threat-actor", takedown.actor) if takedown.actor_id else None,
                sid("intrusion-set", takedown.operation) if takedown.operation_id else None,
                sid("campaign", takedown.campaign) if takedown.campaign_id else None,
            )
            if ref and ref in graph.objects
        ]
        # The report lists what is no more restrictive than the takedown; a link to anything more restrictive
        # is a relationship of its own, marked as what it joins.
        refs = [ref for ref in linked if most_restrictive_tlp([takedown.tlp, graph.markings[ref]]) == takedown.tlp]
        figures = removal_figures(
            (
                (takedown.accounts_removed, "accounts"),
                (takedown.pages_removed, "pages"),
                (takedown.groups_removed, "groups"),
                (takedown.instagram_accounts_removed, "Instagram accounts"),
            )
        )
        report_id = sid("report", takedown)
        graph.add(
            stix.takedown_report(
                **_stamps(takedown),
                platform_ref=platform,
                platform=str(takedown.platform),
                announced_on=takedown.announced_on,
                description="; ".join(p for p in (figures and f"Removed {figures}", takedown.notes) if p),
                object_refs=refs or [platform],
            ),
            takedown.tlp,
            takedown,
        )
        for ref in refs:
            graph.links.setdefault(ref, set()).add(report_id)
        graph.links.setdefault(report_id, set()).update(refs)
        for ref in linked:
            if ref not in refs:
                graph.relate(report_id, "related-to", ref, [takedown.tlp])


def catalogue_graph(principal: Principal, *, flavour: str = "oasis", techniques: Iterable[int] = ()) -> StixGraph:
    """Every catalogue object the principal may see, as STIX, with the relationships between them.

    Techniques come in when a visible campaign uses them, or when listed in `techniques` (ids)."""
    graph = StixGraph(flavour=flavour if flavour in FLAVOURS else "oasis")
    graph.add(stix.tracker_identity(), Tlp.CLEAR)
    _threat_actors_add(graph, principal)
    _operations_add(graph, principal)
    _narratives_add(graph, principal)
    campaigns = _campaigns_read(principal)
    used = {use.technique_id for campaign in campaigns for use in campaign.technique_uses.all()}
    _techniques_add(graph, used | set(techniques))
    _campaigns_add(graph, campaigns)
    _assets_add(graph, principal)
    _claims_add(graph, principal)
    _takedowns_add(graph, principal)
    return graph


def stix_ids_of(records: Iterable[Model]) -> list[str]:
    """The STIX ids the records are exported under (claims without a visible actor become notes)."""
    ids = []
    for record in records:
        label = record._meta.label_lower
        if label == "campaigns.technique":
            ids.append(_technique_pattern_id(record))
        elif label == "campaigns.attributionclaim":
            ids += [sid("relationship", record), sid("note", record)]
        elif label in STIX_TYPES:
            ids.append(sid(STIX_TYPES[label], record))
    return ids


def export_bundle(
    principal: Principal, records: Iterable[Model] | None = None, *, flavour: str = "oasis", custom_types: bool = True
):
    """A bundle of these (already visible) records with their visible neighbours, or of everything visible.

    Returns the bundle and the records it was built from (for the audit log)."""
    records = list(records) if records is not None else None
    technique_ids = [r.pk for r in records or [] if isinstance(r, c.Technique)]
    graph = catalogue_graph(principal, flavour=flavour, techniques=technique_ids)
    bundle = graph.bundle(None if records is None else stix_ids_of(records), custom_types=custom_types)
    return bundle, graph.exported_records(bundle)
