"""The slot finder and free/busy over JSON, and which calendars count for free/busy."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.routing import Route

from calcard import freebusy, store
from calcard.core import timebounds, times
from calcard.core.catalogs import N_, say
from calcard.core.errors import Refusal
from calcard.sharing import access
from calcard.web.api.common import ApiContext, Call, endpoint

OBJECT = {"type": "object"}


def _instant(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Refusal(
            N_("{name} must be an ISO 8601 date-time with offset"), values={"name": name}
        ) from exc
    if moment.tzinfo is None:
        raise Refusal(
            N_("{name} needs a UTC offset, e.g. 2026-03-02T10:00:00+01:00"), values={"name": name}
        )
    timebounds.check_instant(moment, name)
    return moment


def _int(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Refusal(
            N_("{name} must be a whole number from {low} to {high}"),
            values={"name": name, "low": low, "high": high},
        )
    return value


def find(call: Call) -> dict:
    """The earliest free slot for the caller and every known attendee."""
    body = call.body
    attendees = body.get("attendees", [])
    if not isinstance(attendees, list) or not all(isinstance(a, str) for a in attendees):
        raise Refusal(N_("attendees must be a list of logins or email addresses"))
    start = _instant(body.get("start"), "start")
    minutes = _int(body, "duration_minutes", 0, 1, 24 * 60 * 14)
    horizon = _int(
        body, "horizon_days", freebusy.DEFAULT_HORIZON_DAYS, 1, freebusy.MAX_HORIZON_DAYS
    )
    alternatives = _int(body, "alternatives", 0, 0, 20)
    with call.read() as s:
        result = freebusy.find(
            s, call.login, attendees, start, timedelta(minutes=minutes), horizon, alternatives
        )
        language = call.language(s)
    zone = start.tzinfo

    def iso(value: int) -> str:
        return times.from_posix(value).astimezone(zone).isoformat()

    first = result.slots[0] if result.slots else None
    return {
        "start": iso(first[0]) if first else None,
        "end": iso(first[1]) if first else None,
        "unknown": list(result.unknown),
        "unknown_reasons": {who: say(language, why) for who, why in result.unknown.items()},
        "alternatives": [{"start": iso(a), "end": iso(b)} for a, b in result.slots[1:]],
        "blocking": result.blocking,
    }


def busy_of(call: Call) -> dict:
    """One participant's busy periods, if the caller may see them; else why not, in the
    caller's language."""
    start = _instant(call.query("start"), "start")
    end = _instant(call.query("end"), "end")
    if not start < end <= start + timedelta(days=freebusy.MAX_HORIZON_DAYS):
        raise Refusal(N_("end must be after start, within a year"))
    with call.read() as s:
        user = freebusy.resolve(s, call.query("user"))
        reason = freebusy.unknown_reason(s, call.login, user)
        if reason is not None or user is None:
            why = say(call.language(s), reason or freebusy.NO_USER)
            return {"known": False, "reason": why, "busy": []}
        periods = freebusy.busy_periods(s, user.login, start, end)
    return {
        "known": True,
        "busy": [
            {
                "start": times.from_posix(a).isoformat(),
                "end": times.from_posix(b).isoformat(),
                "type": k,
            }
            for a, b, k in sorted(periods)
        ],
    }


def _counted(s, login: str) -> dict:
    counted = {c.path for c in freebusy.counted_collections(s, login)}
    own = [c for c in store.child_collections(s, login) if c.tag == "VCALENDAR"]
    return {
        "calendars": [
            {
                "path": f"/{c.path}/",
                "name": c.props.get("D:displayname", c.path),
                "counts": c.path in counted,
            }
            for c in own
        ]
    }


def calendars(call: Call) -> dict:
    """Which of the caller's calendars count for their free/busy."""
    with call.read() as s:
        return _counted(s, call.login)


def set_counts(call: Call) -> dict:
    """Let one of the caller's calendars count for free/busy or not: {"path", "counts"}."""
    body = call.body
    with call.write() as s:
        path = str(body.get("path", "")).strip("/")
        decision = access.stored(s, call.login, access.CHANGE_PROPERTIES, path)
        collection = decision.collection
        if collection is None or decision.relation != access.OWNER or collection.tag != "VCALENDAR":
            raise Refusal(
                N_("{path!r} is not one of your calendars"), values={"path": body.get("path")}
            )
        if not isinstance(body.get("counts"), bool):
            raise Refusal(N_("counts must be true or false"))
        props = {k: v for k, v in collection.props.items() if k != freebusy.EXCLUDE_PROP}
        if not body["counts"]:
            props[freebusy.EXCLUDE_PROP] = "exclude"
        store.set_props(s, collection, props)
        return _counted(s, call.login)


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "POST", "/api/freebusy/find", find, body=OBJECT),
        endpoint(ctx, "GET", "/api/freebusy/calendars", calendars),
        endpoint(ctx, "PUT", "/api/freebusy/calendars", set_counts, body=OBJECT),
        endpoint(ctx, "GET", "/api/freebusy", busy_of),
    ]
