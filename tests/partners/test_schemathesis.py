"""Schemathesis against the OpenAPI schema, in-process on the real database, as every persona of the leak test:
each generated request is sent once per persona; 0 server errors and 0 schema violations allowed. Then hostile
values (impossible dates, overflowing and huge numbers, crafted cursors, unicode) in every query parameter of
every operation: 0 server errors, and each answered as the schema says."""

import base64
import time
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from campaigns.api.taxii import collection_id
from partners import services
from partners.stix import sid

from .conftest import PERSONAS

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MIN_REQUESTS_PER_PERSONA = 1000
# Examples per operation: fewer where a request is costly (a STIX graph, many visible-only prefetches), so that
# every operation is exercised and each persona still gets over 1,000 requests within the time budget.
EXPENSIVE = ("/stix/", "/objects/", "/manifest/")
HEAVY = ("/campaigns/", "/claims/", "/actors/")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def examples_for(path: str) -> int:
    if any(part in path for part in EXPENSIVE):
        return 3
    return 10 if any(part in path for part in HEAVY) else 44


@pytest.fixture
def keep_connection():
    """Like Django's test client: the WSGI app must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_schemathesis_as_every_persona(world, settings, keep_connection):
    from tracker.wsgi import application

    settings.PARTNER_API_RATE = "1000000/minute"
    settings.PARTNER_API_REFUSAL_RATE = "1000000/minute"  # the anonymous and revoked personas share one address
    _, researcher_token = services.personal_token_create(
        user=world.users["researcher"], organisation=None, name="schemathesis"
    )
    headers = {p: {"Authorization": f"Bearer {world.keys[p]}"} for p in PERSONAS if p in world.keys}
    headers["anonymous"] = {}
    headers["researcher"] = {"Authorization": f"Bearer {researcher_token}"}
    real_ids = {
        "id": sorted({o.pk for o in [*world.objects.values(), *world.results.values(), *world.reports.values()]}),
        "collection": None,
    }
    from campaigns.api.taxii import COLLECTIONS

    real_ids["collection"] = sorted(COLLECTIONS)
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    requests, failures, started = Counter(), [], time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    for operation in operations:
        strategy = operation.as_strategy()
        names = {p.name for p in operation.path_parameters}
        fixed = {name: real_ids[name] for name in names if real_ids.get(name)}
        if fixed:
            real = st.fixed_dictionaries({n: st.sampled_from(v) for n, v in fixed.items()}).flatmap(
                lambda params, operation=operation: operation.as_strategy(path_parameters=params)
            )
            strategy = st.one_of(strategy, real)

        @hypothesis_settings(
            max_examples=examples_for(operation.path),
            deadline=None,
            database=None,
            derandomize=True,  # the same requests on every run, so the count per persona is stable
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            for persona in PERSONAS:
                response = case.call(headers=headers[persona])
                requests[persona] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers[persona])
                except Exception as exc:  # noqa: BLE001 - every failure is collected and reported below
                    failures.append(f"{persona} {case.method} {case.formatted_path}: {str(exc)[:500]}")

        run()

    elapsed = time.monotonic() - started
    print(f"schemathesis: {len(operations)} operations, {dict(requests)} requests, {elapsed:.0f} s, 0 failures")
    assert not failures, "\n".join(failures[:30])
    assert min(requests[p] for p in PERSONAS) >= MIN_REQUESTS_PER_PERSONA, dict(requests)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# One or two of each shape that broke a parser once: impossible or out-of-range times, numbers that overflow a
# float or a column, crafted cursors, text that is no ASCII (or no text a database column takes).
HOSTILE = [
    "2026-02-30",
    "2026-13-45T00:00:00Z",
    "2024-01-01T00:00:00+99:00",
    "9999-12-31T23:59:59-23:59",
    "1e999",
    "-1e999",
    "nan",
    "9" * 30,
    "-" + "9" * 30,
    "9" * 5000,
    _b64("p=abc"),
    _b64("p=1e999"),
    _b64("o=" + "9" * 30),
    "not base64!",
    "台灣選舉🇹🇼",
    "\u202egnp.exe",
    "a\x00b",
    "",
]
# Routes that build a whole STIX graph per request get one value of each shape.
HOSTILE_FOR_EXPENSIVE = ["2026-02-30", "1e999", "9" * 5000, _b64("p=abc"), "台灣選舉🇹🇼", "a\x00b"]
HOSTILE_PERSONAS = ("researcher", "amber_a")


def real_path_parameters(world, path: str) -> dict:
    """Path parameters naming a record that exists and that the researcher sees, so the query is what is tried."""
    objs, results = world.objects, world.results
    sample = objs[("sample", "own_a")]
    records = {
        **{f"{kind}s": objs[(kind, "CLEAR")] for kind in ("actor", "operation", "campaign", "narrative", "source")},
        "elections": objs[("election", "CLEAR")],
        "claims": objs[("claim", "CLEAR")],
        "takedowns": objs[("takedown", "CLEAR")],
        "techniques": objs[("campaign", "CLEAR")].technique_uses.first().technique,
        "samples": sample,
        "imports": sample.imports.first(),
        "runs": results[("run", "own_a")],
        "groups": results[("group", "own_a")],
        "account-scores": results[("account_score", "own_a")],
        "reports": world.reports["clear"],
    }
    parameters = {}
    if "{id}" in path:
        parameters["id"] = records[path.split("/")[3]].pk
    if "{collection}" in path:
        parameters["collection"] = collection_id("CLEAR")
    if "{object_id}" in path:
        parameters["object_id"] = sid("campaign", objs[("campaign", "CLEAR")])
    return parameters


def test_hostile_values_in_every_query_parameter_of_every_operation(world, settings, keep_connection):
    """Each query parameter of each operation (and the list filters a `stix/` query export takes), alone with
    each hostile value, as a researcher and as a partner: never a server error, always a documented answer."""
    from tracker.wsgi import application

    settings.PARTNER_API_RATE = "1000000/minute"
    _, researcher_token = services.personal_token_create(
        user=world.users["researcher"], organisation=None, name="schemathesis-hostile"
    )
    headers = {"researcher": {"Authorization": f"Bearer {researcher_token}"}}
    headers["amber_a"] = {"Authorization": f"Bearer {world.keys['amber_a']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    query_names = {
        (o.method, o.path): [p.name for p in o.iter_parameters() if p.location == "query"] for o in operations
    }
    requests, failures, started = 0, [], time.monotonic()
    for operation in operations:
        names = query_names[(operation.method, operation.path)]
        if operation.path.endswith("/stix/") and "{id}" not in operation.path:
            listing = operation.path.removesuffix("stix/")
            names = names + [n for n in query_names.get(("get", listing), []) if n not in ("cursor", "page_size")]
        values = HOSTILE_FOR_EXPENSIVE if any(part in operation.path for part in EXPENSIVE) else HOSTILE
        path_parameters = real_path_parameters(world, operation.path)
        for name in names:
            for value in values:
                case = operation.Case(path_parameters=path_parameters, query={name: value})
                for persona in HOSTILE_PERSONAS:
                    response = case.call(headers=headers[persona])
                    requests += 1
                    try:
                        case.validate_response(response, checks=CHECKS, headers=headers[persona])
                    except Exception as exc:  # noqa: BLE001 - every failure is collected and reported below
                        failures.append(f"{persona} {operation.path}?{name}={value[:40]!r}: {str(exc)[:300]}")
    elapsed = time.monotonic() - started
    print(f"hostile values: {len(operations)} operations, {requests} requests, {elapsed:.0f} s")
    assert not failures, "\n".join(failures[:30])
    assert requests > 5000
