"""Normalisation of URLs, hashtags and text for matching, and cleaning of every string read from a sample.

Pure standard library: the readers, the engine and the database import all use these same functions, so a
URL or a hashtag compares equal wherever it was read.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

# C0 controls except \t and \n, DEL, C1 controls, and lone surrogates (JSON "\ud800" can produce them and
# no database accepts them).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_control_search = _CONTROL_RE.search
_control_sub = _CONTROL_RE.sub

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "yclid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "ref_url",
        "twclid",
        "ttclid",
        "si",
        "vero_id",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "wickedid",
    }
)
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

# Plain ASCII http(s) URLs, the vast majority, take a fast path equal to the general one (tests compare them).
_SIMPLE_URL_MATCH = re.compile(
    r"(https?)://([^/?#\s\[\]\\]+)(/[^?#\t\r\n]*)?(?:\?([^#\t\r\n]*))?(?:#[^\t\r\n]*)?", re.IGNORECASE
).fullmatch
_TRACKING_SEARCH = re.compile(
    r"(?:^|&)(?:utm_[^=&]*|" + "|".join(sorted(map(re.escape, TRACKING_PARAMS))) + r")(?:=|&|$)", re.IGNORECASE
).search
_URL_IN_TEXT_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@])@\w+")
_RETWEET_PREFIX_RE = re.compile(r"^rt\s+@\w+:?\s*")


def clean_text(value: str) -> str:
    """Remove NUL, C0/C1 control characters (but not \\n and \\t) and lone surrogates from a string."""
    if _control_search(value) is None:
        return value
    return _control_sub("", value)


def _is_tracking(param: str) -> bool:
    key = param.split("=", 1)[0].lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def _ascii_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return host


def _netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = (hostport[: end + 1], hostport[end + 2 :]) if end >= 0 else (hostport, "")
        host = host.lower()
    else:
        host, _, port = hostport.partition(":")
        host = _ascii_host(host)
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{userinfo}{at}{host}{':' if port else ''}{port}"


def normalise_url(url: str) -> str:
    """Canonical form of a URL for matching: lower-case scheme and host, no default port, fragment or tracking."""
    url = clean_text(url).strip()
    if url.isascii():
        match = _SIMPLE_URL_MATCH(url)
        if match is not None:
            result = _normalise_simple(*match.groups())
            # Whitespace left at the end (before a fragment: "http://a/? #") goes in the general path's second pass.
            if result is not None and not result[-1].isspace():
                return result
    return _normalise_any(url)


def _normalise_simple(scheme: str, netloc: str, path: str | None, query: str | None) -> str | None:
    """The same result as _normalise_any for a plain ASCII http(s) URL, without urlsplit's overhead."""
    scheme = scheme.lower()
    if "@" in netloc or ":" in netloc or "[" in netloc or not netloc.islower():
        netloc = _netloc(scheme, netloc)
    elif netloc.endswith("."):
        netloc = netloc.rstrip(".")
    if not netloc:
        return None
    if query and (_TRACKING_SEARCH(query) is not None or "&&" in query or query[0] == "&" or query[-1] == "&"):
        query = "&".join(p for p in query.split("&") if p and not _is_tracking(p))
    return f"{scheme}://{netloc}{path or '/'}{'?' if query else ''}{query or ''}"


def _normalise_any(url: str) -> str:
    # Odd inputs ("http://? #", "//" paths) can need a second pass; settle on a fixed point so that
    # normalising twice changes nothing, and keep the text as given when there is none.
    current = url
    for _ in range(4):
        result = _normalise_once(current)
        if result == current:
            return result
        current = result
    return url


def _normalise_once(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = _netloc(scheme, parts.netloc) if parts.netloc else ""
    path = parts.path
    if netloc and not path:
        path = "/"
    query = parts.query
    if query:
        query = "&".join(p for p in query.split("&") if p and not _is_tracking(p))
    if netloc or scheme:
        result = urlunsplit((scheme, netloc, path, query, ""))
    else:
        result = path + ("?" + query if query else "")
    return result


def url_domain(url: str) -> str:
    """The host of a URL, lower-case and IDNA-encoded, without a leading "www." ("" when there is none)."""
    url = clean_text(url).strip()
    try:
        parts = urlsplit(url)
        if (
            not parts.netloc
            and "://" not in url
            and not url.startswith("/")
            and (not parts.scheme or "." in parts.scheme)
        ):
            parts = urlsplit("//" + url)
        host = parts.hostname or ""
    except ValueError:
        return ""
    host = _ascii_host(host)
    return host[4:] if host.startswith("www.") else host


def normalise_hashtag(tag: str) -> str:
    """A hashtag for matching: without leading "#", NFC and case-folded."""
    tag = clean_text(tag).strip().lstrip("#\uff03")
    if tag.isascii():
        return tag.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", tag).casefold())


def normalise_mention(name: str) -> str:
    """An @mention (handle or account id) for matching: without leading "@", case-folded."""
    name = clean_text(name).strip().lstrip("@\uff20")
    return name.lower() if name.isascii() else name.casefold()


def normalise_text(text: str) -> str:
    """Text for identical/near-duplicate matching: NFKC, case-folded, without URLs, @mentions or "RT @x:"."""
    text = clean_text(text)
    text = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    # Each pattern runs only where its anchor occurs: most posts carry no URL, mention or "RT" prefix.
    if "http" in text or "www." in text:
        text = _URL_IN_TEXT_RE.sub(" ", text)
    text = text.lstrip()
    if text.startswith("rt"):
        text = _RETWEET_PREFIX_RE.sub("", text)
    if "@" in text:
        text = _MENTION_RE.sub(" ", text)
    return " ".join(text.split())  # str.split() and re's \s agree on what whitespace is


# normalise_texts works on many texts joined by U+001E. It is a control character, so a cleaned text never
# holds one, and Python counts it as whitespace, so URL and mention patterns stop at it as at a space.
_TEXTS_SEPARATOR = "\x1e"
_CONTROL_BUT_SEPARATOR_RE = re.compile("[\x00-\x08\x0b-\x1d\x1f\x7f-\x9f\ud800-\udfff]")
_RETWEET_PREFIXES_RE = re.compile(r"(?:^|(?<=\x1e))[^\S\x1e]*rt[^\S\x1e]+@\w+:?")


def normalise_texts(texts: list[str]) -> list[str]:
    """`normalise_text` of each text, worked out over all of them at once (a few C calls, not a few per text).

    NFKC and case folding never join characters across a U+001E, nor produce one, so the joined texts
    normalise as each would alone.
    """
    joined = _TEXTS_SEPARATOR.join(texts)
    if joined.count(_TEXTS_SEPARATOR) != len(texts) - 1 or _CONTROL_BUT_SEPARATOR_RE.search(joined):
        return list(map(normalise_text, texts))
    joined = joined.lower() if joined.isascii() else unicodedata.normalize("NFKC", joined).casefold()
    if "http" in joined or "www." in joined:
        joined = _URL_IN_TEXT_RE.sub(" ", joined)
    if "rt" in joined:
        joined = _RETWEET_PREFIXES_RE.sub("", joined)
    if "@" in joined:
        joined = _MENTION_RE.sub(" ", joined)
    return [" ".join(text.split()) for text in joined.split(_TEXTS_SEPARATOR)]
