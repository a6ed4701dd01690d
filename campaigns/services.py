"""Writes to the catalogue: reference frameworks, FIAT imports, assets and technique uses found by triage."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pycountry
from django.db import transaction

from partners.markings import Tlp

from . import vocabularies as vocab
from .frameworks import FrameworkRelease
from .models import (
    Asset,
    AttributionClaim,
    Campaign,
    Narrative,
    Platform,
    Source,
    Takedown,
    Technique,
    TechniqueUse,
    ThreatActor,
)


def vocabulary_rows_ensure(**kwargs) -> None:
    """The rows of the platform and interference-tool tables, one per controlled value (idempotent)."""
    from .models import InterferenceTool

    Platform.objects.bulk_create([Platform(code=c) for c in vocab.Platform.values], ignore_conflicts=True)
    InterferenceTool.objects.bulk_create(
        [InterferenceTool(code=c) for c in vocab.InterferenceTool.values], ignore_conflicts=True
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass
class FrameworkLoadResult:
    created: int = 0
    updated: int = 0
    retired: int = 0
    unchanged: int = 0


@transaction.atomic
def technique_framework_load(*, release: FrameworkRelease) -> FrameworkLoadResult:
    """Upsert a framework release. Ids missing from the newest release are marked retired, never deleted.

    Loading an older release than the one stored only adds the ids the newer one dropped, as retired.
    """
    result = FrameworkLoadResult()
    existing = {t.external_id: t for t in Technique.objects.filter(framework=release.framework)}
    newest = max((_version_key(t.framework_version) for t in existing.values()), default=())
    is_newest = _version_key(release.version) >= newest
    fields = ("name", "tactic_id", "tactic_name", "phase_id", "phase_name", "summary", "stix_id")
    seen = set()
    for spec in release.techniques:
        seen.add(spec.external_id)
        technique = existing.get(spec.external_id)
        if technique is None:
            technique = Technique(framework=release.framework, external_id=spec.external_id)
            existing[spec.external_id] = technique
            for name in fields:
                setattr(technique, name, getattr(spec, name))
            technique.framework_version = release.version
            technique.retired = not is_newest
            technique.save()
            result.created += 1
        elif is_newest:
            values = {name: getattr(spec, name) for name in fields}
            values.update(framework_version=release.version, retired=False)
            if any(getattr(technique, k) != v for k, v in values.items()):
                Technique.objects.filter(pk=technique.pk).update(**values)
                result.updated += 1
            else:
                result.unchanged += 1
        else:
            result.unchanged += 1
    for spec in release.techniques:
        if spec.parent_id and spec.parent_id in existing:
            Technique.objects.filter(pk=existing[spec.external_id].pk).exclude(
                parent_id=existing[spec.parent_id].pk
            ).update(parent=existing[spec.parent_id])
    if is_newest:
        dropped = [t.pk for key, t in existing.items() if key not in seen and not t.retired]
        result.retired = Technique.objects.filter(pk__in=dropped).update(retired=True)
    return result


# --- assets and technique uses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountAsset:
    platform: str
    identifier: str
    notes: str


def account_assets_ensure(*, campaign: Campaign, accounts: Iterable[AccountAsset], tlp: str) -> int:
    """Each account an asset of the campaign; one it already holds is left as it is. Returns how many are new."""
    platforms = {p.code: p for p in Platform.objects.all()}
    created = 0
    for account in accounts:
        _, was_created = Asset.objects.get_or_create(
            asset_type=vocab.AssetType.ACCOUNT,
            platform=platforms.get(account.platform),
            identifier=account.identifier,
            campaign=campaign,
            defaults={"notes": account.notes, "tlp": tlp},
        )
        created += was_created
    return created


def technique_uses_ensure(
    *,
    campaign: Campaign,
    techniques: Iterable[Technique],
    evidence: str,
    observed_on: date | None,
    confidence: str = vocab.Confidence.MODERATE,
) -> int:
    """Each technique recorded as used by the campaign; a use already recorded keeps its evidence. Returns how many
    are new."""
    created = 0
    for technique in techniques:
        _, was_created = TechniqueUse.objects.get_or_create(
            campaign=campaign,
            technique=technique,
            defaults={"evidence": evidence, "confidence": confidence, "observed_on": observed_on},
        )
        created += was_created
    return created


def narrative_languages_ensure(*, narrative: Narrative, languages: Iterable[str]) -> list[str]:
    """Add to the narrative's languages those it does not list yet (BCP 47 codes, in the order given). Returns
    the languages added."""
    added = [lang for lang in dict.fromkeys(languages) if lang and lang not in narrative.languages]
    if added:
        narrative.languages = [*narrative.languages, *added]
        narrative.save(update_fields=["languages", "updated_at"])
    return added


def campaign_narratives_ensure(*, narrative: Narrative, campaigns: Iterable[Campaign]) -> int:
    """Record each campaign as pushing the narrative; one already recorded is left as it is. Returns how many are
    new."""
    created = 0
    for campaign in campaigns:
        if not campaign.narratives.filter(pk=narrative.pk).exists():
            campaign.narratives.add(narrative)
            created += 1
    return created


# --- DFRLab FIAT attribution-claim CSV -------------------------------------------------------------------

FIAT_REQUIRED = ("case_id", "source", "source_category", "short_title", "attribution_date")
_CLAIMANT_CATEGORY = {label.casefold(): value for value, label in vocab.ClaimantCategory.choices}
_YES = {"1", "1.0", "yes", "y", "true", "t"}
_NO = {"0", "0.0", "no", "n", "false", "f", ""}


@dataclass(frozen=True)
class RejectedRow:
    line: int
    field: str
    reason: str


@dataclass
class FiatImportResult:
    rows_read: int = 0
    claims_created: int = 0
    claims_unchanged: int = 0
    takedowns_created: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


class RowInvalid(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _country_code(name: str, field_name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        raise RowInvalid(field_name, f"unknown country {name!r}") from None


def _date(value: str, field_name: str, required: bool = False) -> date | None:
    value = value.strip()
    if not value:
        if required:
            raise RowInvalid(field_name, "missing date")
        return None
    for candidate in (value[:10], value):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    for fmt in ("%m/%d/%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise RowInvalid(field_name, f"not a date: {value[:40]!r}")


def _count(row: dict, field_name: str) -> int | None:
    value = (row.get(field_name) or "").strip().replace(",", "")
    if not value or value.upper() in ("NA", "N/A"):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowInvalid(field_name, f"not a number: {value[:40]!r}") from None
    if number < 0:
        raise RowInvalid(field_name, "negative count")
    return int(number)


def _scorecard(row: dict) -> dict[str, bool]:
    card = {}
    for item in vocab.FIAT_SCORECARD_ITEMS:
        if item not in row:
            continue
        value = (row[item] or "").strip().casefold()
        if value in _YES:
            card[item] = True
        elif value in _NO:
            card[item] = False
        else:
            raise RowInvalid(item, f"expected yes/no or 1/0, got {value[:20]!r}")
    return card


def _fiat_row_store(row: dict, result: FiatImportResult, tlp: str) -> None:
    for name in FIAT_REQUIRED:
        if not (row.get(name) or "").strip():
            raise RowInvalid(name, "required value missing")
    category = _CLAIMANT_CATEGORY.get(row["source_category"].strip().casefold())
    if category is None:
        raise RowInvalid("source_category", f"unknown claimant category {row['source_category'][:60]!r}")
    claimed_on = _date(row["attribution_date"], "attribution_date", required=True)
    start, end = _date(row.get("start_date") or "", "start_date"), _date(row.get("end_date") or "", "end_date")
    claimant_country = _country_code(row.get("source_nation") or "", "source_nation")
    actor_country = _country_code(row.get("disinformant_nation") or "", "disinformant_nation")
    scorecard = _scorecard(row)
    counts = {
        name: _count(row, name)
        for name in (
            "fb_pages_total",
            "fb_accounts_total",
            "fb_groups_total",
            "ig_accounts_total",
            "fb_pages_followers_total",
            "ig_followers_total",
            "budget_usd_total",
        )
    }
    attribution = (row.get("disinformant_attribution") or "").strip().casefold()
    attribution_type = {label.casefold(): value for value, label in vocab.AttributionType.choices}.get(attribution, "")

    url = (row.get("attribution_url") or "").strip()
    title = row["short_title"].strip()[:500]
    source = Source.objects.filter(url=url).first() if url else None
    if source is None:
        source, _ = Source.objects.get_or_create(
            url=url,
            title=title,
            defaults={
                "archived_url": (row.get("archived_attribution_url") or "").strip(),
                "publisher": row["source"].strip()[:200],
                "published_on": claimed_on,
                "tlp": tlp,
            },
        )
    actor = None
    if actor_country:
        actor, _ = ThreatActor.objects.get_or_create(
            country=actor_country,
            actor_type=vocab.ActorType.STATE,
            parent=None,
            defaults={"name": pycountry.countries.get(alpha_2=actor_country).name, "tlp": Tlp.CLEAR},
        )
    campaign, _ = Campaign.objects.get_or_create(
        name=row["short_title"].strip()[:300],
        defaults={
            "actor": actor,
            "summary": (row.get("short_description") or "").strip(),
            "first_seen": start,
            "last_seen": end,
            "status": vocab.CampaignStatus.CONCLUDED if end else vocab.CampaignStatus.ACTIVE,
            "tlp": tlp,
        },
    )
    claim, created = AttributionClaim.objects.get_or_create(
        fiat_case_id=row["case_id"].strip(),
        claimant=row["source"].strip()[:300],
        claimed_on=claimed_on,
        defaults={
            "claimant_category": category,
            "claimant_country": claimant_country,
            "actor": actor,
            "campaign": campaign,
            "title": row["short_title"].strip()[:500],
            "summary": (row.get("short_description") or "").strip(),
            "attribution_type": attribution_type,
            "source": source,
            "scorecard": scorecard,
            "tlp": tlp,
        },
    )
    if not created:
        result.claims_unchanged += 1
        return
    result.claims_created += 1
    removed = [
        counts["fb_pages_total"],
        counts["fb_accounts_total"],
        counts["fb_groups_total"],
        counts["ig_accounts_total"],
    ]
    if any(removed):
        followers = [c for c in (counts["fb_pages_followers_total"], counts["ig_followers_total"]) if c is not None]
        Takedown.objects.create(
            platform=Platform.objects.get(code=vocab.Platform.FACEBOOK),
            announced_on=claimed_on,
            actor=actor,
            campaign=campaign,
            pages_removed=counts["fb_pages_total"],
            accounts_removed=counts["fb_accounts_total"],
            groups_removed=counts["fb_groups_total"],
            instagram_accounts_removed=counts["ig_accounts_total"],
            followers=sum(followers) if followers else None,
            ad_spend=counts["budget_usd_total"],
            ad_currency="USD" if counts["budget_usd_total"] is not None else "",
            origin_countries=[actor_country] if actor_country else [],
            source=source,
            tlp=tlp,
        )
        result.takedowns_created += 1


def fiat_import(*, path: Path, tlp: str = Tlp.CLEAR, progress: Callable[[int], None] | None = None) -> FiatImportResult:
    """Import a DFRLab FIAT CSV: each good row becomes a claim, a source and, where counts are given, a takedown.

    A bad row is reported with its line and reason and the others are still stored; importing the same file
    again creates nothing new.
    """
    result = FiatImportResult()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(FIAT_REQUIRED) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"Not a FIAT CSV: missing columns {', '.join(sorted(missing))}")
        for row in reader:
            result.rows_read += 1
            line = reader.line_num
            if None in row:
                result.rejected.append(RejectedRow(line, "", "more fields than the header"))
                continue
            try:
                with transaction.atomic():
                    _fiat_row_store(row, result, tlp)
            except RowInvalid as exc:
                result.rejected.append(RejectedRow(line, exc.field, exc.reason))
            if progress:
                progress(1)
    return result
