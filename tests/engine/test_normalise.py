"""Normalisation of URLs, hashtags and text, and cleaning of strings read from samples."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from detection.engine.normalise import (
    TRACKING_PARAMS,
    clean_text,
    normalise_hashtag,
    normalise_mention,
    normalise_text,
    normalise_texts,
    normalise_url,
    url_domain,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM:80/Path?b=2&a=1#frag", "http://www.example.com/Path?b=2&a=1"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/a/?utm_source=tw&utm_Medium=x&id=7&fbclid=abc", "https://example.com/a/?id=7"),
        (
            "https://example.com/?gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5&igshid=6&yclid=7&_ga=8",
            "https://example.com/",
        ),
        ("https://twitter.com/x/status/1?ref_src=twsrc%5Etfw&s=20", "https://twitter.com/x/status/1?s=20"),
        ("https://例え.テスト/パス", "https://xn--r8jz45g.xn--zckzah/パス"),
        ("https://BÜCHER.de", "https://xn--bcher-kva.de/"),
        ("https://user:pw@Example.com:443/", "https://user:pw@example.com/"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
        ("  https://example.com/a b  ", "https://example.com/a b"),
        ("https://example.com/a//b/", "https://example.com/a//b/"),
        ("https://example.com/a?x=1&&y=2", "https://example.com/a?x=1&y=2"),
        ("mailto:Someone@Example.com", "mailto:Someone@Example.com"),
        ("example.com/page?utm_campaign=x", "example.com/page"),
        ("", ""),
        ("not a url at all", "not a url at all"),
        ("http://[broken", "http://[broken"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.Example.com/x", "example.com"),
        ("http://news.example.co.uk:8080/", "news.example.co.uk"),
        ("www.example.org/path", "example.org"),
        ("https://wwwexample.com/", "wwwexample.com"),
        ("https://例え.jp/", "xn--r8jz45g.jp"),
        ("mailto:a@b.com", ""),
        ("", ""),
        ("http://[broken", ""),
    ],
)
def test_url_domain(url: str, domain: str) -> None:
    assert url_domain(url) == domain


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("#Taiwan", "taiwan"),
        ("##Taiwan2024", "taiwan2024"),
        ("＃台灣", "台灣"),
        ("#STRASSE", "strasse"),
        ("#Straße", "strasse"),
        ("#Élection", "élection"),
        ("#E\u0301lection", "élection"),
        ("#ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
        ("  #中国  ", "中国"),
    ],
)
def test_normalise_hashtag(tag: str, expected: str) -> None:
    assert normalise_hashtag(tag) == expected


def test_normalise_mention() -> None:
    assert normalise_mention("@JoeBiden") == "joebiden"
    assert normalise_mention("12345") == "12345"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RT @someone: Hello   World", "hello world"),
        ("Read this https://t.co/AbC and www.example.com/x now", "read this and now"),
        ("@alice @bob 投票給國民黨！", "投票給國民黨!"),
        ("ＦＵＬＬ　ｗｉｄｔｈ", "full width"),
        ("مرحبا بالعالم @user", "مرحبا بالعالم"),
        ("שלום\u200f עולם", "שלום\u200f עולם"),
        ("Vote 🗳️ now 🇹🇼", "vote 🗳️ now 🇹🇼"),
        ("mail me: a@b.com", "mail me: a@b.com"),
        ("line\n\tbreak\x00", "line break"),
    ],
)
def test_normalise_text(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


def test_clean_text() -> None:
    assert clean_text("a\x00b\x01c\x1fd\x7fe\x80f\x9fg\nh\ti\rj\ud800k") == "abcdefg\nh\tijk"
    assert clean_text("台灣 🇹🇼 مرحبا \u200d") == "台灣 🇹🇼 مرحبا \u200d"
    plain = "nothing to clean"
    assert clean_text(plain) is plain


# --- properties -------------------------------------------------------------------------------------------

url_text = st.text(max_size=80)
hosts = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?(\.[A-Za-z]{2,6}){1,2}", fullmatch=True)
path_part = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="/-_.~%"), max_size=20)
param_key = st.text(st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="_"), min_size=1, max_size=8)
param_value = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.%"), max_size=8)
tracking_key = (
    st.sampled_from(sorted(TRACKING_PARAMS))
    | st.builds(lambda s: "utm_" + s, param_key)
    | st.builds(lambda s: "UTM_" + s.upper(), param_key)
)


@st.composite
def urls_with_tracking(draw: st.DrawFn) -> tuple[str, list[str]]:
    kept = draw(st.lists(st.tuples(param_key, param_value), max_size=4))
    kept = [(k, v) for k, v in kept if not (k.startswith("utm_") or k in TRACKING_PARAMS)]
    tracking = draw(st.lists(st.tuples(tracking_key, param_value), min_size=1, max_size=4))
    params = [f"{k}={v}" for k, v in kept] + [f"{k}={v}" for k, v in tracking]
    params = draw(st.permutations(params))
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    path = "/" + draw(path_part)
    fragment = draw(st.sampled_from(["", "#top", "#!/x"]))
    url = f"{scheme}://{draw(hosts)}{path}?{'&'.join(params)}{fragment}"
    return url, [p for p in params if p.split("=")[0] in {k for k, _ in kept}]


@settings(max_examples=500, deadline=None)
@given(url_text)
def test_normalise_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = normalise_url(text)
    assert normalise_url(once) == once
    assert isinstance(url_domain(text), str)


@settings(max_examples=300, deadline=None)
@given(
    st.builds(lambda s, h, p, q: f"{s}://{h}{p}?{q}", st.sampled_from(["http", "https"]), hosts, path_part, url_text)
)
def test_normalise_url_idempotent_on_url_like_text(url: str) -> None:
    once = normalise_url(url)
    assert normalise_url(once) == once


@settings(max_examples=300, deadline=None)
@given(urls_with_tracking())
def test_tracking_parameters_are_gone_and_the_rest_kept_in_order(case: tuple[str, list[str]]) -> None:
    url, kept = case
    result = normalise_url(url)
    query = urlsplit(result).query
    keys = [p.split("=", 1)[0].lower() for p in query.split("&") if p]
    assert not any(k.startswith("utm_") or k in TRACKING_PARAMS for k in keys)
    assert [p for p in query.split("&") if p] == kept
    assert "#" not in result
    assert result == result.strip() and urlsplit(result).scheme == urlsplit(result).scheme.lower()
    assert normalise_url(result) == result


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_hashtag_and_text_normalisation_are_idempotent(text: str) -> None:
    tag = normalise_hashtag(text)
    assert normalise_hashtag(tag) == tag or tag.startswith(("#", "\uff03"))
    assert normalise_text(normalise_text(text)) == normalise_text(text)
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned


@settings(max_examples=500, deadline=None)
@given(
    st.builds(
        lambda s, h, p, q, f: f"{s}://{h}{p}{q}{f}",
        st.sampled_from(["http", "https", "HTTP", "hTTps"]),
        st.builds(
            lambda u, h, port: u + h + port,
            st.sampled_from(["", "user@", "u:p@"]),
            hosts | url_text,
            st.sampled_from(["", ":80", ":443", ":8080", ":"]),
        ),
        st.just("") | st.builds(lambda p: "/" + p, path_part) | url_text,
        st.just("") | st.builds(lambda q: "?" + q, url_text),
        st.sampled_from(["", "#", "#frag"]),
    )
)
@example("http://0? #")  # found by hypothesis: a space before the fragment
@example("http://0/x #")
def test_fast_path_equals_the_general_path(url: str) -> None:
    from detection.engine.normalise import _normalise_any

    assert normalise_url(url) == _normalise_any(clean_text(url).strip())


def _normalise_text_by_definition(text: str) -> str:
    """normalise_text as its docstring defines it, every pattern applied: the oracle for its fast paths."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", clean_text(text)).casefold()
    text = re.sub(r"(?:https?://|www\.)\S+", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"^rt\s+@\w+:?\s*", "", text.lstrip())
    text = re.sub(r"(?<![\w@])@\w+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["RT", "rt", " @a_1:", "@Bob", "a@b.c", "HTTPS://X.y/z", "www.", "Www.Q", "ＦＵＬＬ", "ß"])
        | st.text(max_size=6),
        max_size=8,
    ).map("".join)
)
def test_normalise_text_fast_paths_match_the_definition(text: str) -> None:
    assert normalise_text(text) == _normalise_text_by_definition(text)


_TEXT_PIECES = st.sampled_from(
    [
        "RT",
        "rt @x: ",
        " @a_1:",
        "@Bob",
        "a@b.c",
        "HTTPS://X.y/z",
        "www.",
        "ＦＵＬＬ",
        "ß",
        "ﬁ",
        "e\u0301",
        "\u0308",
        "\u1100\u1161",
        "台灣",
        "\t",
        "\n",
        "\x1e",
        "\x00",
    ]
) | st.text(max_size=6)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(_TEXT_PIECES, max_size=8).map("".join), max_size=8))
def test_many_texts_normalise_together_as_each_alone(texts: list[str]) -> None:
    assert normalise_texts(texts) == [normalise_text(text) for text in texts]
