"""GET /api/openapi.json: the OpenAPI 3.1 document, generated from the registered routes.

Endpoints declared with ``common.endpoint`` carry their summary, parameters
and body schema; anything else is described from its path and docstring (and
needs a login unless the route is marked ``public``), so every route is in the
document.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import calcard

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
    meta = getattr(route, "openapi", None) or {
        "summary": (route.endpoint.__doc__ or route.path).strip().splitlines()[0],
        "description": "",
        "body": None,
        "auth": not getattr(route, "public", False),
        "status": 200,
        "params": re.findall(r"{(\w+)(?::\w+)?}", route.path),
    }
    operation: dict[str, Any] = {
        "summary": meta["summary"],
        "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', route.path.lower()).strip('_')}",
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in meta["params"]
        ],
        "responses": {str(meta["status"]): {"description": "success"}, "4XX": ERROR},
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


def route(routes: list[Route]) -> Route:
    def openapi(request: Request) -> JSONResponse:
        """This document."""
        return JSONResponse(spec)

    spec = document([*routes, Route("/api/openapi.json", openapi)])
    spec["paths"]["/api/openapi.json"]["get"]["security"] = []
    return Route("/api/openapi.json", openapi)
