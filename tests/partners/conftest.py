"""A world of marked records with canary strings, and the personas of the leak test."""

from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from campaigns import models as c
from detection.models import Sample, SampleImport
from partners import services
from partners.models import Membership, MembershipRole, Organisation

TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
PERSONAS = [
    "anonymous",
    "clear",
    "green",
    "amber_a",
    "amber_b",
    "strict_recipient",
    "red_person",
    "red_colleague",
    "revoked",
    "researcher",
]
# Who may see a catalogue record of each marking (A owns or is named on AMBER+STRICT; Alice is named on RED).
CATALOGUE_AUDIENCE = {
    "CLEAR": {"clear", "green", "amber_a", "amber_b", "strict_recipient", "red_person", "red_colleague", "researcher"},
    "GREEN": {"green", "amber_a", "amber_b", "strict_recipient", "red_person", "red_colleague", "researcher"},
    "AMBER": {"amber_a", "amber_b", "red_person", "red_colleague", "researcher"},
    "AMBER+STRICT": {"amber_a", "strict_recipient", "red_person", "red_colleague", "researcher"},
    "RED": {"red_person", "researcher"},
}
ORG_A_PEOPLE = {"amber_a", "red_person", "red_colleague"}


def canary(kind: str, tlp: str) -> str:
    return f"CNRY{kind}{tlp.replace('+', 'X')}Q"


@dataclass
class World:
    orgs: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)  # persona -> raw key
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)  # (kind, tlp) -> record
    audience: dict = field(default_factory=dict)  # canary -> personas allowed to see it

    def client(self, persona: str) -> Client:
        client = Client()
        if persona == "researcher":
            client.force_login(self.users["researcher"])
        if persona in self.keys:
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {self.keys[persona]}"
        return client


def build_world() -> World:
    """Organisations A, B (AMBER), C (CLEAR), G (GREEN) and S (GREEN, named on AMBER+STRICT records);
    Alice (named on RED records) and Bob in A; every catalogue model once per marking, each with a canary."""
    cache.clear()
    User = get_user_model()
    w = World()
    for slug, ceiling in [("a", "AMBER"), ("b", "AMBER"), ("c", "CLEAR"), ("g", "GREEN"), ("s", "GREEN")]:
        org = Organisation.objects.create(name=f"Org {slug.upper()}", slug=f"org-{slug}")
        services.clearance_set(organisation=org, ceiling=ceiling)
        w.orgs[slug] = org
    a, b, s = w.orgs["a"], w.orgs["b"], w.orgs["s"]
    alice = User.objects.create_user("alice", password="x-unused-password-1")
    bob = User.objects.create_user("bob", password="x-unused-password-2")
    researcher = User.objects.create_user("researcher", password="x-unused-password-3", is_staff=True)
    w.users = {"alice": alice, "bob": bob, "researcher": researcher}
    Membership.objects.create(user=alice, organisation=a, role=MembershipRole.SUBMITTER)
    Membership.objects.create(user=bob, organisation=a, role=MembershipRole.READER)
    for persona, org in [("clear", "c"), ("green", "g"), ("amber_a", "a"), ("amber_b", "b"), ("strict_recipient", "s")]:
        _, w.keys[persona] = services.api_key_create(organisation=w.orgs[org], name=persona)
    revoked, w.keys["revoked"] = services.api_key_create(organisation=a, name="revoked")
    services.credential_revoke(credential=revoked)
    _, w.keys["red_person"] = services.personal_token_create(user=alice, organisation=a, name="alice")
    _, w.keys["red_colleague"] = services.personal_token_create(user=bob, organisation=a, name="bob")

    platform = c.Platform.objects.get_or_create(code="x")[0]
    technique = c.Technique.objects.get_or_create(
        framework="disarm", external_id="T0049", defaults={"name": "Flooding the information space"}
    )[0]
    for tlp in TLPS:
        mark = {"tlp": tlp}

        def put(kind, record, tlp=tlp):
            w.objects[(kind, tlp)] = record
            w.audience[canary(kind, tlp)] = CATALOGUE_AUDIENCE[tlp]
            if tlp == "AMBER+STRICT":
                services.share_create(target=record, organisation=a)
                services.share_create(target=record, organisation=s)
            if tlp == "RED":
                services.share_create(target=record, user=alice)
            return record

        source = put("source", c.Source.objects.create(title=canary("source", tlp), url="https://example.org", **mark))
        actor = put(
            "actor",
            c.ThreatActor.objects.create(
                name=canary("actor", tlp), actor_type="state", country="CN", description=canary("actor", tlp), **mark
            ),
        )
        c.Alias.objects.create(name=canary("actor", tlp) + "alias", namespace="meta", actor=actor)
        operation = put(
            "operation",
            c.Operation.objects.create(name=canary("operation", tlp), actor=actor, description="op", **mark),
        )
        operation.sources.add(source)
        election = put(
            "election",
            c.Election.objects.create(
                name=canary("election", tlp),
                country="TW",
                election_type="presidential",
                election_day="2024-01-13",
                **mark,
            ),
        )
        narrative = put("narrative", c.Narrative.objects.create(name=canary("narrative", tlp), summary="n", **mark))
        campaign = put(
            "campaign",
            c.Campaign.objects.create(
                name=canary("campaign", tlp),
                actor=actor,
                operation=operation,
                summary=canary("campaign", tlp),
                target_countries=["TW"],
                first_seen="2023-06-01",
                last_seen="2024-01-13",
                owner=a if tlp == "AMBER+STRICT" else None,
                **mark,
            ),
        )
        campaign.elections.add(election)
        campaign.narratives.add(narrative)
        campaign.sources.add(source)
        campaign.platforms.add(platform)
        c.TechniqueUse.objects.create(campaign=campaign, technique=technique, evidence=canary("campaign", tlp) + "use")
        put(
            "claim",
            c.AttributionClaim.objects.create(
                claimant="Meta",
                claimant_category="technology_company",
                actor=actor,
                campaign=campaign,
                title=canary("claim", tlp),
                summary=canary("claim", tlp),
                source=source,
                **mark,
            ),
        )
        put(
            "takedown",
            c.Takedown.objects.create(
                platform=platform,
                announced_on="2024-02-01",
                actor=actor,
                operation=operation,
                campaign=campaign,
                accounts_removed=10,
                notes=canary("takedown", tlp),
                source=source,
                **mark,
            ),
        )
        put(
            "asset",
            c.Asset.objects.create(
                asset_type="account", platform=platform, identifier=canary("asset", tlp), campaign=campaign, **mark
            ),
        )

    # Cross-links to more restrictive records: a GREEN campaign whose actor, operation, narrative and source are RED.
    green = w.objects[("campaign", "GREEN")]
    green.narratives.add(w.objects[("narrative", "RED")], w.objects[("narrative", "AMBER")])
    green.sources.add(w.objects[("source", "RED")])
    green.elections.add(w.objects[("election", "AMBER+STRICT")])
    c.Campaign.objects.filter(pk=green.pk).update(actor=w.objects[("actor", "RED")])

    # Samples: one per owner and marking pattern, each import named with a canary.
    samples = {
        "own_a": (a, "AMBER", ORG_A_PEOPLE | {"researcher"}),
        "own_b": (b, "GREEN", {"amber_b", "researcher"}),
        "strict_a_to_s": (a, "AMBER+STRICT", ORG_A_PEOPLE | {"strict_recipient", "researcher"}),
        "red_alice": (a, "RED", {"red_person", "researcher"}),
        "unowned": (None, "CLEAR", {"researcher"}),
    }
    for name, (owner, tlp, audience) in samples.items():
        label = f"CNRYsample{name.replace('_', '')}Q"
        sample = Sample.objects.create(name=label, owner=owner, tlp=tlp, description=label)
        SampleImport.objects.create(sample=sample, original_name=label + "file")
        w.objects[("sample", name)] = sample
        w.audience[label] = audience
        if name == "strict_a_to_s":
            services.share_create(target=sample, organisation=s)
        if name == "red_alice":
            services.share_create(target=sample, user=alice)
    return w


@pytest.fixture
def world(db) -> World:
    return build_world()
