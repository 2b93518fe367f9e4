"""The JSON API's answer to a refusal: the one place a ``Refusal`` becomes an HTTP status.

Every route raises ``calcard.core.errors.Refusal`` (the service layer's, or its
own for a bad query parameter or body) and the app's exception handler answers
``{"error": message, ...details}`` with the status of its kind (CONTRACT.md:
errors are JSON with a 4xx status). The pages behind links in mails answer with
HTML but take their status from here too.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from calcard.core.catalogs import say
from calcard.core.errors import Kind, Refusal

STATUS = {
    Kind.INVALID: 400,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.TOO_LARGE: 413,
    Kind.UNSUPPORTED: 415,
}
CHALLENGE = {"WWW-Authenticate": 'Basic realm="calcard"'}


def status(refusal: Refusal) -> int:
    """The HTTP status that answers a refusal of this kind."""
    return STATUS[refusal.kind]


def answer(refusal: Refusal, challenge: bool = False, language: str = "en") -> JSONResponse:
    """The JSON answer, its message in ``language`` where the catalogs have it (English
    otherwise); ``challenge``: a 401 asks for HTTP Basic credentials (not for the web
    UI, or the browser would pop up its own login box)."""
    code = status(refusal)
    headers = CHALLENGE if challenge and code == 401 else None
    body = {"error": say(language, refusal.template, **refusal.values), **refusal.details}
    return JSONResponse(body, status_code=code, headers=headers)
