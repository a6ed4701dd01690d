from django.conf import settings
from django.db import models
from django.db.models import Q

from campaigns.vocabularies import Platform
from partners.markings import Tlp


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

    name = models.CharField(max_length=200)
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
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], condition=Q(owner__isnull=False), name="sample_unique_name_per_owner"
            ),
            models.UniqueConstraint(fields=["name"], condition=Q(owner__isnull=True), name="sample_unique_house_name"),
        ]

    def __str__(self) -> str:
        return self.name


def held_by(related_name: str) -> models.ForeignKey:
    """The sample that holds a post or an account: each sample keeps its own records, as it saw them."""
    return models.ForeignKey(
        Sample,
        on_delete=models.CASCADE,
        related_name=related_name,
        db_constraint=False,
        db_index=False,  # the unique constraint leads with it
        help_text=(
            "The sample that holds it. Each sample keeps its own posts and accounts, as that sample saw them: an "
            "upload only ever reads, merges into or counts records of its own sample, whoever else holds the same ids."
        ),
    )


class SocialAccount(models.Model):
    """An account on a platform, as one sample saw it (one per sample, platform and account id)."""

    sample = held_by("held_accounts")
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
            models.UniqueConstraint(
                fields=["sample", "platform", "account_id"], name="social_account_unique_sample_platform_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.handle or self.account_id}"


class Post(models.Model):
    """A post, share, reply or quote, as one sample saw it (one per sample, platform and post id)."""

    sample = held_by("held_posts")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    post_id = models.CharField(max_length=2048)
    # Posts and their sample links are written in bulk by the import, which joins every row to the account,
    # post and sample it refers to in the same transaction. PostgreSQL's per-row foreign-key check would cost
    # a third of the import's time, so these three keys are enforced by the import and by Django (PROTECT,
    # CASCADE), not by the database.
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="posts", db_constraint=False)
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
        constraints = [
            models.UniqueConstraint(fields=["sample", "platform", "post_id"], name="post_unique_sample_platform_id")
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.post_id}"


class SamplePost(models.Model):
    """A post's membership of a sample: since each sample holds its own posts, the post's own sample.

    Keyed by (sample, post) itself: a surrogate id would cost every import a sequence and a second unique
    index on the largest table there is (a row per post per sample).
    """

    pk = models.CompositePrimaryKey("sample_id", "post_id")
    sample = models.ForeignKey(  # indexed by the primary key, which leads with it
        Sample, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", db_constraint=False)

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
    unknown_columns = models.JSONField(
        default=list, blank=True, help_text="Header columns the file's layout does not read (ignored)"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    COUNTERS = ("rows_done", "inserted", "updated", "unchanged", "rejected", "duplicates", "accounts_seen")

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


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PREPARING = "preparing", "Reading the sample"
    SCORING = "scoring", "Scoring shards"
    REDUCING = "reducing", "Finding groups"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ScoringRun(models.Model):
    """The ledger of one scoring run of a sample: parameters, progress, timings and the result's fingerprint.

    A run's results never change; scoring again makes a new run, and earlier runs stay for comparison.
    """

    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="runs")
    params = models.JSONField(default=dict, help_text="Engine parameters (documented defaults when left out)")
    engine_version = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    n_shards = models.PositiveSmallIntegerField(default=4)
    n_parts = models.PositiveSmallIntegerField(
        default=0, help_text="Prepare parts, each reading its own range of the sample's posts (0: one per shard)"
    )
    shards_done = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per step")
    files = models.JSONField(
        default=dict, blank=True, help_text="The working files prepare wrote to storage: name, SHA-256 and size of each"
    )
    result_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the groups and scores")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Starts of the current step (prepare or reduce)")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last word from the worker on that step")
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until when that worker holds the step; empty while nobody has started it"
    )
    resumed_at = models.DateTimeField(null=True, blank=True, help_text="When the watchdog last re-enqueued a step")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.sample}"

    @property
    def progress(self) -> float:
        steps = {RunStatus.QUEUED: 0.0, RunStatus.PREPARING: 0.05, RunStatus.REDUCING: 0.9, RunStatus.DONE: 1.0}
        if self.status == RunStatus.SCORING and self.n_shards:
            return 0.1 + 0.8 * self.shards_done / self.n_shards
        return steps.get(self.status, 0.0)


class ShardStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    QUARANTINED = "quarantined", "Quarantined"


class RunShard(models.Model):
    """One shard of a run: who is on it, how often its current pass was started, and the files its passes wrote."""

    MAX_ATTEMPTS = 3

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="shards")
    shard = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=ShardStatus.choices, default=ShardStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last word from the worker on it")
    lease_expires_at = models.DateTimeField(null=True, blank=True, help_text="Until when that worker holds it")
    seconds = models.FloatField(null=True, blank=True)
    edges = models.JSONField(default=dict, blank=True, help_text="Its partial edges, once swept: their file")
    partition = models.JSONField(
        default=dict, blank=True, help_text="The shard's partition, assembled from the parts' fragments: its file"
    )
    pairs = models.JSONField(null=True, blank=True, help_text="Co-action pairs its sweep will build, per behaviour")
    evidence = models.JSONField(
        default=dict,
        blank=True,
        help_text="The pairs of posts on its objects that make a kept edge, once found: their file",
    )

    class Meta:
        ordering = ["run", "shard"]
        constraints = [models.UniqueConstraint(fields=["run", "shard"], name="run_shard_unique")]

    def __str__(self) -> str:
        return f"{self.run} shard {self.shard}"

    @property
    def current_pass(self) -> str:
        """The pass its status and attempts are about: assembling its partition, sweeping it, or finding the kept
        edges' pairs of posts on it (from the reduce's select on)."""
        if not self.partition:
            return "assemble"
        if not self.edges or (self.status == ShardStatus.DONE and not self.evidence):
            return "sweep"
        return "pairs of posts"


class RunPart(models.Model):
    """One part of a run's prepare: a range of the sample's posts (in post order) that one task turns into columns
    and per-shard fragments."""

    MAX_ATTEMPTS = 3

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="parts")
    part = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=ShardStatus.choices, default=ShardStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last word from the worker on it")
    lease_expires_at = models.DateTimeField(null=True, blank=True, help_text="Until when that worker holds it")
    seconds = models.FloatField(null=True, blank=True)
    files = models.JSONField(default=dict, blank=True, help_text="Its summary and per-shard fragments in storage")

    class Meta:
        ordering = ["run", "part"]
        constraints = [models.UniqueConstraint(fields=["run", "part"], name="run_part_unique")]

    def __str__(self) -> str:
        return f"{self.run} part {self.part}"


class GroupStatus(models.TextChoices):
    NEW = "new", "To review"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class CoordinatedGroup(models.Model):
    """A group of accounts the engine found acting together in one run, and the researcher's verdict."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="groups")
    number = models.PositiveIntegerField(help_text="The engine's group number within the run")
    score = models.FloatField()
    size = models.PositiveIntegerField()
    behaviours = models.JSONField(default=list)
    first_activity = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)
    reasons = models.TextField(blank=True)
    leader = models.ForeignKey(SocialAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=GroupStatus.choices, default=GroupStatus.NEW)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="coordinated_groups"
    )

    class Meta:
        ordering = ["run", "-score", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="group_unique_number")]

    def __str__(self) -> str:
        return f"Group {self.number} of run {self.run_id} ({self.size} accounts)"


class AccountScore(models.Model):
    """An account's score in a run, with its reasons; accounts without any kept edge score 0 and are omitted."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="account_scores")
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="scores")
    group = models.ForeignKey(CoordinatedGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="members")
    score = models.FloatField()
    flagged = models.BooleanField(default=False)
    reasons = models.TextField(blank=True)
    lead = models.PositiveIntegerField(default=0, help_text="Co-actions where the account acted first")
    follow = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "-score"]
        constraints = [models.UniqueConstraint(fields=["run", "account"], name="account_score_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.score:.2f}"


class CoordinationEdge(models.Model):
    """Two accounts that co-acted on shared objects more than chance explains, for one behaviour.

    Edges and their evidence are a run's bulk results: tens of thousands of edges and hundreds of thousands of
    evidence rows, written once by the run's final step from the run's own arrays, in one transaction, and never
    changed. Their references are kept by Django (CASCADE from the run and the group, PROTECT of the accounts and
    posts), not by database constraints: the constraints' checks at the commit, one lookup and row lock per
    reference, took 4.5 of a 7.4 s store at a million posts (the evidence's posts were already Django's).
    """

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="edges", db_constraint=False)
    group = models.ForeignKey(
        CoordinatedGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="edges", db_constraint=False
    )
    source = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    target = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    behaviour = models.CharField(max_length=20)
    weight = models.PositiveIntegerField()
    weight_source_first = models.PositiveIntegerField(default=0, help_text="Co-actions where the source was first")
    weight_target_first = models.PositiveIntegerField(default=0)
    expected = models.FloatField(help_text="Co-actions chance would give under the null model")
    p_value = models.FloatField()
    q_value = models.FloatField()
    median_dt = models.FloatField(null=True, blank=True, help_text="Median seconds between the paired posts")

    class Meta:
        ordering = ["run", "behaviour", "-weight"]
        constraints = [
            models.UniqueConstraint(fields=["run", "behaviour", "source", "target"], name="edge_unique_per_behaviour")
        ]

    def __str__(self) -> str:
        return f"{self.source} - {self.target} ({self.behaviour}, {self.weight})"


class EdgeEvidence(models.Model):
    """A pair of posts that makes an edge: what the two accounts did, and how far apart in time.

    Its references are Django's, as the edge's are (see CoordinationEdge): a cited post cannot be deleted through
    the ORM (PROTECT), and the app deletes no other way; a run's sample, whose posts these are, is itself protected
    by its runs.
    """

    edge = models.ForeignKey(CoordinationEdge, on_delete=models.CASCADE, related_name="evidence", db_constraint=False)
    post_source = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    post_target = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    dt = models.FloatField(help_text="Seconds from the source's post to the target's")

    class Meta:
        ordering = ["edge", "dt"]

    def __str__(self) -> str:
        return f"{self.post_source_id} / {self.post_target_id}"


class ClassifierModel(models.Model):
    """One trained version of the classifier of groups (inauthentic or benign coordination), with how well it did.

    The file is read back only if its SHA-256 is still the one recorded here (see detection.learning.classifier).
    At most one version is current: a retrained one becomes current only if it is no worse than the current one
    on the same held-out folds.
    """

    version = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    features_version = models.CharField(max_length=20)
    feature_names = models.JSONField(default=list)
    seeds = models.PositiveIntegerField(default=0, help_text="Groups of generated samples it learned from")
    archive_groups = models.PositiveIntegerField(
        default=0, help_text="Groups of samples from X's information-operations archive it learned from, as inauthentic"
    )
    verdicts = models.PositiveIntegerField(default=0, help_text="Researchers' verdicts it learned from")
    fold_precision = models.JSONField(default=list, help_text="Precision on each held-out fold")
    fold_recall = models.JSONField(default=list, help_text="Recall on each held-out fold")
    mean_precision = models.FloatField()
    mean_recall = models.FloatField()
    compared_precision = models.FloatField(
        null=True, blank=True, help_text="The then current model's mean precision on the same folds"
    )
    compared_recall = models.FloatField(null=True, blank=True)
    is_current = models.BooleanField(default=False)
    decision = models.TextField(blank=True, help_text="Why it did or did not become the current model")
    file_path = models.CharField(max_length=500)
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True), name="one_current_classifier")
        ]

    def __str__(self) -> str:
        return f"Classifier v{self.version}"


class GroupFeatures(models.Model):
    """What the classifier reads of a group, computed from the engine's result when the run was reduced."""

    group = models.OneToOneField(CoordinatedGroup, on_delete=models.CASCADE, related_name="features")
    features_version = models.CharField(max_length=20)
    values = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"Features of {self.group}"


class GroupPrediction(models.Model):
    """A classifier version's probability that a group is inauthentic coordination, and what drove it.

    A prediction sits beside the engine's score and the researcher's verdict; it never changes either.
    """

    group = models.ForeignKey(CoordinatedGroup, on_delete=models.CASCADE, related_name="predictions")
    model = models.ForeignKey(ClassifierModel, on_delete=models.PROTECT, related_name="predictions")
    probability = models.FloatField()
    top_features = models.JSONField(default=list, help_text="[feature, signed log-odds contribution], largest first")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "-model__version"]
        constraints = [models.UniqueConstraint(fields=["group", "model"], name="one_prediction_per_group_and_model")]

    def __str__(self) -> str:
        return f"{self.group}: {self.probability:.2f} (v{self.model.version})"


class NarrativeDiscovery(models.Model):
    """The ledger of a run's narrative clustering: who last asked for it and when, and what the last one found."""

    run = models.OneToOneField(ScoringRun, on_delete=models.CASCADE, related_name="narrative_discovery")
    requested_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    posts = models.PositiveIntegerField(default=0, help_text="Posts with text of the flagged groups, clustered")
    clusters = models.PositiveIntegerField(default=0, help_text="Clusters found (reviewed ones found again included)")
    noise = models.PositiveIntegerField(default=0, help_text="Posts in no cluster")
    seconds = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Narratives of run {self.run_id}"


class NarrativeStatus(models.TextChoices):
    NEW = "new", "To review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class NarrativeCluster(models.Model):
    """Posts of a run's flagged groups that tell one story, the catalogue narrative they are suggested to be, and
    the researcher's verdict on that suggestion."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="narrative_clusters")
    number = models.PositiveIntegerField(help_text="The cluster's number within the run")
    top_terms = models.JSONField(default=list, help_text="The words that most set its posts apart from the others")
    size = models.PositiveIntegerField(help_text="Posts in it")
    accounts_count = models.PositiveIntegerField(default=0)
    languages = models.JSONField(default=list, blank=True, help_text="The posts' languages, most frequent first")
    cohesion = models.FloatField(help_text="Mean cosine similarity of its distinct texts to its centroid")
    first_post_at = models.DateTimeField(null=True, blank=True)
    last_post_at = models.DateTimeField(null=True, blank=True)
    groups = models.ManyToManyField(CoordinatedGroup, blank=True, related_name="narrative_clusters")
    posts = models.ManyToManyField(Post, through="NarrativeClusterPost", related_name="+")
    suggested = models.ForeignKey(
        "campaigns.Narrative", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The catalogue narrative most like it, when at least as alike as the threshold",
    )  # fmt: skip
    suggested_score = models.FloatField(
        default=0.0, help_text="Cosine similarity of its centroid to the best narrative's texts (shown even below)"
    )
    status = models.CharField(max_length=10, choices=NarrativeStatus.choices, default=NarrativeStatus.NEW)
    narrative = models.ForeignKey(
        "campaigns.Narrative", null=True, blank=True, on_delete=models.PROTECT, related_name="detected_clusters",
        help_text="The narrative a researcher accepted it as",
    )  # fmt: skip
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "-size", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="narrative_cluster_unique_number"),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(narrative__isnull=False), name="narrative_cluster_accepted_as"
            ),
        ]

    def __str__(self) -> str:
        return f"Narrative cluster {self.number} of run {self.run_id}: {', '.join(self.top_terms[:4])}"


class NarrativeClusterPost(models.Model):
    """A post in a narrative cluster; its representatives (closest to the centroid) are ranked 1, 2, 3..."""

    cluster = models.ForeignKey(NarrativeCluster, on_delete=models.CASCADE, related_name="memberships")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    representative_rank = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["cluster", "representative_rank", "post"]
        constraints = [models.UniqueConstraint(fields=["cluster", "post"], name="narrative_cluster_post_unique")]

    def __str__(self) -> str:
        return f"{self.cluster_id}:{self.post_id}"
