"""merge_post, the one rule for a post seen twice, without a database."""

from datetime import UTC, datetime, timedelta

from detection.engine.records import PostRecord, merge_post

T = datetime(2024, 3, 1, tzinfo=UTC)


def test_the_first_sighting_keeps_who_when_and_its_values_and_gains_what_it_lacks():
    kept = PostRecord("x", "p", "a", T, line=2, urls=("u1", "u1"), hashtags=("h2", "h1"), lang="de")
    seen = PostRecord(
        "x", "p", "b", T + timedelta(1), line=9, text="t", reshare_of="r", urls=("u2", "u1", "u2"), lang="en"
    )
    merged = merge_post(kept, seen)
    assert (merged.account_id, merged.created_at, merged.line) == ("a", T, 2)
    assert (merged.text, merged.reshare_of, merged.lang) == ("t", "r", "de")
    assert merged.urls == ("u1", "u1", "u2")  # kept's items as they are, then the ones it lacks, once each
    assert merged.hashtags == ("h2", "h1")


def test_merging_a_sighting_again_changes_nothing():
    kept = PostRecord("x", "p", "a", T, hashtags=("h1",))
    seen = PostRecord("x", "p", "a", T, text="t", hashtags=("h2", "h1"), media_hashes=("m",))
    once = merge_post(kept, seen)
    assert merge_post(once, seen) is once
    assert merge_post(once, kept) is once
