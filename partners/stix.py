"""STIX 2.1 mapping of the tracker's records: plain attributes in, STIX objects out, for every export.

The catalogue export and TAXII feeds (campaigns.stix) and the threat reports (reports.stix) make their objects
here, so that importing several exports into OpenCTI or MISP merges instead of duplicating:
- ids: an object made from a record is `<type>--<the record's stix_uuid>`; an object no record names (an
  identity, a location, a relationship, a technique without a STIX id of its own) takes `derived_id`, a hash of
  what it is made from in UUIDv4 form (as STIX asks of SDOs and SROs), so every export and every rebuild names
  it alike. The tracker's identity and OpenCTI's extension-definition keep fixed UUIDv5 ids.
- markings: the TLP 2.0 marking-definitions with the OASIS ids, or (flavour "opencti") the ids OpenCTI uses for
  the same levels; `StixGraph` marks each object, and a relationship with the most restrictive marking of its
  inputs and ends.
- one constructor per record type (threat actor, operation, campaign, narrative, technique, asset, attribution
  claim, takedown), taking the record's attributes as the caller read them.
Nothing here reads the database or imports another app: callers pass what they read through `visible_to`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from partners.markings import TLP_OPENCTI_IDS, TLP_STIX_IDS, Tlp, most_restrictive_tlp

NAMESPACE = uuid.UUID("6f1c1c3e-3c1e-4a59-9f0b-6a1e2b7f5d10")
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
CUSTOM_SDO_EXTENSION = f"extension-definition--{uuid.uuid5(NAMESPACE, 'opencti-narrative-channel')}"
TRACKER_IDENTITY = f"identity--{uuid.uuid5(NAMESPACE, 'tracker')}"
EPOCH = "2022-10-01T00:00:00.000Z"
TLP_1_CREATED = "2017-01-20T00:00:00.000Z"
CUSTOM_TYPES = ("narrative", "channel")
ACTOR_TYPES = {"state": "nation-state", "agency": "nation-state", "state_media": "nation-state"}
# A claim's confidence on the Low/Med/High scale of STIX 2.1's confidence appendix.
CONFIDENCE_SCORES = {"low": 15, "moderate": 50, "high": 85}
_STIX_ID = re.compile(r"^[a-z0-9-]+--[0-9a-f-]{36}$")


def ts(value: datetime | date | None) -> str | None:
    """A STIX timestamp (UTC, milliseconds)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def derived_id(stix_type: str, *parts) -> str:
    """The id of an object no record names: the same parts give the same id, in UUIDv4 form."""
    digest = uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts))
    return f"{stix_type}--{uuid.UUID(bytes=digest.bytes, version=4)}"


def sid(stix_type: str, record) -> str:
    """The id of the object made from a record (anything with a `stix_uuid`, or that uuid itself)."""
    return f"{stix_type}--{getattr(record, 'stix_uuid', record)}"


def technique_id(*, stix_id: str, framework: str, external_id: str) -> str:
    """A technique's attack-pattern id: its framework's own STIX id when it has one, else derived."""
    if stix_id and _STIX_ID.match(stix_id) and stix_id.startswith("attack-pattern--"):
        return stix_id
    return derived_id("attack-pattern", framework, external_id)


def location_id(country: str) -> str:
    """A country's location id, whatever the case of its code."""
    return derived_id("location", "country", country.upper())


def marking_id(tlp: str, flavour: str = "oasis") -> str:
    """The marking-definition id of a TLP level: OASIS's, or OpenCTI's for the flavour "opencti"."""
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


def tracker_identity() -> dict:
    """The identity every export is created by."""
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
    """The extension-definition of OpenCTI's narrative and channel object types."""
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
    """STIX objects with their markings, and what each one pulls in when exported alone."""

    flavour: str = "oasis"
    objects: dict[str, dict] = field(default_factory=dict)
    markings: dict[str, str] = field(default_factory=dict)  # object id -> TLP level
    records: dict[str, object] = field(default_factory=dict)  # object id -> the record it was made from
    links: dict[str, set[str]] = field(default_factory=dict)  # object id -> relationships and neighbours

    def add(self, obj: dict, tlp: str, record: object | None = None) -> dict:
        """Add (or replace) an object marked `tlp`, without its empty properties, remembering its record."""
        obj.setdefault("spec_version", "2.1")
        obj["object_marking_refs"] = [marking_id(tlp, self.flavour)]
        if obj["type"] in CUSTOM_TYPES:
            obj["extensions"] = {CUSTOM_SDO_EXTENSION: {"extension_type": "new-sdo"}}
        self.objects[obj["id"]] = {k: v for k, v in obj.items() if v not in (None, "", [])}
        self.markings[obj["id"]] = tlp
        if record is not None:
            self.records[obj["id"]] = record
        return obj

    def relate(self, source: str, kind: str, target: str, tlps: Iterable[str], record: object | None = None, **extra):
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

    def exported_records(self, bundle: dict) -> list:
        """The records a bundle of this graph was made from (for the audit log)."""
        return [self.records[o["id"]] for o in bundle["objects"] if o["id"] in self.records]


def identity_add(
    graph: StixGraph, key: str, name: str, identity_class: str = "organization", tlp: str = Tlp.CLEAR
) -> str:
    """The id of the identity made from `key`, added once and marked `tlp`: one made from a marked record
    carries the record's marking and an id of that marking, so it is never seen (or exported) under a lower one."""
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


def location_add(graph: StixGraph, country: str) -> str | None:
    """The id of a country's location (reference data, CLEAR), added once; None for anything but a 2-letter code."""
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


def _record_common(stix_type: str, stix_uuid, created: datetime | None, modified: datetime | None) -> dict:
    return {
        "type": stix_type,
        "id": sid(stix_type, stix_uuid),
        "created_by_ref": TRACKER_IDENTITY,
        "created": ts(created),
        "modified": ts(modified),
    }


def _seen(first: date | None, last: date | None) -> dict:
    """first_seen and last_seen, leaving out a last_seen that STIX would refuse (before first_seen)."""
    if last is not None and first is not None and last < first:
        last = None
    return {"first_seen": ts(first), "last_seen": ts(last)}


def external_reference(*, publisher: str, title: str, url: str = "") -> dict:
    """A cited source as an external reference."""
    reference = {"source_name": publisher or "source", "description": title}
    if url:
        reference["url"] = url
    return reference


def threat_actor(
    *, stix_uuid, name: str, actor_type: str, created, modified, description: str = "", aliases: Iterable[str] = ()
) -> dict:
    """A threat actor as a `threat-actor`."""
    return {
        **_record_common("threat-actor", stix_uuid, created, modified),
        "name": name,
        "description": description,
        "threat_actor_types": [ACTOR_TYPES.get(actor_type, "unknown")],
        "aliases": list(aliases),
    }


def intrusion_set(
    *,
    stix_uuid,
    name: str,
    created,
    modified,
    description: str = "",
    aliases: Iterable[str] = (),
    first_seen: date | None = None,
    last_seen: date | None = None,
    references: Iterable[dict] = (),
) -> dict:
    """An operation as an `intrusion-set`."""
    return {
        **_record_common("intrusion-set", stix_uuid, created, modified),
        "name": name,
        "description": description,
        "aliases": list(aliases),
        **_seen(first_seen, last_seen),
        "external_references": list(references),
    }


def campaign(
    *,
    stix_uuid,
    name: str,
    description: str,
    objective: str,
    first_seen: date | None,
    last_seen: date | None,
    created,
    modified,
    references: Iterable[dict] = (),
) -> dict:
    """A campaign as a `campaign`."""
    return {
        **_record_common("campaign", stix_uuid, created, modified),
        "name": name,
        "description": description,
        "objective": objective,
        **_seen(first_seen, last_seen),
        "external_references": list(references),
    }


def narrative(
    *, stix_uuid, name: str, summary: str, five_ds: Iterable[str], languages: Iterable[str], created, modified
) -> dict:
    """A narrative as OpenCTI's `narrative` (a custom SDO; `StixGraph.add` gives it its extension)."""
    return {
        **_record_common("narrative", stix_uuid, created, modified),
        "name": name,
        "description": summary,
        "narrative_types": list(five_ds or []),
        "x_opencti_languages": list(languages or []),
    }


def channel(*, stix_uuid, identifier: str, notes: str, asset_type: str, created, modified) -> dict:
    """An asset (account, page, website) as OpenCTI's `channel`."""
    return {
        **_record_common("channel", stix_uuid, created, modified),
        "name": identifier,
        "description": notes,
        "channel_types": [asset_type],
    }


def attack_pattern(
    *, stix_id: str, framework: str, source_name: str, external_id: str, name: str, tactic: str, summary: str = ""
) -> dict:
    """A technique (DISARM, Meta's kill chain) as an `attack-pattern`: reference data, the same in every export."""
    return {
        "type": "attack-pattern",
        "id": technique_id(stix_id=stix_id, framework=framework, external_id=external_id),
        "created_by_ref": TRACKER_IDENTITY,
        "created": EPOCH,
        "modified": EPOCH,
        "name": f"{external_id} {name}"[:250],
        "description": summary,
        "external_references": [{"source_name": source_name, "external_id": external_id}],
        "kill_chain_phases": [{"kill_chain_name": framework, "phase_name": (tactic or "unknown").lower()}],
        "x_mitre_id": external_id,
    }


def claimant_class(category: str) -> str:
    """The identity class of a claimant, from its category (code or label)."""
    return "individual" if category in ("influential_individual", "Influential Individual") else "organization"


def claim_attribution(
    *,
    stix_uuid,
    claimant_ref: str,
    description: str,
    references: Iterable[dict],
    created,
    modified,
    confidence_level: str | None = None,
    claimed_on: date | None = None,
) -> dict:
    """What `StixGraph.relate` needs to make an attribution claim the `attributed-to` relationship of its campaign
    (or operation) to its actor, authored by its claimant."""
    return {
        "id": sid("relationship", stix_uuid),
        "created": ts(created),
        "modified": ts(modified),
        "created_by_ref": claimant_ref,
        "description": description,
        "confidence": CONFIDENCE_SCORES.get(confidence_level or ""),
        "external_references": list(references),
        "start_time": ts(claimed_on),
    }


def claim_note(
    *,
    stix_uuid,
    claimant_ref: str,
    claimant: str,
    title: str,
    content: str,
    object_refs: list[str],
    references: Iterable[dict],
    created,
    modified,
    confidence_level: str | None = None,
) -> dict:
    """An attribution claim that cannot be a relationship (its actor or target unseen) as a `note` on what it is
    about, authored by its claimant."""
    return {
        **_record_common("note", stix_uuid, created, modified),
        "created_by_ref": claimant_ref,
        "abstract": title,
        "content": content,
        "authors": [claimant],
        "object_refs": object_refs,
        "confidence": CONFIDENCE_SCORES.get(confidence_level or ""),
        "external_references": list(references),
    }


def takedown_report(
    *,
    stix_uuid,
    platform_ref: str,
    platform: str,
    announced_on: date,
    description: str,
    object_refs: list[str],
    created,
    modified,
) -> dict:
    """A platform's takedown as a `report` published by the platform's identity, listing what it took down."""
    return {
        **_record_common("report", stix_uuid, created, modified),
        "created_by_ref": platform_ref,
        "name": f"{platform} takedown, {announced_on}",
        "description": description,
        "published": ts(announced_on),
        "report_types": ["threat-report"],
        "object_refs": object_refs,
    }
