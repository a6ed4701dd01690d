from django.db import models


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
