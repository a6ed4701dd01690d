"""The demo catalogue: the seed facts of shared/DOMAIN.md, with the sources that state them.

Only facts from the seed and well-known public reporting; whatever is the analyst's reading (dates of a
campaign, the mapping to DISARM) is flagged `is_estimate` or says so in its text.
"""

from datetime import date

from django.db import transaction

from . import vocabularies as vocab
from .models import (
    Alias,
    AttributionClaim,
    Campaign,
    Election,
    ElectionPhase,
    ElectionRound,
    InterferenceTool,
    Narrative,
    Operation,
    Platform,
    Source,
    Takedown,
    Technique,
    TechniqueUse,
    ThreatActor,
)

SOURCES = {
    "diplomat": dict(
        title="News analysis: China, Russia and interference in foreign elections",
        publisher="The Diplomat",
        author="Joseph Webster",
        reliability="B",
    ),
    "scmp": dict(
        title="Xi Jinping meets Russian Prime Minister Mikhail Mishustin in Beijing",
        publisher="South China Morning Post",
        author="Kawala Xie",
        reliability="B",
    ),
    "nyt_cars": dict(
        title="Chinese car makers' share of the Russian market",
        publisher="The New York Times",
        author="Keith Bradsher",
        reliability="B",
    ),
    "nyt_chips": dict(
        title="Investigation: China and Hong Kong supply most semiconductors imported by Russia",
        publisher="The New York Times",
        author="",
        reliability="B",
    ),
    "atlantic_council": dict(
        title="Chinese machinery and components sustaining Russia's defences in occupied Ukraine",
        publisher="Atlantic Council",
        author="Markus Garlauskas, Joseph Webster, Emma C. Verges",
        reliability="B",
    ),
    "meta_q2_2023": dict(
        title="Adversarial Threat Report, Second Quarter 2023",
        publisher="Meta",
        author="",
        url="https://about.fb.com/news/2023/08/q2-2023-adversarial-threat-report/",
        published_on=date(2023, 8, 29),
        reliability="A",
    ),
    "misp_galaxy": dict(
        title="MISP galaxy: Microsoft activity groups (influence actors)",
        publisher="MISP Project",
        author="",
        url="https://github.com/MISP/misp-galaxy",
        reliability="B",
    ),
}

ACTORS = [
    dict(
        name="People's Republic of China",
        actor_type="state",
        country="CN",
        description=(
            "Xi Jinping called ties with Russia a 'strategic choice' when meeting Prime Minister Mishustin in "
            "Beijing (SCMP). Bilateral trade grew 26.7% to over US$218 billion in January-November (China's "
            "customs data), over 90% settled in rubles or yuan. China and Hong Kong supplied 85% of the "
            "semiconductors Russia imported from March 2022 to September 2023, up from 27% before the war (NYT)."
        ),
    ),
    dict(
        name="Russian Federation",
        actor_type="state",
        country="RU",
        description=(
            "Shares with Beijing the goal of weakening the Western alliance (The Diplomat). Chinese car makers' "
            "share of the Russian market rose from 8% (2021) to 55% (GlobalData Automotive; NYT; Alexander "
            "Gabuev, Carnegie Russia Eurasia Center)."
        ),
    ),
    dict(name="Islamic Republic of Iran", actor_type="state", country="IR", description=""),
    dict(name="Republic of Cuba", actor_type="state", country="CU", description=""),
]

OPERATIONS = [
    dict(
        name="Spamouflage",
        actor="People's Republic of China",
        status="active",
        description="Cross-platform PRC-linked network; Meta removed thousands of its assets in August 2023.",
        aliases=[("Dragonbridge", "google"), ("Taizi Flood", "microsoft"), ("Storm-1376", "microsoft")],
    ),
    dict(
        name="Doppelganger",
        actor="Russian Federation",
        status="active",
        description="Russia-linked network that clones news sites and amplifies them with inauthentic accounts.",
        aliases=[("Ruza Flood", "microsoft")],
    ),
    dict(
        name="CopyCop",
        actor="Russian Federation",
        status="active",
        description="Russia-linked network of inauthentic news sites.",
        aliases=[("Storm-1516", "microsoft"), ("Neva Flood", "microsoft")],
    ),
]

ELECTIONS = [
    dict(
        name="Taiwan 2024 presidential election",
        country="TW",
        election_type="presidential",
        election_day=date(2024, 1, 13),
        description="General election of 13 January 2024, held with the Legislative Yuan election.",
    ),
    dict(
        name="Taiwan 2024 Legislative Yuan election",
        country="TW",
        election_type="legislative",
        election_day=date(2024, 1, 13),
        description="General election of 13 January 2024, held with the presidential election.",
    ),
    dict(
        name="United States 2022 midterm elections",
        country="US",
        election_type="midterm",
        election_day=date(2022, 11, 8),
        description="",
    ),
    dict(
        name="United States 2024 general election",
        country="US",
        election_type="presidential",
        election_day=date(2024, 11, 5),
        description="",
    ),
]

NARRATIVES = [
    dict(
        name="Weaken the Western alliance",
        summary="A goal Beijing and Moscow share (The Diplomat); the umbrella for the narratives below.",
        languages=["en", "zh", "ru"],
        five_ds=["divide", "dismay"],
    ),
    dict(
        name="A DPP government brings economic harm to Taiwan",
        parent="Weaken the Western alliance",
        summary="Analyst's summary: the message of economic sanctions paired with information campaigns.",
        languages=["zh-Hant"],
        five_ds=["dismay", "distort"],
    ),
]

CAMPAIGNS = [
    dict(
        name="PRC information campaigns around Taiwan's 2024 elections",
        actor="People's Republic of China",
        operation="Spamouflage",
        elections=["Taiwan 2024 presidential election", "Taiwan 2024 Legislative Yuan election"],
        objective="Help the KMT gain control of the legislature (expected by The Diplomat's analysis).",
        target_countries=["TW"],
        target_audiences="Taiwanese voters",
        first_seen=date(2023, 11, 1),
        last_seen=date(2024, 1, 13),
        status="concluded",
        tools=["information_manipulation"],
        platforms=["facebook", "x", "line", "ptt", "youtube", "tiktok"],
        languages=["zh-Hant"],
        narratives=["A DPP government brings economic harm to Taiwan"],
        sources=["diplomat"],
        techniques=[("T0002", "moderate"), ("T0003", "low")],
        is_estimate=True,
    ),
    dict(
        name="PRC economic sanctions against Taiwan before the 2024 elections",
        actor="People's Republic of China",
        elections=["Taiwan 2024 Legislative Yuan election"],
        objective="Help the KMT gain control of the legislature (The Diplomat).",
        target_countries=["TW"],
        first_seen=date(2023, 12, 1),
        last_seen=date(2024, 1, 13),
        status="concluded",
        tools=["economic_coercion"],
        sources=["diplomat"],
        is_estimate=True,
    ),
    *[
        dict(
            name=f"{actor_short} efforts to influence the US 2022 midterm elections",
            actor=actor,
            elections=["United States 2022 midterm elections"],
            objective="Influence the US midterm elections (US intelligence report, via The Diplomat).",
            target_countries=["US"],
            status="concluded",
            tools=["information_manipulation"],
            sources=["diplomat"],
            claim="US intelligence community",
        )
        for actor_short, actor in (
            ("PRC", "People's Republic of China"),
            ("Russian", "Russian Federation"),
            ("Iranian", "Islamic Republic of Iran"),
            ("Cuban", "Republic of Cuba"),
        )
    ],
    dict(
        name="Russian support for the Trump campaign in the US 2024 election",
        actor="Russian Federation",
        elections=["United States 2024 general election"],
        objective="Support Trump's campaign; may conflict with China's priority of stable oil markets (The Diplomat).",
        target_countries=["US"],
        status="concluded",
        tools=["information_manipulation"],
        sources=["diplomat"],
        is_estimate=True,
    ),
]


def _sources() -> dict[str, Source]:
    sources = {}
    for key, values in SOURCES.items():
        values = dict(values)
        sources[key], _ = Source.objects.get_or_create(
            title=values.pop("title"), publisher=values.pop("publisher"), defaults=values
        )
    return sources


@transaction.atomic
def demo_catalogue_load() -> bool:
    """Create the demo catalogue where it is missing. Returns False when it was already there: nothing changes."""
    if Campaign.objects.filter(name=CAMPAIGNS[0]["name"]).exists():
        return False
    sources = _sources()
    actors = {}
    for values in ACTORS:
        actors[values["name"]], _ = ThreatActor.objects.get_or_create(name=values["name"], defaults=values)
    operations = {}
    for values in OPERATIONS:
        values = dict(values)
        aliases = values.pop("aliases")
        values["actor"] = actors[values["actor"]]
        operation, _ = Operation.objects.get_or_create(name=values["name"], defaults=values)
        operation.sources.add(sources["misp_galaxy"])
        for alias, namespace in aliases:
            Alias.objects.get_or_create(
                name=alias, namespace=namespace, operation=operation, defaults={"source": sources["misp_galaxy"]}
            )
        operations[operation.name] = operation
    elections = {}
    for values in ELECTIONS:
        election, _ = Election.objects.get_or_create(name=values["name"], country=values["country"], defaults=values)
        ElectionRound.objects.get_or_create(
            election=election, number=1, defaults={"polling_day": election.election_day}
        )
        ElectionPhase.objects.get_or_create(
            election=election,
            phase=vocab.ElectionPhaseType.ELECTION_DAY,
            defaults={"starts_on": election.election_day, "ends_on": election.election_day},
        )
        elections[election.name] = election
    narratives = {}
    for values in NARRATIVES:
        values = dict(values)
        parent = values.pop("parent", None)
        values["parent"] = narratives.get(parent)
        narratives[values["name"]], _ = Narrative.objects.get_or_create(name=values["name"], defaults=values)

    for values in CAMPAIGNS:
        values = dict(values)
        m2m = {name: values.pop(name, []) for name in ("elections", "tools", "platforms", "narratives", "sources")}
        techniques = values.pop("techniques", [])
        claimant = values.pop("claim", None)
        values["actor"] = actors[values["actor"]]
        values["operation"] = operations.get(values.pop("operation", None))
        campaign, _ = Campaign.objects.get_or_create(name=values["name"], defaults=values)
        campaign.elections.set([elections[name] for name in m2m["elections"]])
        campaign.tools.set(InterferenceTool.objects.filter(code__in=m2m["tools"]))
        campaign.platforms.set(Platform.objects.filter(code__in=m2m["platforms"]))
        campaign.narratives.set([narratives[name] for name in m2m["narratives"]])
        campaign.sources.set([sources[key] for key in m2m["sources"]])
        for external_id, confidence in techniques:
            technique = Technique.objects.filter(framework=vocab.Framework.DISARM, external_id=external_id).first()
            if technique:
                TechniqueUse.objects.get_or_create(
                    campaign=campaign,
                    technique=technique,
                    defaults={"confidence": confidence, "evidence": "Analyst's mapping of the reported activity."},
                )
        if claimant:
            AttributionClaim.objects.get_or_create(
                campaign=campaign,
                claimant=claimant,
                defaults={
                    "claimant_category": vocab.ClaimantCategory.GOVERNMENT,
                    "claimant_country": "US",
                    "actor": campaign.actor,
                    "title": "China and Russia, as well as Iran and Cuba, intensified interference in foreign "
                    "elections, including efforts to influence the US midterm elections",
                    "attribution_type": vocab.AttributionType.DIRECT,
                    "credibility": vocab.InformationCredibility.PROBABLY_TRUE,
                    "source": sources["diplomat"],
                },
            )
    Takedown.objects.get_or_create(
        operation=operations["Spamouflage"],
        announced_on=date(2023, 8, 29),
        defaults={
            "platform": Platform.objects.get(code=vocab.Platform.FACEBOOK),
            "actor": actors["People's Republic of China"],
            "accounts_removed": 7704,
            "pages_removed": 954,
            "groups_removed": 15,
            "instagram_accounts_removed": 15,
            "origin_countries": ["CN"],
            "source": sources["meta_q2_2023"],
            "notes": "Figures as published in Meta's report.",
        },
    )
    return True
