"""The wire models: their schemas are valid JSON Schema, and the parsers built on them refuse what the contract
refuses, with the contract's codes and fields, and accept what it accepts."""

from __future__ import annotations

import typing
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from whiteboard.domain import beds, news2, redact
from whiteboard.domain.beds import parse_display_profile, parse_patch
from whiteboard.domain.wire import answers, requests, values
from whiteboard.domain.wire.schema import components
from whiteboard.errors import DomainError

SCHEMAS = components(redact.DISPLAYABLE - redact.NEVER_ON_DISPLAY)


def validator(name: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def refused(parse: Any, body: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as err:
        parse(body)
    assert err.value.status == 422 and err.value.message
    return err.value.code, err.value.field


# --- the schemas ---


def test_every_model_has_a_valid_schema_under_its_own_name() -> None:
    for model in (*requests.REQUESTS, *answers.ANSWERS):
        assert model.__name__ in SCHEMAS
    for name, schema in SCHEMAS.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert "title" not in schema, name
    # Nested models are components too, referenced where they are used.
    assert SCHEMAS["BedUpdate"]["properties"]["patient"]["anyOf"][0] == {"$ref": "#/components/schemas/PatientUpdate"}
    assert SCHEMAS["BedUpdate"]["additionalProperties"] is False
    assert "additionalProperties" not in SCHEMAS["Bed"]  # answers may grow fields; clients ignore unknown ones


def test_vocabularies_are_the_domains() -> None:
    assert typing.get_args(values.Status) == beds.STATUSES
    assert typing.get_args(values.Flag) == beds.FLAGS
    assert typing.get_args(values.TaskKind) == beds.TASK_KINDS
    assert typing.get_args(values.DischargeStatus) == beds.DISCHARGE_STATUSES
    assert typing.get_args(values.Sex) == beds.SEXES
    assert set(typing.get_args(values.Consciousness)) == news2.CONSCIOUSNESS_LEVELS
    assert set(SCHEMAS["PatientUpdate"]["properties"]) == set(beds.PATIENT_FIELDS)
    assert set(SCHEMAS["BedUpdate"]["properties"]) == set(beds.BED_FIELDS)
    assert set(SCHEMAS["Observations"]["required"]) == news2.FIELDS


def test_display_profile_schema_offers_only_displayable_fields() -> None:
    items = SCHEMAS["DisplayProfileUpdate"]["properties"]["fields"]["anyOf"][0]["items"]["enum"]
    assert set(items) == redact.DISPLAYABLE - redact.NEVER_ON_DISPLAY and "name" not in items


# --- the error table: each refusal keeps the contract's code and field ---


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"notes": 5}, "wrong_type", "notes"),
        ({"colour": "red"}, "unknown_field", "colour"),
        ({"status": "on fire"}, "unknown_value", "status"),
        ({"status": None}, "unknown_value", "status"),
        ({"notes": "x" * 501}, "too_long", "notes"),
        ({"notes": "a\x00b"}, "bad_character", "notes"),
        ({"patient": {"name": "A B", "nhs_number": "1234567890"}}, "invalid", "patient.nhs_number"),
        ({"patient": {"name": "A B", "shoe_size": 9}}, "unknown_field", "patient.shoe_size"),
        ({"patient": {"name": "A B", "flags": ["falls", "vip"]}}, "unknown_value", "patient.flags"),
        ({"patient": {"name": "A B", "edd": "soon"}}, "wrong_type", "patient.edd"),
        ({"patient": {"edd": "1899-12-31"}}, "invalid", "patient.edd"),
        ({"patient": {"admitted_at": "2026-11-22T09:30:00"}}, "invalid", "patient.admitted_at"),
        ({"patient": {"name": "   "}}, "invalid", "patient.name"),
        ({"patient": {"age": 131}}, "wrong_type", "patient.age"),
        ({"patient": {"age": True}}, "wrong_type", "patient.age"),
        ({"patient": {"age": 3.0}}, "wrong_type", "patient.age"),
        ({"patient": {"medically_optimised": None}}, "wrong_type", "patient.medically_optimised"),
        ({"patient": "x"}, "wrong_type", "patient"),
        ({"patient": {"tasks": [{"text": "x", "colour": 1}]}}, "unknown_field", "patient.tasks[0].colour"),
        ({"patient": {"tasks": [{}, "x"]}}, "wrong_type", "patient.tasks[1]"),
        ({"patient": {"tasks": [{}] * 31}}, "too_long", "patient.tasks"),
        ({"patient": {"tasks": [{"id": "a"}, {"id": "a"}]}}, "invalid", "patient.tasks[1].id"),
        ({"patient": {"news2": {"red_score": False}}}, "invalid", "patient.news2.score"),
        ({"patient": {"news2": {"score": 21}}}, "wrong_type", "patient.news2.score"),
        ({"patient": {"news2": {"score": 2, "red_score": True}}}, "invalid", "patient.news2.red_score"),
        ({"admit": True}, "missing", "patient"),
        ({"admit": True, "patient": {"initials": "A.B."}}, "missing", "patient.name"),
        ({"admit": "yes", "patient": {"name": "A B"}}, "wrong_type", "admit"),
        ([1, 2], "wrong_type", None),
        ({}, "empty", None),
        # Several faults: an unknown field first, then the fields in the order they were sent.
        ({"status": 5, "colour": "red"}, "unknown_field", "colour"),
        ({"patient": {"sex": "Q", "age": -1}}, "unknown_value", "patient.sex"),
    ],
)
def test_bed_update_refusals(body: Any, code: str, field: str | None) -> None:
    assert refused(parse_patch, body) == (code, field)


def test_a_bed_update_holds_exactly_what_was_sent_cleaned() -> None:
    patch = parse_patch(
        {
            "notes": "n",
            "patient": {
                "nhs_number": "943 476 5919",
                "admitted_at": "2026-11-22T10:30:00+01:00",
                "flags": ["falls", "falls", "dnacpr"],
                "tasks": [{"text": "Bloods"}, {"kind": "tto", "done": True}],
                "news2": {"score": 6, "recorded_at": "2026-11-22T09:00:00Z"},
            },
        }
    )
    assert (patch.status, patch.notes, patch.admit) == (None, "n", False)
    assert patch.patient == {
        "nhs_number": "9434765919",
        "admitted_at": "2026-11-22T09:30:00.000Z",
        "flags": ["falls", "dnacpr"],
        "tasks": [
            {"id": "t1", "kind": "other", "text": "Bloods", "done": False},
            {"id": "t2", "kind": "tto", "text": "", "done": True},
        ],
        "news2": {
            "score": 6,
            "red_score": False,
            "risk": "medium",
            "monitoring": "hourly",
            "recorded_at": "2026-11-22T09:00:00Z",
            "next_due": "2026-11-22T10:00:00Z",
        },
    }
    assert not parse_patch({"status": "cleaning"}).touches_patient
    assert parse_patch({"patient": None}).patient is None


def test_observations_refusals_name_the_field() -> None:
    good = {
        "respiration_rate": 18, "spo2": 97, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 70,
        "consciousness": "A", "temperature": 37,
    }  # fmt: skip
    obs = news2.parse_observations(good)
    assert obs.pulse == 70 and obs.temperature == 37.0 and isinstance(obs.temperature, float)
    for bad, field in [
        ({**good, "spo2_scale": True}, "spo2_scale"),
        ({**good, "spo2_scale": 1.0}, "spo2_scale"),
        ({**good, "temperature": float("nan")}, "temperature"),
        ({**good, "heart_rate": 70}, "heart_rate"),
        ({k: v for k, v in good.items() if k not in ("pulse", "consciousness")}, "consciousness"),
        ([], None),
    ]:
        with pytest.raises(news2.ObservationError) as err:
            news2.parse_observations(bad)
        assert err.value.field == field and err.value.message


def test_display_profile_refusals() -> None:
    parse = parse_display_profile
    assert parse({"fields": None}).fields is None
    assert parse({"fields": ["initials"]}).fields == frozenset({"initials"})
    assert refused(parse, {"fields": ["nhs_number"]}) == ("not_displayable", "fields")
    assert refused(parse, {"fields": ["favourite_colour"]}) == ("unknown_value", "fields")
    shapes: list[Any] = [{}, [], {"fields": "initials"}, {"fields": [1]}, {"fields": None, "x": 1}]
    for shape in shapes:
        assert refused(parse, shape) == ("wrong_type", "fields")


# --- the schema and the parser agree, value by value ---

# Values of every JSON type and the edges of each field's rule. Left out: whole numbers with a fraction (`3.0`,
# which JSON Schema counts as integers and the server refuses) and the rules no schema states (the NHS number's
# check digit, the year range of dates, the few characters only Python counts as blank).
# fmt: off
PROBES: list[Any] = [
    None, True, False, 0, 1, 3, -1, 20, 21, 130, 131, 1.5, "", " ", "x", "a\x00b", "ABCDEFGH", "ABCDEFGHI",
    "x" * 100, "x" * 101, "F", "U", "f", "red", "amber", "ready", "2026-11-22", "2026-11-22T09:30:00Z",
    "2026-11-22T09:30:00", "9434765919", "943 476 5919", [], ["falls"], ["bogus"], [1], {}, {"score": 3},
    {"score": 1, "red_score": True}, {"score": 3, "bogus": 1}, [{"kind": "bloods", "text": "FBC"}],
    [{"id": "a"}, {"id": "b"}], [{"kind": "nope"}], [{}] * 31,
]
# fmt: on


def accepts(parse: Any, body: Any) -> bool:
    try:
        parse(body)
    except DomainError:
        return False
    return True


def test_the_bed_update_schema_and_parser_agree() -> None:
    check = validator("BedUpdate")
    bodies: list[Any] = [{}, [], {"patient": None}, {"patient": {"bogus": 1}}, {"admit": True}, {"admit": False}]
    bodies += [{"status": v} for v in [*PROBES, *beds.STATUSES]]
    bodies += [{"notes": v} for v in PROBES]
    bodies += [{"patient": {f: v}} for f in beds.PATIENT_FIELDS for v in PROBES]
    bodies += [{"admit": v, "patient": {"name": "A B"}} for v in PROBES]
    disagree = [b for b in bodies if check.is_valid(b) != accepts(parse_patch, b)]
    assert disagree == []
