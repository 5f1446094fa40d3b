"""Fuzzing: property-based tests of the strict parsers (hypothesis) and schema-driven
requests against the API (schemathesis), both asserting "a clear 4xx, never a 500".

Bounded for CI: derandomized (the same examples every run), a few dozen examples per
operation, no deadline per example; together well under a minute on two cores.

- the app's own OpenAPI document (`/openapi.json`): every documented operation;
- the FHIR routes, which FastAPI leaves out of that document (they take any resource type
  and any resource), through a small OpenAPI description of the FHIR REST interactions
  written here, so schemathesis fuzzes their paths, query parameters, headers and bodies.
"""

from __future__ import annotations

import contextlib
import string

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartkeeper.errors import BadRequest, BundleError, ChartkeeperError
from chartkeeper.fhir.wire import (
    MAX_INT32,
    parse_json,
    version_from_etag,
    whole_number,
    year_or_date,
)
from chartkeeper.interfaces.bundles import prepare_document

FAST = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Text that looks like numbers: ASCII digits, other scripts' digits, superscripts, signs.
numberish = st.text(
    alphabet=string.digits + "²³¹⁰٠١٢३४५६" + "-+_. eE" + "０１２",
    max_size=25,
)


@FAST
@given(text=st.one_of(numberish, st.text(max_size=30), st.integers(), st.none()))
def test_whole_number_takes_ascii_digits_in_bounds_or_says_why(text):
    try:
        value = whole_number(text, "_count")
    except BadRequest as exc:
        assert "_count" in exc.message
        return
    assert isinstance(text, str) and text.isascii() and text.isdigit()
    assert 0 <= value <= MAX_INT32 and value == int(text)


@FAST
@given(etag=st.one_of(numberish.map(lambda t: f'W/"{t}"'), st.text(max_size=20), st.integers()))
def test_version_etag_is_a_version_or_a_400(etag):
    with contextlib.suppress(BadRequest):
        assert version_from_etag(etag) >= 1


@FAST
@given(text=st.one_of(numberish, st.dates().map(str), st.text(max_size=12)))
def test_year_or_date_never_crashes(text):
    with contextlib.suppress(BadRequest):
        year_or_date(text, "fy")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)
# Bundle-shaped documents with the wrong thing in each place a bundle entry has.
entries = st.fixed_dictionaries(
    {},
    optional={
        "fullUrl": json_values,
        "resource": st.one_of(json_values, st.just({"resourceType": "Patient"})),
        "request": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "method": st.one_of(
                        st.sampled_from(["GET", "POST", "PUT", "DELETE"]), json_values
                    ),
                    "url": st.one_of(
                        st.sampled_from(["Patient", "Patient/1", "Patient?x=1"]), json_values
                    ),
                    "ifMatch": st.one_of(numberish, json_values),
                    "ifNoneExist": json_values,
                },
            ),
        ),
    },
)
bundles = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Bundle", "Patient", 5])},
    optional={
        "type": st.one_of(st.sampled_from(["transaction", "batch", "collection"]), json_values),
        "entry": st.one_of(st.lists(st.one_of(entries, json_values), max_size=4), json_values),
    },
)


@FAST
@given(doc=bundles)
def test_any_bundle_shape_is_prepared_or_refused_with_a_reason(doc):
    try:
        unit = prepare_document("fuzz", doc, server_ids=True)
    except BundleError as exc:
        assert exc.reason
        return
    for error in unit.entry_errors:
        assert error.reason


@FAST
@given(doc=json_values)
def test_parse_json_round_trips_or_refuses(doc):
    import orjson

    try:
        raw = orjson.dumps(doc)
    except TypeError:  # orjson's own limits (integers past 64 bits)
        return
    assert parse_json(raw) == orjson.loads(raw)


def test_parse_json_refuses_deep_and_broken_documents():
    for raw in (b"[" * 100 + b"]" * 100, b"{", b"\xff", b"1e400"):
        with pytest.raises(ChartkeeperError):
            parse_json(raw)


# --- schemathesis -------------------------------------------------------------------------

SCHEMA_SETTINGS = settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _documented_api() -> dict:
    """The app's OpenAPI document, from an app over an empty store that is never called
    (parametrizing needs the document when tests are collected)."""
    import tempfile
    from pathlib import Path

    from chartkeeper.app import create_app
    from chartkeeper.config import Settings
    from chartkeeper.store import Repository
    from chartkeeper.store.engine import make_engine, upgrade

    folder = Path(tempfile.mkdtemp(prefix="ck-openapi-"))
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    return create_app(Settings(data_dir=folder), repo=Repository(engine)).openapi()


from_app = schemathesis.openapi.from_dict(_documented_api())


# On SQLite only: the hostile-request list covers what differs on PostgreSQL (overflows).
@from_app.parametrize()
@pytest.mark.parametrize("module_client", ["sqlite"], indirect=True)
@SCHEMA_SETTINGS
def test_openapi_operations_never_answer_500(case, module_client):
    _client, sign_in = module_client
    role = "admin" if not case.path.startswith("/auth") else None
    headers = sign_in(role) if role else {}
    response = case.call(app=_client.app, headers={**headers, **(case.headers or {})})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_TYPE = {
    "name": "resource_type",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["Patient", "Observation", "Encounter", "Bundle", "Nope"]},
}
_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in ("_count", "_offset", "_sort", "_since", "_include", "name", "birthdate", "subject")
]
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}}
_BODY = {
    "required": True,
    "content": {
        "application/fhir+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "resourceType": {
                        "type": "string",
                        "enum": ["Patient", "Observation", "Bundle"],
                    },
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "entry": {"type": "array"},
                    "name": {"type": "array"},
                    "birthDate": {"type": "string"},
                    "extension": {"type": "array"},
                },
            }
        }
    },
}
_OK = {"responses": {"default": {"description": "any"}}}
FHIR_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "chartkeeper FHIR REST (for fuzzing)", "version": "1"},
    "paths": {
        "/fhir": {"post": {"requestBody": _BODY, **_OK}},
        "/fhir/_history": {"get": {"parameters": _QUERY, **_OK}},
        "/fhir/{resource_type}": {
            "get": {"parameters": [_TYPE, *_QUERY], **_OK},
            "post": {"parameters": [_TYPE], "requestBody": _BODY, **_OK},
        },
        "/fhir/{resource_type}/{id}": {
            "get": {"parameters": [_TYPE, _ID], **_OK},
            "put": {"parameters": [_TYPE, _ID, _IF_MATCH], "requestBody": _BODY, **_OK},
            "delete": {"parameters": [_TYPE, _ID, _IF_MATCH], **_OK},
        },
        "/fhir/{resource_type}/{id}/_history": {
            "get": {"parameters": [_TYPE, _ID, *_QUERY], **_OK}
        },
        "/fhir/{resource_type}/{id}/_history/{vid}": {
            "get": {
                "parameters": [
                    _TYPE,
                    _ID,
                    {"name": "vid", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                **_OK,
            }
        },
        "/fhir/Patient/{id}/$everything": {"get": {"parameters": [_ID], **_OK}},
    },
}


from_fhir = schemathesis.openapi.from_dict(FHIR_SPEC)


@from_fhir.parametrize()
@pytest.mark.parametrize("module_client", ["sqlite"], indirect=True)
@SCHEMA_SETTINGS
def test_fhir_routes_never_answer_500(case, module_client):
    _client, sign_in = module_client
    response = case.call(app=_client.app, headers={**sign_in("him"), **(case.headers or {})})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
