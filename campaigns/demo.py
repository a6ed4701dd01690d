"""The demo catalogue: PRC, Russian, Iranian and Cuban interference around Taiwan's 2024 and the US 2022 and 2024
elections, every record resting on a public source with its address.

Each fact was checked against the page cited (some are reporting on the primary report they name); a figure
that could not be checked is left out. Dates the sources do not give are the analyst's reading and flagged
`is_estimate`. Loading creates what is missing and fills blank fields, never overwriting a value already set,
so a second run changes nothing and an older demo database is completed rather than replaced.
"""

from datetime import date

from django.db import models, transaction

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

FLAGSHIP = "PRC information campaigns around Taiwan's 2024 elections"

SOURCES = {
    "odni_2022": dict(
        title="Foreign Threats to the 2022 US Elections (Intelligence Community Assessment ICA 2022-27259-A, "
        "dated 23 December 2022, declassified 11 December 2023)",
        publisher="Office of the Director of National Intelligence, National Intelligence Council",
        url="https://www.dni.gov/files/ODNI/documents/assessments/"
        "NIC-Declassified-ICA-Foreign-Threats-to-the-2022-US-Elections-Dec2023.pdf",
        archived_url="https://en.wikisource.org/wiki/Foreign_Threats_to_the_2022_U.S._Elections",
        published_on=date(2023, 12, 18),
        reliability="A",
    ),
    "cuba_2022": dict(
        title="US intelligence finds Cuba tried to influence 2022 midterm races in Florida (on the ODNI assessment)",
        publisher="Miami Herald, via Yahoo News",
        url="https://ca.news.yahoo.com/u-intelligence-finds-cuba-interfered-002010100.html",
        published_on=date(2023, 12, 19),
        reliability="B",
    ),
    "taiwan_results": dict(
        title="ELECTION 2024/DPP wins presidency but loses majority in Legislature",
        publisher="Focus Taiwan (Central News Agency)",
        url="https://focustaiwan.tw/politics/202401140002",
        published_on=date(2024, 1, 14),
        reliability="B",
    ),
    "taiwan_legislature": dict(
        title="EU-Taiwan ties after Taiwan's 2024 elections: seat distribution changes in the Legislative Yuan",
        publisher="European Parliamentary Research Service",
        url="https://epthinktank.eu/2024/03/13/eu-taiwan-ties-after-taiwans-2024-elections/"
        "seat-distribution-changes-in-the-legislative-yuan",
        published_on=date(2024, 3, 13),
        reliability="B",
    ),
    "ecfa": dict(
        title="China's suspension of select ECFA tariff reductions 'regrettable': MOEA",
        publisher="Focus Taiwan (Central News Agency)",
        url="https://focustaiwan.tw/cross-strait/202312210011",
        published_on=date(2023, 12, 21),
        reliability="B",
    ),
    "us_2022_results": dict(
        title="Midterm Election Update",
        publisher="McGraw Hill Election Central",
        url="https://mheelectioncentral.mheducation.com/2022/11/17/midterm-election-update/",
        published_on=date(2022, 11, 17),
        reliability="C",
    ),
    "us_2024_results": dict(
        title="Trump wins 2024 U.S. Presidential Election, securing 312 electoral votes and all swing states",
        publisher="Wikinews",
        url="https://en.wikinews.org/wiki/"
        "Trump_wins_2024_U.S._Presidential_Election,_securing_312_electoral_votes_and_all_swing_states",
        published_on=date(2024, 11, 12),
        reliability="C",
    ),
    "mtac_east_asia": dict(
        title="China Is Using AI to Sow Disinformation and Stoke Discord Across Asia and the U.S., Microsoft Reports "
        "(on MTAC's East Asia report of April 2024)",
        publisher="TIME",
        url="https://time.com/6963787/china-influence-operations-artificial-intelligence-cyber-threats-microsoft/",
        published_on=date(2024, 4, 5),
        reliability="B",
    ),
    "mtac_taipei_times": dict(
        title="Microsoft: China made a dry run of AI-generated election content in Taiwan (on MTAC's East Asia report)",
        publisher="Taipei Times",
        url="https://taipeitimes.com/News/front/archives/2024/04/07/2003816057",
        published_on=date(2024, 4, 7),
        reliability="B",
    ),
    "mtac_taizi_flood": dict(
        title="Microsoft's fifth election report: Taizi Flood (a.k.a. Spamouflage) targets down-ballot candidates",
        publisher="China Digital Times",
        url="https://chinadigitaltimes.net/?p=702173",
        reliability="B",
    ),
    "tag_dragonbridge_2024": dict(
        title="Google Thwarts Over 10,000 Attempts by Chinese Influence Operator (on Google TAG's DRAGONBRIDGE "
        "update of June 2024)",
        publisher="Infosecurity Magazine",
        url="https://www.infosecurity-magazine.com/news/google-thwarts-chinese-influence/",
        reliability="B",
    ),
    "tag_dragonbridge_date": dict(
        title="Google intensifies efforts against wide-reaching China-linked influence operation",
        publisher="SiliconANGLE",
        url="https://siliconangle.com/2024/06/26/google-tag-intensifies-efforts-wide-reaching-china-linked-influence-operation",
        published_on=date(2024, 6, 26),
        reliability="B",
    ),
    "tag_dragonbridge_2023": dict(
        title="Google shut down thousands of pro-Beijing disinformation channels on Taiwan, COVID-19",
        publisher="The Record",
        url="https://therecord.media/google-shut-down-thousands-of-pro-chinese-govt-disinformation-channels-on-taiwan-covid-19",
        reliability="B",
    ),
    "meta_q2_2023": dict(
        title="Meta crackdown: 7,000 fake accounts tied to Chinese propaganda shut down (on Meta's Q2 2023 "
        "Adversarial Threat Report)",
        publisher="National Herald",
        url="https://www.nationalheraldindia.com/science-and-tech/meta-crackdown-7000-fake-accounts-tied-to-chinese-propaganda-shut-down",
        published_on=date(2023, 8, 30),
        reliability="C",
    ),
    "meta_q2_2023_attribution": dict(
        title="Meta says it disrupted two massive covert influence operations",
        publisher="TAG24",
        url="https://www.tag24.com/internet/facebook/meta-says-it-disrupted-two-massive-covert-influence-operations-2938703",
        published_on=date(2023, 8, 30),
        reliability="C",
    ),
    "meta_q2_2023_reach": dict(
        title="Meta takes action against Chinese propaganda, shutters nearly 9,000 accounts",
        publisher="NewsBytes",
        url="https://newsbytesapp.com/news/science/meta-shuts-down-around-9-000-accounts-spreading-chinese-propaganda/story",
        reliability="C",
    ),
    "doj_doppelganger": dict(
        title="US Justice Department disrupts Russian AI-powered disinformation operation 'Doppelganger' "
        "(on the DoJ announcement of 4 September 2024)",
        publisher="Information Security Buzz",
        url="https://informationsecuritybuzz.com/doj-russian-ai-powered-disinformation/",
        published_on=date(2024, 9, 5),
        reliability="B",
    ),
    "ofac_doppelganger": dict(
        title="U.S. sanctions Russia-based individuals and entities tied to malign influence campaigns",
        publisher="Willkie Farr & Gallagher, Compliance Concourse",
        url="https://complianceconcourse.willkie.com/articles/"
        "u-s-sanctions-russia-based-individuals-and-entities-tied-to-malign-influence-campaigns/",
        published_on=date(2024, 3, 26),
        reliability="B",
    ),
    "uk_doppelganger": dict(
        title="UK sanctions Russian disinformation network targeting Ukraine support",
        publisher="WorldECR",
        url="https://worldecr.com/?p=2035220",
        published_on=date(2024, 10, 31),
        reliability="B",
    ),
    "disinfolab_doppelganger": dict(
        title="What is the Doppelganger operation? List of resources",
        publisher="EU DisinfoLab",
        url="https://www.disinfo.eu/doppelganger-operation",
        published_on=date(2024, 8, 13),
        reliability="B",
    ),
    "copycop_2024": dict(
        title="Russia spreads AI-generated disinformation by imitating Western news outlets (on Recorded Future's "
        "CopyCop report of 9 May 2024)",
        publisher="Alliance for Securing Democracy (GMF)",
        url="https://securingdemocracy.gmfus.org/incident/russia-spreads-ai-generated-disinformation-by-imitating-western-news-outlets",
        reliability="B",
    ),
    "copycop_2025": dict(
        title="Russian fake-news network, led by an ex-Florida sheriff's deputy, storms back into action with 200+ "
        "new sites",
        publisher="The Register",
        url="https://www.theregister.com/2025/09/18/russian_fakenews_network/",
        published_on=date(2025, 9, 18),
        reliability="B",
    ),
}

# name -> (type, country, parent, description, source key)
ACTORS = {
    "People's Republic of China": ("state", "CN", None, "", "odni_2022"),
    "Ministry of Public Security (PRC)": (
        "agency",
        "CN",
        "People's Republic of China",
        "Microsoft calls Taizi Flood (Spamouflage) 'Ministry of Public Security-linked'; Meta found links between "
        "Spamouflage and 'individuals associated with Chinese law enforcement' (August 2023).",
        "mtac_taizi_flood",
    ),
    "Russian Federation": ("state", "RU", None, "", "odni_2022"),
    "Russian Presidential Administration": (
        "agency",
        "RU",
        "Russian Federation",
        "Directed Doppelganger through First Deputy Chief of Staff Sergei Kiriyenko, according to the US "
        "Department of Justice (September 2024).",
        "doj_doppelganger",
    ),
    "Social Design Agency": (
        "commercial",
        "RU",
        "Russian Presidential Administration",
        "Moscow firm founded by Ilya Gambashidze; sanctioned by the US Treasury (20 March 2024) and the UK "
        "(28 October 2024) for the Doppelganger operation.",
        "ofac_doppelganger",
    ),
    "Structura National Technologies": (
        "commercial",
        "RU",
        "Russian Presidential Administration",
        "Partner company of the Social Design Agency (OFAC: Company Group Structura LLC, chief executive Nikolai "
        "Tupikin); named by the US Department of Justice and sanctioned by the US and the UK.",
        "ofac_doppelganger",
    ),
    "ANO Dialog": (
        "proxy",
        "RU",
        "Russian Presidential Administration",
        "Autonomous non-profit organisation named with SDA and Structura by the US Department of Justice and "
        "sanctioned by the UK in October 2024.",
        "uk_doppelganger",
    ),
    "GRU (Main Directorate of the General Staff)": (
        "agency",
        "RU",
        "Russian Federation",
        "Recorded Future's Insikt Group says the GRU almost certainly funds the servers CopyCop uses to rewrite "
        "articles with language models.",
        "copycop_2025",
    ),
    "Center for Geopolitical Expertise": (
        "proxy",
        "RU",
        "Russian Federation",
        "Moscow-based centre that supports CopyCop, run by John Mark Dougan, according to Recorded Future.",
        "copycop_2025",
    ),
    "Islamic Republic of Iran": ("state", "IR", None, "", "odni_2022"),
    "Iranian intelligence services": (
        "agency",
        "IR",
        "Islamic Republic of Iran",
        "The US intelligence community assesses that Tehran relied primarily on its intelligence services and "
        "Iran-based online influencers for its covert operations during the 2022 US midterms.",
        "odni_2022",
    ),
    "Republic of Cuba": ("state", "CU", None, "", "odni_2022"),
}

OPERATIONS = {
    "Spamouflage": dict(
        actor="Ministry of Public Security (PRC)",
        status="active",
        description="Pro-PRC cross-platform network that Meta and Google have taken down since 2019; Meta called it "
        "the largest known cross-platform covert influence operation (August 2023). Content mostly in Chinese, "
        "some in English; almost no authentic engagement.",
        sources=["meta_q2_2023", "tag_dragonbridge_2023", "mtac_taizi_flood"],
        aliases=[
            ("DRAGONBRIDGE", "google", "tag_dragonbridge_2023"),
            ("DRAGONBRIDGE", "mandiant", "tag_dragonbridge_2023"),
            ("Spamouflage Dragon", "other", "tag_dragonbridge_2023"),
            ("Storm-1376", "microsoft", "mtac_taipei_times"),
            ("Taizi Flood", "microsoft", "mtac_taizi_flood"),
        ],
    ),
    "Doppelganger": dict(
        actor="Social Design Agency",
        status="active",
        description="Russian operation active since at least February 2022 that clones the websites of news media "
        "and institutions and amplifies them with fake accounts and ads; named by EU DisinfoLab. Run by the Social "
        "Design Agency, Structura and ANO Dialog for the Russian Presidential Administration (US DoJ).",
        sources=["disinfolab_doppelganger", "doj_doppelganger", "ofac_doppelganger"],
        aliases=[("RRN (Recent Reliable News)", "eu_disinfolab", "disinfolab_doppelganger")],
    ),
    "CopyCop": dict(
        actor="GRU (Main Directorate of the General Staff)",
        status="active",
        description="Network of inauthentic news sites that rewrites mainstream articles with language models "
        "(Recorded Future, May 2024); 200 new sites in 2025, attributed to John Mark Dougan with the Center for "
        "Geopolitical Expertise and GRU funding.",
        sources=["copycop_2024", "copycop_2025"],
        aliases=[("Storm-1516", "microsoft", "copycop_2025")],
    ),
}

ELECTIONS = {
    "Taiwan 2024 presidential election": dict(
        country="TW",
        election_type="presidential",
        election_day=date(2024, 1, 13),
        source="taiwan_results",
        description="Lai Ching-te and Hsiao Bi-khim (DPP) won with 5,586,019 votes (40.05%), ahead of Hou Yu-ih "
        "(KMT, 33.49%) and Ko Wen-je (TPP, 26.46%): the first time a party won three consecutive terms since "
        "direct elections began in 1996. Held with the Legislative Yuan election.",
        phases=[("silence", date(2024, 1, 3), date(2024, 1, 12)), ("election_day", date(2024, 1, 13), None)],
        rounds=[date(2024, 1, 13)],
    ),
    "Taiwan 2024 Legislative Yuan election": dict(
        country="TW",
        election_type="legislative",
        election_day=date(2024, 1, 13),
        source="taiwan_legislature",
        description="113 seats: KMT 52 (up from 38), DPP 51 (down from 61), TPP 8, independents 2; no party "
        "holds a majority. The new legislature's term began on 1 February 2024. Held with the presidential "
        "election.",
        phases=[
            ("silence", date(2024, 1, 3), date(2024, 1, 12)),
            ("election_day", date(2024, 1, 13), None),
            ("post_election", date(2024, 1, 14), date(2024, 2, 1)),
        ],
        rounds=[date(2024, 1, 13)],
    ),
    "United States 2022 midterm elections": dict(
        country="US",
        election_type="midterm",
        election_day=date(2022, 11, 8),
        source="us_2022_results",
        description="Republicans won a majority in the House of Representatives (218 seats needed); Democrats "
        "kept the Senate. Georgia's Senate race went to a runoff on 6 December 2022.",
        phases=[("election_day", date(2022, 11, 8), None)],
        rounds=[date(2022, 11, 8), date(2022, 12, 6)],
    ),
    "United States 2024 general election": dict(
        country="US",
        election_type="presidential",
        election_day=date(2024, 11, 5),
        source="us_2024_results",
        description="Donald Trump won 312 electoral votes to Kamala Harris's 226, carrying every swing state; "
        "Republicans kept control of the Senate. Inauguration on 20 January 2025.",
        phases=[("election_day", date(2024, 11, 5), None), ("post_election", date(2024, 11, 6), date(2025, 1, 20))],
        rounds=[date(2024, 11, 5)],
    ),
}

NARRATIVES = {
    "A DPP government brings economic harm to Taiwan": dict(
        summary="Beijing suspended ECFA tariff cuts on 12 Taiwanese petrochemical products from 1 January 2024, "
        "three weeks before the vote, and its Taiwan Affairs Office blamed the DPP government's trade restrictions "
        "(Focus Taiwan, 21 December 2023).",
        languages=["zh-Hant"],
        five_ds=["dismay", "distort"],
    ),
    "The 'secret history' of Tsai Ing-wen": dict(
        summary="A false 'secret history' document critical of the outgoing president, pushed in thousands of "
        "YouTube videos and comments with synthetic audio and avatars in the days before the vote, and on X, "
        "Reddit, Instagram and Facebook (Google TAG, via Infosecurity Magazine).",
        languages=["zh-Hant", "en"],
        five_ds=["distort", "divide"],
    ),
    "Fabricated endorsements by Taiwanese politicians": dict(
        summary="Fake, likely AI-generated audio of Terry Gou, who had left the race in November, endorsing another "
        "candidate, posted on YouTube and removed before it reached many users (Microsoft, via Taipei Times).",
        languages=["zh-Hant"],
        five_ds=["distort", "distract"],
    ),
    "Denigrate the Democratic Party and undermine confidence in the election": dict(
        summary="Russia's aim in the 2022 midterms, most likely to undermine US support for Ukraine (US "
        "intelligence community, Key Judgment 3).",
        languages=["en"],
        five_ds=["dismay", "divide"],
    ),
    "Exploit social divisions and undermine confidence in US democratic institutions": dict(
        summary="Iran's intent in the 2022 midterms (US intelligence community, Key Judgment 2).",
        languages=["en"],
        five_ds=["divide", "dismay"],
    ),
    "Supporting Ukraine only hurts your own country": dict(
        summary="Doppelganger claims that financial support for Ukraine and sanctions on Russia are failing "
        "strategies that only hurt civil society, to sow division among Ukraine's supporters (EU DisinfoLab).",
        languages=["ru", "en", "de", "fr"],
        five_ds=["dismay", "divide"],
    ),
}

SCORECARD_ODNI = {  # the items checkable from the public text: open, names the actor and its motive, relies on
    # intelligence it does not disclose, and states its scope (no assessment of impact)
    "attribution_open_access": True,
    "attribution_identified_responsibility": True,
    "attribution_strategic_rationale": True,
    "attribution_privileged_evidence": True,
    "attribution_acknowledge_limitations": True,
}
ODNI = "US Intelligence Community (ODNI, National Intelligence Council)"
GOV, TECH = vocab.ClaimantCategory.GOVERNMENT, vocab.ClaimantCategory.TECHNOLOGY_COMPANY


def _odni_campaign(short: str, actor: str, judgment: str, confidence: str, likelihood: str = "", **extra) -> dict:
    return dict(
        name=f"{short} efforts to influence the US 2022 midterm elections",
        actor=actor,
        elections=["United States 2022 midterm elections"],
        target_countries=["US"],
        status="concluded",
        tools=["information_manipulation"],
        sources=["odni_2022"],
        claims=[
            dict(
                claimant=ODNI,
                claimant_category=GOV,
                claimant_country="US",
                actor=actor,
                claimed_on=date(2023, 12, 18),
                title=judgment,
                attribution_type="direct",
                confidence=confidence,
                likelihood=likelihood,
                scorecard=SCORECARD_ODNI,
                source=extra.pop("claim_source", "odni_2022"),
            )
        ],
        **extra,
    )


CAMPAIGNS = [
    dict(
        name=FLAGSHIP,
        actor="People's Republic of China",
        operation="Spamouflage",
        elections=["Taiwan 2024 presidential election", "Taiwan 2024 Legislative Yuan election"],
        summary="Spamouflage (Storm-1376, DRAGONBRIDGE) was highly active around Taiwan's 13 January 2024 "
        "elections: fake, likely AI-generated audio of Terry Gou endorsing another candidate on YouTube; AI "
        "news anchors and memes; and, in the days before the vote, thousands of YouTube videos and comments with "
        "synthetic voices and avatars promoting a false 'secret history' of President Tsai Ing-wen, also pushed "
        "on X, Reddit, Instagram and Facebook. Microsoft called it the first time it saw a nation-state actor use "
        "AI content to influence a foreign election; engagement from real users was low.",
        objective="Influence the outcome of Taiwan's presidential and legislative elections of 13 January 2024.",
        target_countries=["TW"],
        target_audiences="Taiwanese voters; Chinese speakers",
        first_seen=date(2023, 12, 1),
        last_seen=date(2024, 1, 13),
        status="concluded",
        tools=["information_manipulation"],
        platforms=["youtube", "x", "reddit", "instagram", "facebook"],
        languages=["zh-Hant", "en"],
        narratives=[
            "The 'secret history' of Tsai Ing-wen",
            "Fabricated endorsements by Taiwanese politicians",
            "A DPP government brings economic harm to Taiwan",
        ],
        sources=["mtac_east_asia", "mtac_taipei_times", "tag_dragonbridge_2024"],
        is_estimate=True,  # first seen: the sources say only "ahead of" and "in the days leading up to" the vote
        techniques=[
            (
                "T0088.001",
                "high",
                "mtac_taipei_times",
                date(2024, 1, 13),
                "Fake audio of Terry Gou endorsing another candidate, posted on YouTube; Microsoft: "
                "'likely AI generated'.",
            ),
            (
                "T0087.001",
                "high",
                "tag_dragonbridge_2024",
                date(2024, 1, 13),
                "YouTube videos with synthetic audio and avatars, and AI-generated news hosts (Google TAG).",
            ),
            (
                "T0049",
                "moderate",
                "tag_dragonbridge_2024",
                date(2024, 1, 13),
                "Thousands of videos and comments on YouTube in the days before the election (Google TAG).",
            ),
        ],  # fmt: skip
        claims=[
            dict(
                claimant="Microsoft Threat Analysis Center",
                claimant_category=TECH,
                claimant_country="US",
                actor="People's Republic of China",
                claimed_on=date(2024, 4, 5),
                title="A CCP-linked group, Storm-1376 (Spamouflage), posted AI-generated content to influence "
                "Taiwan's January 2024 elections",
                attribution_type="proxy",
                source="mtac_east_asia",
            ),
            dict(
                claimant="Google Threat Analysis Group",
                claimant_category=TECH,
                claimant_country="US",
                actor="People's Republic of China",
                claimed_on=date(2024, 6, 26),
                title="DRAGONBRIDGE, a pro-PRC influence operator, ran its largest generative-AI campaign to date "
                "around Taiwan's general election",
                attribution_type="proxy",
                source="tag_dragonbridge_2024",
            ),
        ],
        takedowns=[
            dict(
                platform="youtube",
                announced_on=date(2024, 6, 26),
                operation="Spamouflage",
                actor="People's Republic of China",
                origin_countries=["CN"],
                target_countries=["TW"],
                source="tag_dragonbridge_date",
                notes="Google disrupted more than 10,000 instances of DRAGONBRIDGE activity across YouTube and "
                "Blogger in the first quarter of 2024, including the Taiwan election surge (no account figures "
                "published).",
            )
        ],
    ),
    dict(
        name="PRC economic coercion against Taiwan before the 2024 elections",
        actor="People's Republic of China",
        elections=["Taiwan 2024 presidential election", "Taiwan 2024 Legislative Yuan election"],
        summary="On 21 December 2023 China's Customs Tariff Commission suspended ECFA tariff cuts on 12 Taiwanese "
        "petrochemical products, including propylene and paraxylene, from 1 January 2024, after a trade probe "
        "extended to 12 January, the eve of the vote. Taiwan's deputy trade representative called it 'classic "
        "economic coercion'; the Taiwan Affairs Office blamed the DPP.",
        objective="Pressure Taiwanese voters before the 13 January 2024 elections (Taiwan's Ministry of Economic "
        "Affairs: Beijing 'politicizing trade' in the run-up to the elections).",
        target_countries=["TW"],
        first_seen=date(2023, 12, 21),
        status="active",
        tools=["economic_coercion"],
        narratives=["A DPP government brings economic harm to Taiwan"],
        sources=["ecfa"],
        claims=[
            dict(
                claimant="Office of Trade Negotiations, Executive Yuan (Taiwan)",
                claimant_category=GOV,
                claimant_country="TW",
                actor="People's Republic of China",
                claimed_on=date(2023, 12, 21),
                title="China's suspension of ECFA tariff cuts is 'classic economic coercion'",
                attribution_type="direct",
                source="ecfa",
            )
        ],
    ),
    _odni_campaign(
        "PRC",
        "People's Republic of China",
        "China tacitly approved efforts to try to influence a handful of midterm races involving members of both "
        "US political parties (Key Judgment 1)",
        "high",
    ),
    _odni_campaign(
        "Russian",
        "Russian Federation",
        "The Russian Government and its proxies sought to denigrate the Democratic Party before the midterm "
        "elections and undermine confidence in the election, most likely to undermine US support for Ukraine "
        "(Key Judgment 3)",
        "high",
        narratives=["Denigrate the Democratic Party and undermine confidence in the election"],
    ),
    _odni_campaign(
        "Iranian",
        "Iranian intelligence services",
        "Iran's influence activities reflected its intent to exploit perceived social divisions and undermine "
        "confidence in US democratic institutions; Tehran relied primarily on its intelligence services and "
        "Iran-based online influencers (Key Judgment 2)",
        "moderate",
        narratives=["Exploit social divisions and undermine confidence in US democratic institutions"],
    ),
    _odni_campaign(
        "Cuban",
        "Republic of Cuba",
        "Cuba attempted to undermine the electoral prospects of specific US Congressional and gubernatorial "
        "politicians it perceived as hostile; a network of social media accounts almost certainly covertly tied to "
        "Cuba amplified derogatory content about them",
        "",
        likelihood="almost_certain",
        claim_source="cuba_2022",
        sources_extra=["cuba_2022"],
    ),
    dict(
        name="Spamouflage network removed by Meta in August 2023",
        actor="People's Republic of China",
        operation="Spamouflage",
        summary="Meta removed 7,704 Facebook accounts, 954 Pages, 15 Groups and 15 Instagram accounts for "
        "coordinated inauthentic behaviour: positive commentary about China and Xinjiang and criticism of the US, "
        "Western foreign policy and critics of the Chinese government, across more than 50 platforms.",
        objective="Praise China and discredit its critics abroad.",
        target_countries=["TW", "US", "AU", "GB", "JP"],
        target_audiences="Global Chinese-speaking audiences",
        last_seen=date(2023, 8, 29),
        status="disrupted",
        tools=["information_manipulation"],
        platforms=["facebook", "instagram", "x", "youtube", "tiktok", "reddit"],
        languages=["zh", "en"],
        sources=["meta_q2_2023", "meta_q2_2023_attribution"],
        claims=[
            dict(
                claimant="Meta",
                claimant_category=TECH,
                claimant_country="US",
                actor="Ministry of Public Security (PRC)",
                claimed_on=date(2023, 8, 29),
                title="Links to individuals associated with Chinese law enforcement",
                attribution_type="direct",
                source="meta_q2_2023_attribution",
            )
        ],
        takedowns=[
            dict(
                platform="facebook",
                announced_on=date(2023, 8, 29),
                operation="Spamouflage",
                actor="People's Republic of China",
                accounts_removed=7704,
                pages_removed=954,
                groups_removed=15,
                instagram_accounts_removed=15,
                followers=560_000,
                ad_spend=3500,
                ad_currency="USD",
                origin_countries=["CN"],
                target_countries=["TW", "US", "AU", "GB", "JP"],
                source="meta_q2_2023",
                notes="Figures as Meta published them: Facebook and Instagram apart. Followers (about 560,000 "
                "accounts followed one or more of its Pages) and ad spend (about US$3,500) as reported by "
                "NewsBytes.",
            )
        ],
    ),
    dict(
        name="Doppelganger cloned news sites and the US 2024 election",
        actor="Russian Federation",
        operation="Doppelganger",
        elections=["United States 2024 general election"],
        summary="Cybersquatted domains imitating US news outlets (for example washingtonpost.pm for "
        "washingtonpost.com), fabricated influencers, fake profiles and paid ads pushing AI-generated narratives. "
        "On 4 September 2024 the US Department of Justice seized 32 of its domains; the Treasury sanctioned the "
        "Social Design Agency and Structura in March 2024.",
        objective="Reduce international support for Ukraine, promote pro-Russian policies and influence voters "
        "in US and foreign elections, including the 2024 US presidential election (US DoJ).",
        target_countries=["US"],
        status="disrupted",
        tools=["information_manipulation"],
        platforms=["web", "facebook", "x"],
        languages=["en", "ru"],
        narratives=["Supporting Ukraine only hurts your own country"],
        sources=["doj_doppelganger", "ofac_doppelganger"],
        techniques=[
            (
                "T0097.202",
                "high",
                "doj_doppelganger",
                date(2024, 9, 4),
                "Cybersquatted domains mimicking legitimate news outlets, seized by the US DoJ.",
            ),
            (
                "T0085.003",
                "high",
                "ofac_doppelganger",
                None,
                "More than 60 websites impersonating European news organisations, created in or around autumn 2022 "
                "(OFAC).",
            ),
        ],  # fmt: skip
        claims=[
            dict(
                claimant="US Department of Justice",
                claimant_category=GOV,
                claimant_country="US",
                actor="Russian Presidential Administration",
                claimed_on=date(2024, 9, 4),
                title="Social Design Agency, Structura and ANO Dialog ran Doppelganger under the direction of the "
                "Russian Presidential Administration",
                attribution_type="direct",
                source="doj_doppelganger",
            ),
            dict(
                claimant="US Department of the Treasury (OFAC)",
                claimant_category=GOV,
                claimant_country="US",
                actor="Social Design Agency",
                claimed_on=date(2024, 3, 20),
                title="Social Design Agency and Company Group Structura acted for the Government of Russia in "
                "malign influence campaigns, including efforts to influence US elections",
                attribution_type="direct",
                source="ofac_doppelganger",
            ),
        ],
    ),
    dict(
        name="CopyCop inauthentic news sites and the US 2024 election",
        actor="Russian Federation",
        operation="CopyCop",
        elections=["United States 2024 general election"],
        summary="Sites imitating Western outlets that rewrite mainstream articles with language models, more than "
        "19,000 articles a month (Recorded Future, May 2024); before the 2024 vote the network posted a video "
        "falsely claiming Kamala Harris was a rhino poacher.",
        objective="Undermine Western domestic and foreign policy, spur distrust in governments and weaken support "
        "for Ukraine (Recorded Future, via ASD).",
        target_countries=["US", "GB", "FR"],
        first_seen=date(2024, 5, 9),
        is_estimate=True,  # the date of the first public report, not of the first activity
        status="active",
        tools=["information_manipulation"],
        platforms=["web"],
        languages=["en", "fr"],
        sources=["copycop_2024", "copycop_2025"],
        techniques=[
            (
                "T0085.001",
                "high",
                "copycop_2024",
                None,
                "Articles plagiarised and rewritten with AI to fit their audiences (Recorded Future).",
            ),
        ],  # fmt: skip
        claims=[
            dict(
                claimant="Recorded Future (Insikt Group)",
                claimant_category=vocab.ClaimantCategory.PRIVATE_CONSULTANCY,
                claimant_country="US",
                actor="Russian Federation",
                claimed_on=date(2024, 5, 9),
                title="CopyCop is likely aligned with the Russian government",
                attribution_type="proxy",
                likelihood="likely",
                source="copycop_2024",
            ),
            dict(
                claimant="Recorded Future (Insikt Group)",
                claimant_category=vocab.ClaimantCategory.PRIVATE_CONSULTANCY,
                claimant_country="US",
                actor="GRU (Main Directorate of the General Staff)",
                claimed_on=date(2025, 9, 18),
                title="The GRU almost certainly funds the servers that rewrite articles for CopyCop's sites",
                attribution_type="direct",
                likelihood="almost_certain",
                source="copycop_2025",
            ),
        ],
    ),
]

EMPTY = (None, "", [], {})
STATE = "Named in the US intelligence community's assessment of foreign threats to the 2022 US elections."


def _fill(model: type[models.Model], lookup: dict, values: dict) -> models.Model:
    """The record with these keys, created with the values, or with its blank fields filled from them."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.save()
        return obj
    blank = [f for f, v in values.items() if v not in EMPTY and getattr(obj, f) in EMPTY]
    if blank:
        for f in blank:
            setattr(obj, f, values[f])
        obj.save(update_fields=blank)
    return obj


def _link(manager, objects) -> None:
    present = set(manager.values_list("pk", flat=True))
    missing = [o for o in objects if o.pk not in present]
    if missing:
        manager.add(*missing)


@transaction.atomic
def demo_catalogue_load() -> bool:
    """Create the demo catalogue, or complete an older one. Returns False when nothing was missing."""
    created = not Campaign.objects.filter(name=FLAGSHIP).exists()
    sources = {}
    for key, values in SOURCES.items():
        values = dict(values)
        sources[key] = _fill(Source, {"title": values.pop("title"), "publisher": values.pop("publisher")}, values)
    actors = {}
    for name, (kind, country, parent, description, source) in ACTORS.items():
        actors[name] = _fill(
            ThreatActor,
            {"name": name},
            {
                "actor_type": kind,
                "country": country,
                "parent": actors.get(parent),
                "description": f"{description or STATE} Source: {sources[source].url}",
            },
        )
    operations = {}
    for name, values in OPERATIONS.items():
        operation = _fill(
            Operation,
            {"name": name},
            {"actor": actors[values["actor"]], "status": values["status"], "description": values["description"]},
        )
        _link(operation.sources, [sources[k] for k in values["sources"]])
        for alias, namespace, source in values["aliases"]:
            _fill(Alias, {"name": alias, "namespace": namespace, "operation": operation}, {"source": sources[source]})
        operations[name] = operation
    elections = {}
    for name, values in ELECTIONS.items():
        election = _fill(
            Election,
            {"name": name, "country": values["country"]},
            {
                "election_type": values["election_type"],
                "election_day": values["election_day"],
                "description": f"{values['description']} Source: {sources[values['source']].url}",
            },
        )
        for number, polling_day in enumerate(values["rounds"], start=1):
            _fill(ElectionRound, {"election": election, "number": number}, {"polling_day": polling_day})
        for phase, starts_on, ends_on in values["phases"]:
            _fill(
                ElectionPhase,
                {"election": election, "phase": phase},
                {"starts_on": starts_on, "ends_on": ends_on or starts_on},
            )
        elections[name] = election
    narratives = {name: _fill(Narrative, {"name": name}, values) for name, values in NARRATIVES.items()}
    platforms = {p.code: p for p in Platform.objects.all()}
    for values in CAMPAIGNS:
        _campaign_load(values, sources, actors, operations, elections, narratives, platforms)
    return created


def _campaign_load(values, sources, actors, operations, elections, narratives, platforms) -> None:
    values = dict(values)
    related = {
        k: values.pop(k, []) for k in ("elections", "tools", "platforms", "narratives", "sources", "sources_extra")
    }
    techniques, claims, takedowns = (values.pop(k, []) for k in ("techniques", "claims", "takedowns"))
    values["actor"] = actors[values["actor"]]
    values["operation"] = operations.get(values.pop("operation", None))
    campaign = _fill(Campaign, {"name": values.pop("name")}, values)
    _link(campaign.elections, [elections[n] for n in related["elections"]])
    _link(campaign.tools, InterferenceTool.objects.filter(code__in=related["tools"]))
    _link(campaign.platforms, [platforms[c] for c in related["platforms"] if c in platforms])
    _link(campaign.narratives, [narratives[n] for n in related["narratives"]])
    _link(campaign.sources, [sources[k] for k in related["sources"] + related["sources_extra"]])
    for external_id, confidence, source, observed_on, evidence in techniques:
        technique = Technique.objects.filter(framework=vocab.Framework.DISARM, external_id=external_id).first()
        if technique:
            _fill(
                TechniqueUse,
                {"campaign": campaign, "technique": technique},
                {"confidence": confidence, "source": sources[source], "observed_on": observed_on, "evidence": evidence},
            )
    for claim in claims:
        claim = dict(claim)
        lookup = {"campaign": campaign, "claimant": claim.pop("claimant"), "claimed_on": claim.pop("claimed_on")}
        claim["actor"] = actors[claim["actor"]]
        claim["source"] = sources[claim["source"]]
        _fill(AttributionClaim, lookup, claim)
    for takedown in takedowns:
        takedown = dict(takedown)
        lookup = {
            "platform": platforms[takedown.pop("platform")],
            "announced_on": takedown.pop("announced_on"),
            "operation": operations[takedown.pop("operation")],
        }
        takedown.update(campaign=campaign, actor=actors[takedown["actor"]], source=sources[takedown["source"]])
        _fill(Takedown, lookup, takedown)
