import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from partners.markings import Tlp

from . import vocabularies as vocab

country_code = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 code in capitals, e.g. TW.")


class CatalogueRecord(models.Model):
    """Fields every catalogue record carries: a stable STIX identity, a marking and timestamps."""

    stix_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tlp = models.CharField("TLP", max_length=12, choices=Tlp.choices, default=Tlp.CLEAR)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Platform(models.Model):
    """A platform from the controlled list; a table so that campaigns can be filtered by platform."""

    code = models.CharField(max_length=20, unique=True, choices=vocab.Platform.choices)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.get_code_display()


class InterferenceTool(models.Model):
    """One of the Alliance for Securing Democracy's tools of interference."""

    code = models.CharField(max_length=30, unique=True, choices=vocab.InterferenceTool.choices)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.get_code_display()


class Source(CatalogueRecord):
    """A public report, article or dataset that a claim or record rests on."""

    title = models.CharField(max_length=500)
    url = models.URLField(max_length=2000, blank=True)
    archived_url = models.URLField(max_length=2000, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    author = models.CharField(max_length=300, blank=True)
    published_on = models.DateField(null=True, blank=True)
    reliability = models.CharField(
        max_length=1, choices=vocab.SourceReliability.choices, default=vocab.SourceReliability.F
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-published_on", "title"]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title}" if self.publisher else self.title


class ThreatActor(CatalogueRecord):
    """A state or one of its organs (agency, state media, proxy, commercial firm) behind operations."""

    name = models.CharField(max_length=200, unique=True)
    actor_type = models.CharField(max_length=20, choices=vocab.ActorType.choices)
    country = models.CharField(max_length=2, validators=[country_code])
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Operation(CatalogueRecord):
    """A long-lived named network (Spamouflage, Doppelganger, ...) run by an actor."""

    name = models.CharField(max_length=200, unique=True)
    actor = models.ForeignKey(ThreatActor, null=True, blank=True, on_delete=models.PROTECT, related_name="operations")
    description = models.TextField(blank=True)
    first_seen = models.DateField(null=True, blank=True)
    last_seen = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=vocab.OperationStatus.choices, default=vocab.OperationStatus.ACTIVE
    )
    sources = models.ManyToManyField(Source, blank=True, related_name="operations")
    history = HistoricalRecords(m2m_fields=[sources])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alias(models.Model):
    """Another vendor's name for an actor or an operation (Dragonbridge, Taizi Flood, Storm-1376...)."""

    name = models.CharField(max_length=200)
    namespace = models.CharField(max_length=20, choices=vocab.AliasNamespace.choices)
    actor = models.ForeignKey(ThreatActor, null=True, blank=True, on_delete=models.CASCADE, related_name="aliases")
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.CASCADE, related_name="aliases")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["namespace", "name"]
        verbose_name_plural = "aliases"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor__isnull=True) ^ models.Q(operation__isnull=True),
                name="alias_names_one_actor_or_operation",
            ),
            models.UniqueConstraint(fields=["namespace", "name", "actor"], name="alias_unique_per_actor"),
            models.UniqueConstraint(fields=["namespace", "name", "operation"], name="alias_unique_per_operation"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_namespace_display()})"


class Election(CatalogueRecord):
    """An election that campaigns target: one contest (e.g. Taiwan's 2024 presidential election)."""

    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, validators=[country_code])
    election_type = models.CharField(max_length=20, choices=vocab.ElectionType.choices)
    election_day = models.DateField(help_text="The (first-round) polling day.")
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-election_day", "name"]
        constraints = [models.UniqueConstraint(fields=["country", "name"], name="election_unique_name")]

    def __str__(self) -> str:
        return self.name


class ElectionRound(models.Model):
    """A round of voting (runoffs get round 2, ...)."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField(default=1)
    polling_day = models.DateField()

    class Meta:
        ordering = ["election", "number"]
        constraints = [models.UniqueConstraint(fields=["election", "number"], name="election_round_unique")]

    def __str__(self) -> str:
        return f"{self.election} round {self.number}"


class ElectionPhase(models.Model):
    """A phase of an election (campaign, silence period, counting...) with its date range."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="phases")
    phase = models.CharField(max_length=20, choices=vocab.ElectionPhaseType.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["election", "starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["election", "phase"], name="election_phase_unique"),
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="phase_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.election}: {self.get_phase_display()}"


class Narrative(CatalogueRecord):
    """A story an operation pushes; sub-narratives hang under their parent."""

    name = models.CharField(max_length=300, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    summary = models.TextField(blank=True)
    languages = models.JSONField(default=list, blank=True, help_text="BCP 47 codes, e.g. zh-Hant, en.")
    five_ds = models.JSONField("5Ds", default=list, blank=True, help_text="dismiss, distort, distract, ...")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = set(self.five_ds) - set(vocab.FiveD.values)
        if unknown:
            raise ValidationError({"five_ds": f"Unknown 5D values: {', '.join(sorted(unknown))}"})


class Technique(models.Model):
    """A technique (or sub-technique, or procedure) of DISARM Red or Meta's kill chain."""

    framework = models.CharField(max_length=10, choices=vocab.Framework.choices)
    external_id = models.CharField(max_length=20, help_text="T0049.001 for DISARM, 0.1.1 for Meta's kill chain")
    name = models.CharField(max_length=300)
    tactic_id = models.CharField(max_length=10, blank=True)
    tactic_name = models.CharField(max_length=200, blank=True)
    phase_id = models.CharField(max_length=10, blank=True)
    phase_name = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    summary = models.TextField(blank=True)
    stix_id = models.CharField(max_length=100, blank=True)
    framework_version = models.CharField(max_length=20, blank=True)
    retired = models.BooleanField(default=False, help_text="No longer in the latest loaded version; kept resolvable.")

    class Meta:
        ordering = ["framework", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "external_id"], name="technique_unique_external_id")
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"


class Campaign(CatalogueRecord):
    """A time-bounded effort by an actor or operation against one or more elections."""

    name = models.CharField(max_length=300, unique=True)
    actor = models.ForeignKey(ThreatActor, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns")
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns")
    elections = models.ManyToManyField(Election, blank=True, related_name="campaigns")
    summary = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    target_countries = models.JSONField(default=list, blank=True, help_text="ISO 3166-1 alpha-2 codes")
    target_audiences = models.TextField(blank=True)
    first_seen = models.DateField(null=True, blank=True)
    last_seen = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=vocab.CampaignStatus.choices, default=vocab.CampaignStatus.SUSPECTED
    )
    tools = models.ManyToManyField(InterferenceTool, blank=True, related_name="campaigns")
    platforms = models.ManyToManyField(Platform, blank=True, related_name="campaigns")
    languages = models.JSONField(default=list, blank=True, help_text="BCP 47 codes")
    narratives = models.ManyToManyField(Narrative, blank=True, related_name="campaigns")
    techniques = models.ManyToManyField(Technique, through="TechniqueUse", blank=True, related_name="campaigns")
    sources = models.ManyToManyField(Source, blank=True, related_name="campaigns")
    breakout_scale = models.PositiveSmallIntegerField(null=True, blank=True, choices=vocab.BreakoutScale.choices)
    pap = models.CharField("PAP", max_length=5, choices=vocab.Pap.choices, default=vocab.Pap.CLEAR)
    owner = models.ForeignKey(
        "partners.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    is_estimate = models.BooleanField(
        default=False, help_text="The record is the analyst's estimate, not a claim stated by a source."
    )
    history = HistoricalRecords(m2m_fields=[elections, tools, platforms, narratives, sources])

    class Meta:
        ordering = ["-first_seen", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.actor_id is None and self.operation_id is None:
            raise ValidationError("A campaign needs an actor or an operation.")
        if self.first_seen and self.last_seen and self.last_seen < self.first_seen:
            raise ValidationError({"last_seen": "Last seen is before first seen."})


class TechniqueUse(models.Model):
    """A technique seen in a campaign, with the evidence and the confidence in it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="technique_uses")
    technique = models.ForeignKey(Technique, on_delete=models.PROTECT, related_name="uses")
    evidence = models.TextField(blank=True)
    confidence = models.CharField(max_length=10, choices=vocab.Confidence.choices, default=vocab.Confidence.MODERATE)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    observed_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["campaign", "technique"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "technique"], name="technique_use_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.technique}"


class AttributionClaim(CatalogueRecord):
    """A public claim by someone (a claimant) that an actor is behind a campaign or an operation."""

    claimant = models.CharField(max_length=300)
    claimant_category = models.CharField(max_length=30, choices=vocab.ClaimantCategory.choices)
    claimant_country = models.CharField(max_length=2, blank=True, validators=[country_code])
    actor = models.ForeignKey(ThreatActor, null=True, blank=True, on_delete=models.PROTECT, related_name="claims")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="claims")
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.CASCADE, related_name="claims")
    claimed_on = models.DateField(null=True, blank=True)
    title = models.CharField(max_length=500, blank=True)
    summary = models.TextField(blank=True)
    attribution_type = models.CharField(max_length=12, choices=vocab.AttributionType.choices, blank=True)
    likelihood = models.CharField(max_length=20, choices=vocab.Likelihood.choices, blank=True)
    confidence = models.CharField(max_length=10, choices=vocab.Confidence.choices, blank=True)
    credibility = models.CharField(
        max_length=1,
        choices=vocab.InformationCredibility.choices,
        default=vocab.InformationCredibility.CANNOT_BE_JUDGED,
    )
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="claims")
    scorecard = models.JSONField(default=dict, blank=True, help_text="FIAT scorecard: item name -> true/false")
    score_total = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False, validators=[MaxValueValidator(18)], help_text="FIAT total, 0-18"
    )
    fiat_case_id = models.CharField("FIAT case id", max_length=50, blank=True, db_index=True)
    is_estimate = models.BooleanField(default=False, help_text="The analyst's estimate, not the claimant's words.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-claimed_on", "claimant"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(campaign__isnull=False) | models.Q(operation__isnull=False),
                name="claim_about_campaign_or_operation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claimant}: {self.title or self.actor or ''}"

    def save(self, *args, **kwargs) -> None:
        self.score_total = sum(1 for v in self.scorecard.values() if v) if self.scorecard else None
        super().save(*args, **kwargs)

    def clean(self) -> None:
        unknown = set(self.scorecard) - set(vocab.FIAT_SCORECARD_ITEMS)
        if unknown:
            raise ValidationError({"scorecard": f"Unknown scorecard items: {', '.join(sorted(unknown))}"})


class Takedown(CatalogueRecord):
    """A platform's removal of an operation's assets, with Meta-style figures."""

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="takedowns")
    announced_on = models.DateField()
    actor = models.ForeignKey(ThreatActor, null=True, blank=True, on_delete=models.PROTECT, related_name="takedowns")
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.PROTECT, related_name="takedowns")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="takedowns")
    accounts_removed = models.PositiveIntegerField(null=True, blank=True)
    pages_removed = models.PositiveIntegerField(null=True, blank=True)
    groups_removed = models.PositiveIntegerField(null=True, blank=True)
    instagram_accounts_removed = models.PositiveIntegerField(null=True, blank=True)
    followers = models.PositiveBigIntegerField(null=True, blank=True)
    ad_spend = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    ad_currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217, e.g. USD")
    origin_countries = models.JSONField(default=list, blank=True)
    target_countries = models.JSONField(default=list, blank=True)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="takedowns")
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-announced_on"]

    def __str__(self) -> str:
        return f"{self.platform} takedown, {self.announced_on}"


class Asset(CatalogueRecord):
    """An account, page, channel or domain tied to an operation or a campaign."""

    asset_type = models.CharField(max_length=10, choices=vocab.AssetType.choices)
    platform = models.ForeignKey(Platform, null=True, blank=True, on_delete=models.PROTECT, related_name="assets")
    identifier = models.CharField(max_length=500, help_text="Platform account id, handle or domain name")
    url = models.URLField(max_length=2000, blank=True)
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.CASCADE, related_name="assets")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="assets")
    first_seen = models.DateField(null=True, blank=True)
    last_seen = models.DateField(null=True, blank=True)
    followers = models.PositiveBigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)])
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["asset_type", "identifier"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(campaign__isnull=False) | models.Q(operation__isnull=False),
                name="asset_tied_to_campaign_or_operation",
            ),
            models.UniqueConstraint(
                fields=["asset_type", "platform", "identifier", "campaign"], name="asset_unique_per_campaign"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_asset_type_display()} {self.identifier}"
