import ipaddress

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils import timezone

from partners.markings import Tlp

# The ladder of an organisation's clearance; AMBER+STRICT and RED are never a ceiling.
CEILINGS = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)


class OrganisationKind(models.TextChoices):
    LAB = "lab", "Research lab"
    PLATFORM = "platform", "Platform trust and safety"
    FACT_CHECKER = "fact_checker", "Fact-checker"
    ELECTION_BODY = "election_body", "Election authority"
    GOVERNMENT = "government", "Government"
    MEDIA = "media", "Media"
    OTHER = "other", "Other"


class Organisation(models.Model):
    """A partner or owner organisation: the unit that owns records and receives shared findings."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=OrganisationKind.choices, default=OrganisationKind.LAB)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipRole(models.TextChoices):
    READER = "reader", "Reader"
    SUBMITTER = "submitter", "Submitter (may upload samples)"
    MANAGER = "manager", "Manager"


class Membership(models.Model):
    """A person's membership of an organisation; personal tokens act for the person within it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.READER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


class Clearance(models.Model):
    """An organisation's TLP ceiling (CLEAR, GREEN or AMBER); AMBER+STRICT and RED are granted per object."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="clearance")
    ceiling = models.CharField(
        max_length=12, choices=[(t.value, t.label) for t in CEILINGS], default=Tlp.CLEAR, help_text="Highest TLP"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation"]

    def __str__(self) -> str:
        return f"{self.organisation}: TLP:{self.ceiling}"


class Credential(models.Model):
    """What API keys and personal tokens share: a lookup prefix, a SHA-256 digest, expiry and revocation."""

    name = models.CharField(max_length=200, help_text="What the key is for, e.g. 'OpenCTI connector'")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the whole key (hex)")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.GenericIPAddressField(null=True, blank=True)
    seen_addresses = models.JSONField(default=list, blank=True, editable=False)
    allowed_networks = models.JSONField(
        default=list, blank=True, help_text="CIDR blocks the key may be used from; empty means anywhere"
    )

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        for network in self.allowed_networks or []:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValidationError({"allowed_networks": f"Not a network: {network}"}) from exc

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class ApiKey(Credential):
    """A key that acts for an organisation (never for RED material, which needs a named person)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys")

    class Meta(Credential.Meta):
        verbose_name = "API key"


class PersonalToken(Credential):
    """A token of one named person; within an organisation for partners, or a researcher's own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="personal_tokens"
    )

    class Meta(Credential.Meta):
        pass


class Share(models.Model):
    """A named recipient of one marked object: an organisation (AMBER+STRICT) or a person (RED)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["content_type", "object_id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="share_target")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organisation__isnull=True) ^ models.Q(user__isnull=True),
                name="share_one_recipient",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "organisation"], name="share_unique_organisation"
            ),
            models.UniqueConstraint(fields=["content_type", "object_id", "user"], name="share_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id} -> {self.organisation or self.user}"


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    EXPORT = "export", "Export"
    SUBMIT = "submit", "Sample submitted"
    SCORE = "score", "Scoring run started"
    KEY_CREATED = "key_created", "Key created"
    KEY_NEW_ADDRESS = "key_new_address", "Key used from a new address"
    KEY_REVOKED = "key_revoked", "Key revoked"
    KEY_REFUSED = "key_refused", "Key refused"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionDenied("The audit log is append-only.")

    def refusals_add(self, n: int = 1) -> int:
        """The one change the log allows: a counted entry of refused keys counts `n` more refusals."""
        return models.QuerySet.update(self.filter(action=AuditAction.KEY_REFUSED), count=models.F("count") + n)

    def delete(self):
        raise PermissionDenied("The audit log is append-only.")


class AuditEvent(models.Model):
    """One append-only entry: a partner's read of AMBER or above, an export, a key event, or a key's refusals."""

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    action = models.CharField(max_length=20, choices=AuditAction.choices, editable=False)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    credential = models.CharField(max_length=40, blank=True, editable=False, help_text="Key or token prefix")
    address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    path = models.CharField(max_length=1000, blank=True, editable=False)
    object_type = models.CharField(max_length=100, blank=True, editable=False)
    object_ids = models.JSONField(default=list, blank=True, editable=False)
    tlp = models.CharField("TLP", max_length=12, blank=True, editable=False)
    detail = models.TextField(blank=True, editable=False)
    count = models.PositiveIntegerField(
        default=1, editable=False, help_text="Events it stands for: a key's refusals from one address in a minute"
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionDenied("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("The audit log is append-only.")
