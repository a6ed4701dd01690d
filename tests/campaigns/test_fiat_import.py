import csv

import pytest

from campaigns import services, vocabularies
from campaigns.models import AttributionClaim, Campaign, Source, Takedown

pytestmark = pytest.mark.django_db

HEADER = [
    "case_id",
    "source",
    "source_category",
    "source_subcategory",
    "source_nation",
    "disinformant",
    "disinformant_nation",
    "disinformant_attribution",
    "short_title",
    "short_description",
    "attribution_url",
    "archived_attribution_url",
    "platforms",
    "start_date",
    "end_date",
    "attribution_date",
    "methods",
    *vocabularies.FIAT_SCORECARD_ITEMS,
    "fb_pages_total",
    "fb_accounts_total",
    "fb_groups_total",
    "ig_accounts_total",
    "fb_pages_followers_total",
    "ig_followers_total",
    "budget_usd_total",
    "Events_total",
]


def row(**values):
    base = dict.fromkeys(HEADER, "")
    base.update(
        case_id="42",
        source="Facebook",
        source_category="Technology Company",
        source_nation="United States",
        disinformant="Government of Iran",
        disinformant_nation="Iran",
        disinformant_attribution="Direct Attribution",
        short_title="Iranian network targeting US voters",
        short_description="Inauthentic accounts posing as Americans.",
        attribution_url="https://about.fb.com/news/example",
        start_date="2019-06-01",
        end_date="2020-10-01",
        attribution_date="2020-10-27",
    )
    base.update(dict.fromkeys(vocabularies.FIAT_SCORECARD_ITEMS[:12], "1"))
    base.update(dict.fromkeys(vocabularies.FIAT_SCORECARD_ITEMS[12:], "0"))
    base.update(values)
    return base


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_good_rows_become_claims_sources_and_takedowns(tmp_path):
    path = write(
        tmp_path / "fiat.csv",
        [
            row(
                fb_pages_total="12",
                fb_accounts_total="30",
                ig_accounts_total="4",
                fb_pages_followers_total="1,000",
                ig_followers_total="500",
                budget_usd_total="250",
            ),
            row(
                case_id="43",
                source="Microsoft",
                short_title="Chinese network",
                disinformant_nation="China",
                attribution_url="https://blogs.microsoft.com/example",
                attribution_date="11/02/2020",
            ),
        ],
    )
    result = services.fiat_import(path=path)
    assert (result.rows_read, result.claims_created, result.takedowns_created, result.rejected) == (2, 2, 1, [])
    claim = AttributionClaim.objects.get(fiat_case_id="42")
    assert claim.score_total == 12
    assert claim.claimant_category == "technology_company"
    assert claim.claimant_country == "US"
    assert claim.actor.country == "IR"
    assert claim.attribution_type == "direct"
    assert claim.source.url == "https://about.fb.com/news/example"
    takedown = Takedown.objects.get()
    assert (takedown.pages_removed, takedown.accounts_removed, takedown.followers) == (12, 30, 1500)
    assert takedown.ad_currency == "USD"
    assert AttributionClaim.objects.get(fiat_case_id="43").claimed_on.isoformat() == "2020-11-02"


def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_kept(tmp_path):
    path = write(
        tmp_path / "fiat.csv",
        [
            row(),
            row(case_id="2", source_category="Astrologer"),
            row(case_id="3", attribution_date="soon"),
            row(case_id="4", disinformant_nation="Atlantis"),
            row(case_id="5", attribution_clarity="maybe"),
            row(case_id="6", fb_pages_total="-3"),
            row(case_id="7", source=""),
        ],
    )
    result = services.fiat_import(path=path)
    assert result.claims_created == 1
    reported = [(r.line, r.field) for r in result.rejected]
    assert reported == [
        (3, "source_category"),
        (4, "attribution_date"),
        (5, "disinformant_nation"),
        (6, "attribution_clarity"),
        (7, "fb_pages_total"),
        (8, "source"),
    ]
    assert all(r.reason for r in result.rejected)
    assert Campaign.objects.count() == 1


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = write(tmp_path / "fiat.csv", [row(fb_accounts_total="5")])
    services.fiat_import(path=path)
    counts = (
        AttributionClaim.objects.count(),
        Source.objects.count(),
        Takedown.objects.count(),
        Campaign.objects.count(),
        AttributionClaim.history.count(),
    )
    again = services.fiat_import(path=path)
    assert (again.claims_created, again.claims_unchanged) == (0, 1)
    assert counts == (
        AttributionClaim.objects.count(),
        Source.objects.count(),
        Takedown.objects.count(),
        Campaign.objects.count(),
        AttributionClaim.history.count(),
    )


def test_a_file_without_the_fiat_columns_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing columns"):
        services.fiat_import(path=path)
