"""Narrative discovery on a small hand-made corpus in three scripts, and matching clusters to known narratives."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from detection.engine.narratives import NOISE, NarrativeParams, cluster_texts, match_narratives
from detection.engine.synthetic import generate, narrative_texts, narrative_truth

CORPUS = {
    "zh-ballots": [
        "有人爆料：執政黨在台中的開票所偷偷換掉了選票，三千張票下落不明！",
        "有人爆料：中選會在高雄的開票所偷偷換掉了選票，一萬張票下落不明！",
        "昨晚有人爆料：總統府在新北的開票所偷偷換掉了選票，五千多張票下落不明！",
        "有人爆料：立法院多數黨在台南的開票所偷偷換掉了選票，上萬張票下落不明！",
        "今天有人爆料：執政黨在桃園的開票所偷偷換掉了選票，兩千張票下落不明！",
        "有人爆料：中選會在台中的開票所偷偷換掉了選票，五千多張票下落不明！",
    ],
    "zh-war": [
        "投給執政黨就是投給戰爭，美國又要把台灣當棋子，年輕人會被送上戰場。",
        "投給綠營就是投給戰爭，美國又要把台灣當炮灰，年輕人會被送上戰場。",
        "投給民進黨就是投給戰爭，今天美國又要把台灣當提款機，年輕人會被送上戰場。",
        "投給他們就是投給戰爭，這幾天美國又要把台灣當前線基地，年輕人會被送上戰場。",
        "投給綠營就是投給戰爭，上週美國又要把台灣當棋子，年輕人都會被送上戰場。",
        "投給執政黨就是投給戰爭，美國又要把台灣當炮灰，我們的年輕人會被送上戰場。",
    ],
    "ru-fraud": [
        "Сегодня в Казани вбросили тысячи бюллетеней, власти всё знают и молчат. Выборы украдены!",
        "Вчера вечером в Самаре вбросили сотни бюллетеней, ЦИК всё знает и молчит. Выборы украдены!",
        "В Твери вбросили десятки тысяч бюллетеней, депутаты всё знают и молчат. Выборы украдены!",
        "Прямо сейчас в Перми вбросили пачки бюллетеней, власти всё знают и молчат. Выборы украдены!",
        "На этой неделе в Омске вбросили тысячи бюллетеней, правительство всё знает и молчит. Выборы украдены!",
        "Сегодня в Самаре вбросили сотни бюллетеней, власти всё знают и молчат. Выборы снова украдены!",
    ],
    "ru-west": [
        "Запад хочет развалить страну: оппозиция снова получила инструкции из Вашингтона.",
        "Запад хочет устроить майдан: иноагенты вчера снова получили инструкции из Брюсселя.",
        "Запад хочет сорвать выборы: блогеры снова получили инструкции из Лондона.",
        "Запад хочет посадить своих людей: НКО сегодня снова получили инструкции из Госдепа.",
        "Запад хочет развалить страну: иноагенты снова получили инструкции из Лондона.",
        "Запад хочет устроить майдан: оппозиция на этой неделе снова получила инструкции из Вашингтона.",
    ],
    "en-machines": [
        "BREAKING: voting machines in Maricopa flipped thousands of votes today. Officials knew and did nothing!",
        "BREAKING: voting machines in Fulton county flipped 40,000 votes last night. The board knew and did nothing!",
        "BREAKING: voting machines in Wayne county flipped 12,000 votes. The governor knew and did nothing!",
        "BREAKING: voting machines in Clark county flipped tens of thousands of votes. They knew and did nothing!",
        "BREAKING: voting machines in Dallas flipped thousands of votes this week. Officials knew and did nothing!",
        "BREAKING: the voting machines in Maricopa flipped 12,000 votes. Party officials knew and did nothing!",
    ],
    "en-postal": [
        "Mail-in ballots are being dumped by the truckload. The postal vote is a scam run by the ruling party.",
        "Mail-in ballots are being shredded by the box, today. The postal vote is a scam run by the governor.",
        "Mail-in ballots are being lost by the thousands. The postal vote is a scam run by the election board.",
        "Mail-in ballots are being filled out by the bagful, right now. The postal vote is a scam run by officials.",
        "Mail-in ballots are being thrown away by the truckload. The postal vote is a scam run by the incumbent.",
        "Mail-in ballots are being dumped by the box this week. The postal vote is a scam run by party officials.",
    ],
}
PARAMS = NarrativeParams(min_cluster_size=4, seed=7)


def _corpus() -> tuple[list[str], list[str]]:
    texts, truth = [], []
    for key, variants in CORPUS.items():
        texts.extend(variants)
        truth.extend([key] * len(variants))
    return texts, truth


def test_clusters_separate_the_templates_in_three_scripts():
    texts, truth = _corpus()
    clustering = cluster_texts(texts, PARAMS)
    assert adjusted_rand_score(truth, clustering.labels) >= 0.9
    assert len(clustering.clusters) == len(CORPUS)
    assert NOISE not in clustering.labels.tolist()


def test_clusters_are_named_by_their_words_and_representative_posts():
    texts, truth = _corpus()
    clustering = cluster_texts(texts, PARAMS)
    for cluster in clustering.clusters:
        keys = {truth[i] for i in cluster.members}
        assert len(keys) == 1
        assert {truth[i] for i in cluster.representatives} == keys
        assert len(cluster.representatives) == PARAMS.representatives
    terms_of = {truth[c.members[0]]: c.top_terms for c in clustering.clusters}
    assert "machines" in terms_of["en-machines"]
    assert "бюллетеней" in terms_of["ru-fraud"]
    assert any("戰場" in term for term in terms_of["zh-war"])


def test_repeated_copies_join_the_cluster_of_their_text_and_the_result_is_deterministic():
    texts, _ = _corpus()
    copied = texts + [texts[0]] * 20 + ["  " + texts[7].upper() + " "]
    first, second = cluster_texts(copied, PARAMS), cluster_texts(copied, PARAMS)
    assert np.array_equal(first.labels, second.labels)
    assert set(first.labels[len(texts) : len(texts) + 20].tolist()) == {first.labels[0]}
    assert first.labels[-1] == first.labels[7]


def test_too_few_texts_or_nothing_shared_give_no_cluster():
    clustering = cluster_texts(["one text", "", "one text"], PARAMS)
    assert clustering.clusters == []
    assert clustering.labels.tolist() == [NOISE] * 3
    unrelated = cluster_texts(["ab", "cd", "ef", "gh", "ij"], PARAMS)  # no n-gram in two of them
    assert unrelated.clusters == [] and unrelated.labels.tolist() == [NOISE] * 5
    assert match_narratives(unrelated, {"n": ["ab cd"]}, PARAMS) == []


def test_match_picks_the_narrative_whose_statement_and_posts_are_closest():
    texts, truth = _corpus()
    clustering = cluster_texts(texts, PARAMS)
    references = {
        "stolen-ballots-zh": ["開票所偷偷換掉了選票，票下落不明"],
        "west-orders-ru": ["Оппозиция получает инструкции Запада"],
        "machines-en": ["Voting machines flipped votes and officials did nothing"],
        "postal-en": [],
        "unrelated": ["A recipe for dumplings with pork and cabbage"],
    }
    matches = match_narratives(clustering, references, PARAMS)
    by_key = {truth[clustering.clusters[m.cluster].members[0]]: m for m in matches}
    assert by_key["zh-ballots"].narrative == "stolen-ballots-zh"
    assert by_key["ru-west"].narrative == "west-orders-ru"
    assert by_key["en-machines"].narrative == "machines-en"
    assert by_key["en-postal"].narrative is None  # no text to match: below the threshold, the best score shown
    assert 0.0 <= by_key["en-postal"].score < PARAMS.match_threshold
    assert all(m.narrative != "unrelated" for m in matches)


def test_generator_pushes_templates_in_three_languages_with_the_truth_deterministic_by_seed():
    texts = narrative_texts(3, n_groups=6)
    again = narrative_texts(3, n_groups=6)
    assert texts == again
    assert {lang for messages in texts.texts.groups for lang, _ in messages} == {"zh-Hant", "ru", "en"}
    assert len(set(texts.template_of.values())) == 12  # six groups push two templates each: every one
    sample = generate(5_000, seed=3, texts=texts.texts, group_share=0.5, group_size=10, posts_per_member=20)
    truth = narrative_truth(sample, texts)
    posts = {p.post_id: p for p in sample.posts}
    assert truth
    assert all(posts[pid].account_id in sample.planted for pid in truth)
    assert all(texts.template_of[posts[pid].text] == key for pid, key in truth.items())
