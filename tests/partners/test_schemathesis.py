"""Schemathesis against the OpenAPI schema, in-process on the real database, as every persona of the leak test:
each generated request is sent once per persona; 0 server errors and 0 schema violations allowed."""

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

from partners import services

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
    from partners.api.taxii import COLLECTIONS

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
