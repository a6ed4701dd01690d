import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.engine import EngineParams, run
from detection.engine.textsim import minhash_signatures, normalise_text
from tests.engine.helpers import post

BASE = "the election was stolen and everyone must share this before it is deleted"
ZH = "投票已经被操纵了请大家在被删除之前尽快转发这条消息给所有的朋友"


def test_normalise_text_like_the_peers():
    assert normalise_text("  Hello @Someone   WORLD\n") == "hello world"
    assert normalise_text("ＡＢＣ") == "abc"


def test_signatures_agree_with_similarity():
    texts = [BASE, BASE + " now", "a completely different sentence about the weather in spring", ZH, ZH + "吧"]
    sig = minhash_signatures(texts, 5, 30, seed=1)
    agree = (sig[:, None, :] == sig[None, :, :]).mean(axis=2)
    assert agree[0, 1] > 0.7
    assert agree[0, 2] < 0.2
    assert agree[3, 4] > 0.7
    assert agree[0, 3] < 0.2


def test_similar_text_finds_near_duplicates_in_chinese_and_english():
    posts = [
        post("1", "a", 0, text=BASE),
        post("2", "b", 10, text=BASE + " now"),
        post("3", "c", 20, text="a completely different sentence about the weather in spring"),
        post("4", "d", 0, text=ZH),
        post("5", "e", 5, text=ZH + "吧"),
        post("6", "f", 500, text=BASE),  # outside the window
    ]
    result = run(posts, params=EngineParams(behaviours=("similar-text", "same-text"), min_weight=1, window_s=60))
    keys = result.arrays.account_keys
    sim = result.edges["similar-text"]
    pairs = {(keys[a][-1], keys[b][-1]) for a, b in zip(sim.a, sim.b, strict=True)}
    assert pairs == {("a", "b"), ("d", "e")}
    assert len(result.edges["same-text"].a) == 0


def test_similar_text_reports_each_pair_once_whatever_the_bands():
    posts = [post(str(i), f"acc{i}", i, text=BASE) for i in range(4)]
    result = run(posts, params=EngineParams(behaviours=("similar-text",), min_weight=1, lsh_bands=12, lsh_rows=2))
    e = result.edges["similar-text"]
    assert len(e.a) == 6
    assert np.all(e.details.n_pairs == 1)
    assert result.summary["behaviours"]["similar-text"]["coaction_pairs"] == 6


PIECES = ["＠Bob", "@a", "ΣΑΣ", "ﬁ", " \t", "Ａ", "x", "e\u0301", "\u1e9b\u0323"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES) | st.text(max_size=5)).map("".join), max_size=12))
def test_normalise_texts_is_normalise_text_of_each(texts):
    from detection.engine.textsim import normalise_texts

    assert normalise_texts(texts) == [normalise_text(t) for t in texts]
