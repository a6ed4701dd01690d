"""Filters of the detection API; a related-object filter accepts only visible objects."""

import django_filters as df
from django.db import connection

from campaigns import models as c
from detection import models as d
from detection.engine import BEHAVIOURS
from partners.api.filters import visible


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
