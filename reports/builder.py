"""Assemble a report's content (plain JSON data) from the selectors, for one scope, period and audience.

Everything read here has passed the audience filter; a related object the audience may not see (a GREEN
campaign's AMBER actor, say) is withheld, never named. The report's marking is the most restrictive
marking among what it includes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from django.db.models import Model
from django.utils import timezone

from campaigns import vocabularies as vocab
from campaigns.models import Campaign, Election, Operation, ThreatActor
from partners.markings import most_restrictive_tlp

from . import selectors
from .models import Scope
from .visibility import Audience

WITHHELD = "(withheld)"
GROUP_ACCOUNTS_LISTED = 100
EMERGING_POSTS_LISTED = 3
DOMAIN_TYPES = ("domain", "website")
TAKEDOWN_FIGURES = ("accounts_removed", "pages_removed", "groups_removed", "instagram_accounts_removed", "followers")
INSTAGRAM = vocab.Platform.INSTAGRAM.label


@dataclass
class Markings:
    """The markings of everything a report includes."""

    seen: set[str] = field(default_factory=set)

    def add(self, tlp: str) -> None:
        self.seen.add(tlp)

    @property
    def most_restrictive(self) -> str:
        return most_restrictive_tlp(self.seen)


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def _change(campaign, start: date, end: date) -> str:
    """ "new" when first seen in the period (with no first-seen date: first recorded in it), else "active"."""
    first = campaign.first_seen or campaign.created_at.date()
    return "new" if start <= first <= end else "active"


def _stamps(record) -> dict:
    """When a catalogue record was created and last changed (its STIX created and modified)."""
    return {"created": record.created_at.isoformat(), "modified": record.updated_at.isoformat()}


def _hostname(identifier: str) -> str:
    """A domain or website asset's domain name (its identifier may be a bare name or a URL)."""
    text = identifier.strip()
    host = urlsplit(text if "://" in text else f"//{text}").hostname
    return host or text.lower()


def _fmt_day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def scope_label(scope: str, obj: Model | None) -> str:
    return "All elections and actors" if scope == Scope.GLOBAL else f"{Scope(scope).label}: {obj}"


def report_title(scope: str, obj: Model | None, start: date, end: date) -> str:
    subject = "Global threat report" if scope == Scope.GLOBAL else f"Threat report: {obj}"
    return f"{subject}, {_fmt_day(start)} to {_fmt_day(end)}"


class ReportBuilder:
    """Builds the content of one report. Use `build()`."""

    def __init__(self, *, scope: str, obj: Model | None, start: date, end: date, audience: Audience):
        self.scope, self.obj, self.start, self.end, self.audience = scope, obj, start, end, audience
        self.markings = Markings()
        self.actor_ids = selectors.visible_ids(ThreatActor, audience)
        self.operation_ids = selectors.visible_ids(Operation, audience)
        self.election_ids = selectors.visible_ids(Election, audience)
        self.narratives = selectors.visible_narratives(audience)
        self.sources = selectors.visible_sources(audience)
        self.listed_accounts: set[tuple[str, str]] = set()

    def _related(self, record, visible_ids: set[int], *fields: str) -> dict | None:
        """A related catalogue record: withheld when the audience may not see it, else described and marked."""
        if record is None:
            return None
        if record.pk not in visible_ids:
            return {"id": None, "name": WITHHELD}
        self.markings.add(record.tlp)
        return {
            "id": record.pk,
            "name": record.name,
            **{name: getattr(record, name) for name in fields},
            "tlp": record.tlp,
            "stix_uuid": str(record.stix_uuid),
            **_stamps(record),
        }

    def _actor(self, actor) -> dict | None:
        return self._related(actor, self.actor_ids, "actor_type", "country")

    def _operation(self, operation) -> dict | None:
        return self._related(operation, self.operation_ids)

    def _source(self, source_id) -> dict | None:
        source = self.sources.get(source_id)
        if source is None:
            return None
        self.markings.add(source.tlp)
        return {"title": source.title, "publisher": source.publisher, "url": source.url, "tlp": source.tlp}

    def build(self) -> dict:
        campaigns = list(
            selectors.campaigns_in_period(
                scope=self.scope, obj=self.obj, start=self.start, end=self.end, audience=self.audience
            )
        )
        campaign_ids = [c.pk for c in campaigns]
        operations = selectors.operations_of_scope(scope=self.scope, obj=self.obj, campaign_ids=campaign_ids)
        operation_ids = [pk for pk in operations.values_list("pk", flat=True) if pk in self.operation_ids]
        period = dict(start=self.start, end=self.end, audience=self.audience)
        claims = selectors.claims_in_period(scope=self.scope, obj=self.obj, **period)
        takedowns = selectors.takedowns_in_period(scope=self.scope, obj=self.obj, **period)
        assets = selectors.assets_of(campaign_ids=campaign_ids, operation_ids=operation_ids, **period)
        groups = selectors.coordinated_groups_in_period(
            scope=self.scope, campaign_ids=campaign_ids, start=self.start, end=self.end, audience=self.audience
        )
        clusters = selectors.narrative_clusters_in_period(
            scope=self.scope, campaign_ids=campaign_ids, start=self.start, end=self.end, audience=self.audience
        )
        campaign_rows = [self._campaign(c) for c in campaigns]
        content = {
            "schema": 1,
            "scope": self._scope(),
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "audience": {"key": self.audience.key, "label": self.audience.label, "ceiling": self.audience.ceiling},
            "generated_at": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "campaigns": campaign_rows,
            "matrix": self._matrix(campaign_rows),
            "tactics": self._tactics(campaigns),
            "narratives": self._narratives(campaigns),
            "emerging_narratives": [self._emerging_narrative(c) for c in clusters],
            "claims": [self._claim(c) for c in claims],
            "takedowns": self._takedowns(takedowns),
            "groups": [self._group(g) for g in groups],
            "indicators": self._indicators(assets),
            "timeline": self._timeline(campaigns),
        }
        content["indicators"]["group_accounts"] = self._group_accounts(content["groups"])
        content["figures"] = self._figures(content)
        content["marking"] = self.markings.most_restrictive
        return content

    def _scope(self) -> dict:
        obj = self.obj
        if obj is not None:
            self.markings.add(obj.tlp)
        return {
            "kind": self.scope,
            "id": obj.pk if obj else None,
            "name": str(obj) if obj else "Global",
            "label": scope_label(self.scope, obj),
            "stix_uuid": str(obj.stix_uuid) if obj else None,
        }

    def _campaign(self, campaign) -> dict:
        self.markings.add(campaign.tlp)
        actor = self._actor(campaign.actor or (campaign.operation.actor if campaign.operation else None))
        elections = []
        for election in campaign.elections.all():
            if election.pk in self.election_ids:
                self.markings.add(election.tlp)
                elections.append(
                    {"id": election.pk, "name": election.name, "day": _iso(election.election_day), "tlp": election.tlp}
                )
        sources = [s for s in (self._source(src.pk) for src in campaign.sources.all()) if s]
        return {
            "id": campaign.pk,
            "stix_uuid": str(campaign.stix_uuid),
            **_stamps(campaign),
            "name": campaign.name,
            "change": _change(campaign, self.start, self.end),
            "status": campaign.get_status_display(),
            "tlp": campaign.tlp,
            "actor": actor,
            "operation": self._operation(campaign.operation),
            "elections": elections,
            "first_seen": _iso(campaign.first_seen),
            "last_seen": _iso(campaign.last_seen),
            "platforms": [str(p) for p in campaign.platforms.all()],
            "tools": [str(t) for t in campaign.tools.all()],
            "objective": campaign.objective,
            "summary": campaign.summary,
            "breakout_scale": campaign.breakout_scale,
            "is_estimate": campaign.is_estimate,
            "sources": sources,
        }

    def _matrix(self, campaign_rows: list[dict]) -> dict:
        cells: Counter = Counter()
        actors, elections = {}, {}
        for row in campaign_rows:
            actor = row["actor"]
            if not actor or actor["id"] is None:
                continue
            actors[actor["id"]] = actor["name"]
            for election in row["elections"]:
                elections[election["id"]] = election["name"]
                cells[actor["id"], election["id"]] += 1
        actor_order = sorted(actors, key=actors.get)
        election_order = sorted(elections, key=elections.get)
        return {
            "actors": [actors[a] for a in actor_order],
            "elections": [elections[e] for e in election_order],
            "cells": [[cells[a, e] for e in election_order] for a in actor_order],
        }

    def _tactics(self, campaigns) -> list[dict]:
        uses = selectors.technique_uses_of(campaign_ids=[c.pk for c in campaigns])
        per_technique: dict[str, dict] = {}
        for use in uses:
            technique = use.technique
            if technique.framework != vocab.Framework.DISARM:
                continue
            tactic = technique.tactic_id or (technique.parent.tactic_id if technique.parent else "")
            row = per_technique.setdefault(
                technique.external_id,
                {
                    "external_id": technique.external_id,
                    "name": technique.name,
                    "tactic": tactic,
                    "count": 0,
                    "stix_id": technique.stix_id,
                    "campaigns": [],
                },
            )
            row["count"] += 1
            row["campaigns"].append(str(use.campaign.stix_uuid))
        by_tactic = defaultdict(list)
        for row in per_technique.values():
            by_tactic[row["tactic"]].append(row)
        tactics = []
        for tactic_id, info in sorted(vocab.DISARM_TACTICS.items(), key=lambda kv: (kv[1]["phase"], kv[0])):
            techniques = sorted(by_tactic.pop(tactic_id, []), key=lambda r: (-r["count"], r["external_id"]))
            tactics.append(
                {
                    "id": tactic_id,
                    "name": info["name"],
                    "phase": vocab.DISARM_PHASES[info["phase"]],
                    "count": sum(t["count"] for t in techniques),
                    "techniques": techniques,
                }
            )
        leftover = [row for rows in by_tactic.values() for row in rows]
        if leftover:
            tactics.append(
                {
                    "id": "",
                    "name": "Other or retired tactic",
                    "phase": "",
                    "count": len(leftover),
                    "techniques": leftover,
                }
            )
        return tactics

    def _narratives(self, campaigns) -> list[dict]:
        used_by: dict[int, list[str]] = defaultdict(list)
        for campaign in campaigns:
            for narrative in campaign.narratives.all():
                if narrative.pk in self.narratives:
                    used_by[narrative.pk].append(str(campaign.stix_uuid))
        rows = []
        for pk, campaign_uuids in used_by.items():
            narrative = self.narratives[pk]
            self.markings.add(narrative.tlp)
            parent = self.narratives.get(narrative.parent_id)
            rows.append(
                {
                    "id": pk,
                    "stix_uuid": str(narrative.stix_uuid),
                    **_stamps(narrative),
                    "name": narrative.name,
                    "tlp": narrative.tlp,
                    "parent": parent.name if parent else None,
                    "summary": narrative.summary,
                    "five_ds": list(narrative.five_ds),
                    "languages": list(narrative.languages),
                    "campaigns": len(campaign_uuids),
                    "campaign_uuids": campaign_uuids,
                }
            )
        return sorted(rows, key=lambda r: (-r["campaigns"], r["name"]))

    def _emerging_narrative(self, cluster) -> dict:
        """A cluster of flagged groups' posts a researcher accepted as a catalogue narrative: what it says, how
        large it is, and its representative posts (hostile text, escaped by every output)."""
        self.markings.add(cluster.run.sample.tlp)
        narrative = self.narratives.get(cluster.narrative_id)
        if narrative is not None:
            self.markings.add(narrative.tlp)
        return {
            "id": cluster.pk,
            "run": cluster.run_id,
            "number": cluster.number,
            "narrative": narrative.name if narrative else WITHHELD,
            "narrative_stix_uuid": str(narrative.stix_uuid) if narrative else None,
            "tlp": most_restrictive_tlp([cluster.run.sample.tlp] + ([narrative.tlp] if narrative else [])),
            "terms": list(cluster.top_terms),
            "posts": cluster.size,
            "accounts": cluster.accounts_count,
            "groups": len(cluster.groups.all()),
            "languages": list(cluster.languages),
            "similarity": round(float(cluster.suggested_score), 3),
            "first_post": cluster.first_post_at.isoformat() if cluster.first_post_at else None,
            "last_post": cluster.last_post_at.isoformat() if cluster.last_post_at else None,
            "examples": selectors.narrative_cluster_texts(cluster=cluster, limit=EMERGING_POSTS_LISTED),
        }

    def _claim(self, claim) -> dict:
        self.markings.add(claim.tlp)
        change = "made" if claim.claimed_on else "recorded"
        campaign = claim.campaign if claim.campaign_id and claim.campaign.pk in self._campaign_ids() else None
        return {
            "id": claim.pk,
            "stix_uuid": str(claim.stix_uuid),
            **_stamps(claim),
            "change": change,
            "tlp": claim.tlp,
            "claimant": claim.claimant,
            "claimant_category": claim.get_claimant_category_display(),
            "claimant_country": claim.claimant_country,
            "claimed_on": _iso(claim.claimed_on),
            "title": claim.title,
            "actor": self._actor(claim.actor),
            "campaign": campaign.name if campaign else None,
            "campaign_stix_uuid": str(campaign.stix_uuid) if campaign else None,
            "operation": self._operation(claim.operation) if claim.operation_id else None,
            "summary": claim.summary,
            "attribution_type": claim.get_attribution_type_display() if claim.attribution_type else "",
            "likelihood": claim.get_likelihood_display() if claim.likelihood else "",
            "confidence": claim.get_confidence_display() if claim.confidence else "",
            "confidence_level": claim.confidence,
            "credibility": claim.get_credibility_display(),
            "score_total": claim.score_total,
            "source": self._source(claim.source_id),
        }

    def _campaign_ids(self) -> set[int]:
        if not hasattr(self, "_visible_campaign_ids"):
            self._visible_campaign_ids = selectors.visible_ids(Campaign, self.audience)
        return self._visible_campaign_ids

    def _campaign_visible(self, record) -> bool:
        return record.campaign_id is not None and record.campaign_id in self._campaign_ids()

    def _takedowns(self, takedowns) -> dict:
        """The takedowns announced in the period, and their totals per platform (each the sum of its rows)."""
        rows = []
        totals: dict[str, dict] = {}
        for takedown in takedowns:
            self.markings.add(takedown.tlp)
            row = {
                "id": takedown.pk,
                "stix_uuid": str(takedown.stix_uuid),
                **_stamps(takedown),
                "tlp": takedown.tlp,
                "platform": str(takedown.platform),
                "announced_on": _iso(takedown.announced_on),
                "actor": self._actor(takedown.actor),
                "operation": self._operation(takedown.operation),
                "campaign": takedown.campaign.name if self._campaign_visible(takedown) else None,
                "campaign_stix_uuid": str(takedown.campaign.stix_uuid) if self._campaign_visible(takedown) else None,
                "ad_spend": str(takedown.ad_spend) if takedown.ad_spend is not None else None,
                "ad_currency": takedown.ad_currency,
                "origin_countries": list(takedown.origin_countries),
                "target_countries": list(takedown.target_countries),
                "notes": takedown.notes,
                "source": self._source(takedown.source_id),
                **{name: getattr(takedown, name) for name in TAKEDOWN_FIGURES},
            }
            rows.append(row)
            total = totals.setdefault(
                row["platform"],
                {"platform": row["platform"], "takedowns": 0, **dict.fromkeys(TAKEDOWN_FIGURES), "ad_spend": Counter()},
            )
            total["takedowns"] += 1
            for name in TAKEDOWN_FIGURES:
                if row[name] is not None:
                    total[name] = (total[name] or 0) + row[name]
            if takedown.ad_spend is not None:
                total["ad_spend"][takedown.ad_currency or "USD"] += takedown.ad_spend
        for total in totals.values():
            total["ad_spend"] = {currency: str(amount) for currency, amount in sorted(total["ad_spend"].items())}
        return {"rows": rows, "totals": [totals[platform] for platform in sorted(totals)]}

    def _group(self, group) -> dict:
        sample = group.run.sample
        self.markings.add(sample.tlp)
        campaign = group.campaign
        if campaign is not None:
            self.markings.add(campaign.tlp)
        return {
            "id": group.pk,
            "run": group.run_id,
            "number": group.number,
            "status": group.get_status_display(),
            "confirmed": group.status == "confirmed",
            "size": group.size,
            "score": round(float(group.score), 3),
            "behaviours": list(group.behaviours),
            "platforms": [vocab.Platform(p).label if p in vocab.Platform.values else p for p in sample.platforms or []],
            "tlp": most_restrictive_tlp([sample.tlp] + ([campaign.tlp] if campaign else [])),
            "campaign": campaign.name if campaign else None,
            "campaign_stix_uuid": str(campaign.stix_uuid) if campaign else None,
            "accounts": [
                {"platform": account.platform, "account_id": account.account_id, "handle": account.handle}
                for account in selectors.group_accounts(
                    group=group, limit=GROUP_ACCOUNTS_LISTED, audience=self.audience
                )
            ],
            "first_activity": group.first_activity.isoformat() if group.first_activity else None,
            "last_activity": group.last_activity.isoformat() if group.last_activity else None,
        }

    def _indicators(self, assets) -> dict:
        """Each account, domain and URL once, however many campaigns or operations hold it as an asset."""
        accounts: dict[tuple, dict] = {}
        domains: dict[str, dict] = {}
        urls: dict[str, dict] = {}
        for asset in assets:
            self.markings.add(asset.tlp)
            row = {
                "id": asset.pk,
                "tlp": asset.tlp,
                "type": asset.get_asset_type_display(),
                "platform": str(asset.platform) if asset.platform_id else "",
                "identifier": asset.identifier,
                "url": asset.url,
                "first_seen": _iso(asset.first_seen),
                "last_seen": _iso(asset.last_seen),
                "followers": asset.followers,
            }
            url = asset.url
            if asset.asset_type in DOMAIN_TYPES:
                row["domain"] = _hostname(asset.identifier)
                url = url or (asset.identifier if "://" in asset.identifier else "")
                domains.setdefault(row["domain"], row)
            else:
                platform = asset.platform.code if asset.platform_id else ""
                accounts.setdefault((platform, asset.identifier.strip().casefold()), row)
            if url:
                urls.setdefault(
                    url, {"url": url, "tlp": asset.tlp, "type": row["type"], "identifier": asset.identifier}
                )
        self.listed_accounts = set(accounts)
        return {"accounts": list(accounts.values()), "domains": list(domains.values()), "urls": list(urls.values())}

    def _group_accounts(self, groups: list[dict]) -> list[dict]:
        """The listed accounts of the confirmed groups (indicators a researcher stands behind), each once, and none
        already listed as a campaign's asset."""
        listed = set(self.listed_accounts)
        rows = []
        for group in groups:
            if not group["confirmed"]:
                continue
            for account in group["accounts"]:
                names = {account["account_id"], account["handle"] or ""} - {""}
                keys = {(account["platform"], name.strip().casefold()) for name in names}
                if keys & listed:
                    continue
                listed |= keys
                rows.append(
                    {
                        "tlp": group["tlp"],
                        "platform": vocab.Platform(account["platform"]).label
                        if account["platform"] in vocab.Platform.values
                        else account["platform"],
                        "handle": account["handle"],
                        "account_id": account["account_id"],
                        "group": f"Run {group['run']}, group {group['number']}",
                    }
                )
        return rows

    def _timeline(self, campaigns) -> list[dict]:
        """Campaigns active per month, over the span of the dated campaigns (at most the last 36 months)."""
        dated = [c for c in campaigns if c.first_seen or c.last_seen]
        if not dated:
            return []
        first = min((c.first_seen or c.last_seen) for c in dated)
        last = max(max(c.last_seen or self.end, c.first_seen or self.end) for c in dated)
        months = []
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        months = months[-36:]
        rows = []
        for year, month in months:
            month_start = date(year, month, 1)
            month_end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
            count = sum(
                1
                for c in dated
                if (c.first_seen or c.last_seen) < month_end and (c.last_seen or self.end) >= month_start
            )
            rows.append({"month": f"{year:04d}-{month:02d}", "count": count})
        return rows

    def _figures(self, content: dict) -> dict:
        campaigns = content["campaigns"]
        actors = {c["actor"]["name"] for c in campaigns if c["actor"] and c["actor"]["id"] is not None}
        elections = {e["name"] for c in campaigns for e in c["elections"]}
        figures = {
            "campaigns": len(campaigns),
            "new_campaigns": sum(1 for c in campaigns if c["change"] == "new"),
            "actors": len(actors),
            "elections": len(elections),
            "platforms": sorted({p for c in campaigns for p in c["platforms"]}),
            "techniques": sum(len(t["techniques"]) for t in content["tactics"]),
            "narratives": len(content["narratives"]),
            "claims": len(content["claims"]),
            "takedowns": len(content["takedowns"]["rows"]),
            "removed": _removed(content["takedowns"]["totals"]),
            "groups": len(content["groups"]),
            "confirmed_groups": sum(1 for g in content["groups"] if g["confirmed"]),
            "indicators": sum(len(v) for v in content["indicators"].values()),
        }
        figures["empty"] = not any(
            figures[name] for name in ("campaigns", "claims", "takedowns", "groups", "indicators")
        )
        return figures


def _removed(totals: list[dict]) -> list[dict]:
    """What the period's takedowns removed, per surface: a platform's own accounts, pages and groups, and the
    Instagram accounts a Meta takedown names apart from its Facebook ones. Never one surface added to another."""
    surfaces: dict[str, dict] = {}

    def surface(name: str) -> dict:
        return surfaces.setdefault(name, {"surface": name, "accounts": 0, "pages": 0, "groups": 0})

    for total in totals:
        own = surface(total["platform"])
        own["accounts"] += total["accounts_removed"] or 0
        own["pages"] += total["pages_removed"] or 0
        own["groups"] += total["groups_removed"] or 0
        if total["instagram_accounts_removed"]:
            surface(INSTAGRAM)["accounts"] += total["instagram_accounts_removed"]
    return [row for name, row in sorted(surfaces.items()) if row["accounts"] or row["pages"] or row["groups"]]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _and(items) -> str:
    items = list(items)
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def _removed_text(removed: list[dict]) -> str:
    return _and(
        _plural(row[kind], f"{row['surface']} {label}")
        for row in removed
        for kind, label in (("accounts", "account"), ("pages", "page"), ("groups", "group"))
        if row[kind]
    )


def summary_sentences(content: dict) -> list[str]:
    """The report's summary in plain sentences, from its figures (the method note says what each one counts)."""
    f = content["figures"]
    start, end = date.fromisoformat(content["period"]["start"]), date.fromisoformat(content["period"]["end"])
    span = f"Between {_fmt_day(start)} and {_fmt_day(end)}"
    if f["empty"]:
        return [
            f"Nothing in this scope falls between {_fmt_day(start)} and {_fmt_day(end)}: no campaign was active, "
            "no attribution claim was made, no takedown was announced and no coordinated group was active in the "
            "period."
        ]
    sentences = []
    if f["campaigns"]:
        new = f" ({f['new_campaigns']:,} new in the period)" if f["new_campaigns"] else ""
        by = []
        if f["actors"]:
            by.append(f"by {_plural(f['actors'], 'identified actor')}")
        if f["elections"]:
            by.append(f"against {_plural(f['elections'], 'election')}")
        verb = "was" if f["campaigns"] == 1 else "were"
        sentences.append(
            f"{span}, {_plural(f['campaigns'], 'campaign')}{new} {verb} active{' ' if by else ''}{' '.join(by)}."
        )
    else:
        sentences.append(f"{span}, no campaign in this scope was active.")
    if f["platforms"]:
        sentences.append(f"They ran on {_plural(len(f['platforms']), 'platform')}: {_and(f['platforms'])}.")
    busiest = max(content["tactics"], key=lambda t: t["count"], default=None)
    if busiest and busiest["count"]:
        sentences.append(
            f"{_plural(f['techniques'], 'DISARM technique')} were mapped; the most frequent tactic was "
            f"{busiest['id']} {busiest['name']}."
            if f["techniques"] != 1
            else f"One DISARM technique was mapped, under {busiest['id']} {busiest['name']}."
        )
    if f["claims"]:
        recorded = sum(1 for c in content["claims"] if c["change"] == "recorded")
        undated = f" ({recorded:,} undated, first recorded in it)" if recorded else ""
        verb = "was" if f["claims"] == 1 else "were"
        sentences.append(f"{_plural(f['claims'], 'attribution claim')} {verb} made in the period{undated}.")
    if f["takedowns"]:
        removed = _removed_text(f["removed"])
        sentences.append(
            f"Platforms announced {_plural(f['takedowns'], 'takedown')} in the period"
            + (f", removing {removed}." if removed else ".")
        )
    if f["groups"]:
        confirmed = f"{f['confirmed_groups']:,} confirmed" if f["confirmed_groups"] else "none confirmed yet"
        groups = _plural(f["groups"], "coordinated group")
        verb = "was" if f["groups"] == 1 else "were"
        sentences.append(f"{groups} {verb} active in the period ({confirmed} by a researcher).")
    if f["indicators"]:
        sentences.append(f"The appendix lists {_plural(f['indicators'], 'unique indicator')}.")
    return sentences
