from django.conf import settings
from django.db import models

from campaigns.vocabularies import Platform, Tlp


class CollectionMethod(models.TextChoices):
    PLATFORM_RELEASE = "platform_release", "Platform transparency release"
    API = "api", "Platform API"
    SCRAPER = "scraper", "Collection tool or scraper"
    PEER_TOOL = "peer_tool", "Peer tool export (CooRTweet, toolkit...)"
    MANUAL = "manual", "Manual collection"
    SYNTHETIC = "synthetic", "Synthetic (generated)"
    OTHER = "other", "Other"


class SampleStatus(models.TextChoices):
    EMPTY = "empty", "Empty"
    IMPORTING = "importing", "Importing"
    READY = "ready", "Ready"
    FAILED = "failed", "Last import failed"


class Sample(models.Model):
    """A named collection of posts and accounts submitted for coordination scoring."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    platforms = models.JSONField(default=list, blank=True, help_text="Platforms seen in the imported posts")
    collection_method = models.CharField(
        max_length=20, choices=CollectionMethod.choices, default=CollectionMethod.OTHER
    )
    collected_from = models.DateTimeField(null=True, blank=True)
    collected_to = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        "partners.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="samples"
    )
    tlp = models.CharField("TLP", max_length=12, choices=Tlp.choices, default=Tlp.AMBER)
    status = models.CharField(max_length=10, choices=SampleStatus.choices, default=SampleStatus.EMPTY)
    posts_count = models.PositiveIntegerField(default=0)
    accounts_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    posts = models.ManyToManyField("Post", through="SamplePost", related_name="samples")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SocialAccount(models.Model):
    """An account on a platform, as seen in imported samples."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    account_id = models.CharField(max_length=2048, help_text="The platform's id (hashed for small accounts)")
    handle = models.CharField(max_length=2048, blank=True)
    display_name = models.TextField(blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="When the platform says it was created")
    followers = models.BigIntegerField(null=True, blank=True)
    following = models.BigIntegerField(null=True, blank=True)
    post_count = models.BigIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["platform", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "account_id"], name="social_account_unique_platform_id")
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.handle or self.account_id}"


class Post(models.Model):
    """A post, share, reply or quote; stored once per platform post id whatever the samples it is in."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    post_id = models.CharField(max_length=2048)
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="posts")
    created_at = models.DateTimeField(db_index=True)
    text = models.TextField(blank=True)
    text_normalised = models.TextField(blank=True, help_text="Case-folded, URLs and mentions removed; for matching")
    reshare_of = models.CharField(max_length=2048, blank=True)
    reply_to = models.CharField(max_length=2048, blank=True)
    quote_of = models.CharField(max_length=2048, blank=True)
    urls = models.JSONField(default=list, blank=True)
    normalised_urls = models.JSONField(default=list, blank=True)
    domains = models.JSONField(default=list, blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    mentions = models.JSONField(default=list, blank=True)
    media_hashes = models.JSONField(default=list, blank=True)
    lang = models.CharField(max_length=35, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["platform", "post_id"], name="post_unique_platform_id")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.post_id}"


class SamplePost(models.Model):
    """A post's membership of a sample."""

    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sample", "post"], name="sample_post_unique")]

    def __str__(self) -> str:
        return f"{self.sample_id}:{self.post_id}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SampleImport(models.Model):
    """One file imported into a sample: the job's ledger, its progress, its counts and its checkpoint.

    Each batch commits together with the checkpoint (rows_done and the counts), so a job that dies mid-file
    resumes after the last committed batch: no row is stored twice and none is lost.
    """

    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="imports")
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=500, blank=True)
    source_path = models.CharField(
        max_length=1000, blank=True, help_text="A file on the server, for imports started from the command line"
    )
    original_name = models.CharField(max_length=500, blank=True)
    format = models.CharField(max_length=30, blank=True, help_text="Detected from the header when left empty")
    platform = models.CharField(
        max_length=20, choices=Platform.choices, blank=True, help_text="For layouts that do not say"
    )
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    error = models.TextField(blank=True)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0)
    inserted = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0, help_text="Rows merged into a post seen earlier in the file")
    accounts_seen = models.BigIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name or self.file.name} -> {self.sample}"

    @property
    def progress(self) -> float:
        if self.status == ImportStatus.DONE:
            return 1.0
        return min(1.0, self.bytes_done / self.bytes_total) if self.bytes_total else 0.0


class RejectedRow(models.Model):
    """A row of an imported file that was not stored, with where it is and why."""

    sample_import = models.ForeignKey(SampleImport, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.PositiveBigIntegerField()
    field = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    raw = models.TextField(blank=True)

    class Meta:
        ordering = ["sample_import", "line"]
        constraints = [
            models.UniqueConstraint(fields=["sample_import", "line"], name="rejected_row_unique_line"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
