"""A world of marked records with canary strings, and the personas of the leak test."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from campaigns import models as c
from detection import models as d
from detection.engine import ENGINE_VERSION
from partners import services
from partners.models import Membership, MembershipRole, Organisation
from reports.models import Report, ReportStatus, Scope

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
    results: dict = field(default_factory=dict)  # (kind, sample name) -> scoring result of that sample
    reports: dict = field(default_factory=dict)  # name -> report
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
        sample = d.Sample.objects.create(name=label, owner=owner, tlp=tlp, description=label)
        job = d.SampleImport.objects.create(sample=sample, original_name=label + "file")
        d.RejectedRow.objects.create(sample_import=job, line=2, field="created_at", reason="bad", raw=f"x,1,{label}")
        w.objects[("sample", name)] = sample
        w.audience[label] = audience
        if name == "strict_a_to_s":
            services.share_create(target=sample, organisation=s)
        if name == "red_alice":
            services.share_create(target=sample, user=alice)
        plant_scoring_results(w, name, sample, audience)
    plant_reports(w)
    return w


def plant_scoring_results(w: World, name: str, sample: d.Sample, audience: set[str]) -> None:
    """A finished run of the sample: one group of three accounts, their scores, two edges with evidence.
    The group's reasons, the accounts' handles and the posts' texts carry the sample's canaries."""
    key = name.replace("_", "")
    for kind in ("group", "account", "post"):
        w.audience[canary(kind, key)] = audience
    start = datetime(2024, 1, 10, 12, tzinfo=UTC)
    accounts = [
        d.SocialAccount.objects.create(
            sample=sample,
            platform="x",
            account_id=f"{key}-{i}",
            handle=f"{canary('account', key)}{i}",
            display_name="member",
        )
        for i in range(3)
    ]
    posts = []
    for i, account in enumerate(accounts):
        for j in range(2):
            post = d.Post.objects.create(
                sample=sample,
                platform="x",
                post_id=f"{key}-{i}-{j}",
                account=account,
                created_at=start + timedelta(seconds=10 * i + 600 * j),
                text=f"{canary('post', key)} shared text {j}",
            )
            d.SamplePost.objects.create(sample=sample, post=post)
            posts.append(post)
    run = d.ScoringRun.objects.create(
        sample=sample,
        params={"window_s": 60.0},
        engine_version=ENGINE_VERSION,
        status=d.RunStatus.DONE,
        n_shards=1,
        shards_done=1,
        summary={"groups": 1, "flagged": 3},
        started_at=start,
        finished_at=start + timedelta(minutes=1),
    )
    group = d.CoordinatedGroup.objects.create(
        run=run,
        number=1,
        score=0.9,
        size=3,
        behaviours=["co-reshare", "same-text"],
        first_activity=posts[0].created_at,
        last_activity=posts[-1].created_at,
        reasons=f"{canary('group', key)}: three accounts posted the same text within seconds",
        leader=accounts[0],
    )
    scores = [
        d.AccountScore.objects.create(
            run=run, account=account, group=group, score=0.9 - 0.1 * i, flagged=True, reasons="same text", lead=2 - i
        )
        for i, account in enumerate(accounts)
    ]
    for behaviour, (i, j) in (("same-text", (0, 1)), ("co-reshare", (1, 2))):
        edge = d.CoordinationEdge.objects.create(
            run=run,
            group=group,
            source=accounts[i],
            target=accounts[j],
            behaviour=behaviour,
            weight=2,
            weight_source_first=2,
            expected=0.01,
            p_value=0.0001,
            q_value=0.001,
            median_dt=10.0,
        )
        for k in range(2):
            source, target = posts[2 * i + k], posts[2 * j + k]
            d.EdgeEvidence.objects.create(edge=edge, post_source=source, post_target=target, dt=10.0)
    w.results.update({("run", name): run, ("group", name): group, ("account_score", name): scores[0]})


# Reports: (audience organisation slug or clearance, marking, status, who may read it).
REPORTS = {
    "clear": ("CLEAR", "CLEAR", ReportStatus.PUBLISHED, CATALOGUE_AUDIENCE["CLEAR"]),
    "green": ("GREEN", "GREEN", ReportStatus.PUBLISHED, CATALOGUE_AUDIENCE["GREEN"]),
    "amber": ("AMBER", "AMBER", ReportStatus.PUBLISHED, CATALOGUE_AUDIENCE["AMBER"]),
    "orga": ("a", "AMBER+STRICT", ReportStatus.PUBLISHED, ORG_A_PEOPLE | {"researcher"}),
    "orgb": ("b", "GREEN", ReportStatus.PUBLISHED, {"amber_b", "researcher"}),
    "draft": ("CLEAR", "CLEAR", ReportStatus.DRAFT, {"researcher"}),
}


def stix_bundle(label: str) -> dict:
    """A bundle of one note: the shape of a report's STIX file, carrying the report's canary."""
    note = {"type": "note", "spec_version": "2.1", "id": f"note--{uuid.uuid5(uuid.NAMESPACE_URL, label)}"}
    bundle_id = f"bundle--{uuid.uuid5(uuid.NAMESPACE_DNS, label)}"
    return {"type": "bundle", "id": bundle_id, "objects": [{**note, "content": label}]}


def plant_reports(w: World) -> None:
    """One global report per audience and marking, rendered to small files that carry its canary (the PDF
    uncompressed, so that a leak shows); the report for organisation B was never rendered to STIX."""
    for name, (audience, tlp, status, readers) in REPORTS.items():
        label = canary("report", name)
        w.audience[label] = readers
        organisation = w.orgs.get(audience)
        report = Report.objects.create(
            scope=Scope.GLOBAL,
            scope_key="global",
            period_start=date(2024, 2 if name == "draft" else 1, 1),
            period_end=date(2024, 2 if name == "draft" else 1, 28),
            audience_organisation=organisation,
            audience_clearance="" if organisation else audience,
            audience_key=f"org:{organisation.slug}" if organisation else f"clearance:{audience}",
            status=status,
            tlp=tlp,
            title=label,
            summary=f"{label} in a sentence.",
            content={"summary": [label]},
            built_at=timezone.now(),
            published_at=timezone.now() if status == ReportStatus.PUBLISHED else None,
        )
        files = {
            "html_file": (f"report-{report.pk}.html", f"<!doctype html><title>{label}</title><h1>{label}</h1>"),
            "pdf_file": (f"report-{report.pk}.pdf", f"%PDF-1.7\n% {label}\n%%EOF\n"),
            "json_file": (f"report-{report.pk}.json", json.dumps({"title": label})),
            "stix_file": (f"report-{report.pk}.stix.json", json.dumps(stix_bundle(label))),
        }
        if name == "orgb":
            del files["stix_file"]
        for field_name, (filename, text) in files.items():
            getattr(report, field_name).save(filename, ContentFile(text.encode()), save=False)
        report.save()
        w.reports[name] = report


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Report files written by the world and by the tests go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def world(db) -> World:
    return build_world()
