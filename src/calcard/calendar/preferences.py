"""What a user sets on the web settings page: time zone, week start, default calendar and
the reminder channels (account e-mail and chat webhook).

The week starts on the day the reader's language starts it (CLDR, as the web
calendar's FullCalendar locale does: Sunday in English, Monday in German) until the
user chooses a day (``week_start_chosen``); choosing "automatic" again forgets it.

Time zone, e-mail and chat webhook are account fields the reminders and mails
use (changed through ``accounts.set_user``, with its rules: a new e-mail
address is pending until verified); week start,
language and the default calendar only steer the web calendar and live in the user's
settings JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from calcard import accounts
from calcard.calendar import events
from calcard.core import catalogs
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal

DEFAULT_TIMEZONE = "UTC"  # what accounts start with


@dataclass(frozen=True)
class Preferences:
    timezone: str
    timezone_chosen: bool  # False: still the default, the web app adopts the browser's zone
    week_start: int  # 0 = Sunday ... 6 = Saturday, as FullCalendar's firstDay
    week_start_chosen: bool  # False: the language's first day (week_start says which)
    default_calendar: str  # a calendar path the user may write to, or ""
    email: str  # the verified address, the one in use
    email_pending: str  # a new address waiting for its verification link, or ""
    chat_webhook: str
    language: str  # "en", "de", ... chosen in Settings, or "" (the browser's, then the org's)


def get(s: Session, login: str, accept_language: str | None = None) -> Preferences:
    """The preferences; an unchosen week start is that of the language the user reads
    in, which for a page depends on the browser's ``accept_language``."""
    user = accounts.get_user(s, login)
    stored = accounts.get_settings(s, user.login)
    chosen = stored.get("week_start")
    return Preferences(
        timezone=user.timezone,
        timezone_chosen=user.timezone != DEFAULT_TIMEZONE or bool(stored.get("timezone_chosen")),
        week_start=(
            int(chosen)
            if chosen is not None
            else catalogs.first_weekday(accounts.language(s, user.login, accept_language))
        ),
        week_start_chosen=chosen is not None,
        default_calendar=str(stored.get("default_calendar", "")),
        email=user.email,
        email_pending=user.email_pending,
        chat_webhook=user.chat_webhook,
        language=str(stored.get("language") or ""),
    )


def _writable_calendar(s: Session, login: str, path: str) -> str:
    if not path:
        return ""
    normalized = "/" + path.strip("/") + "/"
    if not any(c.writable and c.path == normalized for c in events.calendars(s, login)):
        raise Refusal(N_("{path!r} is not a calendar you can add events to"), values={"path": path})
    return normalized


def update(
    s: Session,
    login: str,
    timezone: str | None = None,
    week_start: int | None = None,
    default_calendar: str | None = None,
    email: str | None = None,
    chat_webhook: str | None = None,
    language: str | None = None,
    automatic_week_start: bool = False,
    accept_language: str | None = None,
) -> Preferences:
    """Change the given preferences (None = keep); refuses the whole change on a bad value.
    ``automatic_week_start`` forgets a chosen week start (the language's again)."""
    if week_start is not None and (isinstance(week_start, bool) or not 0 <= week_start <= 6):
        raise Refusal(N_("week_start must be 0 (Sunday) to 6 (Saturday), or null (automatic)"))
    if week_start is not None and automatic_week_start:
        raise Refusal(N_("week_start is either a day or automatic"))
    if language is not None and language and language not in catalogs.SUPPORTED:
        raise Refusal(
            N_("language must be one of {languages} or ''"),
            values={"languages": ", ".join(catalogs.SUPPORTED)},
        )
    changes: dict[str, object] = {}
    if language is not None:
        changes["language"] = language or None
    if week_start is not None or automatic_week_start:
        changes["week_start"] = week_start
    if timezone is not None:
        changes["timezone_chosen"] = True
    if default_calendar is not None:
        changes["default_calendar"] = _writable_calendar(s, login, default_calendar)
    accounts.set_user(
        s, login, email=email, chat_webhook=chat_webhook, timezone=timezone, actor=login
    )
    if changes:
        accounts.update_settings(s, login, changes)
    return get(s, login, accept_language)
