"""The demo sample for `make run`: posts that read like the operations in the demo catalogue (templated
narratives from planted groups in Traditional Chinese, English and Russian, with organic traffic), imported,
scored, and triaged: one group confirmed into the flagship Taiwan campaign, one left waiting for review."""

import tempfile
from pathlib import Path

from campaigns.demo import FLAGSHIP
from campaigns.models import Campaign
from detection.engine.synthetic import TextTemplates, generate, write_sample

from . import scoring, triage
from .ingest import jobs as ingest_jobs
from .ingest import services as ingest_services
from .models import CollectionMethod, CoordinatedGroup, GroupStatus, Sample

DEMO_SAMPLE = "Demo: synthetic election-day sample with planted groups"
TAIWAN_MESSAGE = "蔡英文的「秘密歷史」曝光了，主流媒體為什麼不敢報？投票前一定要看完。#秘密歷史"

TEXTS = TextTemplates(
    groups=(
        (  # Spamouflage-style, Taiwan 2024 (the 'secret history' and economic-harm narratives)
            ("zh-Hant", TAIWAN_MESSAGE),
            ("zh-Hant", "ECFA關稅優惠取消，石化業首當其衝。民進黨再執政四年，台灣經濟只會更糟。#台灣選舉"),
            ("zh-Hant", "看完這份「秘密歷史」你還敢投民進黨嗎？轉給家人朋友。#秘密歷史 #台灣選舉"),
        ),
        (  # the same story in English, for overseas audiences
            (
                "en",
                "Tsai Ing-wen's 'secret history' exposed. Why won't Taiwan's media report it? Watch before you vote.",
            ),
            ("en", "Taiwan's economy pays the price for DPP provocations. Four more years? #TaiwanElection"),
        ),
        (  # Doppelganger-style link sharing to cloned news sites (look-alike domains, kept under .example)
            ("ru", "Западные санкции бьют по самой Европе: читайте расследование"),
            ("ru", "Помощь Украине оплачивают ваши налоги. Подробности в статье"),
        ),
    ),
    links=(
        (),
        (),
        (
            "https://washingtonpost-pm.example/2024/06/sanctions-backfire",
            "https://spiegel-ltd.example/politik/ukraine-aid-costs",
        ),
    ),
    organic=(
        ("zh-Hant", "今天去投票了，排隊的人比想像中多。"),
        ("zh-Hant", "晚上開票直播大家看哪一台？"),
        ("zh-Hant", "颱風假之後終於放晴，週末去淡水走走。"),
        ("zh-Hant", "三位候選人的政見辯論整理好了，歡迎轉貼討論。"),
        ("en", "Long queue at my polling station this morning, good to see the turnout."),
        ("en", "Anyone have a good live results map for tonight?"),
        ("en", "Coffee, then the debate recap. Busy Saturday."),
        ("ru", "Сегодня в Москве снова снег, пробки по всему городу."),
        ("ru", "Кто смотрел вчерашний матч? Отличная игра."),
    ),
)


def demo_sample_load(*, n_posts: int = 20_000, seed: int = 20240113) -> Sample | None:
    """Import and score the demo sample where it is missing. Returns None when it was already there."""
    if Sample.objects.filter(owner=None, name=DEMO_SAMPLE).exists():
        return None
    generated = generate(n_posts, seed=seed, group_size=15, posts_per_member=20, texts=TEXTS)
    sample = ingest_services.sample_create(
        name=DEMO_SAMPLE,
        tlp="GREEN",
        collection_method=CollectionMethod.SYNTHETIC,
        description=(
            f"{len(generated.posts):,} generated posts on Taiwan's election day, 13 January 2024: "
            f"{len(generated.groups)} planted groups of accounts posting the same narratives within 20 seconds of "
            "each other (Traditional Chinese, English, and Russian link sharing), Zipf-popular objects and "
            "organic traffic."
        ),
    )
    with tempfile.TemporaryDirectory() as folder:
        posts_path, accounts_path = write_sample(generated, Path(folder) / "demo.csv")[:2]
        for path in (posts_path, accounts_path):
            job = ingest_services.sample_import_create(sample=sample, source_path=path)
            ingest_jobs.sample_import_run(import_id=job.pk)
    scoring.scoring_run_start(sample=sample, n_shards=2)
    return sample


def _planted_group(*, prefix: str) -> CoordinatedGroup | None:
    """The demo sample's group whose members are the planted accounts starting with prefix (g000m..)."""
    return (
        CoordinatedGroup.objects.filter(
            run__sample__owner=None, run__sample__name=DEMO_SAMPLE, members__account__account_id__startswith=prefix
        )
        .order_by("-run_id", "number")
        .first()
    )


def demo_groups_triage() -> CoordinatedGroup | None:
    """Confirm the Taiwan group into the flagship campaign, through the researchers' own services; the English
    group stays new, waiting for review. Returns the group confirmed now, or None when there was nothing to do
    (already done, or the scoring run has not finished)."""
    group = _planted_group(prefix="g000m")
    campaign = Campaign.objects.filter(name=FLAGSHIP).first()
    if group is None or campaign is None or group.status != GroupStatus.NEW:
        return None
    triage.group_review(
        group=group,
        status=GroupStatus.CONFIRMED,
        note="Demo: the same Traditional Chinese 'secret history' and ECFA messages, posted within seconds.",
        reviewer=None,
    )
    triage.group_attach_to_campaign(
        group=group, campaign=campaign, techniques=triage.technique_suggestions(group=group)
    )
    return group
