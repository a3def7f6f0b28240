"""The API definition at /api: generated from the registered routes and their pydantic models, as OpenAPI 3.0.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12); OGC API – Features declares OAS 3.0 and GDAL, QGIS and
validators read 3.0, so the generated document is rewritten into 3.0 terms (nullable instead of a null type,
boolean exclusive bounds, `example` instead of `examples`).  Nothing is written by hand but the response models'
registration and, per collection the caller may see, a concrete items path that lists its queryables — which no
route can know, since they come from the data.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import models
from api.ogc import SERVICE_DESCRIPTION, SERVICE_TITLE
from layers.dataset import Dataset

VERSION = "0.2.0"
RESPONSE_MODELS = [m for m in vars(models).values()
                   if isinstance(m, type) and issubclass(m, models.BaseModel) and m.__module__ == models.__name__]
ITEMS_PATH = "/collections/{collectionId}/items"
ITEM_PATH = "/collections/{collectionId}/items/{featureId}"


def route_document(app: FastAPI) -> dict:
    """The definition of every route in the schema, in OpenAPI 3.0 (built once per app)."""
    doc = get_openapi(title=SERVICE_TITLE["vi"], version=VERSION, openapi_version="3.0.3",
                      description=SERVICE_DESCRIPTION["vi"], routes=app.routes,
                      license_info={"name": "GPL-3.0-or-later (code); data licences per collection"},
                      contact={"name": "Sở Công Thương tỉnh Thái Nguyên"})
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    routes = [r for r in api_routes(app) if r.include_in_schema]
    bodies = {model for route in routes for model, _, _ in body_models(route)}
    _, defs = models_json_schema([(m, "validation") for m in [*RESPONSE_MODELS, *sorted(bodies, key=str)]],
                                 ref_template="#/components/schemas/{model}")
    schemas.update(defs.get("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for route in routes:
        _add_query_model_parameters(route, doc["paths"][route.path_format])
        _add_request_body(route, doc["paths"][route.path_format])
    signed_in = _routes_needing_a_role(app)
    for path, path_item in doc["paths"].items():
        for method, operation in path_item.items():
            _operation_to_30(operation)
            if (path, method.upper()) not in signed_in and "security" in operation:
                operation["security"] = [{}, *operation["security"]]  # a token is optional: it shows more layers
    return to_oas30(doc)


def _dependency_calls(route) -> list:
    """Every function in the route's tree of dependencies."""
    stack, calls = [route.dependant], []
    while stack:
        node = stack.pop()
        calls.append(node.call)
        stack.extend(node.dependencies)
    return calls


def query_models(route) -> list[type[BaseModel]]:
    """The query models a route takes through `api.params.query_model`."""
    return [call.query_model for call in _dependency_calls(route) if hasattr(call, "query_model")]


def _add_query_model_parameters(route, path_item: dict) -> None:
    """A query model's fields as the route's query parameters (name = alias, schema, required, description)."""
    for model in query_models(route):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        required = set(schema.get("required", []))
        params = []
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            description = prop.pop("description", None)
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop,
                           **({"description": description} if description else {})})
        for method in route.methods:
            operation = path_item[method.lower()]
            known = {p["name"] for p in operation.get("parameters", [])}
            operation["parameters"] = operation.get("parameters", []) + [p for p in params if p["name"] not in known]


def body_models(route) -> list[tuple[type[BaseModel], str, bool]]:
    """(model, media type, required) of the JSON body a route takes through `api.params.body_model`."""
    return [call.body_model for call in _dependency_calls(route) if hasattr(call, "body_model")]


def _add_request_body(route, path_item: dict) -> None:
    """The route's body model as its request body: the route reads the bytes and its job validates them, so
    FastAPI does not know the model."""
    for model, media_type, required in body_models(route):
        for method in route.methods:
            path_item[method.lower()]["requestBody"] = {
                "content": {media_type: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                "required": required}


def api_routes(app: FastAPI) -> list:
    """Every API route of the app (FastAPI keeps included routers as branches; this walks them)."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def _routes_needing_a_role(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the routes that need a signed-in role (their dependencies include `require_<role>`)."""
    out = set()
    for route in api_routes(app):
        if any(getattr(call, "__name__", "").startswith("require_") for call in _dependency_calls(route)):
            out |= {(route.path, m) for m in route.methods}
    return out


def _operation_to_30(operation: dict) -> None:
    """FastAPI's 422 validation response is planmap's 400 problem; `style`/`explode` belong to the parameter."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/geo+json" in content:  # a Feature may also be sent as plain JSON
        content.setdefault("application/json", content["application/geo+json"])
    responses = operation.get("responses", {})
    validation = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if validation.get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
    for param in operation.get("parameters", []):
        schema = param.get("schema", {})
        for key in ("style", "explode"):
            if key in schema:
                param[key] = schema.pop(key)
        if param.get("in") == "query" and "style" not in param:
            param.setdefault("style", "form")


def to_oas30(node: Any) -> Any:
    """Rewrite JSON Schema 2020-12 constructs into their OpenAPI 3.0 equivalents, recursively."""
    if isinstance(node, list):
        return [to_oas30(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: to_oas30(v) for k, v in node.items()}
    if "anyOf" in node and any(s == {"type": "null"} for s in node["anyOf"]):
        rest = [s for s in node["anyOf"] if s != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            node = {**rest[0], **node}
        elif len(rest) > 1:
            node["anyOf"] = [s if "$ref" in s else {**s, "nullable": True} for s in rest]
        elif rest:
            node["allOf"] = rest
        node["nullable"] = True
    if "default" in node and node["default"] is None:
        del node["default"]  # an optional member's absence; OAS 3.0 validators check defaults against the schema
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), (int, float)) and not isinstance(node.get(bound), bool):
            node[plain] = node[bound]
            node[bound] = True
    if isinstance(node.get("examples"), list) and "schema" not in node:
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    if "prefixItems" in node:
        items = node.pop("prefixItems")
        node.setdefault("items", {})
        node.setdefault("minItems", len(items))
        node.setdefault("maxItems", len(items))
    if "contentMediaType" in node:
        node.pop("contentMediaType")
        node.setdefault("format", "binary")
    if isinstance(node.get("type"), list):
        kinds = [t for t in node["type"] if t != "null"]
        node["type"] = kinds[0] if kinds else "string"
        if "null" in node["type"] if isinstance(node["type"], list) else False:
            node["nullable"] = True
    return node


def build_openapi(app: FastAPI, dataset: Dataset, base: str) -> dict:
    """The definition for this caller: every route, plus a concrete items path per collection they may see."""
    cached = getattr(app.state, "route_openapi", None)
    if cached is None:
        cached = app.state.route_openapi = route_document(app)
    doc = {**cached, "servers": [{"url": base}], "paths": dict(cached["paths"])}
    doc["tags"] = [{"name": t} for t in _route_tags(cached)] + \
        [{"name": layer.id, "description": layer.meta.text("title")} for layer in dataset]
    for layer in dataset:
        doc["paths"].update(_collection_paths(cached, layer))
    return doc


def _route_tags(doc: dict) -> list[str]:
    return list(dict.fromkeys(tag for item in doc["paths"].values() for op in item.values()
                              for tag in op.get("tags", [])))


def _collection_paths(doc: dict, layer) -> dict:
    """`/collections/<id>/items` and `/items/{featureId}` for one collection — every method of the generic paths
    (reads, and the Part 4 edits), with its queryables as filters of the items (clients such as GDAL read the page
    size and filters of a collection from its own path)."""
    cid, title = layer.id, layer.meta.text("title")
    filters = [{"name": name, "in": "query", "required": False, "style": "form", "explode": False,
                "schema": {"type": kind}, "description": f"Lọc theo {name} (bằng) / equality filter on {name}"}
               for name, kind in layer.queryables().items()]
    paths: dict = {}
    pairs = ((ITEMS_PATH, f"/collections/{cid}/items", "đối tượng / features"),
             (ITEM_PATH, f"/collections/{cid}/items/{{featureId}}", "một đối tượng / one feature"))
    for generic, concrete, what in pairs:
        paths[concrete] = {}
        for method, operation in doc["paths"][generic].items():
            params = [p for p in operation.get("parameters", []) if p["name"] != "collectionId"]
            if generic == ITEMS_PATH and method == "get":
                params += [f for f in filters if f["name"] not in {p["name"] for p in params}]
            summary = f"{title}: {what}" if method == "get" else f"{title}: {operation.get('summary', '')}"
            paths[concrete][method] = {**operation, "summary": summary, "tags": [cid], "parameters": params,
                                       "operationId": f"{operation['operationId']}_{cid}"}
    return paths
