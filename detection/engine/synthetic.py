"""Synthetic samples with planted coordinated groups (the ground truth), Zipf-popular objects and organic noise.

    python benchmarks/generate_sample.py --posts 100000 --seed 1 --out var/sample.csv [--jsonl] [--span 86400]

Writes the posts in the canonical CSV (or JSONL) layout, the accounts beside them (`*.accounts.csv`) and the
planted groups and decoys (`*.truth.json`). `generate()` returns the same as records, for scripts and the demo.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from detection.engine.records import AccountRecord, PostRecord

WORDS = (  # noqa: SIM905
    "vote election ballot candidate party minister reform tax border energy war peace truth media lies fraud "
    "rigged count poll debate rally freedom people nation future jobs prices crisis scandal secret leak report "
    "today tomorrow always never everyone nobody must should will cannot believe share watch read listen now "
    "選舉 投票 政府 自由 民主 中國 台灣 真相 謊言 新聞 經濟 和平 戰爭 人民 未來"
).split()
FIRST_NAMES = "anna boris chen david elena farid greta hugo irina jan kai lena mika nora oleg pavel qin rosa".split()  # noqa: SIM905


@dataclass
class Sample:
    """Generated posts and accounts, and the planted groups as lists of account ids."""

    posts: list[PostRecord]
    accounts: list[AccountRecord]
    groups: list[list[str]] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)

    @property
    def planted(self) -> set[str]:
        return {a for g in self.groups for a in g}

    @property
    def decoy_accounts(self) -> set[str]:
        return {a for d in self.decoys for a in d.members}


@dataclass(frozen=True)
class Decoy:
    """A benign coordinated group: accounts that really do act together, openly and for ordinary reasons.

    kind is one of DECOY_KINDS: "syndication" (a newsroom and its outlets re-posting its headlines and links
    seconds later, on a schedule), "fan-burst" (fans resharing and answering a star's posts within a minute of
    each), "official" (government accounts resharing each other's statements and hashtags).
    """

    kind: str
    members: list[str]


@dataclass(frozen=True)
class TextTemplates:
    """Readable messages instead of random words: planted group i posts from groups[i % len(groups)] (with its
    links, if any), organic accounts post from organic. Each message is (BCP 47 language, text)."""

    groups: tuple[tuple[tuple[str, str], ...], ...]
    organic: tuple[tuple[str, str], ...]
    links: tuple[tuple[str, ...], ...] = ()


def _zipf_choice(rng: np.random.Generator, n_items: int, size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_items + 1) ** exponent
    return rng.choice(n_items, size=size, p=weights / weights.sum())


def _text(rng: np.random.Generator, n_words: int, chinese: bool) -> str:
    pool = WORDS[-16:] if chinese else WORDS[:-16]
    words = [pool[i] for i in rng.integers(0, len(pool), n_words)]
    return ("" if chinese else " ").join(words) + f" {int(rng.integers(0, 10**9))}"


def generate(
    n_posts: int,
    seed: int = 0,
    span_s: float = 86400.0,
    group_share: float = 0.05,
    group_size: int = 25,
    group_window_s: float = 20.0,
    posts_per_member: int = 50,
    start: datetime = datetime(2024, 1, 13, tzinfo=UTC),
    platform: str = "x",
    texts: TextTemplates | None = None,
    decoys: int = 0,
) -> Sample:
    """A sample of about n_posts posts over span_s seconds; group_share of them come from planted groups.
    With texts, posts carry those messages (and the groups their links); without, random words. With decoys,
    that many benign coordinated groups are added beside them (see Decoy), drawn from their own random stream
    so that the rest of the sample is the same with or without them."""
    rng = np.random.default_rng(seed)
    t0 = start.timestamp()
    n_group_posts = int(n_posts * group_share)
    n_groups = max(1, round(n_group_posts / (group_size * posts_per_member))) if group_share > 0 else 0
    n_organic = n_posts - n_group_posts
    n_org_accounts = max(10, n_organic // 8)
    n_objects = max(10, n_posts // 4)  # posts one can reshare or reply to, Zipf-popular
    n_urls, n_tags, n_media = max(10, n_posts // 10), max(10, n_posts // 200), max(10, n_posts // 50)

    accounts: list[AccountRecord] = []
    org_ids = [f"u{i:07d}" for i in range(n_org_accounts)]
    created = rng.uniform(t0 - 10 * 365 * 86400, t0 - 86400, n_org_accounts)
    for i, aid in enumerate(org_ids):
        handle = f"{FIRST_NAMES[i % len(FIRST_NAMES)]}_{WORDS[i % 40]}"
        accounts.append(
            AccountRecord(platform=platform, account_id=aid, handle=handle, created_at=_dt(created[i]), line=i + 2)
        )

    posts: list[PostRecord] = []
    # Organic activity: heavy-tailed per account, uniform in time (dense), Zipf-popular objects.
    authors = _zipf_choice(rng, n_org_accounts, n_organic, 0.8)
    times = t0 + rng.uniform(0, span_s, n_organic)
    kind = rng.random(n_organic)
    targets = _zipf_choice(rng, n_objects, n_organic, 1.1)
    urls = _zipf_choice(rng, n_urls, n_organic, 1.0)
    tags = _zipf_choice(rng, n_tags, n_organic, 1.1)
    media = _zipf_choice(rng, n_media, n_organic, 1.0)
    mentions = _zipf_choice(rng, n_org_accounts, n_organic, 1.0)
    extras = rng.random((n_organic, 5))
    n_words = rng.integers(6, 16, n_organic)
    chinese = rng.random(n_organic) < 0.2
    for i in range(n_organic):
        pid = f"p{i:08d}"
        aid = org_ids[authors[i]]
        when = _dt(times[i])
        if kind[i] < 0.45:
            posts.append(PostRecord(platform=platform, post_id=pid, account_id=aid, created_at=when,
                                    reshare_of=f"o{targets[i]:07d}"))  # fmt: skip
            continue
        lang, text = "", ""
        if texts is None:
            text = _text(rng, int(n_words[i]), bool(chinese[i]))
        else:
            lang, text = texts.organic[int(rng.integers(0, len(texts.organic)))]
        posts.append(_original(platform, pid, aid, when, text,
                               reply=f"o{targets[i]:07d}" if kind[i] > 0.92 else "",
                               url=int(urls[i]) if extras[i, 0] < 0.3 else None,
                               tag=int(tags[i]) if extras[i, 1] < 0.3 and texts is None else None,
                               mention=org_ids[mentions[i]] if extras[i, 2] < 0.15 else "",
                               media=int(media[i]) if extras[i, 3] < 0.05 else None, lang=lang))  # fmt: skip

    # Planted groups: accounts created in a burst, acting together within group_window_s of a trigger.
    groups: list[list[str]] = []
    serial = n_organic
    for g in range(n_groups):
        burst = t0 - rng.uniform(30, 400) * 86400
        members = [f"g{g:03d}m{m:02d}" for m in range(group_size)]
        groups.append(members)
        for m, aid in enumerate(members):
            handle = f"{FIRST_NAMES[(g + m) % len(FIRST_NAMES)]}{int(rng.integers(1000, 99999))}"
            born = _dt(burst + rng.uniform(0, 2 * 86400))
            accounts.append(
                AccountRecord(platform=platform, account_id=aid, handle=handle, created_at=born, line=len(accounts) + 2)
            )
        n_events = max(1, round(posts_per_member / 0.8))
        for event in range(n_events):
            trigger = t0 + rng.uniform(0, max(span_s - group_window_s, 1))
            reshare = rng.random() < 0.5
            target = f"o{int(_zipf_choice(rng, n_objects, 1, 1.1)[0]):07d}"
            template = _text(rng, int(rng.integers(8, 16)), bool(rng.random() < 0.2))
            url = int(rng.integers(0, n_urls)) if rng.random() < 0.7 else None
            tag = int(rng.integers(0, n_tags)) if rng.random() < 0.7 else None
            lang, link = "", ""
            if texts is not None:
                messages = texts.groups[g % len(texts.groups)]
                lang, template = messages[event % len(messages)]
                links = texts.links[g % len(texts.links)] if texts.links else ()
                link = links[event % len(links)] if links and url is not None else ""
                url = tag = None
            for aid in members:
                if rng.random() >= 0.8:
                    continue
                pid = f"p{serial:08d}"
                serial += 1
                when = _dt(trigger + rng.uniform(0, group_window_s))
                if reshare:
                    posts.append(PostRecord(platform=platform, post_id=pid, account_id=aid, created_at=when,
                                            reshare_of=target))  # fmt: skip
                else:
                    suffix = " " + WORDS[int(rng.integers(0, 40))] if rng.random() < 0.5 else ""
                    text = template + (suffix if texts is None else "")
                    posts.append(_original(platform, pid, aid, when, text, url=url, tag=tag, link=link, lang=lang))
    sample = Sample(posts=posts, accounts=accounts, groups=groups)
    if decoys:
        _add_decoys(sample, decoys, np.random.default_rng([seed, DECOY_STREAM]), t0, span_s, platform, n_objects)
    return sample


DECOY_KINDS = ("syndication", "fan-burst", "official")
DECOY_STREAM = 7919  # the decoys' random stream is seeded by (seed, this)
BRANDS = "herald courier tribune gazette chronicle sentinel observer dispatch ledger post".split()  # noqa: SIM905
REGIONS = "north south east west metro coast valley capital harbour highlands hills plains".split()  # noqa: SIM905
OFFICES = "mfa embassy ministry cabinet presidency spokesperson mission consulate interior defence".split()  # noqa: SIM905


def _add_decoys(
    sample: Sample, n: int, rng: np.random.Generator, t0: float, span_s: float, platform: str, n_objects: int
) -> None:
    """Append n benign coordinated groups to the sample, kinds in turn (see Decoy)."""
    makers = {"syndication": _syndication, "fan-burst": _fan_burst, "official": _official}
    serial = [len(sample.posts) + 10**7]
    for d in range(n):
        kind = DECOY_KINDS[d % len(DECOY_KINDS)]
        members, handles = makers[kind](sample, rng, d, t0, span_s, platform, n_objects, serial)
        for aid, handle in zip(members, handles, strict=True):
            born = _dt(t0 - rng.uniform(1.5, 12) * 365 * 86400)
            sample.accounts.append(
                AccountRecord(platform=platform, account_id=aid, handle=handle, created_at=born,
                              line=len(sample.accounts) + 2)
            )  # fmt: skip
        sample.decoys.append(Decoy(kind=kind, members=members))


def _next_id(serial: list[int]) -> str:
    serial[0] += 1
    return f"p{serial[0]:08d}"


def _own_posts(sample, rng, platform, aid, n, t0, span_s, n_objects, serial, site: str = "") -> None:
    """An account's ordinary activity beside its coordinated posts: its own texts and links, some reshares."""
    for _ in range(n):
        when = _dt(t0 + rng.uniform(0, span_s))
        pid = _next_id(serial)
        if rng.random() < 0.3:
            target = f"o{int(_zipf_choice(rng, n_objects, 1, 1.1)[0]):07d}"
            sample.posts.append(PostRecord(platform=platform, post_id=pid, account_id=aid, created_at=when,
                                           reshare_of=target))  # fmt: skip
            continue
        link = f"https://{site}/{aid}/{int(rng.integers(0, 10**6))}" if site else ""
        text = _text(rng, int(rng.integers(8, 16)), bool(rng.random() < 0.2))
        sample.posts.append(_original(platform, pid, aid, when, text, link=link))


def _syndication(sample, rng, d, t0, span_s, platform, n_objects, serial):
    """A newsroom posts a headline and its link; each outlet re-posts both a fixed few seconds later."""
    brand = BRANDS[d % len(BRANDS)]
    site = f"{brand}{d}.news.example"
    members = [f"dn{d:03d}m{m:02d}" for m in range(int(rng.integers(6, 13)))]
    handles = [f"{brand}{d}_news"] + [f"{brand}{d}_{REGIONS[m % len(REGIONS)]}" for m in range(1, len(members))]
    delay = rng.uniform(2, 12, len(members))
    for article in range(int(rng.integers(30, 60))):
        when = t0 + rng.uniform(0, span_s - 60)
        headline = _text(rng, int(rng.integers(8, 14)), False)
        link = f"https://{site}/{d}/{article}"
        for m, aid in enumerate(members):
            if m and rng.random() >= 0.9:
                continue
            at = when + (delay[m] + rng.uniform(0, 1) if m else 0.0)
            sample.posts.append(_original(platform, _next_id(serial), aid, _dt(at), headline, link=link))
    for aid in members:
        _own_posts(sample, rng, platform, aid, int(rng.integers(5, 20)), t0, span_s, n_objects, serial, site)
    return members, handles


def _fan_burst(sample, rng, d, t0, span_s, platform, n_objects, serial):
    """A star posts; within a minute many of its fans reshare the post, some answer it in their own words."""
    members = [f"df{d:03d}m{m:02d}" for m in range(int(rng.integers(20, 45)))]
    handles = [f"{FIRST_NAMES[d % len(FIRST_NAMES)]}official"] + [
        f"{FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]}_{WORDS[int(rng.integers(0, 40))]}" for _ in members[1:]
    ]
    star = members[0]
    for _ in range(int(rng.integers(6, 12))):
        when = t0 + rng.uniform(0, span_s - 120)
        pid = _next_id(serial)
        sample.posts.append(_original(platform, pid, star, _dt(when), _text(rng, 10, False)))
        for aid in members[1:]:
            if rng.random() >= 0.6:
                continue
            at = _dt(when + min(rng.exponential(15.0), 58.0))
            if rng.random() < 0.75:
                sample.posts.append(PostRecord(platform=platform, post_id=_next_id(serial), account_id=aid,
                                               created_at=at, reshare_of=pid))  # fmt: skip
            else:
                words = _text(rng, int(rng.integers(3, 9)), bool(rng.random() < 0.2))
                sample.posts.append(_original(platform, _next_id(serial), aid, at, words, reply=pid))
    for aid in members:
        _own_posts(sample, rng, platform, aid, int(rng.integers(5, 25)), t0, span_s, n_objects, serial)
    return members, handles


def _official(sample, rng, d, t0, span_s, platform, n_objects, serial):
    """Government accounts take turns to post a statement under the office's hashtag; the others reshare it."""
    members = [f"do{d:03d}m{m:02d}" for m in range(int(rng.integers(5, 11)))]
    handles = [f"{OFFICES[m % len(OFFICES)]}_{REGIONS[d % len(REGIONS)]}{d}" for m in range(len(members))]
    tag = f"official{d}"
    for _ in range(int(rng.integers(20, 40))):
        when = t0 + rng.uniform(0, span_s - 120)
        author = int(rng.integers(0, len(members)))
        pid = _next_id(serial)
        statement = _text(rng, int(rng.integers(10, 16)), bool(rng.random() < 0.3))
        post = _original(platform, pid, members[author], _dt(when), statement)
        sample.posts.append(replace(post, text=f"{post.text} #{tag}", hashtags=(tag,)))
        for m, aid in enumerate(members):
            if m == author or rng.random() >= 0.7:
                continue
            at = _dt(when + rng.uniform(5, 55))
            sample.posts.append(PostRecord(platform=platform, post_id=_next_id(serial), account_id=aid,
                                           created_at=at, reshare_of=pid))  # fmt: skip
    for aid in members:
        _own_posts(sample, rng, platform, aid, int(rng.integers(5, 15)), t0, span_s, n_objects, serial)
    return members, handles


def _dt(ts: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=round(float(ts), 3))


def _original(
    platform: str,
    pid: str,
    aid: str,
    when: datetime,
    text: str,
    reply: str = "",
    url: int | None = None,
    tag: int | None = None,
    mention: str = "",
    media: int | None = None,
    link: str = "",
    lang: str = "",
) -> PostRecord:
    if link:
        links = (link,)
        domains = (link.split("/")[2],)
    else:
        links = () if url is None else (f"https://site{url % 997}.example/a/{url}",)
        domains = tuple(f"site{url % 997}.example" for _ in links)
    tags = () if tag is None else (f"tag{tag}",)
    return PostRecord(
        platform=platform,
        post_id=pid,
        account_id=aid,
        created_at=when,
        text=text + "".join(f" #{t}" for t in tags) + (f" @{mention}" if mention else ""),
        reply_to=reply,
        urls=links,
        normalised_urls=links,
        domains=domains,
        hashtags=tags,
        mentions=(mention,) if mention else (),
        media_hashes=() if media is None else (f"m{media:06x}",),
        lang=lang,
    )


# --- Narrative templates: what the planted groups push, in several languages ------------------------------


@dataclass(frozen=True)
class NarrativeTemplate:
    """A message skeleton an operation fills in many ways: `{slot}` fields take any of the slot's values."""

    key: str
    lang: str
    text: str
    slots: tuple[tuple[str, tuple[str, ...]], ...]

    def render(self, rng: np.random.Generator) -> str:
        values = {name: options[int(rng.integers(0, len(options)))] for name, options in self.slots}
        return self.text.format(**values)


_ZH_WHO = ("民進黨政府", "執政黨", "總統府", "中選會", "立法院多數黨")
_ZH_TIME = ("今天", "昨晚", "這幾天", "上週", "選前最後一週")
_RU_WHO = ("власти", "Кремль", "ЦИК", "правительство", "депутаты Думы")
_RU_TIME = ("сегодня", "вчера вечером", "на этой неделе", "перед выборами", "прямо сейчас")
_EN_WHO = ("the ruling party", "the election board", "the governor", "the incumbent", "party officials")
_EN_TIME = ("today", "last night", "this week", "before polling day", "right now")

NARRATIVE_TEMPLATES: tuple[NarrativeTemplate, ...] = (
    NarrativeTemplate(
        "zh-Hant/ballots",
        "zh-Hant",
        "{time}有人爆料：{who}在{place}的開票所偷偷換掉了選票，{count}張票下落不明！",
        (
            ("time", _ZH_TIME),
            ("who", _ZH_WHO),
            ("place", ("台中", "高雄", "新北", "台南", "桃園")),
            ("count", ("三千", "一萬", "五千多", "上萬", "兩千")),
        ),
    ),
    NarrativeTemplate(
        "zh-Hant/war",
        "zh-Hant",
        "投給{party}就是投給戰爭，{time}美國又要把台灣當{thing}，年輕人會被送上戰場。",
        (
            ("party", ("執政黨", "綠營", "民進黨", "他們")),
            ("time", _ZH_TIME),
            ("thing", ("棋子", "炮灰", "提款機", "前線基地")),
        ),
    ),
    NarrativeTemplate(
        "zh-Hant/economy",
        "zh-Hant",
        "物價漲了{rate}，薪水卻不動，{who}只會把錢送給{whom}，人民活不下去了。",
        (
            ("rate", ("兩成", "三成", "一倍", "百分之四十")),
            ("who", _ZH_WHO),
            ("whom", ("財團", "美國軍火商", "自己人", "外國企業")),
        ),
    ),
    NarrativeTemplate(
        "zh-Hant/vaccine",
        "zh-Hant",
        "內部文件證實{who}隱瞞了疫苗的副作用，{time}又有{count}人受害，媒體卻全部噤聲。",
        (
            ("who", _ZH_WHO),
            ("time", _ZH_TIME),
            ("count", ("上百", "幾十", "數千", "許多")),
        ),
    ),
    NarrativeTemplate(
        "ru/fraud",
        "ru",
        "{time} в {region} вбросили {count} бюллетеней, {who} всё знают и молчат. Выборы украдены!",
        (
            ("time", _RU_TIME),
            ("region", ("Казани", "Самаре", "Твери", "Перми", "Омске")),
            ("count", ("тысячи", "десятки тысяч", "сотни", "пачки")),
            ("who", _RU_WHO),
        ),
    ),
    NarrativeTemplate(
        "ru/west",
        "ru",
        "Запад хочет {goal}: {who} {time} снова получили инструкции из {capital}.",
        (
            ("goal", ("развалить страну", "устроить майдан", "сорвать выборы", "посадить своих людей")),
            ("who", ("оппозиция", "иноагенты", "блогеры", "НКО")),
            ("time", _RU_TIME),
            ("capital", ("Вашингтона", "Брюсселя", "Лондона", "Госдепа")),
        ),
    ),
    NarrativeTemplate(
        "ru/prices",
        "ru",
        "Цены на {goods} выросли в {times} раза, а {who} рассказывают нам про стабильность. Хватит терпеть!",
        (
            ("goods", ("бензин", "хлеб", "лекарства", "коммуналку", "продукты")),
            ("times", ("два", "три", "полтора")),
            ("who", _RU_WHO),
        ),
    ),
    NarrativeTemplate(
        "ru/mobilisation",
        "ru",
        "Источник в военкомате: после выборов объявят новую волну мобилизации, {who} скрывают это {time}.",
        (("who", _RU_WHO), ("time", _RU_TIME)),
    ),
    NarrativeTemplate(
        "en/machines",
        "en",
        "BREAKING: voting machines in {place} flipped {count} votes {time}. {who} knew and did nothing. "
        "RT before they delete this!",
        (
            ("place", ("Maricopa", "Fulton county", "Wayne county", "Clark county", "Dallas")),
            ("count", ("thousands of", "40,000", "tens of thousands of", "12,000")),
            ("time", _EN_TIME),
            ("who", _EN_WHO),
        ),
    ),
    NarrativeTemplate(
        "en/migrants",
        "en",
        "{who} are bussing in {group} to vote illegally in {place}. Nobody checks IDs anymore, wake up!",
        (
            ("who", _EN_WHO),
            ("group", ("migrants", "non-citizens", "illegals", "paid voters")),
            ("place", ("Texas", "Arizona", "Georgia", "the swing states", "our district")),
        ),
    ),
    NarrativeTemplate(
        "en/postal",
        "en",
        "Mail-in ballots are being {verb} by the {amount}, {time}. The postal vote is a scam run by {who}.",
        (
            ("verb", ("dumped", "shredded", "lost", "filled out", "thrown away")),
            ("amount", ("truckload", "box", "thousands", "bagful")),
            ("time", _EN_TIME),
            ("who", _EN_WHO),
        ),
    ),
    NarrativeTemplate(
        "en/stayhome",
        "en",
        "Why vote at all? {who} already decided the result {time}. Stay home and don't give them legitimacy.",
        (("who", _EN_WHO), ("time", _EN_TIME)),
    ),
)

_ORGANIC_WORDS = {
    "zh-Hant": "今天 天氣 很好 我們 一起 吃飯 電影 朋友 工作 週末 咖啡 貓咪 音樂 夜市 好吃 下雨 散步".split(),  # noqa: SIM905
    "ru": "сегодня погода хорошая друзья работа выходные кофе кошка музыка дача футбол дождь гулять дома кино".split(),  # noqa: SIM905
    "en": "today weather friends coffee weekend football music cat dinner movie garden rain walk home work".split(),  # noqa: SIM905
}


@dataclass(frozen=True)
class NarrativeTexts:
    """Messages for `generate(texts=...)` and the truth: the template each planted message was rendered from."""

    texts: TextTemplates
    template_of: dict[str, str]


def narrative_texts(
    seed: int,
    n_groups: int,
    variants: int = 30,
    templates_per_group: int = 2,
    templates: tuple[NarrativeTemplate, ...] = NARRATIVE_TEMPLATES,
    n_organic: int = 400,
) -> NarrativeTexts:
    """Each planted group pushes `templates_per_group` templates (dealt in a seeded order, so that every template
    is pushed once there are enough groups), `variants` renderings of each; organic accounts chat in the same
    languages. Same seed, same messages and truth."""
    rng = np.random.default_rng([seed, 0x4E415252])
    order = rng.permutation(len(templates))
    template_of: dict[str, str] = {}
    groups = []
    for g in range(max(1, n_groups)):
        pushed = [templates[order[(g * templates_per_group + j) % len(templates)]] for j in range(templates_per_group)]
        messages = []
        for _ in range(variants):
            for template in pushed:
                text = template.render(rng)
                if template_of.setdefault(text, template.key) == template.key:
                    messages.append((template.lang, text))
        groups.append(tuple(messages))
    languages = sorted(_ORGANIC_WORDS)
    organic = []
    for _ in range(n_organic):
        lang = languages[int(rng.integers(0, len(languages)))]
        words = _ORGANIC_WORDS[lang]
        picked = [words[i] for i in rng.integers(0, len(words), int(rng.integers(5, 12)))]
        organic.append((lang, ("" if lang == "zh-Hant" else " ").join(picked)))
    return NarrativeTexts(texts=TextTemplates(groups=tuple(groups), organic=tuple(organic)), template_of=template_of)


def narrative_truth(sample: Sample, texts: NarrativeTexts) -> dict[str, str]:
    """Post id -> template key, for the planted accounts' posts rendered from a narrative template."""
    planted = sample.planted
    return {
        p.post_id: texts.template_of[p.text]
        for p in sample.posts
        if p.account_id in planted and p.text in texts.template_of
    }


POST_COLUMNS = ["platform", "post_id", "account_id", "created_at", "text", "reshare_of", "reply_to", "urls",
                "hashtags", "mentions", "media_hashes", "lang"]  # fmt: skip


def _post_row(p: PostRecord) -> dict:
    return {
        "platform": p.platform,
        "post_id": p.post_id,
        "account_id": p.account_id,
        "created_at": p.created_at.isoformat().replace("+00:00", "Z"),
        "text": p.text,
        "reshare_of": p.reshare_of,
        "reply_to": p.reply_to,
        "urls": " ".join(p.urls),
        "hashtags": " ".join(p.hashtags),
        "mentions": " ".join(p.mentions),
        "media_hashes": " ".join(p.media_hashes),
        "lang": p.lang,
    }


def write_sample(sample: Sample, out: Path, jsonl: bool = False) -> list[Path]:
    """Write posts (canonical CSV or JSONL), accounts (canonical accounts CSV) and the truth (JSON)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        if jsonl:
            for p in sample.posts:
                row = _post_row(p)
                for key in ("urls", "hashtags", "mentions", "media_hashes"):
                    row[key] = row[key].split()
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(f, POST_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(_post_row(p) for p in sample.posts)
    stem = out.with_suffix("")
    accounts_path = Path(f"{stem}.accounts.csv")
    with accounts_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["platform", "account_id", "handle", "created_at"])
        for a in sample.accounts:
            created = a.created_at.isoformat().replace("+00:00", "Z") if a.created_at else ""
            writer.writerow([a.platform, a.account_id, a.handle, created])
    truth_path = Path(f"{stem}.truth.json")
    truth = {"groups": sample.groups, "decoys": [{"kind": d.kind, "members": d.members} for d in sample.decoys]}
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return [out, accounts_path, truth_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--span", type=float, default=86400.0, help="seconds covered by the sample")
    parser.add_argument("--group-share", type=float, default=0.05)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jsonl", action="store_true")
    parser.add_argument("--decoys", type=int, default=0, help="benign coordinated groups beside the planted ones")
    args = parser.parse_args(argv)
    sample = generate(args.posts, seed=args.seed, span_s=args.span, group_share=args.group_share, decoys=args.decoys)
    for path in write_sample(sample, args.out, jsonl=args.jsonl):
        print(path)
    print(
        f"{len(sample.posts)} posts, {len(sample.accounts)} accounts, {len(sample.groups)} planted groups, "
        f"{len(sample.decoys)} decoys"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
