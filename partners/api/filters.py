"""Filters of the partner API. A filter on a related object accepts only objects the caller may see,
so a hidden id and a missing id give the same answer (400, not a valid choice)."""

import django_filters as df
from django.db import connection

from campaigns import models as c
from detection import models as d
from detection.engine import BEHAVIOURS
from partners.selectors import visible_to
from reports import models as r

from .authentication import principal_of


def visible(model):
    def queryset(request):
        return visible_to(principal_of(request) if request is not None else None, model.objects.all())

    return queryset


class ThreatActorFilterSet(df.FilterSet):
    parent = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))

    class Meta:
        model = c.ThreatActor
        fields = ["tlp", "actor_type", "country", "parent"]


class OperationFilterSet(df.FilterSet):
    actor = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))

    class Meta:
        model = c.Operation
        fields = ["tlp", "status", "actor"]


class ElectionFilterSet(df.FilterSet):
    election_day = df.DateFromToRangeFilter()

    class Meta:
        model = c.Election
        fields = ["tlp", "country", "election_type", "election_day"]


class CampaignFilterSet(df.FilterSet):
    actor = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))
    operation = df.ModelChoiceFilter(queryset=visible(c.Operation))
    election = df.ModelChoiceFilter(field_name="elections", queryset=visible(c.Election))
    narrative = df.ModelChoiceFilter(field_name="narratives", queryset=visible(c.Narrative))
    platform = df.ChoiceFilter(field_name="platforms__code", choices=c.vocab.Platform.choices)
    tool = df.ChoiceFilter(field_name="tools__code", choices=c.vocab.InterferenceTool.choices)
    first_seen = df.DateFromToRangeFilter()

    class Meta:
        model = c.Campaign
        fields = ["tlp", "status", "pap", "actor", "operation", "election", "narrative", "platform", "tool"]


class NarrativeFilterSet(df.FilterSet):
    parent = df.ModelChoiceFilter(queryset=visible(c.Narrative))

    class Meta:
        model = c.Narrative
        fields = ["tlp", "parent"]


class TechniqueFilterSet(df.FilterSet):
    class Meta:
        model = c.Technique
        fields = ["framework", "external_id", "tactic_id", "phase_id", "retired"]


class SourceFilterSet(df.FilterSet):
    published_on = df.DateFromToRangeFilter()

    class Meta:
        model = c.Source
        fields = ["tlp", "publisher", "reliability", "published_on"]


class AttributionClaimFilterSet(df.FilterSet):
    actor = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))
    campaign = df.ModelChoiceFilter(queryset=visible(c.Campaign))
    operation = df.ModelChoiceFilter(queryset=visible(c.Operation))
    claimed_on = df.DateFromToRangeFilter()

    class Meta:
        model = c.AttributionClaim
        fields = [
            "tlp",
            "claimant_category",
            "attribution_type",
            "likelihood",
            "confidence",
            "actor",
            "campaign",
            "operation",
            "claimed_on",
        ]


class TakedownFilterSet(df.FilterSet):
    platform = df.ChoiceFilter(field_name="platform__code", choices=c.vocab.Platform.choices)
    actor = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))
    operation = df.ModelChoiceFilter(queryset=visible(c.Operation))
    campaign = df.ModelChoiceFilter(queryset=visible(c.Campaign))
    announced_on = df.DateFromToRangeFilter()

    class Meta:
        model = c.Takedown
        fields = ["tlp", "platform", "actor", "operation", "campaign", "announced_on"]


class SampleFilterSet(df.FilterSet):
    class Meta:
        model = d.Sample
        fields = ["tlp", "status", "collection_method"]


class SampleImportFilterSet(df.FilterSet):
    sample = df.ModelChoiceFilter(queryset=visible(d.Sample))

    class Meta:
        model = d.SampleImport
        fields = ["sample", "status"]


MAX_COUNT = 2**31 - 1  # bounds keep a number filter within what the column can be compared with


class ScoringRunFilterSet(df.FilterSet):
    sample = df.ModelChoiceFilter(queryset=visible(d.Sample))

    class Meta:
        model = d.ScoringRun
        fields = ["sample", "status"]


class CoordinatedGroupFilterSet(df.FilterSet):
    run = df.ModelChoiceFilter(queryset=visible(d.ScoringRun))
    sample = df.ModelChoiceFilter(field_name="run__sample", queryset=visible(d.Sample))
    min_score = df.NumberFilter(field_name="score", lookup_expr="gte", min_value=0, max_value=1)
    min_size = df.NumberFilter(field_name="size", lookup_expr="gte", min_value=0, max_value=MAX_COUNT)
    behaviour = df.ChoiceFilter(choices=[(b, b) for b in BEHAVIOURS], method="filter_behaviour")
    campaign = df.ModelChoiceFilter(queryset=visible(c.Campaign))

    class Meta:
        model = d.CoordinatedGroup
        fields = ["run", "sample", "status", "min_score", "min_size", "behaviour", "campaign"]

    def filter_behaviour(self, queryset, name, value):
        if connection.features.supports_json_field_contains:
            return queryset.filter(behaviours__contains=[value])
        return queryset.filter(behaviours__icontains=f'"{value}"')  # SQLite: no JSON containment


class AccountScoreFilterSet(df.FilterSet):
    run = df.ModelChoiceFilter(queryset=visible(d.ScoringRun))
    group = df.ModelChoiceFilter(queryset=visible(d.CoordinatedGroup))
    min_score = df.NumberFilter(field_name="score", lookup_expr="gte", min_value=0, max_value=1)
    platform = df.ChoiceFilter(field_name="account__platform", choices=d.Platform.choices)

    class Meta:
        model = d.AccountScore
        fields = ["run", "group", "flagged", "min_score", "platform"]


class ReportFilterSet(df.FilterSet):
    election = df.ModelChoiceFilter(queryset=visible(c.Election))
    actor = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))
    operation = df.ModelChoiceFilter(queryset=visible(c.Operation))
    period_end = df.DateFromToRangeFilter()

    class Meta:
        model = r.Report
        fields = ["scope", "status", "tlp", "election", "actor", "operation", "period_end"]
