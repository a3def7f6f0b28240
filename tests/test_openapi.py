"""/api is generated from the routes: every route, parameter, range and enum declared in code is in the document,
the document is valid OpenAPI 3.0, and a route added in code appears in it without anyone writing it down."""

from __future__ import annotations

import inspect
import typing
from typing import Annotated, Literal

import annotated_types
import pytest
from fastapi.params import Path as PathParam
from fastapi.params import Query as QueryParam
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from api.app import create_app
from api.openapi import api_routes, query_models
from api.params import QueryOf
from tests import small_world
from tests.conftest import ADMIN_TOKEN

PAGE_RESOURCES = {"/map", "/map/session", "/static/hillshade.png", "/static/vendor/{name:path}", "/static/{name:path}"}
ISSUE_PATHS = {"/collections/{collectionId}/imports", "/collections/{collectionId}/revisions",
               "/collections/{collectionId}/revisions/{revisionId}",
               "/collections/{collectionId}/revisions/{revisionId}/rollback", "/collections/{collectionId}/settings",
               "/proposals", "/proposals/{proposalId}/status", "/users", "/checks", "/rules", "/exports/data",
               "/exports/map", "/exports/offline-map", "/search", "/suggestions", "/analysis/coverage",
               "/analysis/coverage/distance.tif", "/terrain", "/terrain/dem", "/terrain/slope.tif", "/indicators",
               "/indicators/definitions"}


@pytest.fixture(scope="module")
def doc(api_client) -> dict:
    return api_client.get("/api").json()


def test_the_document_is_valid_openapi_3_0_for_anonymous_users_and_planners(api_client, doc, planner):
    assert doc["openapi"] == "3.0.3"
    validate(doc)
    validate(api_client.get("/api", headers=planner).json())


def test_every_route_in_code_is_in_the_document(small_app, doc):
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    left_out = set()
    for route in api_routes(small_app):
        if not route.include_in_schema:
            left_out.add(route.path)
            continue
        for method in route.methods:
            assert (route.path, method) in documented, (route.path, method)
    assert left_out == PAGE_RESOURCES  # only the web map's own page and files are not API
    assert ISSUE_PATHS <= set(doc["paths"])


def declared_parameters(route) -> dict[str, tuple[str, object, list]]:
    """What the route's code declares: name → (in, annotation, metadata), query models flattened."""
    out = {}
    for model in query_models(route):
        for field_name, field in model.model_fields.items():
            out[field.alias or field_name] = ("query", field.annotation, list(field.metadata))
    hints = typing.get_type_hints(route.endpoint, include_extras=True)
    for name in inspect.signature(route.endpoint).parameters:
        hint = hints.get(name)
        if typing.get_origin(hint) is not Annotated:
            continue
        kind, *extras = typing.get_args(hint)
        marker = next((e for e in extras if isinstance(e, (QueryParam, PathParam))), None)
        if marker is None:
            continue
        where = "query" if isinstance(marker, QueryParam) else "path"
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            for field_name, field in kind.model_fields.items():
                out[field.alias or field_name] = (where, field.annotation, list(field.metadata))
        else:
            out[marker.alias or name] = (where, kind, list(marker.metadata))
    return out


def literal_values(annotation) -> set | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is Literal:
            return set(typing.get_args(arg))
    return None


def test_every_parameter_range_and_enum_in_code_is_in_the_document(small_app, doc):
    checked = 0
    for route in api_routes(small_app):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            operation = doc["paths"][route.path][method.lower()]
            params = {p["name"]: p for p in operation.get("parameters", [])}
            for name, (where, annotation, metadata) in declared_parameters(route).items():
                assert name in params and params[name]["in"] == where, (route.path, name)
                schema = params[name]["schema"]
                for limit in metadata:
                    if isinstance(limit, annotated_types.Ge):
                        assert schema["minimum"] == limit.ge, (route.path, name)
                    if isinstance(limit, annotated_types.Le):
                        assert schema["maximum"] == limit.le, (route.path, name)
                    if isinstance(limit, annotated_types.MaxLen):
                        assert schema["maxLength"] == limit.max_length, (route.path, name)
                enum = literal_values(annotation)
                if enum is not None:
                    assert set(schema["enum"]) == enum, (route.path, name)
                checked += 1
    assert checked > 60


def test_the_issues_examples_are_documented(doc):
    params = {p["name"]: p["schema"] for p in doc["paths"]["/exports/map"]["get"]["parameters"]}
    assert params["dpi"]["minimum"] == 72 and params["dpi"]["maximum"] == 600
    assert params["size"]["enum"] == ["A4", "A3", "A1"]
    items = {p["name"]: p for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]}
    assert items["limit"]["schema"]["maximum"] == 10_000 and items["bbox"]["explode"] is False
    signed = doc["paths"]["/collections/{collectionId}/imports"]["post"]
    assert signed["security"] == [{"bearerAuth": []}]  # needs a token; reads take one optionally
    assert {} in doc["paths"]["/collections"]["get"]["security"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_each_collection_has_its_own_items_path_with_its_queryables(doc):
    params = {p["name"] for p in doc["paths"]["/collections/fuel_stations/items"]["get"]["parameters"]}
    assert {"bbox", "limit", "crs", "status", "name"} <= params
    assert "/collections/draft_plan/items" not in doc["paths"]  # internal: not for anonymous users


class Probe(BaseModel):
    """The parameters of a route that only this test adds."""

    colour: Literal["red", "green"]
    strength: int = Field(3, ge=1, le=9)


def probe(params: QueryOf[Probe]) -> dict:
    return {"colour": params.colour}


def test_a_route_added_in_code_is_documented_without_writing_it_down():
    app = create_app(small_world.dataset(), small_world.RULES, admin_token=ADMIN_TOKEN)
    app.get("/probe", operation_id="probe")(probe)
    doc = TestClient(app).get("/api").json()
    validate(doc)
    params = {p["name"]: p["schema"] for p in doc["paths"]["/probe"]["get"]["parameters"]}
    assert set(params["colour"]["enum"]) == {"red", "green"}
    assert params["strength"]["minimum"] == 1 and params["strength"]["maximum"] == 9
