"""Country, language and platform codes as form choices, from maintained lists rather than typed-in JSON.

Countries are ISO 3166-1 alpha-2 from django-countries (whose names are the common ones: "Taiwan", where
pycountry says "Taiwan, Province of China"). Languages are BCP 47 tags checked and named by langcodes: every
ISO 639-1 language plus the script and regional tags the field writes (zh-Hant for Taiwan, zh-Hans for the PRC)
and the Sinitic languages of Taiwan and Hong Kong that have no two-letter code. Platforms are the engine's list.
"""

from functools import cache

import langcodes
import pycountry
from django_countries import countries

from .vocabularies import Platform

LANGUAGE_VARIANTS = (
    "zh-Hant",
    "zh-Hans",
    "yue",
    "nan",
    "hak",
    "sr-Cyrl",
    "sr-Latn",
    "pt-BR",
    "pt-PT",
    "es-419",
    "en-GB",
    "en-US",
    "fr-CA",
)


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """(code, "Name (CODE)") for every ISO 3166-1 country, by name."""
    return tuple((code, f"{name} ({code})") for code, name in countries)


@cache
def language_names() -> dict[str, str]:
    """English name of each offered BCP 47 tag, keyed by tag."""
    tags = {language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2")}
    tags.update(LANGUAGE_VARIANTS)
    return {tag: langcodes.Language.get(tag).display_name() for tag in tags}


def language_label(tag: str) -> str:
    name = language_names().get(tag) or langcodes.Language.get(tag).display_name()
    return f"{name} ({tag})"


def language_choices(extra: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(tag, "Name (tag)") for the offered tags plus `extra` (valid tags a record already holds), by name."""
    tags = set(language_names()) | {tag for tag in extra if langcodes.tag_is_valid(tag)}
    return sorted(((tag, language_label(tag)) for tag in tags), key=lambda choice: choice[1].casefold())


def platform_choices() -> list[tuple[str, str]]:
    return list(Platform.choices)


def platform_label(code: str) -> str:
    return dict(Platform.choices).get(code, code)


def country_name(code: str) -> str:
    return dict(countries).get(code) or code
