"""Render a report's content: a self-contained HTML page, a PDF (WeasyPrint), JSON and a STIX 2.1 bundle."""

from __future__ import annotations

import base64
import json
from datetime import date

from django.template.loader import render_to_string

from partners.markings import Tlp

from . import charts
from .builder import GROUP_ACCOUNTS_LISTED
from .stix import report_bundle

TLP_COLOURS = {
    Tlp.CLEAR: "#FFFFFF",
    Tlp.GREEN: "#33FF00",
    Tlp.AMBER: "#FFC000",
    Tlp.AMBER_STRICT: "#FFC000",
    Tlp.RED: "#FF2B2B",
}
TLP_NOTES = {
    Tlp.CLEAR: "TLP:CLEAR: recipients may share it without restriction.",
    Tlp.GREEN: "TLP:GREEN: recipients may share it within their community, not publicly.",
    Tlp.AMBER: "TLP:AMBER: recipients may share it on a need-to-know basis within their organisation and its clients.",
    Tlp.AMBER_STRICT: "TLP:AMBER+STRICT: recipients may share it only within their own organisation.",
    Tlp.RED: "TLP:RED: for the named recipients only.",
}


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def matrix_view(matrix: dict) -> dict:
    """The actors x elections matrix the way it reads best: the longer list down the rows."""
    actors, elections, cells = matrix["actors"], matrix["elections"], matrix["cells"]
    view = {"max": max((n for row in cells for n in row), default=0)}
    if len(elections) > len(actors):
        columns = [[row[j] for row in cells] for j in range(len(elections))]
        view.update(corner="Election", columns=actors, rows=list(zip(elections, columns, strict=True)))
        view["explain"] = "election targeted (rows) and actor (columns)"
    else:
        view.update(corner="Actor", columns=elections, rows=list(zip(actors, cells, strict=True)))
        view["explain"] = "actor (rows) and election targeted (columns)"
    view["head_width"] = 40 if len(view["columns"]) <= 4 else 28
    return view


def report_html(report) -> str:
    """The report as one HTML document (charts inlined; every value from the data is escaped)."""
    content = report.content
    marking = Tlp(report.tlp)
    matrix = content["matrix"]
    tactics = content["tactics"]
    context = {
        "title": report.title,
        "summary": report.summary,
        "content": content,
        "figures": content["figures"],
        "period_start": date.fromisoformat(content["period"]["start"]),
        "period_end": date.fromisoformat(content["period"]["end"]),
        "audience_label": content["audience"]["label"],
        "status_label": report.get_status_display(),
        "marking_label": marking.label,
        "marking_colour": TLP_COLOURS[marking],
        "marking_note": TLP_NOTES[marking],
        "charts": {name: _data_uri(png) for name, png in charts.report_charts(content).items()},
        "matrix": matrix_view(matrix),
        "tactic_max": max((t["count"] for t in tactics), default=0),
        "group_accounts_listed": GROUP_ACCOUNTS_LISTED,
        "technique_max": max((x["count"] for t in tactics for x in t["techniques"]), default=0),
    }
    return render_to_string("reports/report.html", context)


def report_pdf(html: str) -> bytes:
    """The HTML as a PDF. WeasyPrint may read the inlined charts and nothing else: no network, no local file."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"}), base_url=None).write_pdf()


def report_json(report) -> str:
    document = {
        "title": report.title,
        "marking": report.tlp,
        "status": report.status,
        "summary": report.summary,
        **report.content,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)


def report_stix(report) -> str:
    bundle = report_bundle(
        content=report.content,
        title=report.title,
        summary=report.summary,
        marking=report.tlp,
        report_key=f"{report.scope_key}/{report.period_start}/{report.period_end}/{report.audience_key}",
    )
    return json.dumps(bundle, indent=2, ensure_ascii=False)
