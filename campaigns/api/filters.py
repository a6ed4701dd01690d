"""Filters of the catalogue's API collections; a related-object filter accepts only visible objects."""

import django_filters as df

from campaigns import models as c
from partners.api.filters import visible


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
