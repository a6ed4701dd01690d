"""The leak test: every route of the URL configuration, as every persona, against canaries in restricted records.

A route is covered when ROUTES (or the generic admin and parameterless rules) give it concrete URLs;
an uncovered route fails the test, so a new route must say how it is exercised here."""

import re
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from campaigns.api.taxii import collection_id
from partners.stix import sid

from .conftest import PERSONAS, TLPS

pytestmark = pytest.mark.django_db

STIX_KINDS = {"actor": "threat-actor", "operation": "intrusion-set", "campaign": "campaign", "narrative": "narrative"}
API_KINDS = {
    "actor": "actor",
    "operation": "operation",
    "election": "election",
    "campaign": "campaign",
    "narrative": "narrative",
    "source": "source",
    "claim": "claim",
    "takedown": "takedown",
}


def all_routes():
    """(name, pattern) for every URL pattern, with namespaces."""

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
                yield name, prefix + str(p.pattern), p

    return list(walk(get_resolver().url_patterns, "", ""))


def api_urls(world) -> dict[str, list[str]]:
    """Concrete URLs for every route of the partner API."""
    objs = world.objects
    samples = [objs[("sample", k)] for k in ("own_a", "own_b", "strict_a_to_s", "red_alice", "unowned")]
    imports = [s.imports.first() for s in samples]
    technique = objs[("campaign", "CLEAR")].technique_uses.first().technique
    urls = {
        "api:root": [reverse("api:root")],
        "api:schema": [reverse("api:schema")],
        "api:docs": [reverse("api:docs")],
        "api:redoc": [reverse("api:redoc")],
        "api:stix": [reverse("api:stix"), reverse("api:stix") + "?markings=opencti"],
        "api:taxii-discovery": [reverse("api:taxii-discovery")],
        "api:taxii-root": [reverse("api:taxii-root")],
        "api:taxii-collections": [reverse("api:taxii-collections")],
        "api:not-found": ["/api/v1/no-such-thing/", "/api/v1/campaigns/999999/"],
        "api:sample-list": [reverse("api:sample-list"), reverse("api:sample-list") + "?search=CNRY"],
        "api:sample-detail": [reverse("api:sample-detail", args=[s.pk]) for s in samples],
        "api:sample-imports": [reverse("api:sample-imports", args=[s.pk]) for s in samples],
        "api:import-list": [reverse("api:import-list")]
        + [reverse("api:import-list") + f"?sample={s.pk}" for s in samples],
        "api:import-detail": [reverse("api:import-detail", args=[i.pk]) for i in imports],
        "api:import-rejected": [reverse("api:import-rejected", args=[i.pk]) for i in imports],
        "api:technique-list": [reverse("api:technique-list")],
        "api:technique-detail": [reverse("api:technique-detail", args=[technique.pk])],
        "api:technique-stix": [reverse("api:technique-stix", args=[technique.pk])],
        "api:technique-stix-query": [reverse("api:technique-stix-query") + "?external_id=T0049"],
    }
    for basename, kind in API_KINDS.items():
        records = [objs[(kind, t)] for t in TLPS]
        listing = reverse(f"api:{basename}-list")
        urls[f"api:{basename}-list"] = [listing, listing + "?search=CNRY", listing + "?ordering=-created_at"]
        if basename == "campaign":
            for related in ("actor", "operation", "election", "narrative"):
                urls[f"api:{basename}-list"] += [f"{listing}?{related}={objs[(related, t)].pk}" for t in TLPS]
        urls[f"api:{basename}-detail"] = [reverse(f"api:{basename}-detail", args=[r.pk]) for r in records]
        if basename not in ("election", "source"):
            urls[f"api:{basename}-stix"] = [reverse(f"api:{basename}-stix", args=[r.pk]) for r in records]
            urls[f"api:{basename}-stix-query"] = [reverse(f"api:{basename}-stix-query")]
    urls.update(result_urls(world, samples))
    collections = [collection_id(t) for t in TLPS]
    stix_ids = [sid("campaign", objs[("campaign", t)]) for t in TLPS]
    urls["api:taxii-collection"] = [reverse("api:taxii-collection", args=[c]) for c in collections]
    urls["api:taxii-objects"] = [reverse("api:taxii-objects", args=[c]) for c in collections] + [
        reverse("api:taxii-objects", args=[collections[-1]]) + "?" + urlencode({"added_after": "2000-01-01T00:00:00Z"})
    ]
    urls["api:taxii-manifest"] = [reverse("api:taxii-manifest", args=[c]) for c in collections]
    # each collection asked for its own campaign, and the CLEAR collection for the RED one
    urls["api:taxii-object"] = [
        reverse("api:taxii-object", args=[c, i]) for c, i in zip(collections, stix_ids, strict=True)
    ]
    urls["api:taxii-object"].append(reverse("api:taxii-object", args=[collections[0], stix_ids[-1]]))
    return urls


def result_urls(world, samples) -> dict[str, list[str]]:
    """Scoring results of every sample (each filter given every sample's run and group), and every report."""
    names = [n for (kind, n) in world.results if kind == "run"]
    runs = [world.results[("run", n)] for n in names]
    groups = [world.results[("group", n)] for n in names]
    scores = [world.results[("account_score", n)] for n in names]
    reports = list(world.reports.values())
    run_list, group_list = reverse("api:run-list"), reverse("api:group-list")
    score_list, report_list = reverse("api:account-score-list"), reverse("api:report-list")
    urls = {
        "api:sample-runs": [reverse("api:sample-runs", args=[s.pk]) for s in samples],
        "api:run-list": [run_list, run_list + "?status=done", run_list + "?ordering=-finished_at"]
        + [f"{run_list}?sample={s.pk}" for s in samples],
        "api:group-list": [group_list, group_list + "?search=CNRY", group_list + "?behaviour=co-reshare&min_score=0.5"]
        + [f"{group_list}?run={r.pk}" for r in runs]
        + [f"{group_list}?sample={s.pk}" for s in samples],
        "api:account-score-list": [score_list, score_list + "?search=CNRY", score_list + "?flagged=true"]
        + [f"{score_list}?group={g.pk}" for g in groups]
        + [f"{score_list}?run={r.pk}" for r in runs],
        "api:report-list": [report_list, report_list + "?search=CNRY", report_list + "?status=draft&scope=global"],
    }
    for route, records in (("run", runs), ("group", groups), ("account-score", scores), ("report", reports)):
        urls[f"api:{route}-detail"] = [reverse(f"api:{route}-detail", args=[r.pk]) for r in records]
    urls["api:group-edges"] = [reverse("api:group-edges", args=[g.pk]) for g in groups]
    for fmt in ("html", "pdf", "json", "stix"):
        urls[f"api:report-{fmt}"] = [reverse(f"api:report-{fmt}", args=[r.pk]) for r in reports]
    return urls


def _record_for(world, route: str):
    """The most restricted world record of the model an admin route is about (or its first row)."""
    parts = route.split("/")
    if len(parts) < 3 or parts[0] != "admin":
        return None
    try:
        model = apps.get_model(parts[1], parts[2])
    except (LookupError, ValueError):
        return None
    record = next(
        (o for (_, t), o in world.objects.items() if isinstance(o, model) and t in ("RED", "red_alice")), None
    )
    return record or model._default_manager.order_by("pk").first()


def other_urls(world, route: str) -> list[str] | None:
    """Concrete URLs for a route outside the API (the admin, health, home): parameters filled by name."""
    record = _record_for(world, route)
    pk = record.pk if record is not None else 1
    history = getattr(record, "history", None)
    history_pk = history.order_by("pk").values_list("pk", flat=True).first() if history is not None else None
    campaign = world.objects[("campaign", "RED")]
    values = {
        "object_id": pk,
        "pk": pk,
        "id": pk,
        "history_id": history_pk or 1,
        "fmt": "json",
        "url": "no-such-page/",
        "content_type_id": ContentType.objects.get_for_model(campaign).pk,
    }
    if "content_type_id" in route:
        values["object_id"] = campaign.pk
    positional = iter([pk, history_pk or 1])
    unknown = []

    def named(match):
        name = match.group(1)
        if name not in values:
            unknown.append(name)
            return ""
        return str(values[name])

    if "(?P<app_label>" in route:
        return [f"/admin/{label}/" for label in ("campaigns", "partners", "detection")]
    url = re.sub(r"<(?:\w+:)?(\w+)>", named, route)
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", named, url)
    url = re.sub(r"\([^)]*\)", lambda m: str(next(positional)), url)
    url = url.replace("^", "").replace("$", "")
    return None if unknown else ["/" + url]


CANARY = re.compile(r"CNRY[A-Za-z]+Q")


def leaks(world, persona: str, text: str) -> set[str]:
    found = set(CANARY.findall(text))
    return {c for c in found if c in world.audience and persona not in world.audience[c]}


def read_everything(world) -> tuple[list[str], dict[str, set[str]], int]:
    """Every route (each with the concrete URLs the world gives it) as every persona: the failures (5xx or a canary
    out of place), the canaries each persona saw, and the number of requests."""
    plan: dict[str, list[str]] = {}
    uncovered = []
    api = api_urls(world)
    for name, route, _ in all_routes():
        if name.startswith("api:"):
            if name not in api:
                uncovered.append(route)
            plan[route] = api.get(name, [])
        else:
            urls = other_urls(world, route)
            if urls is None:
                uncovered.append(route)
            plan[route] = urls or []
    assert not uncovered, f"routes the leak test does not cover (add them to api_urls or other_urls): {uncovered}"

    failures, seen, requests = [], {p: set() for p in PERSONAS}, 0
    # every route answers the refused personas (who share one address here), not a 429
    with override_settings(PARTNER_API_REFUSAL_RATE="100000/minute"):
        for persona in PERSONAS:
            read_as(world, persona, plan, failures, seen)
            requests += sum(len(urls) for urls in plan.values())
    return failures, seen, requests


def read_as(world, persona: str, plan: dict[str, list[str]], failures: list[str], seen: dict[str, set[str]]) -> None:
    """Every planned URL as one persona: 5xx answers and canaries out of place go to `failures`."""
    client = world.client(persona)
    for urls in plan.values():
        for url in urls:
            response = client.get(url)
            text = response_text(response)
            if response.status_code >= 500:
                failures.append(f"{persona} {url}: {response.status_code}")
            for canary in leaks(world, persona, text):
                failures.append(f"{persona} {url}: {canary}")
            seen[persona] |= set(CANARY.findall(text))


def response_text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8", "replace") + " " + " ".join(f"{k}: {v}" for k, v in response.items())


def assert_each_persona_saw_what_it_may(world, seen) -> None:
    """Not vacuous: each persona saw every canary it may see, through some route."""
    for persona in PERSONAS:
        allowed = {c for c, audience in world.audience.items() if persona in audience}
        assert allowed <= seen[persona], (persona, sorted(allowed - seen[persona]))


def test_no_canary_reaches_a_persona_that_may_not_see_it(world):
    failures, seen, requests = read_everything(world)
    assert not failures, "\n".join(failures[:50])
    assert_each_persona_saw_what_it_may(world, seen)
    routes = sum(1 for _ in all_routes())
    print(f"leak test: {routes} routes x {len(PERSONAS)} personas, {requests} requests, 0 leaks")
