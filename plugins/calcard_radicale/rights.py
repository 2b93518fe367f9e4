"""Radicale rights plugin: delegates every decision to calcard.sharing."""

from __future__ import annotations

from radicale import pathutils, rights

from calcard import sharing
from calcard_radicale.runtime import session


class Rights(rights.BaseRights):
    def authorization(self, user: str, user_groups: set, path: str) -> str:
        with session() as s:
            return sharing.permissions(s, user, pathutils.strip_path(path))
