"""A report's content as a STIX 2.1 bundle: a report object referencing what it includes, TLP 2.0 markings."""

from __future__ import annotations

import json
import re
import uuid

import stix2

from campaigns.vocabularies import TLP_STIX_IDS, Tlp, most_restrictive_tlp

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TRACKER_NAMESPACE = uuid.UUID("5b0c2f5e-3c1e-4f7b-9a55-3f5d9a0b6e21")
_STIX_ID = re.compile(r"^[a-z0-9-]+--[0-9a-f-]{36}$")


def tlp_marking(tlp: str) -> stix2.v21.MarkingDefinition:
    """The OASIS TLP 2.0 marking-definition of a level (fixed id, created 2022-10-01)."""
    return stix2.v21.MarkingDefinition(
        id=TLP_STIX_IDS[Tlp(tlp)],
        created="2022-10-01T00:00:00.000Z",
        name=Tlp(tlp).label,
        extensions={TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.lower()}},
    )


def _uuid5(*parts: str) -> str:
    """A stable id in UUIDv4 form (as STIX asks for SDOs), drawn from a hash: a rebuild keeps the same ids."""
    return str(uuid.UUID(bytes=uuid.uuid5(TRACKER_NAMESPACE, "/".join(parts)).bytes, version=4))


def report_bundle(*, content: dict, title: str, summary: str, marking: str, report_key: str) -> dict:
    """The STIX 2.1 bundle of a report's content (a dict ready for json.dumps)."""
    when = content["generated_at"]
    identity = stix2.v21.Identity(
        id=f"identity--{_uuid5('tracker')}",
        name="Election-interference tracker",
        identity_class="organization",
        created="2024-01-01T00:00:00.000Z",
        modified="2024-01-01T00:00:00.000Z",
    )
    common = {"created": when, "modified": when, "created_by_ref": identity.id}
    objects: dict[str, object] = {}
    used_markings: set[str] = {marking}

    def marked(tlp: str) -> list[str]:
        used_markings.add(tlp)
        return [TLP_STIX_IDS[Tlp(tlp)]]

    def add(obj) -> str:
        objects.setdefault(obj.id, obj)
        return obj.id

    def actor_ref(actor: dict | None) -> str | None:
        if not actor or actor.get("id") is None:
            return None
        return add(
            stix2.v21.ThreatActor(
                id=f"threat-actor--{actor['stix_uuid']}",
                name=actor["name"],
                threat_actor_types=["nation-state"],
                object_marking_refs=marked(actor["tlp"]),
                **common,
            )
        )

    def operation_ref(operation: dict | None) -> str | None:
        if not operation or operation.get("id") is None:
            return None
        return add(
            stix2.v21.IntrusionSet(
                id=f"intrusion-set--{operation['stix_uuid']}",
                name=operation["name"],
                object_marking_refs=marked(operation["tlp"]),
                **common,
            )
        )

    def relationship(kind: str, source: str, target: str, tlp: str) -> None:
        add(
            stix2.v21.Relationship(
                id=f"relationship--{_uuid5(kind, source, target)}",
                relationship_type=kind,
                source_ref=source,
                target_ref=target,
                object_marking_refs=marked(tlp),
                **common,
            )
        )

    campaign_ids: dict[str, str] = {}
    campaign_tlp: dict[str, str] = {}
    for row in content["campaigns"]:
        description = row["summary"] or row["objective"]
        elections = ", ".join(e["name"] for e in row["elections"])
        if elections:
            description = f"{description}\nElections targeted: {elections}".strip()
        campaign = stix2.v21.Campaign(
            id=f"campaign--{row['stix_uuid']}",
            name=row["name"],
            description=description or None,
            first_seen=f"{row['first_seen']}T00:00:00Z" if row["first_seen"] else None,
            last_seen=f"{row['last_seen']}T00:00:00Z" if row["last_seen"] else None,
            object_marking_refs=marked(row["tlp"]),
            **common,
        )
        campaign_ids[row["stix_uuid"]] = add(campaign)
        campaign_tlp[row["stix_uuid"]] = row["tlp"]
        actor = actor_ref(row["actor"])
        operation = operation_ref(row["operation"])
        marking_of = [row["tlp"]] + [x["tlp"] for x in (row["actor"], row["operation"]) if x and x.get("tlp")]
        if actor:
            relationship("attributed-to", campaign.id, actor, most_restrictive_tlp(marking_of))
        if operation:
            relationship("attributed-to", campaign.id, operation, most_restrictive_tlp(marking_of))

    for tactic in content["tactics"]:
        for technique in tactic["techniques"]:
            pattern_id = technique["stix_id"] if _STIX_ID.match(technique["stix_id"] or "") else None
            pattern = stix2.v21.AttackPattern(
                id=pattern_id
                if pattern_id and pattern_id.startswith("attack-pattern--")
                else f"attack-pattern--{_uuid5('disarm', technique['external_id'])}",
                name=technique["name"],
                external_references=[{"source_name": "DISARM", "external_id": technique["external_id"]}],
                object_marking_refs=marked(Tlp.CLEAR),
                **common,
            )
            add(pattern)
            for campaign_uuid in technique["campaigns"]:
                if campaign_uuid in campaign_ids:
                    relationship("uses", campaign_ids[campaign_uuid], pattern.id, campaign_tlp[campaign_uuid])

    for row in content["indicators"]["domains"]:
        add(stix2.v21.DomainName(value=row["identifier"], object_marking_refs=marked(row["tlp"])))
    for row in content["indicators"]["accounts"]:
        add(
            stix2.v21.UserAccount(
                account_login=row["identifier"],
                account_type=(row["platform"] or "unknown").lower().replace("/", "-").replace(" ", "-"),
                object_marking_refs=marked(row["tlp"]),
            )
        )
    for row in content["indicators"]["urls"]:
        add(stix2.v21.URL(value=row["url"], object_marking_refs=marked(row["tlp"])))

    report = stix2.v21.Report(
        id=f"report--{_uuid5('report', report_key)}",
        name=title,
        description=summary,
        report_types=["threat-report"],
        published=when,
        object_refs=list(objects) or [identity.id],
        object_marking_refs=marked(marking),
        labels=[f"scope:{content['scope']['kind']}"],
        **common,
    )
    bundle_objects = [tlp_marking(t) for t in sorted(used_markings, key=list(TLP_STIX_IDS).index)]
    bundle_objects += [identity, *objects.values(), report]
    bundle = stix2.v21.Bundle(objects=bundle_objects, id=f"bundle--{_uuid5('bundle', report_key, when)}")
    return json.loads(bundle.serialize())
