"""`/openapi.json` is a valid OpenAPI 3.1 document, describes every HTTP route, and stays true.

"True" is checked by schemathesis against a real `whiteboard serve` (embedded backend, loopback only):
generated requests, valid and invalid, with no credential, an admin token and a ward-scoped nurse token,
must never get a 5xx and never get an answer the document does not allow (status code, content type,
body schema, headers). Bounded and derandomised so the file runs in well under 90 s on two cores.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import jsonschema  # type: ignore[import-untyped]
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi
from schemathesis import GenerationMode
from schemathesis.core.result import Err
from starlette.routing import Mount, Route, WebSocketRoute

from tests.e2e.server import ServerProcess
from whiteboard.domain import news2
from whiteboard.domain.beds import (
    BED_FIELDS,
    FLAGS,
    PATIENT_FIELDS,
    STATUSES,
    TASK_KINDS,
    parse_display_profile,
    parse_patch,
)
from whiteboard.errors import DomainError
from whiteboard.settings import Settings
from whiteboard.web import openapi, routes
from whiteboard.web.ops import parse_load_test

DEFAULTS = Settings()

WARD = "ward-7a"
OTHER_WARD = "ward-7b"
BEDS = 6
# Examples per operation, per generation mode (valid and invalid input) and per credential.
MAX_EXAMPLES = 20
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


OBSERVATIONS = {
    "respiration_rate": 22,
    "spo2": 94,
    "spo2_scale": 1,
    "on_oxygen": True,
    "systolic_bp": 105,
    "pulse": 96,
    "consciousness": "A",
    "temperature": 38.4,
}
SEED: dict[str, dict[str, Any]] = {
    "B01": {
        "status": "occupied",
        "notes": "Family visiting at 3pm",
        "patient": {
            "name": "Jane Synthetic",
            "nhs_number": "943 476 5919",
            "date_of_birth": "1941-03-02",
            "age": 85,
            "sex": "F",
            "consultant": "Dr Example",
            "named_nurse": "Sam",
            "edd": "2026-11-25",
            "medically_optimised": True,
            "discharge_pathway": 1,
            "discharge_status": "awaiting_tto",
            "red_green": "green",
            "news2": {"score": 3, "red_score": True},
            "flags": ["falls", "dnacpr"],
            "tasks": [{"kind": "bloods", "text": "FBC"}, {"kind": "tto", "done": True}],
        },
    },
    "B03": {"patient": {"name": "John Example"}},
    "B05": {"status": "cleaning"},
}


@pytest.fixture
def backend(tmp_path: Path) -> dict[str, str | None]:
    """The embedded backend only (SQLite file, in-process event log): the document is the same on every backend."""
    return {"database_url": f"sqlite:///{tmp_path / 'wb.db'}", "redis_url": None, "redis_prefix": "wb"}


# --- the document itself ------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    doc = openapi.document(DEFAULTS)
    assert doc["openapi"].startswith("3.1.")
    validate_openapi(doc)  # openapi-spec-validator: the 3.1 meta-schema plus reference and parameter rules
    schema = schemathesis.openapi.from_dict(copy.deepcopy(doc))
    schema.validate()  # and schemathesis' own loader agrees
    errors = [str(r.err()) for r in schema.get_all_operations() if isinstance(r, Err)]
    assert not errors


def test_the_documented_version_is_the_released_one() -> None:
    """The version a client reads is the one pyproject.toml releases and pip installed, not just whatever
    `whiteboard.__version__` says (the document is built from that, so comparing the two proves nothing)."""
    import importlib.metadata
    import tomllib

    from click.testing import CliRunner

    from whiteboard.cli import main

    released = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    assert openapi.document(DEFAULTS)["info"]["version"] == released["version"]
    assert importlib.metadata.version(released["name"]) == released["version"]
    assert CliRunner().invoke(main, ["--version"]).output.strip() == f"whiteboard, version {released['version']}"


def _route_operations() -> tuple[set[tuple[str, str]], list[str]]:
    ops: set[tuple[str, str]] = set()
    sockets: list[str] = []
    for r in routes.routes():
        if isinstance(r, Mount):
            continue  # /static: files, not API
        if isinstance(r, WebSocketRoute):
            sockets.append(r.path)
            continue
        assert isinstance(r, Route), r
        # Starlette answers HEAD for every GET route by itself; the document lists the GETs.
        ops |= {(r.path, m.lower()) for m in (r.methods or {"GET"}) if m != "HEAD"}
    return ops, sockets


def test_every_route_is_documented_and_nothing_else() -> None:
    doc = openapi.document(DEFAULTS)
    documented = {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    }
    served, sockets = _route_operations()
    assert served - documented == set(), "routes the document does not describe"
    assert documented - served == set(), "operations the server does not have"
    # The WebSocket cannot be an OpenAPI operation: it is described, and kept out of `paths`.
    assert sockets == ["/ws/wards/{ward}", "/fhir/ws"]
    for path in sockets:
        assert path not in doc["paths"]
        assert path in doc["x-websockets"]
        assert path in doc["info"]["description"]


def test_every_operation_says_how_it_fails() -> None:
    doc = openapi.document(DEFAULTS)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op["operationId"] and op["responses"], (method, path)
            secured = op.get("security", doc["security"]) == doc["security"]
            if secured:  # a credential is needed: 401 and 403 are answers, with the contract's error body
                for status in ("401", "403"):
                    schema = op["responses"][status]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_served_document_is_the_built_one() -> None:
    from starlette.testclient import TestClient

    from whiteboard.app import create_app

    # No lifespan: /openapi.json needs no database.
    settings = Settings(database_url="sqlite://")
    client = TestClient(create_app(settings))
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == openapi.document(settings)
    assert client.get("/openapi.json").content == r.content  # built once, kept in the app's state


def test_the_document_states_the_running_servers_limits() -> None:
    """Body size, events page and heartbeat are the server's settings, not the class defaults."""
    from starlette.testclient import TestClient

    from whiteboard.app import create_app

    settings = Settings(
        database_url="sqlite://",
        max_body_bytes=12_345,
        events_page_max=77,
        heartbeat_secs=7.5,
        ws_max_message_bytes=999,
    )
    doc = TestClient(create_app(settings)).get("/openapi.json").json()
    events = doc["paths"]["/api/wards/{ward}/events"]["get"]
    limit = next(p for p in events["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 77 and "77" in limit["description"]
    patch = doc["paths"]["/api/wards/{ward}/beds/{bed}"]["patch"]
    assert "12345 bytes" in patch["responses"]["413"]["description"]
    description = " ".join(doc["info"]["description"].split())
    assert "413 (body over 12345 bytes)" in description
    assert "every 7.5 s" in description and "frame over 999 bytes" in description
    assert str(Settings.max_body_bytes) not in description and str(Settings.events_page_max) not in str(events)


# --- the body schemas agree with the parsers (both come from the wire models; the rules no schema states ride
# along as `if`/`then` where JSON Schema can say them, so the two still have to agree) ---------------------


def _validator(name: str) -> jsonschema.Draft202012Validator:
    doc = openapi.document(DEFAULTS)
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _server_accepts(parse: Callable[[Any], Any], body: Any) -> bool:
    try:
        parse(body)
    except (DomainError, news2.ObservationError):
        return False
    return True


# Values of every JSON type and the edges of each field's rule. Whole numbers with a fraction (`3.0`), which JSON
# Schema counts as integers and the server refuses, are left out, and so are rules the schema cannot express: the
# NHS number's check digit, the year range of dates, and the few characters only Python counts as blank.
# fmt: off
_PROBES: list[Any] = [
    None, True, False, 0, 1, 2, 3, 4, -1, 8, 9, 20, 21, 30, 31, 40, 41, 130, 131, 200, 201, 500, 1.5, 36.6, 46.5,
    "", " ", "x", "a\x00b", " \x00 ", "J.S.", "ABCDEFGH", "ABCDEFGHI", "x" * 100, "x" * 101, "x" * 500, "x" * 501,
    "F", "M", "X", "U", "f", "A", "C", "V", "P", "red", "green", "amber", "planned", "ready", "nope",
    "2026-11-22", "2026-11-22T09:30:00Z", "2026-11-22T09:30:00+01:00", "2026-11-22T09:30:00",
    "9434765919", "943 476 5919",
    [], ["falls"], ["falls", "dnacpr"], ["bogus"], [1], {}, {"score": 3}, {"score": 3, "red_score": True},
    {"score": 1, "red_score": True}, {"score": 21}, {"score": 3, "bogus": 1}, {"red_score": False},
    [{"kind": "bloods", "text": "FBC"}], [{"id": "a", "text": "x"}, {"id": "b"}], [{"kind": "nope"}],
    [{"text": "x", "bogus": 1}], [{}] * 31, ["x"],
]
# fmt: on


def test_bed_update_schema_matches_domain() -> None:
    validator = _validator("BedUpdate")
    schemas = validator.schema["components"]["schemas"]
    assert set(schemas["BedUpdate"]["properties"]) == set(BED_FIELDS)
    assert set(schemas["PatientUpdate"]["properties"]) == set(PATIENT_FIELDS)
    bodies: list[Any] = [
        {},
        [],
        "x",
        {"bogus": 1},
        {"status": "empty", "bogus": 1},
        {"patient": None},
        {"patient": "x"},
        {"patient": {"bogus": 1}},
    ]
    bodies += [{"status": v} for v in [*_PROBES, *STATUSES]]
    bodies += [{"notes": v} for v in _PROBES]
    for field in PATIENT_FIELDS:
        bodies += [{"patient": {field: v}} for v in _PROBES]
    bodies += [{"patient": {"news2": {"score": 3, "recorded_at": v}}} for v in _PROBES]
    bodies += [{"patient": {"tasks": [{key: v}]}} for key in ("id", "kind", "text", "done") for v in _PROBES]
    bodies += [{"patient": {"flags": [f]}} for f in FLAGS]
    bodies += [{"patient": {"tasks": [{"kind": k}]}} for k in TASK_KINDS]
    bodies += [{"admit": v, "patient": {"name": "A B"}} for v in _PROBES]
    bodies += [{"admit": True}, {"admit": True, "patient": None}, {"admit": True, "patient": {"initials": "A.B."}}]
    bodies += [{"admit": False}, {"admit": False, "patient": None}, {"admit": True, "patient": {"name": "A B"}}]
    disagree = [b for b in bodies if validator.is_valid(b) != _server_accepts(parse_patch, b)]
    assert disagree == []


def test_observations_schema_matches_news2() -> None:
    validator = _validator("Observations")
    assert set(validator.schema["components"]["schemas"]["Observations"]["properties"]) == set(news2.FIELDS)
    good = {
        "respiration_rate": 18,
        "spo2": 97,
        "spo2_scale": 1,
        "on_oxygen": False,
        "systolic_bp": 120,
        "pulse": 70,
        "consciousness": "A",
        "temperature": 36.8,
    }
    bodies: list[Any] = [good, {}, [], {**good, "bogus": 1}]
    for field in news2.FIELDS:
        bodies.append({k: v for k, v in good.items() if k != field})
        bodies += [{**good, field: v} for v in [*_PROBES, 25, 45, 24.9, 45.1, 50, 49, 100, 101, 300, 301, 80, 81]]
    disagree = [b for b in bodies if validator.is_valid(b) != _server_accepts(news2.parse_observations, b)]
    assert disagree == []


def test_display_profile_schema_matches_domain() -> None:
    validator = _validator("DisplayProfileUpdate")
    bodies: list[Any] = [{}, [], {"fields": None}, {"fields": []}, {"fields": None, "x": 1}, {"fields": "initials"}]
    bodies += [{"fields": [f]} for f in ["name", "nhs_number", "notes", "bogus", 1, "initials", "tasks_pending"]]
    disagree = [b for b in bodies if validator.is_valid(b) != _server_accepts(parse_display_profile, b)]
    assert disagree == []


def test_load_test_result_schema_matches_the_server() -> None:
    validator = _validator("LoadTestResult")
    good = {"finished_at": "2026-12-01T09:00:00Z", "profile": "ci", "monthly_multiple": 2, "thresholds_passed": True,
            "requests": 10, "failures": 0, "p99_ms": 5.5, "report_name": None}  # fmt: skip
    bodies: list[Any] = [good, {**good, "report_name": "r"}, {**good, "extra": 1}, [], {}]
    for field in good:
        bodies.append({k: v for k, v in good.items() if k != field})
        bodies += [{**good, field: v} for v in [*_PROBES, -1, 0, 7.5, "x" * 201]]
    disagree = [b for b in bodies if validator.is_valid(b) != _server_accepts(parse_load_test, b)]
    assert disagree == []


# --- schemathesis against a real server ------------------------------------------------------------


def prepared(make_server: Callable[..., ServerProcess], **env: str) -> ServerProcess:
    """A real server with two wards of six beds. The first has two patients (one with observations) and a bed
    being cleaned; the second is never read before a test starts (its view is not loaded yet)."""
    s = make_server(env=env)
    s.cli("ward", "add", WARD, OTHER_WARD, "--beds", str(BEDS))
    s.start()
    with s.client(s.token("admin")) as admin:
        for bed, body in SEED.items():
            r = admin.patch(f"/api/wards/{WARD}/beds/{bed}", json=body)
            assert r.status_code == 200, r.text
        r = admin.post(f"/api/wards/{WARD}/beds/B03/observations", json=OBSERVATIONS)
        assert r.status_code == 200, r.text
    return s


@pytest.fixture
def server(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    """Writes are not rate limited here, so generated changes reach the validation behind the limit."""
    return prepared(make_server, WHITEBOARD_WRITE_RATE_PER_MIN="0")


def _strategies(op: schemathesis.APIOperation[Any, Any, Any, Any]) -> list[Any]:
    """Valid and invalid input, for made-up wards and beds and for the real ward's real beds."""
    params = {p.name for p in op.path_parameters}
    fixed: list[dict[str, str] | None] = [None]
    if "ward" in params:
        fixed.append({"ward": WARD})
        if "bed" in params:
            fixed += [{"ward": WARD, "bed": f"B0{n}"} for n in (1, 3, 6)]
    modes = [GenerationMode.POSITIVE]
    if op.path_parameters or op.query or op.headers or op.body:
        modes.append(GenerationMode.NEGATIVE)
    return [op.as_strategy(generation_mode=m, path_parameters=f) for m in modes for f in fixed]


def run_schemathesis(
    base_url: str, doc: dict[str, Any], token: str | None, max_examples: int = MAX_EXAMPLES, derandomize: bool = True
) -> tuple[list[str], int]:
    """Every operation in `doc` against the server; the failures, each with schemathesis' reproduction.

    `max_examples` and `derandomize=False` are for exploring by hand (a longer, different run); the suite uses
    the defaults, so every run sends the same requests."""
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(base_url=base_url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), result.err()
        op = result.ok()

        @hypothesis.settings(
            max_examples=max_examples * len(_strategies(op)) // 2,
            derandomize=derandomize,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the report carries the request as sent
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @hypothesis.given(case=st.one_of(_strategies(op)))
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            failures.append(f"{op.label}: {exc}")
    return failures, calls


# No credential; every right on every ward; a nurse who may change this ward only; the privacy-masked wall display.
CREDENTIALS = {"anonymous": None, "admin": ("admin",), "nurse": ("nurse", WARD), "display": ("display", WARD)}


@pytest.mark.parametrize("who", list(CREDENTIALS))
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(server: ServerProcess, who: str) -> None:
    role_and_wards = CREDENTIALS[who]
    token = server.token(*role_and_wards) if role_and_wards else None
    doc = httpx.get(server.url + "/openapi.json", timeout=10).json()  # the document as served
    started = time.monotonic()
    failures, calls = run_schemathesis(server.url, doc, token)
    print(f"schemathesis ({who}): {calls} requests in {time.monotonic() - started:.1f}s")
    assert calls >= 200
    assert not failures, "\n\n".join(failures) + f"\n\n--- server log ---\n{server.output()}"


def test_schemathesis_run_fails_on_an_undocumented_status(server: ServerProcess) -> None:
    """The harness is not vacuous: drop 401 from one operation and an anonymous run must report it."""
    doc = copy.deepcopy(openapi.document(DEFAULTS))
    del doc["paths"]["/api/wards"]["get"]["responses"]["401"]
    failures, _ = run_schemathesis(server.url, {**doc, "paths": {"/api/wards": doc["paths"]["/api/wards"]}}, None)
    assert len(failures) == 1
    assert "GET /api/wards" in failures[0] and "401" in failures[0]


# Inputs that random generation rarely reaches, each of which once got a 5xx or an answer the document does not
# allow (on SQLite or on PostgreSQL): (method, path, case fields, expected status).
EDGE_CASES: list[tuple[str, str, dict[str, Any], int]] = [
    # `str.isdigit` accepts '²', which `int()` refuses: a 500 in the limit checks and the If-Match parser.
    (
        "PATCH",
        "/api/wards/{ward}/beds/{bed}",
        {
            "path_parameters": {"ward": OTHER_WARD, "bed": "B01"},
            "headers": {"If-Match": "\u00b2.abcdefgh"},
            "body": {"notes": "x"},
        },
        412,
    ),
    ("GET", "/api/wards/{ward}/events", {"path_parameters": {"ward": WARD}, "query": {"limit": "\u00b2"}}, 400),
    ("GET", "/api/audit", {"query": {"limit": "\u00b2"}}, 400),
    # Times whose UTC is past year 9999 or before year 1, and NULs in text: PostgreSQL refused them (a 503).
    ("GET", "/api/audit", {"query": {"since": "9999-12-31T23:59:59-14:00"}}, 400),
    ("GET", "/api/audit", {"query": {"until": "0001-01-01T00:00:00+14:00"}}, 400),
    ("GET", "/api/audit", {"query": {"person": "a\x00"}}, 400),
    (
        "PATCH",
        "/api/wards/{ward}/beds/{bed}",
        {"path_parameters": {"ward": WARD, "bed": "B02"}, "body": {"notes": "a\x00b"}},
        422,
    ),
    # Times past what `datetime` holds once in UTC (or plus the next-due interval): a 500 in the domain rules.
    (
        "PATCH",
        "/api/wards/{ward}/beds/{bed}",
        {
            "path_parameters": {"ward": WARD, "bed": "B04"},
            "body": {"patient": {"name": "Al Bo", "admitted_at": "9999-12-31T23:59:59-14:00"}},
        },
        422,
    ),
    (
        "PATCH",
        "/api/wards/{ward}/beds/{bed}",
        {
            "path_parameters": {"ward": WARD, "bed": "B04"},
            "body": {"patient": {"name": "Al Bo", "news2": {"score": 1, "recorded_at": "9999-12-31T23:59:59Z"}}},
        },
        422,
    ),
    ("GET", "/api/wards/{ward}", {"path_parameters": {"ward": "a%00b"}}, 404),
    ("GET", "/board/{ward}", {"path_parameters": {"ward": "a%00b"}}, 404),
    # An X-Request-Id longer than the audit column (PostgreSQL: a 503) is cut, not refused.
    (
        "PATCH",
        "/api/wards/{ward}/beds/{bed}",
        {
            "path_parameters": {"ward": WARD, "bed": "B02"},
            "headers": {"X-Request-Id": "r" * 100},
            "body": {"notes": "long request id"},
        },
        200,
    ),
    # Routing works on the decoded path: an encoded '/' reached another endpoint (200 with an events page) or a 405.
    ("GET", "/api/wards/{ward}", {"path_parameters": {"ward": f"{WARD}%2Fevents"}}, 404),
    ("GET", "/api/wards/{ward}", {"path_parameters": {"ward": f"{WARD}%2Fbeds%2FB01"}}, 404),
    ("GET", "/board/{ward}", {"path_parameters": {"ward": "x%2Fy"}}, 404),
]


EDGE_WRITES = sum(1 for method, *_ in EDGE_CASES if method in {"PATCH", "POST", "PUT"})


def test_edge_inputs_get_the_contracts_4xx(make_server: Callable[..., ServerProcess]) -> None:
    # A small write allowance, so the last change is refused with the documented 429 and Retry-After.
    server = prepared(make_server, WHITEBOARD_WRITE_BURST=str(EDGE_WRITES), WHITEBOARD_WRITE_RATE_PER_MIN="1")
    schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi.document(DEFAULTS)))
    schema.config.update(base_url=server.url)
    token = server.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    # Enrolling by token on the login form: 303 to the start page with the session cookie.
    # The form's own page sends it, so the Origin is ours (a missing or opaque one is refused: login CSRF).
    login = (
        "POST",
        "/login",
        {
            "body": {"token": token},
            "media_type": "application/x-www-form-urlencoded",
            "headers": {"Origin": server.url},
        },
        303,
    )
    too_many = (
        "PATCH",
        "/api/wards/{ward}/beds/{bed}",
        {"path_parameters": {"ward": WARD, "bed": "B06"}, "body": {"notes": "one too many"}},
        429,
    )
    failures = []
    for method, path, fields, status in [*EDGE_CASES, login, too_many]:
        case = schema[path][method].Case(**fields)
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{method} {path} {fields}: {exc}")
            continue
        if response.status_code != status:
            failures.append(f"{method} {path} {fields}: {response.status_code} (not {status}) {response.text}")
    assert not failures, "\n\n".join(failures) + f"\n\n--- server log ---\n{server.output()}"
