"""An audience's version of a report holds only what that audience may see, in every output."""

import json
from datetime import timedelta

import pytest

from partners.markings import Tlp
from reports import selectors, services
from reports.models import Scope
from reports.visibility import Audience

from ..campaigns.factories import ElectionFactory
from .conftest import AMBER, CANARIES, HOSTILE, RED, STRICT, VISIBLE, VISIBLE_IN_STIX, canary, pdf_text, read
from .conftest import squash as _squash

pytestmark = pytest.mark.django_db


def outputs(report) -> dict[str, str]:
    return {
        "html": read(report.html_file),
        "pdf": "\n".join(pdf_text(report.pdf_file.path)),
        "json": read(report.json_file),
        "stix": read(report.stix_file),
    }


def build(audience: Audience, today):
    return services.report_build(
        scope=Scope.GLOBAL, object_id=None, start=today - timedelta(days=6), end=today, audience=audience
    )


@pytest.mark.slow
def test_green_report_holds_no_amber_or_red_canary(planted):
    report = build(Audience(clearance="GREEN"), planted["today"])
    assert report.tlp == "GREEN"
    texts = outputs(report)
    for kind, text in texts.items():
        squashed = _squash(text)
        for level in (AMBER, RED, STRICT):
            for planted_string in CANARIES[level]:
                assert _squash(planted_string) not in squashed, f"{planted_string} leaked into the {kind}"
        for visible in VISIBLE if kind != "stix" else VISIBLE_IN_STIX:
            assert _squash(visible) in squashed, f"{visible} missing from the {kind}: the check would be vacuous"
    assert "987654" not in _squash(texts["json"]) and "777" not in json.dumps(report.content["groups"])
    assert [g["size"] for g in report.content["groups"]] == [31]
    assert HOSTILE not in texts["html"] and "&lt;script&gt;" in texts["html"]
    campaign = next(c for c in report.content["campaigns"] if c["name"].startswith("VisibleGreen"))
    assert campaign["actor"]["name"] == "(withheld)" and campaign["operation"]["name"] == "(withheld)"


@pytest.mark.slow
def test_amber_report_holds_amber_but_never_red_or_strict(planted):
    report = build(Audience(clearance="AMBER"), planted["today"])
    assert report.tlp == AMBER
    for kind, text in outputs(report).items():
        squashed = _squash(text)
        assert _squash(canary(AMBER, "Campaign")) in squashed
        for planted_string in CANARIES[RED] + CANARIES[STRICT]:
            assert _squash(planted_string) not in squashed, f"{planted_string} leaked into the {kind}"


@pytest.mark.slow
def test_organisation_report_holds_its_own_amber_strict_objects_only(planted):
    strict = _squash(canary(STRICT, "Campaign"))
    own = build(Audience(organisation=planted["owner"]), planted["today"])
    theirs = build(Audience(organisation=planted["other"]), planted["today"])
    assert own.tlp == STRICT and strict in _squash(outputs(own)["json"])
    assert theirs.tlp == "GREEN"
    for text in outputs(theirs).values():
        assert strict not in _squash(text)
        assert _squash(canary(AMBER, "Campaign")) not in _squash(text)


def test_a_scope_hidden_from_the_audience_is_refused(planted):
    hidden = ElectionFactory(name="Hidden election", tlp=AMBER)
    with pytest.raises(services.ReportError):
        services.report_build(
            scope=Scope.ELECTION,
            object_id=hidden.pk,
            start=planted["today"],
            end=planted["today"],
            audience=Audience(clearance="GREEN"),
        )


def test_reports_visible_to_partners(planted, no_pdf):
    today = planted["today"]
    green = build(Audience(clearance="GREEN"), today)
    amber = build(Audience(clearance="AMBER"), today)
    own = build(Audience(organisation=planted["owner"]), today)
    for report in (green, amber, own):
        services.report_publish(report=report)
    assert set(selectors.reports_visible_to(planted["owner"])) == {green, own}
    assert set(selectors.reports_visible_to(planted["other"])) == {green}
    assert not selectors.reports_visible_to(None).exists()
    assert Tlp(green.tlp) == Tlp.GREEN
