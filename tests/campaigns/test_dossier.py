"""The catalogue's change pages: codes and the FIAT scorecard as fields, and campaign and election dossiers."""

from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from campaigns import frameworks
from campaigns import services as campaign_services
from campaigns import vocabularies as vocab
from campaigns.demo import FLAGSHIP, SCORECARD_ODNI, demo_catalogue_load
from campaigns.models import AttributionClaim, Campaign, Election, Narrative, Takedown, ThreatActor
from detection.models import CoordinatedGroup, Post, RunShard, Sample, ScoringRun, SocialAccount

pytestmark = pytest.mark.django_db


class FormFields(HTMLParser):
    """The fields of one form (by id) as a browser would submit them, and each field's widget."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.data: dict[str, list[str]] = {}
        self.widgets: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self.select: tuple[str, bool] | None = None
        self.textarea: str | None = None
        self.first_option: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            self.widgets.setdefault(name, kind)
            if kind in ("checkbox", "radio"):
                self.options.setdefault(name, []).append(attrs.get("value", "on"))
                if "checked" in attrs:
                    self.data.setdefault(name, []).append(attrs.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                self.data.setdefault(name, []).append(attrs.get("value", ""))
        elif tag == "select" and name:
            self.select = (name, "multiple" in attrs)
            self.widgets[name] = "select multiple" if "multiple" in attrs else "select"
            self.options.setdefault(name, [])
            if "multiple" in attrs:
                self.data.setdefault(name, [])
        elif tag == "option" and self.select:
            name, multiple = self.select
            value = attrs.get("value", "")
            self.options[name].append(value)
            self.first_option.setdefault(name, value)
            if "selected" in attrs:
                self.data.setdefault(name, [])
                if not multiple:
                    self.data[name] = []
                self.data[name].append(value)
        elif tag == "textarea" and name:
            self.textarea = name
            self.widgets[name] = "textarea"
            self.data[name] = [""]

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            name, multiple = self.select
            if not multiple and name not in self.data:
                self.data[name] = [self.first_option.get(name, "")]
            self.select = None
        elif tag == "textarea":
            if self.textarea:
                self.data[self.textarea][0] = self.data[self.textarea][0].removeprefix("\n")
            self.textarea = None


def form_fields(client, url: str, form_id: str) -> FormFields:
    response = client.get(url)
    assert response.status_code == 200
    parser = FormFields(form_id)
    parser.feed(response.content.decode())
    assert parser.widgets, f"no form {form_id} on {url}"
    return parser


def assert_no_json_literal(fields: FormFields) -> None:
    for name, values in fields.data.items():
        for value in values:
            assert not value.lstrip().startswith(("[", "{")), f"{name} shows JSON: {value[:60]!r}"
            assert '{"' not in value, f"{name} shows JSON: {value[:60]!r}"


@pytest.fixture
def researcher(client):
    user = get_user_model().objects.create_superuser("researcher", "r@example.org", "not-used-here-123")
    client.force_login(user)
    return client


@pytest.fixture
def catalogue():
    campaign_services.technique_framework_load(release=frameworks.disarm_from_misp_galaxy())
    demo_catalogue_load()


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_campaign_codes_are_choices_and_a_resave_keeps_them(researcher, catalogue):
    campaign = Campaign.objects.get(name="Spamouflage network removed by Meta in August 2023")
    assert campaign.target_countries == ["TW", "US", "AU", "GB", "JP"]
    url = change_url(campaign)
    fields = form_fields(researcher, url, "campaign_form")

    assert fields.widgets["target_countries"] == "select multiple"
    assert fields.widgets["languages"] == "select multiple"
    assert {"TW", "CN", "US", "FR"} <= set(fields.options["target_countries"])
    assert len(fields.options["target_countries"]) == 249
    assert {"zh-Hant", "zh-Hans", "en", "nan"} <= set(fields.options["languages"])
    assert sorted(fields.data["target_countries"]) == ["AU", "GB", "JP", "TW", "US"]
    assert sorted(fields.data["languages"]) == ["en", "zh"]
    assert_no_json_literal(fields)

    response = researcher.post(url, fields.data)
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign.refresh_from_db()
    assert campaign.target_countries == ["TW", "US", "AU", "GB", "JP"]  # same list, same order
    assert campaign.languages == ["zh", "en"]

    fields.data["target_countries"] = ["JP", "TW", "KR"]
    fields.data["languages"] = ["zh-Hant", "en"]
    assert researcher.post(url, fields.data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.target_countries == ["TW", "JP", "KR"]
    assert campaign.languages == ["en", "zh-Hant"]


def test_campaign_form_refuses_codes_outside_the_lists(researcher, catalogue):
    campaign = Campaign.objects.get(name=FLAGSHIP)
    url = change_url(campaign)
    fields = form_fields(researcher, url, "campaign_form")
    for name, bad in (("target_countries", "XX"), ("target_countries", "tw"), ("languages", "klingon!")):
        data = {**fields.data, name: [*fields.data[name], bad]}
        response = researcher.post(url, data)
        assert response.status_code == 200, (name, bad)
        assert "Select a valid choice" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.target_countries == ["TW"]


def test_a_language_tag_outside_the_offered_list_stays_choosable(researcher, catalogue):
    campaign = Campaign.objects.get(name=FLAGSHIP)
    Campaign.objects.filter(pk=campaign.pk).update(languages=["zh-Hant", "zh-Hant-TW"])
    url = change_url(campaign)
    fields = form_fields(researcher, url, "campaign_form")
    assert sorted(fields.data["languages"]) == ["zh-Hant", "zh-Hant-TW"]
    assert researcher.post(url, fields.data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.languages == ["zh-Hant", "zh-Hant-TW"]


def test_takedown_narrative_actor_and_election_codes_are_choices(researcher, catalogue):
    takedown = Takedown.objects.exclude(origin_countries=[]).first()
    fields = form_fields(researcher, change_url(takedown), "takedown_form")
    assert fields.widgets["origin_countries"] == fields.widgets["target_countries"] == "select multiple"
    assert {"platform", "announced_on", "accounts_removed", "notes"} <= set(fields.widgets)
    assert fields.data["origin_countries"] == takedown.origin_countries
    assert_no_json_literal(fields)
    stored = (list(takedown.origin_countries), list(takedown.target_countries))
    assert researcher.post(change_url(takedown), fields.data).status_code == 302
    takedown.refresh_from_db()
    assert (takedown.origin_countries, takedown.target_countries) == stored

    narrative = Narrative.objects.exclude(languages=[]).first()
    Narrative.objects.filter(pk=narrative.pk).update(five_ds=["dismiss", "distort"])
    fields = form_fields(researcher, change_url(narrative), "narrative_form")
    assert fields.widgets["five_ds"] == "checkbox"
    assert set(fields.options["five_ds"]) == set(vocab.FiveD.values)
    assert fields.data["five_ds"] == ["dismiss", "distort"]
    assert_no_json_literal(fields)
    data = {**fields.data, "five_ds": ["dismiss", "dizzy"]}
    assert researcher.post(change_url(narrative), data).status_code == 200

    actor = ThreatActor.objects.get(name="People's Republic of China")
    fields = form_fields(researcher, change_url(actor), "threatactor_form")
    assert {"name", "actor_type", "description"} <= set(fields.widgets)  # the other fields are still there
    assert fields.widgets["country"] == "select"
    assert fields.data["country"] == ["CN"]
    assert researcher.post(change_url(actor), {**fields.data, "country": "ZZ"}).status_code == 200
    assert researcher.post(change_url(actor), fields.data).status_code == 302

    election = Election.objects.get(name="Taiwan 2024 presidential election")
    fields = form_fields(researcher, change_url(election), "election_form")
    assert fields.widgets["country"] == "select"
    assert fields.data["country"] == ["TW"]
    assert_no_json_literal(fields)


def test_the_fiat_scorecard_is_a_form_of_its_18_items_and_round_trips(researcher, catalogue):
    claim = AttributionClaim.objects.filter(scorecard=SCORECARD_ODNI).first()
    assert claim.score_total == 5
    url = change_url(claim)
    fields = form_fields(researcher, url, "attributionclaim_form")
    items = {f"fiat_{item.removeprefix('attribution_')}": item for item in vocab.FIAT_SCORECARD_ITEMS}
    assert len(items) == 18
    for name in items:
        assert fields.widgets[name] == "radio"
        assert fields.options[name] == ["", "yes", "no"]
    assert {name for name, values in fields.data.items() if values == ["yes"] and name in items} == {
        f"fiat_{item.removeprefix('attribution_')}" for item in SCORECARD_ODNI
    }
    assert "scorecard" not in fields.widgets
    assert_no_json_literal(fields)
    body = researcher.get(url).content.decode()
    for label in vocab.FIAT_SCORECARD_LABELS.values():
        assert label.replace("'", "&#x27;") in body
    for part in vocab.FIAT_SCORECARD:
        assert f"FIAT scorecard: {part}" in body

    assert researcher.post(url, fields.data).status_code == 302
    claim.refresh_from_db()
    assert claim.scorecard == SCORECARD_ODNI

    data = {**fields.data, "fiat_open_access": ["no"], "fiat_methodology": ["yes"], "fiat_privileged_evidence": [""]}
    assert researcher.post(url, data).status_code == 302
    claim.refresh_from_db()
    expected = {**SCORECARD_ODNI, "attribution_open_access": False, "attribution_methodology": True}
    del expected["attribution_privileged_evidence"]
    assert claim.scorecard == expected
    assert claim.score_total == 4

    assert researcher.post(url, {**data, "fiat_methodology": ["maybe"]}).status_code == 200
    claim.refresh_from_db()
    assert claim.scorecard == expected


def confirmed_group(campaign: Campaign, number: int = 1) -> CoordinatedGroup:
    sample = Sample.objects.create(name=f"Sample for {campaign.name[:40]}")
    run = ScoringRun.objects.create(sample=sample, engine_version="1.1.0", status="done")
    return CoordinatedGroup.objects.create(
        run=run, number=number, score=0.93, size=12, status="confirmed", campaign=campaign
    )


class Sections(HTMLParser):
    """The text of each dossier section (`<section id="dossier-...">`) and the tactic of each matrix column."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self.tactics: dict[str, str] = {}
        self.stack: list[tuple[str, str | None, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        section = attrs.get("id") if tag == "section" and (attrs.get("id") or "").startswith("dossier-") else None
        self.stack.append((tag, section, attrs.get("data-tactic")))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, section, _ in self.stack:
            if section:
                self.text[section] = self.text.get(section, "") + data
        tactic = next((t for _, _, t in reversed(self.stack) if t is not None), None)
        if tactic is not None:
            self.tactics[tactic] = self.tactics.get(tactic, "") + data


def dossier_sections(client, url: str) -> Sections:
    response = client.get(url)
    assert response.status_code == 200
    parser = Sections()
    parser.feed(response.content.decode())
    return parser


def test_the_campaign_page_opens_on_its_dossier(researcher, catalogue):
    campaign = Campaign.objects.get(name=FLAGSHIP)
    group = confirmed_group(campaign)
    confirmed_group(Campaign.objects.exclude(pk=campaign.pk).first(), number=2)  # another campaign's: not shown
    AttributionClaim.objects.create(
        campaign=campaign, claimant="<script>alert(1)</script>", claimant_category="media", claimed_on="2024-02-01"
    )
    response = researcher.get(change_url(campaign))
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    sections = dossier_sections(researcher, change_url(campaign))

    assert {
        "dossier-summary",
        "dossier-actor",
        "dossier-elections",
        "dossier-timeline",
        "dossier-techniques",
        "dossier-assets",
        "dossier-groups",
        "dossier-sources",
    } <= set(sections.text)
    assert "Taiwan" in sections.text["dossier-summary"]  # target country by name
    assert "Chinese (Traditional)" in sections.text["dossier-summary"]
    actor_text = sections.text["dossier-actor"]
    assert campaign.actor.name in actor_text and "Spamouflage" in actor_text
    assert "Storm-1376" in actor_text and "DRAGONBRIDGE" in actor_text
    for election in campaign.elections.all():
        assert election.name in sections.text["dossier-elections"]
    timeline = sections.text["dossier-timeline"]
    assert timeline.index("2023-12-01") < timeline.index("2024-01-13") < timeline.index("2024-04-05")
    assert "Microsoft Threat Analysis Center" in timeline and "youtube" in timeline.casefold()
    for use in campaign.technique_uses.select_related("technique"):
        assert use.technique.external_id in sections.tactics[use.technique.tactic_id]
    assert len(sections.tactics) == len({u.technique.tactic_id for u in campaign.technique_uses.all()})
    assert str(group) in sections.text["dossier-groups"]
    assert "Group 2" not in sections.text["dossier-groups"]
    for source in campaign.sources.all():
        assert source.title in sections.text["dossier-sources"]
        assert source.get_reliability_display() in sections.text["dossier-sources"]
    for source_id in campaign.claims.exclude(source=None).values_list("source__title", flat=True):
        assert source_id in sections.text["dossier-sources"]


def test_the_election_page_opens_on_its_dossier(researcher, catalogue):
    election = Election.objects.get(name="Taiwan 2024 presidential election")
    campaigns = list(election.campaigns.all())
    assert len(campaigns) >= 2
    group = confirmed_group(campaigns[0])
    sections = dossier_sections(researcher, change_url(election))
    for campaign in campaigns:
        assert campaign.name in sections.text["dossier-campaigns"]
    timeline = sections.text["dossier-timeline"]
    assert "Polling day" in timeline and "2024-01-13" in timeline
    assert "Microsoft Threat Analysis Center" in timeline
    uses = [u for c in campaigns for u in c.technique_uses.select_related("technique")]
    assert uses
    for use in uses:
        assert use.technique.external_id in sections.tactics[use.technique.tactic_id]
    assert str(group) in sections.text["dossier-groups"]
    assert "Google Threat Analysis Group" in timeline


def test_a_run_shows_its_ledger_as_tables_with_units(researcher):
    sample = Sample.objects.create(name="Ledger sample", platforms=["x", "line"])
    run = ScoringRun.objects.create(
        sample=sample,
        engine_version="1.1.0",
        status="done",
        params={"window_s": 30.0, "behaviours": ["co-reshare", "co-link"]},
        summary={
            "posts": 60000,
            "accounts": 4211,
            "groups": 7,
            "flagged_accounts": 96,
            "selection": "significance",
            "behaviours": {"co-link": {"coaction_pairs": 18234, "candidate_edges": 410, "edges": 88, "accounts": 61}},
        },
        timings={"prepare": 0.0423, "shards": 12.345678901234567, "reduce": 1.25},
        n_shards=1,
        shards_done=1,
    )
    RunShard.objects.create(run=run, shard=0, status="done", seconds=3.123456789012345678)
    body = researcher.get(change_url(run)).content.decode()
    assert "Co-action window" in body and "30 s" in body and "changed (default 60 s)" in body
    assert "co-reshare, co-link" in body
    assert "Louvain resolution" in body and "default" in body
    assert "60,000" in body and "Flagged accounts" in body
    assert "18,234" in body and "Edges kept" in body
    assert "42 ms" in body and "12.3 s" in body and "1.2 s" in body
    assert "3.1 s" in body and "3.123456" not in body and "12.34567" not in body
    assert "window_s" not in body and "&quot;prepare&quot;" not in body and '"prepare"' not in body
    sample_body = researcher.get(change_url(sample)).content.decode()
    assert "X/Twitter, LINE" in sample_body and "[&quot;x&quot;" not in sample_body


def test_resaving_a_campaign_with_its_claims_inline_keeps_their_scorecards(researcher, catalogue):
    claim = AttributionClaim.objects.filter(scorecard=SCORECARD_ODNI).select_related("campaign").first()
    campaign = claim.campaign
    stored = {c.pk: (c.scorecard, c.claimant_country) for c in campaign.claims.all()}
    fields = form_fields(researcher, change_url(campaign), "campaign_form")
    assert fields.widgets["claims-0-claimant_country"] == "select"
    assert not any(name.startswith("claims-0-fiat") for name in fields.widgets)
    assert_no_json_literal(fields)
    response = researcher.post(change_url(campaign), fields.data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert {c.pk: (c.scorecard, c.claimant_country) for c in campaign.claims.all()} == stored


def test_a_post_shows_its_links_and_tags_as_text(researcher):
    sample = Sample.objects.create(name="Posts sample")
    account = SocialAccount.objects.create(sample=sample, platform="x", account_id="a1", handle="amplifier")
    post = Post.objects.create(
        sample=sample,
        platform="x",
        post_id="p1",
        account=account,
        created_at="2024-01-12T10:00:00Z",
        text="vote",
        urls=["javascript:alert(1)", "https://example.org/a?b=<i>"],
        domains=["example.org"],
        hashtags=["台灣", "vote"],
        mentions=["someone"],
    )
    body = researcher.get(change_url(post)).content.decode()
    assert "#台灣 #vote" in body and "@someone" in body
    assert "https://example.org/a?b=&lt;i&gt;" in body
    assert 'href="javascript:alert(1)"' not in body and "<i>" not in body
    assert "[&quot;" not in body and '["' not in body
