"""Every text a person reads, in their language: gettext catalogs read with Babel.

The source text is English and is its own catalog. Each other language has
``calcard/locale/<code>/LC_MESSAGES/<domain>.po``: domain ``messages`` for what the
server writes (mails, pages, refusals), domain ``web`` for the web calendar (served
to the browser as JSON). Adding a language is adding its directory of catalogs;
nothing else names the languages.

Which language a person gets (CONTRACT.md, "Languages") is decided by ``choose``:
the first supported of the user's setting, the browser's ``Accept-Language``
(RFC 9110 §12.5.4) and the organization's default, else English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE = "en"
DOMAINS = ("messages", "web")


def _languages() -> tuple[str, ...]:
    found = {p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()}
    return (SOURCE, *sorted(found - {SOURCE}))


SUPPORTED: tuple[str, ...] = _languages() if LOCALE_DIR.is_dir() else (SOURCE,)


def N_(text: str) -> str:
    """Mark ``text`` for extraction where it is translated later (``say``) by key."""
    return text


@cache
def _table(language: str, domain: str) -> dict[str, str]:
    """msgid -> msgstr of one catalog; untranslated and fuzzy entries are left out,
    so they fall back to the English source."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if language == SOURCE or not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and m.string and not m.fuzzy and isinstance(m.id, str)
    }


def say(language: str | None, text: str, /, **values: object) -> str:
    """``text`` (English source) in ``language``, with ``{name}`` placeholders filled; a
    value that is a ``Message`` or ``OneOf`` is said in ``language`` too."""
    translated = _table(supported(language), "messages").get(text, text)
    if not values:
        return translated
    return translated.format(**{name: _said(language, value) for name, value in values.items()})


def _said(language: str | None, value: object) -> object:
    return value.said(language) if isinstance(value, Message | OneOf) else value


@dataclass(frozen=True)
class Message:
    """A text to be said later, in the language of whoever reads it: its English template
    (marked ``N_`` where it is written) and the values of its placeholders, which may be
    Messages themselves (a skipped entry's number around the parser's reason). What is
    read long after it was written (an import job's report, read by whoever polls it)
    is kept as ``as_json`` and said from ``kept``."""

    template: str
    values: Mapping[str, object] = field(default_factory=dict)

    def said(self, language: str | None) -> str:
        return say(language, self.template, **self.values)

    def __str__(self) -> str:
        """In English, as logs and the CLI say it."""
        return self.said(SOURCE)

    def as_json(self) -> dict[str, object]:
        """Template and values as JSON; a value JSON cannot hold keeps its English text."""
        values = {k: _kept_value(v) for k, v in self.values.items()}
        return {"template": self.template, "values": values}

    @classmethod
    def kept(cls, stored: object) -> Message:
        """The Message ``as_json`` kept; a plain text (kept so before templates were) is
        a template without values, which says itself as it was written."""
        if not isinstance(stored, dict):
            return cls(str(stored))
        values = stored.get("values") or {}
        return cls(
            str(stored.get("template", "")),
            {k: cls.kept(v) if isinstance(v, dict) else v for k, v in values.items()},
        )


def _kept_value(value: object) -> object:
    if isinstance(value, Message):
        return value.as_json()
    return value if value is None or isinstance(value, str | int | float) else str(value)


@dataclass(frozen=True)
class OneOf:
    """Alternatives joined as the reader's language joins them (CLDR's "or" list pattern,
    Babel's ``format_list``): "a, b, or c" in English, "a, b oder c" in German. An
    alternative may be a Message ("no Content-Type")."""

    choices: tuple[object, ...]

    def said(self, language: str | None) -> str:
        spoken = [str(_said(language, choice)) for choice in self.choices]
        return format_list(spoken, style="or", locale=locale(language))

    def __str__(self) -> str:
        return self.said(SOURCE)


def web_catalog(language: str) -> dict[str, str]:
    """The web calendar's catalog for ``language``: English source -> translation."""
    return dict(_table(supported(language), "web"))


def supported(language: str | None) -> str:
    """The supported language ``language`` names (``de-CH`` is ``de``), else English."""
    code = (language or "").strip().replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED else SOURCE


def accepted(header: str | None) -> list[str]:
    """The languages of an ``Accept-Language`` header, best first (RFC 9110 §12.5.4);
    ranges with q=0 are refused ones and left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def choose(
    setting: str | None = None, accept_language: str | None = None, default: str | None = None
) -> str:
    """The language to use: the user's setting, else the best supported language the
    browser accepts, else the organization's default, else English."""
    for candidate in (setting, *accepted(accept_language), default):
        if candidate and supported(candidate) == candidate.split("-")[0].lower():
            return supported(candidate)
    return SOURCE


def locale(language: str | None) -> Locale:
    """Babel's locale for dates, numbers and week starts in ``language``."""
    return Locale.parse(supported(language))


def first_weekday(language: str | None) -> int:
    """The first day of the week in ``language``, 0 = Sunday ... 6 = Saturday (as
    FullCalendar's ``firstDay``): CLDR's for the language's likely country (``en``: US,
    Sunday; ``de``: Germany, Monday), as FullCalendar's and Intl's locales say it."""
    code = supported(language)
    likely = get_global("likely_subtags").get(code, code)
    return (Locale.parse(likely).first_week_day + 1) % 7  # Babel counts from Monday = 0


def moment(language: str | None, value: date | datetime, zone: tzinfo | None = None) -> str:
    """A date, or a date and time in ``zone`` (else its own), as ``language`` writes it:
    weekday and month names, order and clock from Babel's CLDR data; the zone is named
    by its IANA key (CLDR's short names are mostly offsets outside their own region)."""
    where = locale(language)
    if not isinstance(value, datetime):
        return format_date(value, "full", locale=where)
    if zone is not None and value.tzinfo is not None:
        value = value.astimezone(zone)
    shown = f"{format_date(value.date(), 'full', locale=where)}, " + format_time(
        value, "short", locale=where
    )
    if value.tzinfo is None:
        return shown
    name = getattr(value.tzinfo, "key", None) or value.tzname() or ""
    return f"{shown} ({name})" if name else shown
