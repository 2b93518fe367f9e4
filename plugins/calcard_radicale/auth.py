"""Radicale auth plugin: account login (case-insensitive) and password or app password."""

from __future__ import annotations

from radicale import auth

from calcard import accounts
from calcard_radicale.runtime import session


class Auth(auth.BaseAuth):
    def _login(self, login: str, password: str) -> str:
        with session() as s:
            return accounts.authenticate(s, login, password) or ""
