"""Each sample holds its own records: an upload never reads, counts, merges into or scores another sample's records,
whether another organisation, the house or the same organisation (whose samples may have other audiences) holds them.

Run on the database CI names (PostgreSQL: the COPY writer) and on SQLite (the portable writer), with the file
read in the importing process and in a child process."""

import csv
import io

import pytest

from detection import scoring
from detection.ingest import jobs, services
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
    job = jobs.sample_import_run(import_id=job.pk)
    assert job.status == "done", job.error
    return job


def held_by(sample: Sample) -> list[tuple]:
    """Every stored value of a sample's posts and accounts."""
    posts = Post.objects.filter(sample=sample).order_by("pk").values_list()
    accounts = SocialAccount.objects.filter(sample=sample).order_by("pk").values_list()
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
    before = held_by(sample_b)

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

    assert held_by(sample_b) == before
    assert set(Post.objects.filter(samples=sample_a).values_list("sample", flat=True)) == {sample_a.pk}
    assert not Post.objects.filter(samples=sample_a, text__contains="SECRETB").exists()
    assert not Post.objects.filter(samples=sample_b, text__contains="FROMA").exists()
    assert SocialAccount.objects.get(sample=sample_b, account_id="acct0").handle == "b_handle"
    sample_a.refresh_from_db()
    assert (sample_a.posts_count, sample_a.accounts_count) == (12, 4)

    # Importing A's file again changes nothing anywhere.
    snapshot_a = held_by(sample_a)
    job = import_file(sample_a, tmp_path / "a.csv")
    assert (job.inserted, job.updated, job.unchanged) == (0, 0, 12)
    assert held_by(sample_a) == snapshot_a
    assert held_by(sample_b) == before


def test_every_sample_keeps_its_own_copy_even_within_one_owner(tmp_path, owners, reading):
    org_a, _ = owners
    house = services.sample_create(name="collected", tlp="AMBER")
    import_file(
        house, write_csv(tmp_path / "house.csv", CANONICAL, coordinated_posts("HOUSE", "https://h.example", "h"))
    )
    partner = services.sample_create(name="collected", tlp="AMBER", owner=org_a)  # names are unique per owner
    job = import_file(partner, tmp_path / "house.csv")
    assert job.inserted == 12
    # A's RED sample and A's AMBER sample have different audiences: the AMBER one must not gain the RED one's values.
    red = services.sample_create(name="named people only", tlp="RED", owner=org_a)
    import_file(red, write_csv(tmp_path / "red.csv", CANONICAL, coordinated_posts("REDONLY", "https://r.example", "r")))
    amber = services.sample_create(name="whole organisation", tlp="AMBER", owner=org_a)
    before = held_by(red)
    job = import_file(
        amber, write_csv(tmp_path / "amber.csv", CANONICAL, [{**r, "text": ""} for r in coordinated_posts("", "", "")])
    )
    assert (job.inserted, job.updated) == (12, 0)
    assert not Post.objects.filter(samples=amber, text__contains="REDONLY").exists()
    assert held_by(red) == before
    assert Post.objects.filter(post_id="p0-0").count() == 4
    assert set(Post.objects.filter(samples=house).values_list("sample", flat=True)) == {house.pk}


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
    before = held_by(sample_b)

    run = scoring.scoring_run_start(sample=sample_a, params={"min_weight": 1}, n_shards=2)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert CoordinationEdge.objects.filter(run=run).exists()
    accounts = set(CoordinationEdge.objects.filter(run=run).values_list("source__sample", "target__sample"))
    assert accounts == {(sample_a.pk, sample_a.pk)}
    evidence = EdgeEvidence.objects.filter(edge__run=run)
    assert evidence.exists()
    assert set(evidence.values_list("post_source__sample", flat=True)) == {sample_a.pk}
    assert set(evidence.values_list("post_target__sample", flat=True)) == {sample_a.pk}
    assert set(AccountScore.objects.filter(run=run).values_list("account__sample", flat=True)) == {sample_a.pk}
    assert held_by(sample_b) == before
