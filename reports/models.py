from django.conf import settings
from django.db import models

from partners.markings import Tlp


class Scope(models.TextChoices):
    GLOBAL = "global", "Global"
    ELECTION = "election", "Election"
    ACTOR = "actor", "Threat actor"
    OPERATION = "operation", "Operation"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class Clearance(models.TextChoices):
    """The ceilings a clearance audience can have (AMBER+STRICT and RED go to named recipients only)."""

    CLEAR = Tlp.CLEAR.value, Tlp.CLEAR.label
    GREEN = Tlp.GREEN.value, Tlp.GREEN.label
    AMBER = Tlp.AMBER.value, Tlp.AMBER.label


def report_file_path(report: "Report", filename: str) -> str:
    return f"reports/{report.pk}/{filename}"


class Report(models.Model):
    """A threat report of one scope, period and audience, built from the catalogue and the scoring results.

    `scope_key` and `audience_key` spell the scope and the audience as strings ("election:3", "org:dfrlab",
    "clearance:GREEN") so that one unique constraint makes a rebuild update the same row.
    """

    scope = models.CharField(max_length=10, choices=Scope.choices)
    election = models.ForeignKey(
        "campaigns.Election", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    actor = models.ForeignKey(
        "campaigns.ThreatActor", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    operation = models.ForeignKey(
        "campaigns.Operation", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    scope_key = models.CharField(max_length=40, editable=False)
    period_start = models.DateField()
    period_end = models.DateField()
    audience_organisation = models.ForeignKey(
        "partners.Organisation", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    audience_clearance = models.CharField(max_length=12, choices=Clearance.choices, blank=True)
    audience_key = models.CharField(max_length=120, editable=False)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    tlp = models.CharField(
        "marking", max_length=12, choices=Tlp.choices, default=Tlp.CLEAR, help_text="Most restrictive of its contents"
    )
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True, help_text="Plain sentences built from the data; editable before publishing")
    summary_edited = models.BooleanField(default=False, help_text="A rebuild keeps an edited summary")
    content = models.JSONField(default=dict, blank=True, editable=False)
    html_file = models.FileField(upload_to=report_file_path, blank=True, editable=False)
    pdf_file = models.FileField(upload_to=report_file_path, blank=True, editable=False)
    json_file = models.FileField(upload_to=report_file_path, blank=True, editable=False)
    stix_file = models.FileField(upload_to=report_file_path, blank=True, editable=False)
    build_seconds = models.FloatField(null=True, blank=True, editable=False)
    built_at = models.DateTimeField(null=True, blank=True, editable=False)
    build_requested_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a build was last queued from the admin"
    )
    build_error = models.TextField(blank=True, editable=False, help_text="Why the last queued build failed")
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_end", "scope_key", "audience_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope_key", "period_start", "period_end", "audience_key"], name="report_unique_scope_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="report_period_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(audience_organisation__isnull=False) ^ ~models.Q(audience_clearance=""),
                name="report_one_audience",
            ),
        ]
        indexes = [models.Index(fields=["status", "period_end"], name="report_status_period")]

    def __str__(self) -> str:
        return self.title

    @property
    def build_pending(self) -> bool:
        """A build was queued and has neither finished nor failed since (a report published meanwhile is not
        rebuilt, so nothing is pending for it)."""
        return (
            self.build_requested_at is not None
            and not self.build_error
            and self.status != ReportStatus.PUBLISHED
            and (self.built_at is None or self.built_at < self.build_requested_at)
        )

    @property
    def audience_label(self) -> str:
        if self.audience_organisation_id:
            return str(self.audience_organisation)
        return f"{Tlp(self.audience_clearance).label} clearance"


class Subscription(models.Model):
    """Who gets an e-mail when a report is published: an organisation's address, or a person."""

    organisation = models.ForeignKey(
        "partners.Organisation", null=True, blank=True, on_delete=models.CASCADE, related_name="report_subscriptions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_subscriptions",
        help_text="A person (a staff user sees every report; with an organisation, the organisation's reports)",
    )
    email = models.EmailField(blank=True, help_text="Where to write; the user's address when left empty")
    scope = models.CharField(max_length=10, choices=Scope.choices, blank=True, help_text="Empty: every scope")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organisation__isnull=False) | models.Q(user__isnull=False),
                name="subscription_has_subscriber",
            ),
        ]

    def __str__(self) -> str:
        who = self.organisation or self.user
        return f"{who} <{self.address}>"

    @property
    def address(self) -> str:
        return self.email or (self.user.email if self.user_id else "")
