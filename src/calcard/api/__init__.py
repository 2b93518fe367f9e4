"""The JSON API under /api/: one module per feature, each exposing ``routes(ctx)``.

Errors are JSON ``{"error": "..."}`` with a 4xx status (CONTRACT.md).
"""

from __future__ import annotations

from starlette.routing import Route

from calcard.api import birthdays, contacts, health, reminders, transfer, trash
from calcard.api.common import ApiContext, api_error_handlers

FEATURES = (health, birthdays, reminders, trash, transfer, contacts)


def routes(ctx: ApiContext) -> list[Route]:
    found: list[Route] = []
    for feature in FEATURES:
        found.extend(feature.routes(ctx))
    return found


__all__ = ["ApiContext", "api_error_handlers", "routes"]
