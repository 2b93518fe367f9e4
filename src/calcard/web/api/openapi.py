"""GET /api/openapi.json: the OpenAPI 3.1 document, generated from the registered routes.

Every route is declared with ``common.endpoint``, which records its summary,
parameters, body schema and whether it needs a login, so every route is in the
document and the document cannot drift from the routes.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route

import calcard
from calcard.web.api.common import ApiContext, Call, endpoint

ERROR = {
    "description": "refused",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            }
        }
    },
}


def _operation(route: Route, method: str) -> dict[str, Any]:
    meta = route.openapi  # type: ignore[attr-defined]
    operation: dict[str, Any] = {
        "summary": meta["summary"],
        "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', route.path.lower()).strip('_')}",
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in meta["params"]
        ],
        "responses": {
            str(meta["status"]): {"description": "success"},
            "4XX": ERROR,
            **{code: {"description": text} for code, text in meta["responses"].items()},
        },
    }
    if meta["description"]:
        operation["description"] = meta["description"]
    if meta["body"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": meta["body"]}},
        }
    if not meta["auth"]:
        operation["security"] = []
    return operation


def document(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            paths.setdefault(path, {})[method.lower()] = _operation(route, method.lower())
    return {
        "openapi": "3.1.0",
        "info": {"title": "calcard API", "version": calcard.__version__},
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
        "paths": paths,
    }


def route(ctx: ApiContext, routes: list[Route]) -> Route:
    def openapi(call: Call) -> dict[str, Any]:
        """This document."""
        return spec

    found = endpoint(ctx, "GET", "/api/openapi.json", openapi, auth=False)
    spec = document([*routes, found])
    return found
