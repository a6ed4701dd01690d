"""The post store is scoped by owner: an upload never reads, counts, merges into or scores another owner's records.

Run on the database CI names (PostgreSQL: the COPY writer) and on SQLite (the portable writer), with the file
read in the importing process and in a child process."""

import csv
import io

import pytest

from detection import scoring, services
from detection.models import AccountScore, CoordinationEdge, EdgeEvidence, Post, Sample, SocialAccount
from partners.models import Organisation

from .test_import import CANONICAL

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT_COLUMNS = ["platform", "account_id", "handle", "display_name", "created_at", "followers", "description"]


@pytest.fixture(params=["in this process", "in a child process"])
def reading(request, settings):
    settings.SAMPLE_IMPORT_CHILD_PROCESS_BYTES = 0 if request.param == "in a child process" else 1 << 40
    return request.param


def write_csv(path, columns, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    path.write_text(buffer.getvalue())
    return path


def coordinated_posts(tag: str, url: str, hashtag: str) -> list[dict]:
    """Twelve posts by four accounts, three rounds of the same link and hashtag within seconds."""
    return [
        {
            "platform": "x",
            "post_id": f"p{round_}-{member}",
            "account_id": f"acct{member}",
            "created_at": f"2024-01-1{round_}T10:00:0{member}Z",
            "text": f"{tag} message {round_}",
            "urls": url,
            "hashtags": hashtag,
        }
        for round_ in range(3)
        for member in range(4)
    ]


def import_file(sample: Sample, path):
    job = services.sample_import_create(sample=sample, source_path=path)
    job = services.sample_import_run(import_id=job.pk)
    assert job.status == "done", job.error
    return job


def scope_snapshot(scope: int) -> list[tuple]:
    """Every stored value of a scope's posts and accounts."""
    posts = Post.objects.filter(owner_scope=scope).order_by("pk").values_list()
    accounts = SocialAccount.objects.filter(owner_scope=scope).order_by("pk").values_list()
    return [*posts, *accounts]


@pytest.fixture
def owners():
    return Organisation.objects.create(name="Org A", slug="org-a"), Organisation.objects.create(
        name="Org B", slug="org-b"
    )


def test_an_upload_naming_another_owners_posts_neither_sees_nor_changes_them(tmp_path, owners, reading):
    org_a, org_b = owners
    sample_b = services.sample_create(name="B's sample", tlp="AMBER+STRICT", owner=org_b)
    import_file(
        sample_b,
        write_csv(tmp_path / "b.csv", CANONICAL, coordinated_posts("SECRETB", "https://b.example/x", "bsecret")),
    )
    import_file(
        sample_b,
        write_csv(
            tmp_path / "b-accounts.csv",
            ACCOUNT_COLUMNS,
            [{"platform": "x", "account_id": "acct0", "handle": "b_handle", "display_name": "B's name"}],
        ),
    )
    before = scope_snapshot(org_b.pk)

    # A names the same post and account ids, with values of its own that would fill B's empty fields.
    sample_a = services.sample_create(name="A's sample", tlp="AMBER", owner=org_a)
    injected = coordinated_posts("FROMA", "https://a-inject.example/y", "ainject")
    for row in injected:
        row.update(reply_to="injected-reply", lang="xx", mentions="injected")
    job = import_file(sample_a, write_csv(tmp_path / "a.csv", CANONICAL, injected))
    assert (job.inserted, job.updated, job.unchanged) == (12, 0, 0)  # no existence oracle
    job = import_file(
        sample_a,
        write_csv(
            tmp_path / "a-accounts.csv",
            ACCOUNT_COLUMNS,
            [{"platform": "x", "account_id": "acct0", "handle": "a_handle", "followers": "5", "description": "A"}],
        ),
    )
    assert (job.inserted, job.updated) == (0, 1)  # A's own account (made by its posts file), not B's

    assert scope_snapshot(org_b.pk) == before
    assert set(Post.objects.filter(samples=sample_a).values_list("owner_scope", flat=True)) == {org_a.pk}
    assert not Post.objects.filter(samples=sample_a, text__contains="SECRETB").exists()
    assert not Post.objects.filter(samples=sample_b, text__contains="FROMA").exists()
    assert SocialAccount.objects.get(owner_scope=org_b.pk, account_id="acct0").handle == "b_handle"
    sample_a.refresh_from_db()
    assert (sample_a.posts_count, sample_a.accounts_count) == (12, 4)

    # Importing A's file again changes nothing anywhere.
    snapshot_a = scope_snapshot(org_a.pk)
    job = import_file(sample_a, tmp_path / "a.csv")
    assert (job.inserted, job.updated, job.unchanged) == (0, 0, 12)
    assert scope_snapshot(org_a.pk) == snapshot_a
    assert scope_snapshot(org_b.pk) == before


def test_the_house_and_each_owner_keep_their_own_copy(tmp_path, owners, reading):
    org_a, _ = owners
    rows = coordinated_posts("HOUSE", "https://house.example/z", "house")
    house = services.sample_create(name="collected", tlp="AMBER")
    import_file(house, write_csv(tmp_path / "house.csv", CANONICAL, rows))
    partner = services.sample_create(name="collected", tlp="AMBER", owner=org_a)  # names are unique per owner
    job = import_file(partner, tmp_path / "house.csv")
    assert job.inserted == 12
    assert Post.objects.filter(post_id="p0-0").count() == 2
    assert set(Post.objects.filter(samples=house).values_list("owner_scope", flat=True)) == {0}
    # A second sample of the same owner shares that owner's records, as before.
    second = services.sample_create(name="collected again", tlp="AMBER", owner=org_a)
    job = import_file(second, tmp_path / "house.csv")
    assert (job.inserted, job.updated, job.unchanged) == (0, 0, 12)
    assert Post.objects.filter(post_id="p0-0").count() == 2


def test_a_run_reads_and_reports_only_its_own_samples_records(tmp_path, owners, celery_in_process):
    org_a, org_b = owners
    sample_b = services.sample_create(name="B", tlp="AMBER+STRICT", owner=org_b)
    import_file(
        sample_b, write_csv(tmp_path / "b.csv", CANONICAL, coordinated_posts("SECRETB", "https://b.example/x", "b"))
    )
    sample_a = services.sample_create(name="A", tlp="AMBER", owner=org_a)
    import_file(
        sample_a, write_csv(tmp_path / "a.csv", CANONICAL, coordinated_posts("FROMA", "https://a.example/y", "a"))
    )
    before = scope_snapshot(org_b.pk)

    run = scoring.scoring_run_start(sample=sample_a, params={"min_weight": 1}, n_shards=2)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert CoordinationEdge.objects.filter(run=run).exists()
    accounts = set(CoordinationEdge.objects.filter(run=run).values_list("source__owner_scope", "target__owner_scope"))
    assert accounts == {(org_a.pk, org_a.pk)}
    evidence = EdgeEvidence.objects.filter(edge__run=run)
    assert evidence.exists()
    assert set(evidence.values_list("post_source__owner_scope", flat=True)) == {org_a.pk}
    assert set(evidence.values_list("post_target__owner_scope", flat=True)) == {org_a.pk}
    assert set(AccountScore.objects.filter(run=run).values_list("account__owner_scope", flat=True)) == {org_a.pk}
    assert scope_snapshot(org_b.pk) == before
