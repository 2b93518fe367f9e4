"""Radicale auth plugin: account login (case-insensitive) under calcard's login rules.

Throttling, the 2FA rule (app passwords only) and logging live in
``calcard.logins``; a refusal's reason is kept for the request so the 401
can say it (see ``CalcardApplication``).
"""

from __future__ import annotations

from radicale import auth

from calcard.accounts import logins
from calcard_radicale import runtime


class Auth(auth.BaseAuth):
    def __init__(self, configuration) -> None:
        super().__init__(configuration)
        self._base_delay = configuration.get("auth", "delay")

    def _login_ext(self, login: str, password: str, context: auth.AuthContext) -> str:
        verdict = logins.attempt(
            runtime.database(), login, password, context.remote_addr, base_delay=self._base_delay
        )
        if not verdict.ok:
            runtime.refuse(401, verdict.reason, verdict.delay)
        runtime.request().app_password_id = verdict.app_password_id
        return verdict.login or ""
