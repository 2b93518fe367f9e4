"""The one error model: a ``Refusal`` says why a request is refused, and its ``kind``.

Every entry point refuses the same way: the service layer raises
``Refusal(message, kind)`` and each front maps the kind to its own answer in
exactly one place (the JSON API in ``calcard.web.api.errors``, DAV in
``calcard_radicale.runtime.refuse_with``, the CLI's ``refusals``: a one-line
reason and exit 1). So domain code says *what* went wrong (not found,
forbidden, a conflict) and never an HTTP status, and no front can answer the
same refusal differently from another by accident.

The message is for the person: it is shown as is (the API's ``{"error": ...}``,
the DAV answer's body, the CLI's stderr). ``details`` adds machine-readable
fields to the JSON answer (a restore clash lists the ways to restore anyway).

``Refusal`` is a ``ValueError``: a refusal is a value the request brought that
cannot be applied, and code that guards a parse with ``except ValueError`` keeps
treating a refused value as one. Subclasses exist only where code catches one
refusal specifically (``store.StoreError``: an import skips that entry;
``timebounds.OutOfRange``; ``ical.ParseError``; the signed-link refusals, which
carry the page's language) and never change how a kind is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from calcard.core.catalogs import Message


class Kind(StrEnum):
    """Why something is refused; each front answers each kind one way."""

    INVALID = "invalid"  # the request itself is wrong (a bad value, a missing field)
    UNAUTHORIZED = "unauthorized"  # no or wrong credentials: log in
    FORBIDDEN = "forbidden"  # known caller, not allowed (role, plan, read-only, bad link)
    NOT_FOUND = "not-found"  # no such thing, or nothing the caller may know exists
    CONFLICT = "conflict"  # clashes with what is stored now (stale ETag, taken name)
    TOO_LARGE = "too-large"  # the body is over a limit
    UNSUPPORTED = "unsupported"  # a body of a media type this route does not take


class Refusal(ValueError):
    """A refused request: nothing of it is written, ``message`` says why."""

    def __init__(
        self,
        message: str,
        kind: Kind = Kind.INVALID,
        details: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """``message`` is English; with ``values`` it is a template with ``{name}``
        placeholders (marked ``N_`` where written), so a front can say it in the
        reader's language (``template`` and ``values``, calcard.core.catalogs)."""
        self.template = message
        self.values: Mapping[str, Any] = values or {}
        message = message.format(**self.values) if values else message
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.details: Mapping[str, Any] = details or {}

    @property
    def reason(self) -> Message:
        """The refusal as a Message, said later in its reader's language (an import job
        keeps each skipped entry's reason until someone polls it)."""
        return Message(self.template, self.values)
