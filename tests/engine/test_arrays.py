import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine.arrays import extend_in_place, sorted_unique, unique_in_place


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=60), st.integers(1, 8))
def test_unique_in_place_keeps_each_key_once(values, spread):
    keys = np.sort(np.array(values, dtype=np.int64) // spread)
    expected = np.unique(keys)
    got = unique_in_place(keys)
    assert got.dtype == np.int64 and got.tolist() == expected.tolist()
    assert sorted_unique(np.array(values, dtype=np.int64) // spread).tolist() == expected.tolist()


@pytest.mark.parametrize("distinct", [10, 1_500_000, 2**40])
def test_unique_in_place_across_blocks(distinct):
    """More keys than one block of the compaction, with many repeats, a few, or none."""
    keys = np.sort(np.random.default_rng(distinct).integers(0, distinct, 2_500_000))
    expected = np.unique(keys)
    got = unique_in_place(keys)
    assert np.array_equal(got, expected) and got.flags.owndata


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=30), max_size=6))
def test_extended_chunks_sorted_in_place_give_the_distinct_keys_of_all(chunks):
    """The sweep's way of gathering chunks' keys: each sorted and deduplicated, appended, then all once more."""
    matched = np.zeros(0, dtype=np.int64)
    for chunk in chunks:
        keys = np.array(chunk, dtype=np.int64)
        keys.sort()
        matched = extend_in_place(matched, unique_in_place(keys))
    matched.sort()
    expected = sorted({k for chunk in chunks for k in chunk})
    assert unique_in_place(matched).tolist() == expected
