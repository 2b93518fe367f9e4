"""Public holidays of a country (the ``holidays`` package): a web overlay, and a
read-only calendar in the user's DAV home once they subscribe.

Unlike the birthday calendar, a subscription is a real DAV collection: its
holidays are materialized as ordinary all-day items (stable UIDs, transparent
for free/busy), so PROPFIND, REPORT, GET and sync-collection work as for any
calendar, with the same sync tokens. A ``holiday_subscriptions`` row marks the
collection: ``calcard.sharing`` gives nobody write access to it (DAV PUT and
DELETE get 403), and ``refresh_due`` (run hourly by the dispatcher) adds the
next year when one begins and follows updates of the ``holidays`` package.
The items cover last year to two years ahead; past years stay as history.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.calendar import calendars
from calcard.core.catalogs import N_
from calcard.core.db import Database
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Collection, HolidaySubscription

PAST_YEARS, FUTURE_YEARS = 1, 2
UID_DOMAIN = "holidays.calcard"
COLOR = "#dc2626"
MAX_RANGE = timedelta(days=400)


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    subdivisions: tuple[str, ...]


@dataclass(frozen=True, order=True)
class Holiday:
    date: date
    name: str


def package_version() -> str:
    """The ``holidays`` package's version, which the items follow. The package is imported
    by the first function that needs it, not with this module: it is 3 MiB of every
    server's memory, and most servers have no holiday calendar."""
    import holidays

    return holidays.__version__


@functools.cache
def countries() -> tuple[Country, ...]:
    """Every country the package knows, by code, with its subdivisions."""
    import holidays
    from holidays.registry import COUNTRIES

    supported = holidays.list_supported_countries(include_aliases=False)
    names = {codes[1]: _name(module) for module, codes in COUNTRIES.items()}
    return tuple(
        Country(code, names.get(code, code), tuple(subdivisions))
        for code, subdivisions in sorted(supported.items())
    )


def _name(module: str) -> str:
    words = module.replace("_", " ").title()
    return re.sub(r" (And|Of|The) ", lambda m: f" {m.group(1).lower()} ", words)


def country(code: object, subdivision: object = "") -> tuple[Country, str]:
    """The country and subdivision asked for, or a Refusal."""
    wanted = code.upper() if isinstance(code, str) else ""
    found = next((c for c in countries() if c.code == wanted), None)
    if found is None:
        raise Refusal(N_("no holidays known for country {code!r}"), values={"code": str(code)[:20]})
    subdivision = subdivision or ""
    if subdivision and subdivision not in found.subdivisions:
        raise Refusal(
            N_("{country} has no subdivision {subdivision!r}"),
            values={"country": found.name, "subdivision": str(subdivision)[:40]},
        )
    return found, str(subdivision)


def language_for(code: str, wanted: str) -> str:
    """The country's holiday names in the user's language when the package has it."""
    import holidays

    supported = holidays.country_holidays(code).supported_languages
    wanted = (wanted or "en").lower()
    return next(
        (lang for lang in supported if lang.lower() == wanted or lang.lower()[:2] == wanted[:2]),
        "",
    )


def between(code: str, subdivision: str, language: str, first: date, last: date) -> list[Holiday]:
    """The holidays from ``first`` to ``last`` (both included), by date."""
    import holidays

    table = holidays.country_holidays(
        code,
        subdiv=subdivision or None,
        years=range(first.year, last.year + 1),
        language=language or None,
    )
    return sorted(Holiday(day, name) for day, name in table.items() if first <= day <= last)


def overlay(
    s: Session,
    login: str,
    code: object,
    subdivision: object,
    first: date,
    last: date,
    accept_language: str | None = None,
):
    """The holidays the web calendar shows as an overlay, in the user's language
    (``accounts.language``: setting, browser, organization default)."""
    if not first <= last or last - first > MAX_RANGE:
        raise Refusal(N_("the range must end after it starts and span at most 400 days"))
    found, subdivision = country(code, subdivision)
    language = language_for(found.code, accounts.language(s, login, accept_language))
    return between(found.code, subdivision, language, first, last)


# --- subscriptions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    path: str
    country: str
    subdivision: str
    name: str


def subscriptions(s: Session, login: str) -> list[Subscription]:
    """The user's live holiday calendars."""
    rows = s.execute(
        select(HolidaySubscription, Collection)
        .join(Collection, Collection.id == HolidaySubscription.collection_id)
        .where(HolidaySubscription.owner == login, Collection.deleted_at.is_(None))
        .order_by(Collection.path)
    )
    return [_subscription(sub, store.collection_data(c)) for sub, c in rows]


def _subscription(row: HolidaySubscription, collection: store.CollectionData) -> Subscription:
    name = collection.props.get(calendars.NAME_PROP) or collection.path
    return Subscription(f"/{collection.path}/", row.country, row.subdivision, name)


def subscribe(
    s: Session, login: str, code: object, subdivision: object, name: object, today: date
) -> Subscription:
    """Add the country's holidays to the user's DAV home as a read-only calendar.

    Subscribing again to the same country and subdivision returns the existing one.
    Holiday calendars do not count against the plan's calendar limit.
    """
    found, subdivision = country(code, subdivision)
    if not accounts.product_access(s, login).calendar:
        raise Refusal(N_("you have no access to calendars"), Kind.FORBIDDEN)
    existing = [
        sub
        for sub in subscriptions(s, login)
        if (sub.country, sub.subdivision) == (found.code, subdivision)
    ]
    if existing:
        return existing[0]
    title = calendars.checked_name(name) if name else _default_title(found, subdivision)
    slug = f"holidays-{found.code}-{subdivision}" if subdivision else f"holidays-{found.code}"
    props = {
        "tag": "VCALENDAR",
        calendars.NAME_PROP: title,
        calendars.COLOR_PROP: COLOR,
        calendars.COMPONENTS_PROP: "VEVENT",
        "C:calendar-description": f"Public holidays, {_default_title(found, subdivision)} "
        "(read-only, kept up to date by the server)",
    }
    row = HolidaySubscription(
        owner=login,
        country=found.code,
        subdivision=subdivision,
        language=language_for(found.code, accounts.language(s, login)),
        last_year=today.year + FUTURE_YEARS,
        source_version=package_version(),
    )
    items = list(_items(row, today.year - PAST_YEARS).values())
    path = calendars.free_path(s, login, slug, "holidays")
    collection = store.create_collection(s, path, props, items, actor=login)[0]
    row.collection_id = collection.id
    s.add(row)
    s.flush()
    return _subscription(row, collection)


def _default_title(found: Country, subdivision: str) -> str:
    return f"Holidays in {found.name}" + (f" ({subdivision})" if subdivision else "")


def _items(row: HolidaySubscription, first_year: int) -> dict[str, store.ItemData]:
    """The subscription's holidays from ``first_year`` to its last year, by href."""
    first, last = date(first_year, 1, 1), date(row.last_year, 12, 31)
    found = {}
    for holiday in between(row.country, row.subdivision, row.language, first, last):
        item = _item(row, holiday)
        found[item.href] = item
    return found


def _item(row: HolidaySubscription, holiday: Holiday) -> store.ItemData:
    """One all-day, transparent VEVENT whose UID, text and ETag depend only on the holiday."""
    place = f"{row.country}-{row.subdivision}" if row.subdivision else row.country
    uid = f"{holiday.date:%Y%m%d}-{re.sub(r'[^A-Za-z0-9-]', '', place).lower()}@{UID_DOMAIN}"
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime.combine(holiday.date, time(0), UTC))
    event.add("DTSTART", holiday.date)
    event.add("DTEND", holiday.date + timedelta(days=1))
    event.add("SUMMARY", holiday.name)
    event.add("TRANSP", "TRANSPARENT")  # a holiday never makes anyone busy
    event.add("CATEGORIES", "Holidays")
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//calcard//holidays//EN")
    calendar.add_component(event)
    return store.ItemData.from_text(f"{uid}.ics", calendar.to_ical())


def refresh(s: Session, row: HolidaySubscription, today: date) -> int:
    """Bring the window up to ``today`` (and the items up to the package); returns changes."""
    found = s.get(Collection, row.collection_id)
    if found is None or found.deleted_at is not None:
        return 0
    collection = store.collection_data(found)
    row.last_year = max(row.last_year, today.year + FUTURE_YEARS)
    row.source_version = package_version()
    first_year = today.year - PAST_YEARS
    wanted = _items(row, first_year)
    stored = store.item_etags(s, collection.id)
    changes = 0
    for href, item in wanted.items():
        if href not in stored or stored[href] != item.etag:
            store.put_item(s, collection, item)
            changes += 1
    for href in stored.keys() - wanted.keys():
        if href[:8].isdigit() and int(href[:4]) >= first_year:  # dropped; past years stay
            store.delete_item(s, collection, href)
            changes += 1
    return changes


def refresh_due(db: Database, today: date) -> int:
    """Refresh every live subscription whose window or package version is behind (without
    subscriptions, the ``holidays`` package is not even imported)."""
    with db.transaction() as s:
        live = s.execute(
            select(
                HolidaySubscription.id,
                HolidaySubscription.owner,
                HolidaySubscription.last_year,
                HolidaySubscription.source_version,
            )
            .join(Collection, Collection.id == HolidaySubscription.collection_id)
            .where(Collection.deleted_at.is_(None))
        ).all()
    if not live:
        return 0
    version = package_version()
    changes = 0
    for row_id, owner, last_year, source in live:
        if last_year >= today.year + FUTURE_YEARS and source == version:
            continue
        with db.transaction(write=True, owners=[owner]) as s:
            row = s.scalar(select(HolidaySubscription).where(HolidaySubscription.id == row_id))
            if row is not None:
                changes += refresh(s, row, today)
    return changes
