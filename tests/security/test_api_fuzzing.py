"""Fuzzing of the JSON API with Schemathesis, in-process through the WSGI application (no server).

Every operation of /api/v1/openapi.json is called with generated values, valid and invalid, as an
anonymous caller, as the manager of one place and as a superuser. Each answer must be no server
error, carry a status code the document declares, with the declared content type, headers and
body schema; values the document forbids must be refused with a 4xx, operations that require a
token must refuse calls without one, undeclared methods must answer 405 with `Allow`. A stateful
run then follows the links Schemathesis infers from the document (a place of the list → its
detail → its edit), and explicit cases pin the edge values the generator seldom draws.

Deterministic and bounded: a fixed seed, `derandomize`, no example database, MAX_EXAMPLES
generated cases per operation and caller, each case rolled back so that none depends on another.

Not checked: `positive_data_acceptance`. The document declares the directory filters and the
place fields as plain text on purpose (the forms validate them, with translated messages), so a
value valid for the document may well be refused with the documented 400.
"""

import datetime as dt
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from maillage.accounts.services import api_token_create
from maillage.places.models import PlaceTerm
from maillage.wsgi import application
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    UserFactory,
    make_manager,
)

MAX_EXAMPLES = 30
STATEFUL_SCENARIOS = 15

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    application,
    # Explicit, so that no schemathesis.toml lying around changes the run.
    config=schemathesis.Config.from_dict(
        {
            "seed": 20260101,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        }
    ),
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    ignored_auth,
    unsupported_method,
    allow_header_conformance,
]
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]

HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # The fixtures are set up once per test, each case is rolled back (see _isolated).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Fixed slugs, so that generated cases and explicit ones meet existing places.
PUBLISHED = ("fuzz-fablab-mende", "fuzz-coworking-florac")
HIDDEN = "fuzz-closed-marvejols"
NETWORKS = ("fuzz-lozere", "fuzz-cevennes")


@pytest.fixture
def directory(db, settings):
    """Two networks, three places (one unpublished), opening hours and terms."""
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 10_000  # the 429 has its own tests
    lozere, cevennes = (NetworkFactory(slug=slug) for slug in NETWORKS)
    fablab = PlaceFactory(
        slug=PUBLISHED[0],
        name="Fablab de Mende",
        town="Mende",
        postcode="48000",
        latitude=44.5181,
        longitude=3.5006,
        summary="Imprimantes 3D et découpe laser",
    )
    coworking = PlaceFactory(
        slug=PUBLISHED[1],
        name="Coworking de Florac",
        town="Florac",
        postcode="48400",
        latitude=44.3242,
        longitude=3.5931,
    )
    hidden = PlaceFactory(
        slug=HIDDEN, name="Ancien tiers-lieu", town="Marvejols", is_published=False
    )
    fablab.networks.add(lozere)
    coworking.networks.add(lozere, cevennes)
    hidden.networks.add(cevennes)
    PlaceTerm.objects.bulk_create(
        [
            PlaceTerm(place=fablab, kind=PlaceTerm.Kind.FUNCTION, code="makers"),
            PlaceTerm(place=fablab, kind=PlaceTerm.Kind.SERVICE, code="wifi"),
            PlaceTerm(place=fablab, kind=PlaceTerm.Kind.SERVICE, code="laser_cutter"),
            PlaceTerm(place=coworking, kind=PlaceTerm.Kind.FUNCTION, code="business_services"),
            PlaceTerm(place=coworking, kind=PlaceTerm.Kind.SERVICE, code="visio_room"),
        ]
    )
    for weekday in range(5):
        OpeningHoursFactory(place=fablab, weekday=weekday, opens=dt.time(9), closes=dt.time(18))
    return {"fablab": fablab, "coworking": coworking, "hidden": hidden}


@pytest.fixture(autouse=True)
def _connection_kept_between_requests():
    """At the end of a request the WSGI application closes a connection left inside a
    transaction, as it should in production; here that would end the test's transaction on
    PostgreSQL. Django's test client keeps it open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture(params=["anonymous", "manager", "superuser"])
def caller(request, directory) -> dict[str, str]:
    """The headers of the caller: nobody, the manager of the fablab, a superuser."""
    # Schemathesis calls the WSGI application itself and would not decompress a gzip answer.
    headers = {"Accept-Encoding": "identity"}
    if request.param == "manager":
        headers |= _bearer(make_manager(directory["fablab"]))
    elif request.param == "superuser":
        headers |= _bearer(UserFactory(is_superuser=True, is_staff=True))
    return headers


@contextmanager
def _isolated():
    """Each case starts from the fixture's data and with no rate-limit counters.

    Cases must not depend on one another, or Hypothesis could not replay and shrink a failure;
    and a failed query must not poison the test's transaction for the next cases (PostgreSQL).
    """
    cache.clear()
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)
        transaction.set_rollback(False)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Most cases name a place of the fixture (published or not), the others a generated slug."""
    slug = path_parameters.get("slug") if isinstance(path_parameters, dict) else None
    if not isinstance(slug, str):
        return st.just(path_parameters)
    return st.sampled_from([*PUBLISHED, HIDDEN, slug]).map(
        lambda chosen: {**path_parameters, "slug": chosen}
    )


@schema.hook
def flatmap_body(context, body):
    """A proposal is kept as generated, or becomes a new place, or a correction of a place.

    Only values the generator left empty are filled in, so that a body meant to be invalid
    (negative mode) stays invalid.
    """
    if context.operation.label != "POST /api/v1/proposals" or not isinstance(body, dict):
        return st.just(body)
    new_place = st.fixed_dictionaries(
        {
            "name": st.just("Tiers-lieu proposé"),
            "latitude": st.floats(-90, 90),
            "longitude": st.floats(-180, 180),
        },
        optional={"network": st.sampled_from([*NETWORKS, "nowhere"])},
    )
    correction = st.fixed_dictionaries({"place": st.sampled_from([*PUBLISHED, HIDDEN])})

    def complete(extra):
        filled = {key: value for key, value in extra.items() if body.get(key) is None}
        if extra and body.get("proposer_email", "") == "":
            filled["proposer_email"] = "someone@example.org"
        return {**body, **filled}

    return st.one_of(st.just({}), new_place, correction).map(complete)


@pytest.mark.django_db
@schema.parametrize()
@settings(HYPOTHESIS)
def test_api_operation(case, caller):
    with _isolated():
        case.call_and_validate(headers=caller, checks=CHECKS)


APIWorkflow = schema.as_state_machine()


@pytest.mark.django_db
def test_api_workflow(caller):
    """Scenarios of linked calls, e.g. GET /places, then GET or PATCH one of the places listed."""

    class Workflow(APIWorkflow):
        def setup(self):
            cache.clear()
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)
            transaction.set_rollback(False)

        def get_call_kwargs(self, case):
            return {"headers": caller}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                checks=STATEFUL_CHECKS,
                headers=caller,
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    Workflow.run(
        settings=settings(
            HYPOTHESIS,
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            suppress_health_check=list(HealthCheck),
        )
    )


# Values the generator seldom draws, each of which once answered 500 (or would on PostgreSQL).
EDGE_CASES = [
    ("GET", "/api/v1/places", {"query": {"page": 2**63}}),
    ("GET", "/api/v1/places", {"query": {"page": 10**30, "page_size": 100}}),
    ("GET", "/api/v1/places", {"query": {"open_at": "9999-12-31T23:59:59-23:59"}}),
    ("GET", "/api/v1/places.geojson", {"query": {"open_at": "0001-01-01T00:00:00+14:00"}}),
    ("GET", "/api/v1/places.csv", {"query": {"open_at": "9999-12-31T23:00:00-12:00"}}),
    ("GET", "/api/v1/places/{slug}", {"path_parameters": {"slug": "\x00"}}),
    ("GET", "/api/v1/places/{slug}", {"path_parameters": {"slug": "fuzz\x00fablab"}}),
    ("PATCH", "/api/v1/places/{slug}", {"path_parameters": {"slug": "\x00"}, "body": {}}),
    ("GET", "/api/v1/towns", {"query": {"q": "\x00"}}),
    ("POST", "/api/v1/proposals", {"body": {"place": "\x00", "proposer_email": "a@example.org"}}),
    (
        "POST",
        "/api/v1/proposals",
        {
            "body": {
                "name": "Tiers-lieu",
                "latitude": 44.5,
                "longitude": 3.5,
                "network": "lozere\x00",
                "proposer_email": "a@example.org",
            }
        },
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "values"),
    EDGE_CASES,
    ids=[f"{method} {path} {values}" for method, path, values in EDGE_CASES],
)
def test_api_edge_case(method, path, values, caller):
    case = schema[path][method].Case(
        media_type="application/json" if "body" in values else None, **values
    )
    with _isolated():
        response = case.call_and_validate(headers=caller, checks=CHECKS)
    assert 200 <= response.status_code < 500
