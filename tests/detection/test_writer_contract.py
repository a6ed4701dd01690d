"""Every BatchWriter stores the same rows, and a post seen twice is stored as merge_post makes it.

The same files are read into the same batches (the same rows, the same boundaries) for each writer, as an
import would: a batch per transaction, a new writer per file. The ORM writer runs on whatever database this
run uses, the COPY writer only on PostgreSQL. `make test` runs this file twice: against PostgreSQL (both
writers, and the two compared row for row) and against SQLite (the ORM writer).
"""

import csv
from functools import reduce

import pytest
from django.db import connection, transaction

from detection.engine.normalise import normalise_text
from detection.engine.readers import read_sample
from detection.engine.records import PostRecord, merge_post
from detection.ingest.batches import POST_LISTS, POST_SCALARS, read_batches
from detection.ingest.orm_writer import OrmWriter
from detection.ingest.pg_writer import PgCopyWriter
from detection.ingest.services import sample_create
from detection.ingest.writers import BatchWriter, WriteCounts
from detection.models import Post, SamplePost, SocialAccount

pytestmark = pytest.mark.django_db

POSTS = ["platform", "post_id", "account_id", "created_at", "text", "reshare_of", "reply_to", "quote_of"]
POSTS += ["urls", "hashtags", "mentions", "media_hashes", "lang", "handle"]
ACCOUNTS = ["platform", "account_id", "handle", "display_name", "created_at", "followers", "following", "posts"]
ACCOUNTS += ["description"]
BATCH_ROWS = 3


def at(minute: int) -> str:
    return f"2024-03-01T10:{minute:02d}:00Z"


# Batches of three rows. p1 is seen twice in its first batch and again in the next; p2 again in the third,
# p3 and p4 again in the second file; accounts a1 and a2 are named by several rows with and without a handle,
# then again in the accounts file, where a1 is seen twice. The third batch of posts.csv, with no duplicate,
# is read as columns on the way to the COPY writer.
FIRST = [
    {"post_id": "p1", "account_id": "a1", "created_at": at(1), "urls": "https://e.example/1", "hashtags": "#h1"},
    {"post_id": "p2", "account_id": "a2", "created_at": at(2), "text": "two", "handle": "h2"},
    {
        "post_id": "p1",
        "account_id": "a1",
        "created_at": at(1),
        "text": "first text of p1",
        "urls": "https://e.example/2",
        "hashtags": "#h2 #h1",
        "handle": "ha1",
    },
    {"post_id": "p3", "account_id": "a1", "created_at": at(3), "reshare_of": "p2", "mentions": "@m1"},
    {
        "post_id": "p1",
        "account_id": "a1",
        "created_at": at(1),
        "text": "a later text, never taken",
        "urls": "https://e.example/1 https://e.example/3",
        "media_hashes": "m1",
        "lang": "de",
    },
    {"post_id": "p4", "account_id": "a3", "created_at": at(4), "text": "four"},
    {"post_id": "p2", "account_id": "a2", "created_at": at(2), "reply_to": "p1", "hashtags": "#x", "handle": "h2b"},
    {"post_id": "p5", "account_id": "a3", "created_at": at(5), "text": "five", "handle": "h3"},
    {"post_id": "p6", "account_id": "a4", "created_at": at(6)},
]
SECOND = [
    {"post_id": "p4", "account_id": "a3", "created_at": at(4), "text": "other", "hashtags": "#h4", "lang": "en"},
    {"post_id": "p3", "account_id": "a1", "created_at": at(3), "text": "three", "mentions": "@m2 @m1"},
    {"post_id": "p7", "account_id": "a5", "created_at": at(7), "quote_of": "p1", "handle": "h5"},
    {"post_id": "p1", "account_id": "a1", "created_at": at(1), "quote_of": "p4", "hashtags": "#h3 #h2"},
]
ACCOUNT_ROWS = [
    {"account_id": "a1", "display_name": "A One", "handle": "not taken"},
    {"account_id": "a2", "followers": "0", "description": "second"},
    {"account_id": "a1", "followers": "10", "created_at": "2020-01-01T00:00:00Z", "description": "first"},
    {"account_id": "a6", "handle": "h6", "following": "3", "posts": "4"},
    {"account_id": "a2", "followers": "5", "display_name": "A Two"},
]
# What the accounts must hold: each field is the first non-empty value seen (0 is a value).
EXPECTED_ACCOUNTS = {
    "a1": ("ha1", "A One", "2020-01-01T00:00:00+00:00", 10, None, None, "first"),
    "a2": ("h2", "A Two", None, 0, None, None, "second"),
    "a3": ("h3", "", None, None, None, None, ""),
    "a4": ("", "", None, None, None, None, ""),
    "a5": ("h5", "", None, None, None, None, ""),
    "a6": ("h6", "", None, None, 3, 4, ""),
}


def write_csv(path, columns, rows, **defaults):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([{**defaults, **row}.get(c, "") for c in columns])
    return path


@pytest.fixture
def files(tmp_path):
    """The files of the scenario, in import order, each with its format."""
    return [
        (write_csv(tmp_path / "posts.csv", POSTS, FIRST, platform="x"), "canonical-csv"),
        (write_csv(tmp_path / "more.csv", POSTS, SECOND, platform="x"), "canonical-csv"),
        (write_csv(tmp_path / "accounts.csv", ACCOUNTS, ACCOUNT_ROWS, platform="x"), "canonical-accounts-csv"),
    ]


def import_file(writer: BatchWriter, path, fmt: str) -> list[WriteCounts]:
    """Read a file into batches for this writer and write each in a transaction of its own, as an import does."""
    counts = []
    batches = read_batches(
        path=str(path),
        fmt=fmt,
        platform=None,
        max_inflated_bytes=1 << 30,
        max_inflation_ratio=100.0,
        skip_rows=0,
        batch_rows=BATCH_ROWS,
        copy_text=writer.copy_text,
    )
    for batch in batches:
        if not batch.rows:
            continue
        with transaction.atomic():
            counts.append(writer.write(batch))
        writer.committed()
    return counts


def import_all(make_writer, files) -> list[list[WriteCounts]]:
    """Every file once, then every file again (a re-import), each file with a new writer; the counts per file."""
    sample = sample_create(name=f"contract {make_writer.__name__}", tlp="AMBER")
    return [import_file(make_writer(sample.pk), path, fmt) for path, fmt in [*files, *files]]


def stored_rows(writer_class) -> tuple[dict, dict, list]:
    """What the writer left in its sample: posts and accounts by key, and the posts linked to the sample."""
    sample = f"contract {writer_class.__name__}"
    columns = ("post_id", "account__account_id", "created_at", *POST_SCALARS, *POST_LISTS)
    posts = {row[0]: row[1:] for row in Post.objects.filter(sample__name=sample).values_list(*columns)}
    accounts = {
        row[0]: (*row[1:3], row[3] and row[3].isoformat(), *row[4:])
        for row in SocialAccount.objects.filter(sample__name=sample).values_list(
            "account_id", "handle", "display_name", "created_at", "followers", "following", "post_count", "description"
        )
    }
    links = sorted(SamplePost.objects.filter(sample__name=sample).values_list("post__post_id", flat=True))
    return posts, accounts, links


def merged_posts(files) -> dict[str, PostRecord]:
    """Each post of the files as merge_post makes it from its sightings, taken in the order the files give them."""
    sightings: dict[str, list[PostRecord]] = {}
    for path, fmt in files:
        for record in read_sample(path, fmt):
            if isinstance(record, PostRecord):
                sightings.setdefault(record.post_id, []).append(record)
    return {post_id: reduce(merge_post, seen) for post_id, seen in sightings.items()}


def as_row(record: PostRecord) -> tuple:
    """A post as the columns `stored_rows` reads, its normalised text made from its text."""
    scalars = {name: getattr(record, name) for name in POST_SCALARS if name != "text_normalised"}
    scalars["text_normalised"] = normalise_text(record.text) if record.text else ""
    return (
        record.account_id,
        record.created_at,
        *[scalars[name] for name in POST_SCALARS],
        *[list(getattr(record, name)) for name in POST_LISTS],
    )


WRITERS = {"orm": OrmWriter, "copy": PgCopyWriter}


def writer_class(kind: str):
    if kind == "copy" and connection.vendor != "postgresql":
        pytest.skip("the COPY writer needs PostgreSQL; make test also runs this file against it")
    return WRITERS[kind]


@pytest.mark.parametrize("kind", WRITERS)
def test_a_writer_stores_each_post_as_merge_post_makes_it_and_a_reimport_changes_nothing(files, kind):
    cls = writer_class(kind)
    counts = import_all(cls, files)
    posts, accounts, links = stored_rows(cls)
    expected = merged_posts(files)
    assert posts == {post_id: as_row(record) for post_id, record in expected.items()}
    assert posts["p1"][2:] == (  # the merge the scenario is built around, spelled out
        "first text of p1",
        normalise_text("first text of p1"),
        "",
        "",
        "p4",
        "de",
        ["https://e.example/1", "https://e.example/2", "https://e.example/3"],
        ["https://e.example/1", "https://e.example/2", "https://e.example/3"],
        ["e.example"],
        ["h1", "h2", "h3"],
        [],
        ["m1"],
    )
    assert accounts == EXPECTED_ACCOUNTS
    assert links == sorted(expected)
    first, again = counts[: len(files)], counts[len(files) :]
    assert [sum(c.posts[0] for c in file_counts) for file_counts in first] == [6, 1, 0]
    assert all(c.posts == c.accounts == (0, 0) for file_counts in again for c in file_counts)


def test_both_writers_store_the_same_rows_and_count_alike(files):
    writer_class("copy")
    orm_counts, copy_counts = import_all(OrmWriter, files), import_all(PgCopyWriter, files)
    assert stored_rows(OrmWriter) == stored_rows(PgCopyWriter)
    assert orm_counts == copy_counts
