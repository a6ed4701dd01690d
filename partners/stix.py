"""STIX 2.1 export of what a principal may see: catalogue records as SDOs, links as relationships.

Every record is read through `visible_to`; a relationship exists only when both its ends are visible, and
carries the most restrictive marking of everything it was derived from. Nothing made from a record carries a
lower marking than the record: a claimant's identity is marked as the claim, an object cites (external
references) or lists (a takedown's object_refs) only what is no more restrictive than itself. Locations,
techniques and platforms are reference data, marked CLEAR. Markings are the TLP 2.0
marking-definitions with the OASIS ids, or (flavour "opencti") the ids OpenCTI uses for the same levels.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.db.models import Model, Prefetch

from campaigns import models as c
from campaigns.vocabularies import Framework
from partners.markings import TLP_OPENCTI_IDS, TLP_STIX_IDS, Tlp, most_restrictive_tlp

from .selectors import Principal, visible_to

NAMESPACE = uuid.UUID("6f1c1c3e-3c1e-4a59-9f0b-6a1e2b7f5d10")
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
CUSTOM_SDO_EXTENSION = f"extension-definition--{uuid.uuid5(NAMESPACE, 'opencti-narrative-channel')}"
TRACKER_IDENTITY = f"identity--{uuid.uuid5(NAMESPACE, 'tracker')}"
EPOCH = "2022-10-01T00:00:00.000Z"
TLP_1_CREATED = "2017-01-20T00:00:00.000Z"
FLAVOURS = ("oasis", "opencti")
FRAMEWORK_SOURCES = {Framework.DISARM: "DISARM", Framework.META_KILL_CHAIN: "Meta Online Operations Kill Chain"}
CUSTOM_TYPES = ("narrative", "channel")
ACTOR_TYPES = {"state": "nation-state", "agency": "nation-state", "state_media": "nation-state"}


def ts(value: datetime | date | None) -> str | None:
    """A STIX timestamp (UTC, milliseconds)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def derived_id(stix_type: str, *parts) -> str:
    return f"{stix_type}--{uuid.uuid5(NAMESPACE, '|'.join(str(p) for p in parts))}"


def marking_id(tlp: str, flavour: str = "oasis") -> str:
    return (TLP_OPENCTI_IDS if flavour == "opencti" else TLP_STIX_IDS)[Tlp(tlp)]


def marking_definition(tlp: str, flavour: str = "oasis") -> dict:
    """The marking-definition object of one TLP level."""
    tlp = Tlp(tlp)
    if flavour != "opencti":
        return {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP_STIX_IDS[tlp],
            "created": EPOCH,
            "name": f"TLP:{tlp.value}",
            "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value.lower()}},
        }
    if tlp == Tlp.AMBER_STRICT:  # OpenCTI's own id; the other four are STIX 2.1's TLP 1.0 definitions
        return {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP_OPENCTI_IDS[tlp],
            "created": EPOCH,
            "name": "TLP:AMBER+STRICT",
            "definition_type": "statement",
            "definition": {"statement": "TLP:AMBER+STRICT"},
            "x_opencti_definition_type": "TLP",
            "x_opencti_definition": "TLP:AMBER+STRICT",
        }
    legacy = "white" if tlp == Tlp.CLEAR else tlp.value.lower()
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_OPENCTI_IDS[tlp],
        "created": TLP_1_CREATED,
        "definition_type": "tlp",
        "name": f"TLP:{legacy.upper()}",
        "definition": {"tlp": legacy},
    }


def _tracker_identity() -> dict:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": TRACKER_IDENTITY,
        "created": EPOCH,
        "modified": EPOCH,
        "name": "Election-interference tracker",
        "identity_class": "organization",
    }


def custom_sdo_extension() -> dict:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": CUSTOM_SDO_EXTENSION,
        "created_by_ref": TRACKER_IDENTITY,
        "created": EPOCH,
        "modified": EPOCH,
        "name": "OpenCTI narrative and channel",
        "description": "The narrative and channel object types of OpenCTI (https://docs.opencti.io).",
        "schema": "https://docs.opencti.io/latest/usage/data-model/",
        "version": "1.0.0",
        "extension_types": ["new-sdo"],
    }


@dataclass
class StixGraph:
    """The STIX objects a principal may see, with what each one pulls in when exported alone."""

    flavour: str = "oasis"
    objects: dict[str, dict] = field(default_factory=dict)
    markings: dict[str, str] = field(default_factory=dict)  # object id -> TLP level
    records: dict[str, Model] = field(default_factory=dict)  # object id -> the record it was made from
    links: dict[str, set[str]] = field(default_factory=dict)  # object id -> relationships and neighbours

    def add(self, obj: dict, tlp: str, record: Model | None = None) -> dict:
        obj.setdefault("spec_version", "2.1")
        obj["object_marking_refs"] = [marking_id(tlp, self.flavour)]
        if obj["type"] in CUSTOM_TYPES:
            obj["extensions"] = {CUSTOM_SDO_EXTENSION: {"extension_type": "new-sdo"}}
        self.objects[obj["id"]] = {k: v for k, v in obj.items() if v not in (None, "", [])}
        self.markings[obj["id"]] = tlp
        if record is not None:
            self.records[obj["id"]] = record
        return obj

    def relate(self, source: str, kind: str, target: str, tlps: Iterable[str], record: Model | None = None, **extra):
        """A relationship when both ends are in the graph, marked with the most restrictive input marking."""
        if source not in self.objects or target not in self.objects:
            return None
        tlp = most_restrictive_tlp([*tlps, self.markings[source], self.markings[target]])
        rel_id = extra.pop("id", None) or derived_id("relationship", source, kind, target)
        stamps = [
            self.objects[source].get("modified"),
            self.objects[target].get("modified"),
            extra.pop("modified", None),
        ]
        modified = max(s for s in stamps if s)
        obj = {
            "type": "relationship",
            "id": rel_id,
            "created_by_ref": extra.pop("created_by_ref", TRACKER_IDENTITY),
            "created": extra.pop("created", None) or modified,
            "modified": modified,
            "relationship_type": kind,
            "source_ref": source,
            "target_ref": target,
            **extra,
        }
        self.add(obj, tlp, record)
        for end in (source, target):
            self.links.setdefault(end, set()).update({rel_id, source, target})
        return obj

    def bundle(self, ids: Iterable[str] | None = None, *, neighbours: bool = True, custom_types: bool = True) -> dict:
        """A bundle of these objects (all when None), their relationships and neighbours, and the markings.

        Without custom_types, OpenCTI's narrative and channel objects (and their relationships) are left out,
        for consumers that know only the standard types (MISP)."""
        chosen = set(self.objects) if ids is None else {i for i in ids if i in self.objects}
        if neighbours:
            for object_id in list(chosen):
                chosen |= self.links.get(object_id, set())
        chosen.add(TRACKER_IDENTITY)
        for object_id in list(chosen):
            chosen |= set(self.objects[object_id].get("object_refs", []))
            ref = self.objects[object_id].get("created_by_ref")
            if ref:
                chosen.add(ref)
        if not custom_types:
            custom = {i for i in chosen if i.split("--")[0] in CUSTOM_TYPES}
            chosen = {
                i
                for i in chosen - custom
                if self.objects.get(i, {}).get("source_ref") not in custom
                and self.objects.get(i, {}).get("target_ref") not in custom
            }
        objects = [self.objects[i] for i in sorted(chosen) if i in self.objects]
        levels = sorted({self.markings[i] for i in chosen if i in self.markings}, key=lambda t: list(Tlp).index(t))
        extra = [marking_definition(t, self.flavour) for t in levels]
        if any(o["type"] in CUSTOM_TYPES for o in objects):
            extra.append(custom_sdo_extension())
        return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": extra + objects}

    def exported_records(self, bundle: dict) -> list[Model]:
        return [self.records[o["id"]] for o in bundle["objects"] if o["id"] in self.records]


def sid(stix_type: str, record) -> str:
    return f"{stix_type}--{record.stix_uuid}"


def technique_id(technique: c.Technique) -> str:
    if technique.stix_id.startswith("attack-pattern--"):
        return technique.stix_id
    return derived_id("attack-pattern", technique.framework, technique.external_id)


def location_id(country: str) -> str:
    return derived_id("location", "country", country.upper())


def _common(record, stix_type: str) -> dict:
    return {
        "type": stix_type,
        "id": sid(stix_type, record),
        "created_by_ref": TRACKER_IDENTITY,
        "created": ts(record.created_at),
        "modified": ts(record.updated_at),
    }


def _seen(first: date | None, last: date | None) -> dict:
    """first_seen and last_seen, leaving out a last_seen that STIX would refuse (before first_seen)."""
    if last is not None and first is not None and last < first:
        last = None
    return {"first_seen": ts(first), "last_seen": ts(last)}


def _references(sources) -> list[dict]:
    refs = []
    for source in sources:
        ref = {"source_name": source.publisher or "source", "description": source.title}
        if source.url:
            ref["url"] = source.url
        refs.append(ref)
    return refs


def _location(graph: StixGraph, country: str) -> str | None:
    if not country or len(country) != 2:
        return None
    loc = location_id(country)
    if loc not in graph.objects:
        graph.add(
            {
                "type": "location",
                "id": loc,
                "created_by_ref": TRACKER_IDENTITY,
                "created": EPOCH,
                "modified": EPOCH,
                "name": country.upper(),
                "country": country.upper(),
            },
            Tlp.CLEAR,
        )
    return loc


def _identity(graph: StixGraph, key: str, name: str, identity_class: str = "organization", tlp: str = Tlp.CLEAR) -> str:
    """An identity made from `key` and marked `tlp`: one made from a marked record carries the record's marking
    and an id of that marking, so that it is never seen (or exported) under a lower one."""
    ident = derived_id("identity", *((key,) if tlp == Tlp.CLEAR else (key, tlp)))
    if ident not in graph.objects:
        graph.add(
            {
                "type": "identity",
                "id": ident,
                "created_by_ref": TRACKER_IDENTITY,
                "created": EPOCH,
                "modified": EPOCH,
                "name": name,
                "identity_class": identity_class,
            },
            tlp,
        )
    return ident


def _within(tlp: str, records) -> list:
    """The records that may be shown inside an object marked `tlp`: none more restrictive than it."""
    return [r for r in records if most_restrictive_tlp([tlp, r.tlp]) == tlp]


def catalogue_graph(principal: Principal, *, flavour: str = "oasis", techniques: Iterable[int] = ()) -> StixGraph:
    """Every catalogue object the principal may see, as STIX, with the relationships between them.

    Techniques come in when a visible campaign uses them, or when listed in `techniques` (ids)."""
    graph = StixGraph(flavour=flavour if flavour in FLAVOURS else "oasis")
    graph.add(_tracker_identity(), Tlp.CLEAR)

    def visible(queryset):
        return visible_to(principal, queryset)

    sources = Prefetch("sources", queryset=visible(c.Source.objects.all()))
    aliases = Prefetch("aliases", queryset=visible(c.Alias.objects.all()))

    actors = list(visible(c.ThreatActor.objects.prefetch_related(aliases)))
    for actor in actors:
        graph.add(
            {
                **_common(actor, "threat-actor"),
                "name": actor.name,
                "description": actor.description,
                "threat_actor_types": [ACTOR_TYPES.get(actor.actor_type, "unknown")],
                "aliases": [a.name for a in actor.aliases.all()],
            },
            actor.tlp,
            actor,
        )
    for actor in actors:
        graph.relate(sid("threat-actor", actor), "located-at", _location(graph, actor.country) or "", [actor.tlp])
        if actor.parent_id:
            parent = next((a for a in actors if a.pk == actor.parent_id), None)
            if parent is not None:
                graph.relate(sid("threat-actor", actor), "related-to", sid("threat-actor", parent), [actor.tlp])

    operations = list(visible(c.Operation.objects.prefetch_related(aliases, sources).select_related("actor")))
    for op in operations:
        graph.add(
            {
                **_common(op, "intrusion-set"),
                "name": op.name,
                "description": op.description,
                "aliases": [a.name for a in op.aliases.all()],
                **_seen(op.first_seen, op.last_seen),
                "external_references": _references(_within(op.tlp, op.sources.all())),
            },
            op.tlp,
            op,
        )
        if op.actor_id:
            graph.relate(sid("intrusion-set", op), "attributed-to", sid("threat-actor", op.actor), [op.tlp])

    narratives = list(visible(c.Narrative.objects.all()))
    for narrative in narratives:
        graph.add(
            {
                **_common(narrative, "narrative"),
                "name": narrative.name,
                "description": narrative.summary,
                "narrative_types": list(narrative.five_ds or []),
                "x_opencti_languages": list(narrative.languages or []),
            },
            narrative.tlp,
            narrative,
        )
    for narrative in narratives:
        if narrative.parent_id:
            parent = next((n for n in narratives if n.pk == narrative.parent_id), None)
            if parent is not None:
                graph.relate(sid("narrative", narrative), "subnarrative-of", sid("narrative", parent), [narrative.tlp])

    uses = Prefetch("technique_uses", queryset=visible(c.TechniqueUse.objects.select_related("technique")))
    campaigns = list(
        visible(
            c.Campaign.objects.select_related("actor", "operation").prefetch_related(
                sources, uses, Prefetch("narratives", queryset=visible(c.Narrative.objects.all()))
            )
        )
    )
    wanted_techniques = set(techniques)
    for campaign in campaigns:
        wanted_techniques |= {use.technique_id for use in campaign.technique_uses.all()}
    for technique in c.Technique.objects.filter(pk__in=wanted_techniques):
        source = FRAMEWORK_SOURCES.get(technique.framework, technique.framework)
        graph.add(
            {
                "type": "attack-pattern",
                "id": technique_id(technique),
                "created_by_ref": TRACKER_IDENTITY,
                "created": EPOCH,
                "modified": EPOCH,
                "name": f"{technique.external_id} {technique.name}"[:250],
                "description": technique.summary,
                "external_references": [{"source_name": source, "external_id": technique.external_id}],
                "kill_chain_phases": [
                    {"kill_chain_name": technique.framework, "phase_name": (technique.tactic_id or "unknown").lower()}
                ],
                "x_mitre_id": technique.external_id,
            },
            Tlp.CLEAR,
            technique,
        )
    for campaign in campaigns:
        cid = sid("campaign", campaign)
        graph.add(
            {
                **_common(campaign, "campaign"),
                "name": campaign.name,
                "description": campaign.summary,
                "objective": campaign.objective,
                **_seen(campaign.first_seen, campaign.last_seen),
                "external_references": _references(_within(campaign.tlp, campaign.sources.all())),
            },
            campaign.tlp,
            campaign,
        )
        if campaign.actor_id:
            graph.relate(cid, "attributed-to", sid("threat-actor", campaign.actor), [campaign.tlp])
        if campaign.operation_id:
            graph.relate(cid, "attributed-to", sid("intrusion-set", campaign.operation), [campaign.tlp])
        for use in campaign.technique_uses.all():
            graph.relate(cid, "uses", technique_id(use.technique), [campaign.tlp], description=use.evidence)
        for narrative in campaign.narratives.all():
            graph.relate(cid, "uses", f"narrative--{narrative.stix_uuid}", [campaign.tlp])
        for country in campaign.target_countries or []:
            graph.relate(cid, "targets", _location(graph, str(country)) or "", [campaign.tlp])

    for asset in visible(c.Asset.objects.select_related("platform", "campaign", "operation")):
        graph.add(
            {
                **_common(asset, "channel"),
                "name": asset.identifier,
                "description": asset.notes,
                "channel_types": [asset.asset_type],
            },
            asset.tlp,
            asset,
        )
        owner = sid("campaign", asset.campaign) if asset.campaign_id else sid("intrusion-set", asset.operation)
        graph.relate(owner, "uses", sid("channel", asset), [asset.tlp])

    visible_sources = set(visible(c.Source.objects.all()).values_list("pk", flat=True))
    for claim in visible(c.AttributionClaim.objects.select_related("actor", "campaign", "operation", "source")):
        claimant_class = "individual" if claim.claimant_category == "influential_individual" else "organization"
        claimant = _identity(graph, f"claimant:{claim.claimant}", claim.claimant, claimant_class, claim.tlp)
        inputs = [claim.tlp]
        refs = []
        if claim.source_id in visible_sources:
            refs = _references(_within(claim.tlp, [claim.source]))
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
                inputs,
                claim,
                id=sid("relationship", claim),
                created_by_ref=claimant,
                description=claim.summary or claim.title,
                external_references=refs,
                modified=ts(claim.updated_at),
                created=ts(claim.created_at),
            )
        elif target and target in graph.objects:
            graph.add(
                {
                    **_common(claim, "note"),
                    "created_by_ref": claimant,
                    "abstract": claim.title,
                    "content": claim.summary or claim.title or claim.claimant,
                    "authors": [claim.claimant],
                    "object_refs": [target],
                    "external_references": refs,
                },
                most_restrictive_tlp([claim.tlp, graph.markings[target]]),
                claim,
            )
            graph.links.setdefault(target, set()).add(sid("note", claim))
            graph.links.setdefault(sid("note", claim), set()).add(target)

    for takedown in visible(c.Takedown.objects.select_related("platform", "actor", "operation", "campaign")):
        platform = _identity(graph, f"platform:{takedown.platform.code}", str(takedown.platform))
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
        figures = ", ".join(
            f"{value} {label}"
            for value, label in (
                (takedown.accounts_removed, "accounts"),
                (takedown.pages_removed, "pages"),
                (takedown.groups_removed, "groups"),
                (takedown.instagram_accounts_removed, "Instagram accounts"),
            )
            if value
        )
        report_id = sid("report", takedown)
        graph.add(
            {
                **_common(takedown, "report"),
                "created_by_ref": platform,
                "name": f"{takedown.platform} takedown, {takedown.announced_on}",
                "description": "; ".join(p for p in (figures and f"Removed {figures}", takedown.notes) if p),
                "published": ts(takedown.announced_on),
                "report_types": ["threat-report"],
                "object_refs": refs or [platform],
            },
            takedown.tlp,
            takedown,
        )
        for ref in refs:
            graph.links.setdefault(ref, set()).add(report_id)
        graph.links.setdefault(report_id, set()).update(refs)
        for ref in linked:
            if ref not in refs:
                graph.relate(report_id, "related-to", ref, [takedown.tlp])
    return graph


STIX_TYPES = {
    "campaigns.threatactor": "threat-actor",
    "campaigns.operation": "intrusion-set",
    "campaigns.campaign": "campaign",
    "campaigns.narrative": "narrative",
    "campaigns.attributionclaim": "relationship",
    "campaigns.takedown": "report",
    "campaigns.asset": "channel",
}


def stix_ids_of(records: Iterable[Model]) -> list[str]:
    """The STIX ids the records are exported under (claims without a visible actor become notes)."""
    ids = []
    for record in records:
        label = record._meta.label_lower
        if label == "campaigns.technique":
            ids.append(technique_id(record))
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
