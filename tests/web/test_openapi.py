"""The OpenAPI document served by calcard describes every registered /api route."""

from __future__ import annotations

import re

import httpx

from calcard.core.config import load_settings
from calcard.web import api


def test_every_api_route_is_in_the_openapi_document(server):
    response = httpx.get(server.url + "/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    registered = set()
    for route in api.routes(api.ApiContext(None, load_settings())):
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
        registered |= {(path, m) for m in route.methods - {"HEAD"}}
    assert registered <= documented
    assert documented <= registered
    put_share = spec["paths"]["/api/collections/{path}/shares"]["put"]
    assert put_share["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "kind",
        "name",
        "access",
    ]
    assert spec["paths"]["/api/public/{token}.ics"]["get"]["security"] == []
