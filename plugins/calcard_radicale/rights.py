"""Radicale rights plugin: its letters come from the one door, calcard.access.

Radicale asks once per collection and item of a request; the answer is
computed once per (user, path) and kept for the rest of the request.
"""

from __future__ import annotations

from radicale import pathutils, rights

from calcard.sharing import access
from calcard_radicale import runtime
from calcard_radicale.runtime import session


class Rights(rights.BaseRights):
    def authorization(self, user: str, user_groups: set, path: str) -> str:
        sane = pathutils.strip_path(path)
        return runtime.cached_rights(user, sane, lambda: self._compute(user, sane))

    @staticmethod
    def _compute(user: str, sane: str) -> str:
        with session() as s:
            return access.dav_letters(s, user, sane)
