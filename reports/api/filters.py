"""Filters of the reports API; a related-object filter accepts only visible objects."""

import django_filters as df

from campaigns import models as c
from partners.api.filters import visible
from reports import models as r


class ReportFilterSet(df.FilterSet):
    election = df.ModelChoiceFilter(queryset=visible(c.Election))
    actor = df.ModelChoiceFilter(queryset=visible(c.ThreatActor))
    operation = df.ModelChoiceFilter(queryset=visible(c.Operation))
    period_end = df.DateFromToRangeFilter()

    class Meta:
        model = r.Report
        fields = ["scope", "status", "tlp", "election", "actor", "operation", "period_end"]
