"""Controlled vocabularies of the field, used as model choices across the apps (see shared/DOMAIN.md)."""

from django.db import models

from detection.engine.vocabularies import PLATFORM_LABELS


class Pap(models.TextChoices):
    CLEAR = "CLEAR", "PAP:CLEAR"
    GREEN = "GREEN", "PAP:GREEN"
    AMBER = "AMBER", "PAP:AMBER"
    RED = "RED", "PAP:RED"


class ActorType(models.TextChoices):
    STATE = "state", "State"
    AGENCY = "agency", "State agency"
    STATE_MEDIA = "state_media", "State media"
    PROXY = "proxy", "Proxy"
    COMMERCIAL = "commercial", "Commercial firm"


class AliasNamespace(models.TextChoices):
    META = "meta", "Meta"
    MICROSOFT = "microsoft", "Microsoft"
    GOOGLE = "google", "Google"
    OPENAI = "openai", "OpenAI"
    GRAPHIKA = "graphika", "Graphika"
    DFRLAB = "dfrlab", "DFRLab"
    MANDIANT = "mandiant", "Mandiant"
    RECORDED_FUTURE = "recorded_future", "Recorded Future"
    EU_DISINFOLAB = "eu_disinfolab", "EU DisinfoLab"
    VIGINUM = "viginum", "VIGINUM"
    MISP = "misp", "MISP galaxy"
    OTHER = "other", "Other"


class OperationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DORMANT = "dormant", "Dormant"
    DISRUPTED = "disrupted", "Disrupted"


class CampaignStatus(models.TextChoices):
    SUSPECTED = "suspected", "Suspected"
    ACTIVE = "active", "Active"
    CONCLUDED = "concluded", "Concluded"
    DISRUPTED = "disrupted", "Disrupted"


class ElectionType(models.TextChoices):
    PRESIDENTIAL = "presidential", "Presidential"
    LEGISLATIVE = "legislative", "Legislative"
    LOCAL = "local", "Local"
    REFERENDUM = "referendum", "Referendum"
    RECALL = "recall", "Recall"
    PRIMARY = "primary", "Primary"
    MIDTERM = "midterm", "Midterm"


class ElectionPhaseType(models.TextChoices):
    PRE_CAMPAIGN = "pre_campaign", "Pre-campaign"
    CAMPAIGN = "campaign", "Campaign"
    SILENCE = "silence", "Silence period"
    ELECTION_DAY = "election_day", "Election day"
    COUNTING = "counting", "Counting and certification"
    POST_ELECTION = "post_election", "Post-election"


class InterferenceTool(models.TextChoices):
    """Alliance for Securing Democracy's tools of interference."""

    INFORMATION_MANIPULATION = "information_manipulation", "Information Manipulation"
    CYBER_OPERATIONS = "cyber_operations", "Cyber Operations"
    MALIGN_FINANCE = "malign_finance", "Malign Finance"
    CIVIL_SOCIETY_SUBVERSION = "civil_society_subversion", "Civil Society Subversion"
    ECONOMIC_COERCION = "economic_coercion", "Economic Coercion"
    PHYSICAL_VIOLENCE = "physical_violence", "Physical Violence"


# Built from the engine's Django-free list, so the readers and the models share one definition.
Platform = models.TextChoices("Platform", [(value.upper(), (value, label)) for value, label in PLATFORM_LABELS])


class FiveD(models.TextChoices):
    DISMISS = "dismiss", "Dismiss"
    DISTORT = "distort", "Distort"
    DISTRACT = "distract", "Distract"
    DISMAY = "dismay", "Dismay"
    DIVIDE = "divide", "Divide"


class SourceReliability(models.TextChoices):
    """Admiralty code: reliability of the source."""

    A = "A", "A - Completely reliable"
    B = "B", "B - Usually reliable"
    C = "C", "C - Fairly reliable"
    D = "D", "D - Not usually reliable"
    E = "E", "E - Unreliable"
    F = "F", "F - Reliability cannot be judged"


class InformationCredibility(models.TextChoices):
    """Admiralty code: credibility of the information."""

    CONFIRMED = "1", "1 - Confirmed by other sources"
    PROBABLY_TRUE = "2", "2 - Probably true"
    POSSIBLY_TRUE = "3", "3 - Possibly true"
    DOUBTFUL = "4", "4 - Doubtful"
    IMPROBABLE = "5", "5 - Improbable"
    CANNOT_BE_JUDGED = "6", "6 - Truth cannot be judged"


class Likelihood(models.TextChoices):
    """ICD 203 estimative language."""

    ALMOST_NO_CHANCE = "almost_no_chance", "Almost no chance (01-05%)"
    VERY_UNLIKELY = "very_unlikely", "Very unlikely (05-20%)"
    UNLIKELY = "unlikely", "Unlikely (20-45%)"
    ROUGHLY_EVEN = "roughly_even_chance", "Roughly even chance (45-55%)"
    LIKELY = "likely", "Likely (55-80%)"
    VERY_LIKELY = "very_likely", "Very likely (80-95%)"
    ALMOST_CERTAIN = "almost_certain", "Almost certain (95-99%)"


class Confidence(models.TextChoices):
    """ICD 203 analytic confidence."""

    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class AttributionType(models.TextChoices):
    """DFRLab FIAT attribution types."""

    DIRECT = "direct", "Direct Attribution"
    PROXY = "proxy", "Proxy/Inferred Attribution"
    COMMERCIAL = "commercial", "Non-Aligned Commercial Enterprise"


class ClaimantCategory(models.TextChoices):
    """DFRLab FIAT source (claimant) categories."""

    GOVERNMENT = "government", "Government"
    TECHNOLOGY_COMPANY = "technology_company", "Technology Company"
    MEDIA = "media", "Media"
    CIVIL_SOCIETY = "civil_society", "Civil Society Organization"
    INFLUENTIAL_INDIVIDUAL = "influential_individual", "Influential Individual"
    PRIVATE_CONSULTANCY = "private_consultancy", "Private Consultancy"
    FOREIGN_GOVERNMENT = "foreign_government", "Foreign Government Body"


# The 18 yes/no items of DFRLab FIAT's attribution scorecard, by part (Credibility 5, Objectivity 3,
# Evidence 5, Transparency 5). The names are the FIAT CSV's column names.
FIAT_SCORECARD = {
    "Credibility": (
        "attribution_financial_incentive",
        "attribution_financial_transparency",
        "attribution_endorse_political",
        "attribution_campaign_affiliation",
        "attribution_published_mis_disinfo",
    ),
    "Objectivity": ("attribution_language", "attribution_convey_content", "attribution_factual_argument"),
    "Evidence": (
        "attribution_clarity",
        "attribution_context",
        "attribution_identified_responsibility",
        "attribution_strategic_rationale",
        "attribution_privileged_evidence",
    ),
    "Transparency": (
        "attribution_open_access",
        "attribution_methodology",
        "attribution_open_source",
        "attribution_acknowledge_limitations",
        "attribution_corroboration",
    ),
}
FIAT_SCORECARD_ITEMS = tuple(item for items in FIAT_SCORECARD.values() for item in items)
# What a "yes" on each item says about the claim (a yes scores one point).
FIAT_SCORECARD_LABELS = {
    "attribution_financial_incentive": "The claimant has no financial incentive in the attribution",
    "attribution_financial_transparency": "The claimant is open about its funding",
    "attribution_endorse_political": "The claimant endorses no political party or candidate",
    "attribution_campaign_affiliation": "The claimant is not affiliated with a political campaign",
    "attribution_published_mis_disinfo": "The claimant has not published mis- or disinformation",
    "attribution_language": "The claim is worded without inflammatory language",
    "attribution_convey_content": "The claim conveys the content it describes without distorting it",
    "attribution_factual_argument": "The claim argues from facts",
    "attribution_clarity": "The claim is clear about what is attributed to whom",
    "attribution_context": "The claim gives context",
    "attribution_identified_responsibility": "The claim names who is responsible",
    "attribution_strategic_rationale": "The claim gives the actor's strategic rationale",
    "attribution_privileged_evidence": "The claim rests on privileged evidence",
    "attribution_open_access": "The claim is openly accessible",
    "attribution_methodology": "The claim describes its methodology",
    "attribution_open_source": "The claim's evidence is open source",
    "attribution_acknowledge_limitations": "The claim acknowledges its limitations",
    "attribution_corroboration": "The claim is corroborated by other sources",
}


class AssetType(models.TextChoices):
    ACCOUNT = "account", "Account"
    PAGE = "page", "Page"
    GROUP = "group", "Group"
    CHANNEL = "channel", "Channel"
    DOMAIN = "domain", "Domain"
    WEBSITE = "website", "Website"


class Framework(models.TextChoices):
    DISARM = "disarm", "DISARM Red"
    META_KILL_CHAIN = "meta_ooc", "Meta Online Operations Kill Chain"


class BreakoutScale(models.IntegerChoices):
    ONE_PLATFORM = 1, "1 - One platform, no breakout"
    BREAKOUT_OR_MANY = 2, "2 - One platform with breakout, or many without"
    MANY_WITH_BREAKOUT = 3, "3 - Multiple platforms with breakout"
    MAINSTREAM_MEDIA = 4, "4 - Cross-medium breakout (mainstream media)"
    CELEBRITY = 5, "5 - Celebrity amplification"
    POLICY_OR_VIOLENCE = 6, "6 - Policy response or call for violence"


DISARM_PHASES = {"P01": "Plan", "P02": "Prepare", "P03": "Execute", "P04": "Assess"}
# DISARM Red v1.6 tactics; TA03 and TA04 are retired.
DISARM_TACTICS = {
    "TA01": {"name": "Plan Strategy", "phase": "P01"},
    "TA02": {"name": "Plan Objectives", "phase": "P01"},
    "TA05": {"name": "Microtarget", "phase": "P02"},
    "TA06": {"name": "Develop Content", "phase": "P02"},
    "TA07": {"name": "Select Channels and Affordances", "phase": "P02"},
    "TA08": {"name": "Conduct Pump Priming", "phase": "P03"},
    "TA09": {"name": "Deliver Content", "phase": "P03"},
    "TA10": {"name": "Drive Offline Activity", "phase": "P03"},
    "TA11": {"name": "Persist in the Information Environment", "phase": "P03"},
    "TA12": {"name": "Assess Effectiveness", "phase": "P04"},
    "TA13": {"name": "Target Audience Analysis", "phase": "P01"},
    "TA14": {"name": "Develop Narratives", "phase": "P02"},
    "TA15": {"name": "Establish Assets", "phase": "P02"},
    "TA16": {"name": "Establish Legitimacy", "phase": "P02"},
    "TA17": {"name": "Maximise Exposure", "phase": "P03"},
    "TA18": {"name": "Drive Online Harms", "phase": "P03"},
}
