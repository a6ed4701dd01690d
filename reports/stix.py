"""A report's content as a STIX 2.1 bundle that OpenCTI and MISP import, with TLP 2.0 markings (OASIS ids).

The bundle is made with the partner export's `StixGraph` (markings, OpenCTI's custom types, relationships that
carry the most restrictive marking of their ends) and gives catalogue records the ids and shapes that export
gives them, so that importing both merges instead of duplicating:
- campaigns, threat actors, operations (`intrusion-set`) and DISARM techniques (`attack-pattern`);
- narratives as OpenCTI's `narrative` (a custom SDO with its extension-definition), used by their campaigns;
- an attribution claim as the `attributed-to` relationship of its campaign (or operation) to the actor it
  names, authored (`created_by_ref`) by the claimant, with the claim's confidence on the Low/Med/High scale of
  STIX 2.1's confidence appendix (15, 50, 85); a claim whose actor the audience may not see becomes a `note`
  on the campaign, as OpenCTI and MISP both show notes;
- a takedown as a `report` published by the platform's identity, referencing what was taken down, with the
  Meta-style figures in its description: OpenCTI lists it among the reports of each object it references;
- a coordinated group found by scoring as a `grouping` (context "suspicious-activity") of its accounts as
  `user-account` objects, and of its campaign when it has one;
- the indicators appendix as `user-account`, `domain-name` and `url` objects.
Every object carries its own marking, never lower than the records it was made from (a claimant's identity
is marked as its claim; OpenCTI's extension-definition TLP:CLEAR); the report object references them all and
carries the report's marking.
Ids that no record gives are hashed into UUIDv4 form (as STIX asks of SDOs and SROs), so a rebuild keeps them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import stix2

from campaigns.vocabularies import Platform
from partners.markings import Tlp, most_restrictive_tlp
from partners.stix import ACTOR_TYPES, EPOCH, TRACKER_IDENTITY, StixGraph, marking_definition, ts

TRACKER_NAMESPACE = uuid.UUID("5b0c2f5e-3c1e-4f7b-9a55-3f5d9a0b6e21")
CONFIDENCE_SCORES = {"low": 15, "moderate": 50, "high": 85}
# STIX's account-type-ov where it names the platform; other platforms keep their own code.
STIX_ACCOUNT_TYPES = {Platform.FACEBOOK: "facebook", Platform.X: "twitter"}
_STIX_ID = re.compile(r"^[a-z0-9-]+--[0-9a-f-]{36}$")


def _uuid5(*parts: str) -> str:
    """A stable id in UUIDv4 form (as STIX asks for SDOs), drawn from a hash: a rebuild keeps the same ids."""
    return str(uuid.UUID(bytes=uuid.uuid5(TRACKER_NAMESPACE, "/".join(parts)).bytes, version=4))


def _millis(stamp: str) -> str:
    """A 'YYYY-MM-DDTHH:MM:SSZ' timestamp as STIX asks for created and modified (to the millisecond)."""
    return stamp if "." in stamp else stamp.replace("Z", ".000Z")


def _stamp(value: str | None) -> str | None:
    """A record's ISO 8601 time as a STIX timestamp (as the partner export writes it)."""
    return ts(datetime.fromisoformat(value)) if value else None


def _day(value: str | None) -> str | None:
    return f"{value}T00:00:00.000Z" if value else None


def _platform_label(code: str) -> str:
    return Platform(code).label if code in Platform.values else code


def _account_type(platform: str) -> str:
    """A platform (code or label) as a user-account's account_type."""
    code = next((p for p in Platform if platform in (p.value, p.label)), None)
    if code is None:
        return (platform or "unknown").lower().replace("/", "-").replace(" ", "-")
    return STIX_ACCOUNT_TYPES.get(code, code.value)


def _sco(obj) -> dict:
    """A cyber-observable made by the stix2 library (for its deterministic id), as plain data."""
    return json.loads(obj.serialize())


class ReportBundle:
    """Builds the STIX bundle of one report's content. Use `report_bundle()`."""

    def __init__(self, content: dict):
        self.content = content
        self.when = _millis(content["generated_at"])
        self.graph = StixGraph(flavour="oasis")
        self.identity = TRACKER_IDENTITY
        self.graph.add(self._identity_object(self.identity, "Election-interference tracker"), Tlp.CLEAR)

    def _identity_object(self, identity_id: str, name: str, identity_class: str = "organization") -> dict:
        return {
            "type": "identity",
            "id": identity_id,
            "created": EPOCH,
            "modified": EPOCH,
            "name": name,
            "identity_class": identity_class,
        }

    def _common(self, stix_type: str, stix_id: str, row: dict | None = None) -> dict:
        """Common properties; created and modified are the record's own when the row carries them."""
        row = row or {}
        return {
            "type": stix_type,
            "id": stix_id,
            "created_by_ref": self.identity,
            "created": _stamp(row.get("created")) or self.when,
            "modified": _stamp(row.get("modified")) or self.when,
        }

    def _add_sco(self, obj, tlp: str) -> str:
        """Add an observable; one seen under several markings keeps the most restrictive of them."""
        sco = _sco(obj)
        known = self.graph.markings.get(sco["id"])
        self.graph.add(sco, most_restrictive_tlp([tlp] + ([known] if known else [])))
        return sco["id"]

    def _named_identity(self, key: str, name: str, identity_class: str = "organization", tlp: str = Tlp.CLEAR) -> str:
        """An identity marked `tlp`, with an id of that marking: a claimant's is marked as its claim."""
        parts = (key,) if tlp == Tlp.CLEAR else (key, tlp)
        identity_id = f"identity--{_uuid5('identity', *parts)}"
        if identity_id not in self.graph.objects:
            self.graph.add(self._identity_object(identity_id, name, identity_class), tlp)
        return identity_id

    def _relate(self, source: str, kind: str, target: str, tlp: str, **extra) -> None:
        extra.setdefault("id", f"relationship--{_uuid5(kind, source, target)}")
        extra.setdefault("created_by_ref", self.identity)
        self.graph.relate(source, kind, target, [tlp], **extra)

    def actor(self, actor: dict | None) -> str | None:
        if not actor or actor.get("id") is None:
            return None
        stix_id = f"threat-actor--{actor['stix_uuid']}"
        if stix_id not in self.graph.objects:
            self.graph.add(
                {
                    **self._common("threat-actor", stix_id, actor),
                    "name": actor["name"],
                    "threat_actor_types": [ACTOR_TYPES.get(actor.get("actor_type", ""), "unknown")],
                },
                actor["tlp"],
            )
        return stix_id

    def operation(self, operation: dict | None) -> str | None:
        if not operation or operation.get("id") is None:
            return None
        stix_id = f"intrusion-set--{operation['stix_uuid']}"
        if stix_id not in self.graph.objects:
            self.graph.add(
                {**self._common("intrusion-set", stix_id, operation), "name": operation["name"]}, operation["tlp"]
            )
        return stix_id

    def campaigns(self) -> None:
        for row in self.content["campaigns"]:
            description = row["summary"] or row["objective"]
            elections = ", ".join(e["name"] for e in row["elections"])
            if elections:
                description = f"{description}\nElections targeted: {elections}".strip()
            last_seen = row["last_seen"]
            if row["first_seen"] and last_seen and last_seen < row["first_seen"]:
                last_seen = None
            campaign_id = f"campaign--{row['stix_uuid']}"
            self.graph.add(
                {
                    **self._common("campaign", campaign_id, row),
                    "name": row["name"],
                    "description": description,
                    "objective": row["objective"],
                    "first_seen": _day(row["first_seen"]),
                    "last_seen": _day(last_seen),
                },
                most_restrictive_tlp([row["tlp"]] + [e.get("tlp", Tlp.CLEAR) for e in row["elections"]]),
            )
            for owner in (self.actor(row["actor"]), self.operation(row["operation"])):
                if owner:
                    self._relate(campaign_id, "attributed-to", owner, self.graph.markings[campaign_id])

    def techniques(self) -> None:
        for tactic in self.content["tactics"]:
            for technique in tactic["techniques"]:
                known = technique["stix_id"] or ""
                pattern_id = (
                    known
                    if _STIX_ID.match(known) and known.startswith("attack-pattern--")
                    else f"attack-pattern--{_uuid5('disarm', technique['external_id'])}"
                )
                self.graph.add(
                    {
                        **self._common("attack-pattern", pattern_id),
                        "name": technique["name"],
                        "external_references": [{"source_name": "DISARM", "external_id": technique["external_id"]}],
                        "kill_chain_phases": [
                            {"kill_chain_name": "disarm", "phase_name": (tactic["id"] or "unknown").lower()}
                        ],
                    },
                    Tlp.CLEAR,
                )
                for campaign_uuid in technique["campaigns"]:
                    campaign_id = f"campaign--{campaign_uuid}"
                    if campaign_id in self.graph.objects:
                        self._relate(campaign_id, "uses", pattern_id, self.graph.markings[campaign_id])

    def narratives(self) -> None:
        for row in self.content["narratives"]:
            narrative_id = f"narrative--{row['stix_uuid']}"
            self.graph.add(
                {
                    **self._common("narrative", narrative_id, row),
                    "name": row["name"],
                    "description": row["summary"],
                    "narrative_types": row["five_ds"],
                    "x_opencti_languages": row["languages"],
                },
                row["tlp"],
            )
            for campaign_uuid in row.get("campaign_uuids", []):
                campaign_id = f"campaign--{campaign_uuid}"
                if campaign_id in self.graph.objects:
                    self._relate(campaign_id, "uses", narrative_id, self.graph.markings[campaign_id])

    def claims(self) -> None:
        for claim in self.content["claims"]:
            source = claim["source"]
            claim_tlp = most_restrictive_tlp([claim["tlp"]] + ([source["tlp"]] if source else []))
            individual = claim["claimant_category"] == "Influential Individual"
            claimant = self._named_identity(
                f"claimant:{claim['claimant']}",
                claim["claimant"],
                "individual" if individual else "organization",
                claim_tlp,
            )
            references = (
                [{"source_name": source["publisher"] or "source", "description": source["title"], "url": source["url"]}]
                if source
                else []
            )
            references = [{k: v for k, v in ref.items() if v} for ref in references]
            target = (
                f"campaign--{claim['campaign_stix_uuid']}"
                if claim.get("campaign_stix_uuid")
                else self.operation(claim["operation"])
            )
            if target not in self.graph.objects:
                target = None
            actor = self.actor(claim["actor"])
            description = claim["summary"] or claim["title"] or f"Attribution claim by {claim['claimant']}"
            if target and actor:
                self.graph.relate(
                    target,
                    "attributed-to",
                    actor,
                    [claim_tlp],
                    id=f"relationship--{claim['stix_uuid']}",
                    created=_stamp(claim.get("created")) or self.when,
                    modified=_stamp(claim.get("modified")),
                    created_by_ref=claimant,
                    description=description,
                    confidence=CONFIDENCE_SCORES.get(claim.get("confidence_level") or ""),
                    external_references=references,
                    start_time=_day(claim["claimed_on"]),
                )
                continue
            refs = [ref for ref in (target, actor) if ref] or [claimant]
            self.graph.add(
                {
                    **self._common("note", f"note--{claim['stix_uuid']}", claim),
                    "created_by_ref": claimant,
                    "abstract": claim["title"],
                    "content": description,
                    "authors": [claim["claimant"]],
                    "object_refs": refs,
                    "confidence": CONFIDENCE_SCORES.get(claim.get("confidence_level") or ""),
                    "external_references": references,
                },
                most_restrictive_tlp([claim_tlp] + [self.graph.markings[ref] for ref in refs]),
            )

    def takedowns(self) -> None:
        for row in self.content["takedowns"]["rows"]:
            platform = self._named_identity(f"platform:{row['platform']}", row["platform"])
            refs = [
                ref
                for ref in (
                    self.actor(row["actor"]),
                    self.operation(row["operation"]),
                    f"campaign--{row['campaign_stix_uuid']}" if row.get("campaign_stix_uuid") else None,
                )
                if ref and ref in self.graph.objects
            ]
            figures = ", ".join(
                f"{value:,} {label}"
                for value, label in (
                    (row["accounts_removed"], f"{row['platform']} accounts"),
                    (row["pages_removed"], f"{row['platform']} pages"),
                    (row["groups_removed"], f"{row['platform']} groups"),
                    (row["instagram_accounts_removed"], "Instagram accounts"),
                )
                if value
            )
            reach = f"{row['followers']:,} followers" if row["followers"] else ""
            spend = f"ad spend {row['ad_spend']} {row['ad_currency'] or 'USD'}" if row["ad_spend"] else ""
            parts = [figures and f"Removed {figures}", reach, spend, row["notes"]]
            self.graph.add(
                {
                    **self._common("report", f"report--{row['stix_uuid']}", row),
                    "created_by_ref": platform,
                    "name": f"{row['platform']} takedown, {row['announced_on']}",
                    "description": "; ".join(p for p in parts if p),
                    "published": _day(row["announced_on"]),
                    "report_types": ["threat-report"],
                    "object_refs": refs or [platform],
                },
                most_restrictive_tlp([row["tlp"]] + [self.graph.markings[ref] for ref in refs]),
            )

    def groups(self) -> None:
        for group in self.content["groups"]:
            accounts = [
                self._add_sco(
                    stix2.v21.UserAccount(
                        user_id=account["account_id"],
                        account_login=account["handle"] or None,
                        account_type=_account_type(account["platform"]),
                    ),
                    group["tlp"],
                )
                for account in group.get("accounts", [])
            ]
            campaign_id = f"campaign--{group['campaign_stix_uuid']}" if group.get("campaign_stix_uuid") else None
            refs = accounts + ([campaign_id] if campaign_id in self.graph.objects else [])
            platforms = ", ".join(group["platforms"]) or "unknown platforms"
            self.graph.add(
                {
                    **self._common("grouping", f"grouping--{_uuid5('group', str(group['run']), str(group['number']))}"),
                    "name": f"Coordinated group {group['number']} of scoring run {group['run']}",
                    "description": (
                        f"{group['size']:,} accounts acting together on {platforms}, score {group['score']:.2f}; "
                        f"behaviours: {', '.join(group['behaviours'])}; {group['status'].lower()} by a researcher."
                    ),
                    "context": "suspicious-activity",
                    "labels": ["confirmed" if group["confirmed"] else "to-review"],
                    "object_refs": refs or [self.identity],
                },
                group["tlp"],
            )

    def indicators(self) -> None:
        indicators = self.content["indicators"]
        for row in indicators["domains"]:
            self._add_sco(stix2.v21.DomainName(value=row.get("domain") or row["identifier"]), row["tlp"])
        for row in indicators["accounts"]:
            self._add_sco(
                stix2.v21.UserAccount(account_login=row["identifier"], account_type=_account_type(row["platform"])),
                row["tlp"],
            )
        for row in indicators["urls"]:
            self._add_sco(stix2.v21.URL(value=row["url"]), row["tlp"])

    def bundle(self, *, title: str, summary: str, marking: str, report_key: str) -> dict:
        for part in (self.campaigns, self.techniques, self.narratives, self.claims, self.takedowns):
            part()
        self.groups()
        self.indicators()
        report_id = f"report--{_uuid5('report', report_key)}"
        self.graph.add(
            {
                **self._common("report", report_id),
                "name": title,
                "description": summary,
                "report_types": ["threat-report"],
                "published": self.when,
                "object_refs": sorted(self.graph.objects),
                "labels": [f"scope:{self.content['scope']['kind']}"],
            },
            marking,
        )
        bundle = self.graph.bundle()
        clear = marking_definition(Tlp.CLEAR)
        for obj in bundle["objects"]:
            if obj["type"] == "extension-definition":
                obj["object_marking_refs"] = [clear["id"]]
                if clear not in bundle["objects"]:
                    bundle["objects"].insert(0, clear)
        bundle["id"] = f"bundle--{_uuid5('bundle', report_key, self.when)}"
        return bundle


def report_bundle(*, content: dict, title: str, summary: str, marking: str, report_key: str) -> dict:
    """The STIX 2.1 bundle of a report's content (a dict ready for json.dumps)."""
    return ReportBundle(content).bundle(title=title, summary=summary, marking=marking, report_key=report_key)
