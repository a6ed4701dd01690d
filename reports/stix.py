"""A report's content as a STIX 2.1 bundle that OpenCTI and MISP import, with TLP 2.0 markings (OASIS ids).

The bundle is made with the mapping's `StixGraph` (markings, OpenCTI's custom types, relationships that carry
the most restrictive marking of their ends), so that importing it and the partner export merges instead of
duplicating:
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
Catalogue records are made into STIX by the mapping in `partners.stix`, as the partner export makes them, so a
record has one STIX id (and one derived identity, relationship or attack-pattern id) in every export; ids that
no record gives (the report, a group) are derived there too, so a rebuild keeps them.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import stix2

from campaigns.selectors import removal_figures
from campaigns.stix import FRAMEWORK_SOURCES
from campaigns.vocabularies import Framework, Platform
from partners import stix
from partners.markings import Tlp, most_restrictive_tlp
from partners.stix import TRACKER_IDENTITY, StixGraph, derived_id, marking_definition, sid, ts

# STIX's account-type-ov where it names the platform; other platforms keep their own code.
STIX_ACCOUNT_TYPES = {Platform.FACEBOOK: "facebook", Platform.X: "twitter"}


def _when(value: str | None) -> datetime | None:
    """A record's ISO 8601 time, as the report content holds it."""
    return datetime.fromisoformat(value) if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _platform(name: str) -> Platform | None:
    """The platform a code or a label names."""
    return next((p for p in Platform if name in (p.value, p.label)), None)


def _account_type(platform: str) -> str:
    """A platform (code or label) as a user-account's account_type."""
    code = _platform(platform)
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
        self.generated = datetime.fromisoformat(content["generated_at"])
        self.when = ts(self.generated)
        self.graph = StixGraph(flavour="oasis")
        self.graph.add(stix.tracker_identity(), Tlp.CLEAR)

    def _record(self, row: dict) -> dict:
        """A record's stix_uuid, created and modified (the report's own time when the row carries none)."""
        return {
            "stix_uuid": row["stix_uuid"],
            "created": _when(row.get("created")) or self.generated,
            "modified": _when(row.get("modified")) or self.generated,
        }

    def _own(self, stix_type: str, stix_id: str) -> dict:
        """Common properties of an object the report makes itself, stamped with the report's time."""
        return {
            "type": stix_type,
            "id": stix_id,
            "created_by_ref": TRACKER_IDENTITY,
            "created": self.when,
            "modified": self.when,
        }

    def _add_sco(self, obj, tlp: str) -> str:
        """Add an observable; one seen under several markings keeps the most restrictive of them."""
        sco = _sco(obj)
        known = self.graph.markings.get(sco["id"])
        self.graph.add(sco, most_restrictive_tlp([tlp] + ([known] if known else [])))
        return sco["id"]

    def actor(self, actor: dict | None) -> str | None:
        if not actor or actor.get("id") is None:
            return None
        stix_id = sid("threat-actor", actor["stix_uuid"])
        if stix_id not in self.graph.objects:
            self.graph.add(
                stix.threat_actor(**self._record(actor), name=actor["name"], actor_type=actor.get("actor_type", "")),
                actor["tlp"],
            )
        return stix_id

    def operation(self, operation: dict | None) -> str | None:
        if not operation or operation.get("id") is None:
            return None
        stix_id = sid("intrusion-set", operation["stix_uuid"])
        if stix_id not in self.graph.objects:
            self.graph.add(stix.intrusion_set(**self._record(operation), name=operation["name"]), operation["tlp"])
        return stix_id

    def campaigns(self) -> None:
        for row in self.content["campaigns"]:
            description = row["summary"] or row["objective"]
            elections = ", ".join(e["name"] for e in row["elections"])
            if elections:
                description = f"{description}\nElections targeted: {elections}".strip()
            campaign_id = sid("campaign", row["stix_uuid"])
            self.graph.add(
                stix.campaign(
                    **self._record(row),
                    name=row["name"],
                    description=description,
                    objective=row["objective"],
                    first_seen=_day(row["first_seen"]),
                    last_seen=_day(row["last_seen"]),
                ),
                most_restrictive_tlp([row["tlp"]] + [e.get("tlp", Tlp.CLEAR) for e in row["elections"]]),
            )
            for owner in (self.actor(row["actor"]), self.operation(row["operation"])):
                if owner:
                    self.graph.relate(campaign_id, "attributed-to", owner, [self.graph.markings[campaign_id]])

    def techniques(self) -> None:
        for tactic in self.content["tactics"]:
            for technique in tactic["techniques"]:
                pattern = stix.attack_pattern(
                    stix_id=technique["stix_id"] or "",
                    framework=Framework.DISARM.value,
                    source_name=FRAMEWORK_SOURCES[Framework.DISARM],
                    external_id=technique["external_id"],
                    name=technique["name"],
                    tactic=tactic["id"],
                )
                self.graph.add(pattern, Tlp.CLEAR)
                for campaign_uuid in technique["campaigns"]:
                    campaign_id = sid("campaign", campaign_uuid)
                    if campaign_id in self.graph.objects:
                        self.graph.relate(campaign_id, "uses", pattern["id"], [self.graph.markings[campaign_id]])

    def narratives(self) -> None:
        for row in self.content["narratives"]:
            narrative_id = sid("narrative", row["stix_uuid"])
            self.graph.add(
                stix.narrative(
                    **self._record(row),
                    name=row["name"],
                    summary=row["summary"],
                    five_ds=row["five_ds"],
                    languages=row["languages"],
                ),
                row["tlp"],
            )
            for campaign_uuid in row.get("campaign_uuids", []):
                campaign_id = sid("campaign", campaign_uuid)
                if campaign_id in self.graph.objects:
                    self.graph.relate(campaign_id, "uses", narrative_id, [self.graph.markings[campaign_id]])

    def claims(self) -> None:
        for claim in self.content["claims"]:
            source = claim["source"]
            claim_tlp = most_restrictive_tlp([claim["tlp"]] + ([source["tlp"]] if source else []))
            claimant = stix.identity_add(
                self.graph,
                f"claimant:{claim['claimant']}",
                claim["claimant"],
                stix.claimant_class(claim["claimant_category"]),
                claim_tlp,
            )
            references = (
                [stix.external_reference(publisher=source["publisher"], title=source["title"], url=source["url"])]
                if source
                else []
            )
            target = (
                sid("campaign", claim["campaign_stix_uuid"])
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
                    **stix.claim_attribution(
                        stix_uuid=claim["stix_uuid"],
                        claimant_ref=claimant,
                        description=description,
                        references=references,
                        created=_when(claim.get("created")) or self.generated,
                        modified=_when(claim.get("modified")),
                        confidence_level=claim.get("confidence_level"),
                        claimed_on=_day(claim["claimed_on"]),
                    ),
                )
                continue
            refs = [ref for ref in (target, actor) if ref] or [claimant]
            self.graph.add(
                stix.claim_note(
                    **self._record(claim),
                    claimant_ref=claimant,
                    claimant=claim["claimant"],
                    title=claim["title"],
                    content=description,
                    object_refs=refs,
                    references=references,
                    confidence_level=claim.get("confidence_level"),
                ),
                most_restrictive_tlp([claim_tlp] + [self.graph.markings[ref] for ref in refs]),
            )

    def takedowns(self) -> None:
        for row in self.content["takedowns"]["rows"]:
            code = _platform(row["platform"])
            key = f"platform:{code.value if code else row['platform']}"
            platform = stix.identity_add(self.graph, key, row["platform"])
            refs = [
                ref
                for ref in (
                    self.actor(row["actor"]),
                    self.operation(row["operation"]),
                    sid("campaign", row["campaign_stix_uuid"]) if row.get("campaign_stix_uuid") else None,
                )
                if ref and ref in self.graph.objects
            ]
            figures = removal_figures(
                (
                    (row["accounts_removed"], f"{row['platform']} accounts"),
                    (row["pages_removed"], f"{row['platform']} pages"),
                    (row["groups_removed"], f"{row['platform']} groups"),
                    (row["instagram_accounts_removed"], "Instagram accounts"),
                ),
                thousands=True,
            )
            reach = f"{row['followers']:,} followers" if row["followers"] else ""
            spend = f"ad spend {row['ad_spend']} {row['ad_currency'] or 'USD'}" if row["ad_spend"] else ""
            parts = [figures and f"Removed {figures}", reach, spend, row["notes"]]
            self.graph.add(
                stix.takedown_report(
                    **self._record(row),
                    platform_ref=platform,
                    platform=row["platform"],
                    announced_on=_day(row["announced_on"]),
                    description="; ".join(p for p in parts if p),
                    object_refs=refs or [platform],
                ),
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
            campaign_id = sid("campaign", group["campaign_stix_uuid"]) if group.get("campaign_stix_uuid") else None
            refs = accounts + ([campaign_id] if campaign_id in self.graph.objects else [])
            platforms = ", ".join(group["platforms"]) or "unknown platforms"
            grouping_id = derived_id("grouping", "scoring-run", group["run"], "group", group["number"])
            self.graph.add(
                {
                    **self._own("grouping", grouping_id),
                    "name": f"Coordinated group {group['number']} of scoring run {group['run']}",
                    "description": (
                        f"{group['size']:,} accounts acting together on {platforms}, score {group['score']:.2f}; "
                        f"behaviours: {', '.join(group['behaviours'])}; {group['status'].lower()} by a researcher."
                    ),
                    "context": "suspicious-activity",
                    "labels": ["confirmed" if group["confirmed"] else "to-review"],
                    "object_refs": refs or [TRACKER_IDENTITY],
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
        self.graph.add(
            {
                **self._own("report", derived_id("report", "threat-report", report_key)),
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
        bundle["id"] = derived_id("bundle", "threat-report", report_key, self.when)
        return bundle


def report_bundle(*, content: dict, title: str, summary: str, marking: str, report_key: str) -> dict:
    """The STIX 2.1 bundle of a report's content (a dict ready for json.dumps)."""
    return ReportBundle(content).bundle(title=title, summary=summary, marking=marking, report_key=report_key)
