"""Reads for "what changed since the previous report": the catalogue's history (django-simple-history) of the
campaigns, narratives, attribution claims and takedowns of a scope, between the previous report's period end
and this report's, as one audience may know it.

A record is compared in two states: as it stood when the previous report's period ended, and as it stands at the
end of this one. The audience hears of a change only when it may see the record in its later state (and, for a
record still in the catalogue, today): a record whose marking was raised above the audience, or that moved out
of its view in any other way, is not mentioned at all, not even as gone. A record it could not see before and
may see now is listed as newly shared, never with the fields that changed while it was out of view. A deleted
record is mentioned only when the audience could see it both before and when it was deleted. Each item keeps
its record's marking, and the report's marking counts it like the rest of the report's contents.

In a scoped report, a narrative belongs to the scope through the scope's campaigns as they are linked today, so
a narrative deleted in the period is listed in global reports only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Model, Q
from django.utils import timezone

from campaigns.models import AttributionClaim, Campaign, Narrative, Operation, Platform, Takedown
from partners.markings import Tlp

from .models import Scope
from .visibility import CEILING_LEVELS, Audience, audience_filter

IGNORED_FIELDS = {"id", "stix_uuid", "created_at", "updated_at", "score_total"}
CHANGE_ORDER = {"created": 0, "shared": 1, "updated": 2, "deleted": 3}


@dataclass(frozen=True)
class Tracked:
    key: str
    model: type[Model]
    label: str
    plural: str


TRACKED = (
    Tracked("campaign", Campaign, "Campaign", "campaigns"),
    Tracked("narrative", Narrative, "Narrative", "narratives"),
    Tracked("claim", AttributionClaim, "Attribution claim", "attribution claims"),
    Tracked("takedown", Takedown, "Takedown", "takedowns"),
)


def day_end(day: date) -> datetime:
    """The first instant after a day, in the project's time zone (periods are whole days)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _state_at(history_rows: list, moment: datetime):
    """The last historical row of a record strictly before a moment, or None."""
    earlier = [row for row in history_rows if row.history_date < moment]
    return earlier[-1] if earlier else None


class CatalogueChanges:
    """The changes one audience may know of, in one scope, between two instants. Use `items()`."""

    def __init__(self, *, scope: str, obj: Model | None, audience: Audience, since: datetime, until: datetime):
        self.scope, self.obj, self.audience, self.since, self.until = scope, obj, audience, since, until
        self.platforms = {p.pk: str(p) for p in Platform.objects.all()}
        self.levels = CEILING_LEVELS[Tlp(audience.ceiling)]
        self._campaign_ids: set[int] | None = None

    def _allowed(self, row) -> bool:
        """Whether the audience may see a record in this historical state, by its marking (and its owner)."""
        owner_id = getattr(row, "owner_id", None)
        if self.audience.organisation is not None and owner_id == self.audience.organisation.pk:
            return row.tlp != "RED"
        return row.tlp in self.levels

    def _campaigns_in_scope(self) -> set[int]:
        """Campaigns of the scope, those deleted in the window included (by their last recorded state)."""
        if self._campaign_ids is None:
            deleted_ids = Campaign.history.filter(
                history_type="-", history_date__gte=self.since, history_date__lt=self.until
            ).values("id")
            states = Campaign.history.filter(id__in=deleted_ids)  # every state: a deletion may hold no m2m rows
            if self.scope == Scope.ELECTION:
                live = Campaign.objects.filter(elections=self.obj)
                deleted = states.filter(historicalcampaign_elections__election=self.obj)
            elif self.scope == Scope.ACTOR:
                operations = Operation.objects.filter(actor=self.obj).values("pk")
                live = Campaign.objects.filter(Q(actor=self.obj) | Q(operation__actor=self.obj))
                deleted = states.filter(Q(actor_id=self.obj.pk) | Q(operation_id__in=operations))
            else:
                live = Campaign.objects.filter(operation=self.obj)
                deleted = states.filter(operation_id=self.obj.pk)
            self._campaign_ids = set(live.values_list("pk", flat=True)) | set(deleted.values_list("id", flat=True))
        return self._campaign_ids

    def _in_scope(self, tracked: Tracked, row) -> bool:
        if self.scope == Scope.GLOBAL:
            return True
        campaigns = self._campaigns_in_scope()
        if tracked.key == "campaign":
            return row.id in campaigns
        if tracked.key == "narrative":
            return Campaign.narratives.through.objects.filter(narrative_id=row.id, campaign_id__in=campaigns).exists()
        if row.campaign_id in campaigns:
            return True
        if self.scope == Scope.ACTOR:
            return row.actor_id == self.obj.pk or Operation.objects.filter(pk=row.operation_id, actor=self.obj).exists()
        return self.scope == Scope.OPERATION and row.operation_id == self.obj.pk

    def _name(self, tracked: Tracked, row) -> str:
        if tracked.key == "claim":
            return f"{row.claimant}: {row.title}" if row.title else row.claimant
        if tracked.key == "takedown":
            return f"{self.platforms.get(row.platform_id, 'Platform')} takedown, {row.announced_on}"
        return row.name

    def _fields(self, tracked: Tracked, before, after) -> list[str]:
        delta = after.diff_against(before, excluded_fields=IGNORED_FIELDS)
        names = sorted({change.field for change in delta.changes})
        return [str(tracked.model._meta.get_field(name).verbose_name) for name in names]

    def _changes_of(self, tracked: Tracked) -> list[dict]:
        history = tracked.model.history
        touched = set(
            history.filter(history_date__gte=self.since, history_date__lt=self.until).values_list("id", flat=True)
        )
        if not touched:
            return []
        rows_by_record: dict[int, list] = {}
        for row in history.filter(id__in=touched, history_date__lt=self.until).order_by("history_date", "history_id"):
            rows_by_record.setdefault(row.id, []).append(row)
        visible_now = set(
            audience_filter(tracked.model.objects.filter(pk__in=touched), self.audience).values_list("pk", flat=True)
        )
        still_there = set(tracked.model.objects.filter(pk__in=touched).values_list("pk", flat=True))
        items = []
        for record_id, rows in rows_by_record.items():
            before, after = _state_at(rows, self.since), rows[-1]
            if not self._allowed(after) or (record_id in still_there and record_id not in visible_now):
                continue
            if not self._in_scope(tracked, after):
                continue
            was_visible = before is not None and before.history_type != "-" and self._allowed(before)
            fields: list[str] = []
            if after.history_type == "-":
                if not was_visible:
                    continue
                change = "deleted"
            elif before is None or before.history_type == "-":
                change = "created"
            elif not was_visible:
                change = "shared"
            else:
                fields = self._fields(tracked, before, after)
                if not fields:
                    continue
                change = "updated"
            items.append(
                {
                    "record": tracked.key,
                    "record_label": tracked.label,
                    "name": self._name(tracked, after),
                    "change": change,
                    "fields": fields,
                    "on": timezone.localdate(after.history_date).isoformat(),
                    "tlp": after.tlp,
                }
            )
        return sorted(items, key=lambda i: (CHANGE_ORDER[i["change"]], i["name"]))

    def items(self) -> list[dict]:
        return [item for tracked in TRACKED for item in self._changes_of(tracked)]


def changes_since(*, scope: str, obj: Model | None, audience: Audience, period_end: date, previous) -> dict:
    """The "what changed" section: the audience's view of the catalogue's changes since `previous` (a Report)."""
    if previous is None:
        return {
            "previous": None,
            "sentences": ["This is the first report of this scope for this audience."],
            "items": [],
        }
    since, until = day_end(previous.period_end), day_end(period_end)
    items = CatalogueChanges(scope=scope, obj=obj, audience=audience, since=since, until=until).items()
    sentences = []
    for tracked in TRACKED:
        mine = [i for i in items if i["record"] == tracked.key]
        if not mine:
            continue
        parts = []
        for change in CHANGE_ORDER:
            n = sum(1 for i in mine if i["change"] == change)
            if n:
                parts.append(f"{n:,} {'newly shared' if change == 'shared' else change}")
        sentences.append(f"{tracked.plural.capitalize()}: {', '.join(parts)}.")
    if not sentences:
        sentences.append("Nothing this audience may see changed since the previous report.")
    return {
        "previous": {
            "id": previous.pk,
            "title": previous.title,
            "start": str(previous.period_start),
            "end": str(previous.period_end),
        },
        "since": str(previous.period_end),
        "until": str(period_end),
        "sentences": sentences,
        "items": items,
    }
