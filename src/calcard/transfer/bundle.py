"""One person's data as one file, for moving them to another server or account.

``calcard user export LOGIN FILE`` writes a zip: ``manifest.json`` (format
``calcard-user-bundle`` version 1: the person's name, e-mail, time zone and
settings, and one entry per calendar and address book they own, with its
name, properties and file) and each collection as one ``.ics`` or ``.vcf``
(the same files ``calcard export`` writes, streamed into the zip).

``calcard user import LOGIN FILE`` reads the manifest and checks all of it
before anything is written, then applies the settings (paths of the old home
rewritten to the new one) and imports each file into the collection of the
same name in LOGIN's home, created when missing (within the plan's limits),
merged by UID when it exists, as ``calcard import`` does. Shares, trash and
app passwords are the old server's business and do not move.
"""

from __future__ import annotations

import io
import json
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core import names, times
from calcard.core.db import Database
from calcard.core.errors import Kind, Refusal
from calcard.store import inbox
from calcard.transfer import importexport

FORMAT = "calcard-user-bundle"
VERSION = 1
MANIFEST = "manifest.json"
KINDS = {"VCALENDAR": ".ics", "VADDRESSBOOK": ".vcf"}
# The collection properties that move with it (display name, colour, description,
# components); anything else in a file is ignored.
KEPT_PROPS = (
    "D:displayname",
    "ICAL:calendar-color",
    "C:calendar-description",
    "C:supported-calendar-component-set",
    "CR:addressbook-description",
)
MAX_MANIFEST = 1_000_000
MAX_PROP = 1000


@dataclass(frozen=True)
class Entry:
    """One collection of the bundle: its name in the home, kind and properties."""

    name: str
    tag: str
    props: dict[str, str]

    @property
    def file(self) -> str:
        folder = "calendars" if self.tag == "VCALENDAR" else "addressbooks"
        return f"{folder}/{self.name}{KINDS[self.tag]}"


@dataclass
class ImportReport:
    collections: list[str] = field(default_factory=list)
    summaries: list[importexport.ImportSummary] = field(default_factory=list)

    def lines(self) -> Iterable[str]:
        for path, summary in zip(self.collections, self.summaries, strict=True):
            yield f"/{path}/: {summary}"


def _own_collections(s: Session, login: str) -> list[store.CollectionData]:
    """The person's calendars and address books (not schedule boxes, not aliases)."""
    return [
        c for c in store.child_collections(s, login) if c.tag in KINDS and inbox.kind(c) is None
    ]


def export_user(db: Database, login: str, out: IO[bytes]) -> int:
    """Write LOGIN's bundle to ``out``; returns how many collections it holds."""
    with db.transaction() as s:
        user = accounts.get_user(s, login)
        collections = _own_collections(s, user.login)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "login": user.login,
            "name": user.name,
            "email": user.email,
            "timezone": user.timezone,
            "settings": accounts.get_settings(s, user.login),
            "collections": [],
        }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for collection in collections:
            entry = Entry(
                collection.path.rsplit("/", 1)[-1],
                collection.tag,
                {k: v for k, v in collection.props.items() if k in KEPT_PROPS},
            )
            info = zipfile.ZipInfo(entry.file, date_time=times.utcnow().timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as member:
                for chunk in importexport.export(db, "/" + collection.path + "/").chunks:
                    member.write(chunk.encode())
            manifest["collections"].append(
                {"name": entry.name, "tag": entry.tag, "props": entry.props, "file": entry.file}
            )
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    return len(collections)


def _refuse(reason: str) -> Refusal:
    return Refusal(f"not a usable user bundle: {reason}", Kind.INVALID)


def read_manifest(zf: zipfile.ZipFile) -> tuple[dict[str, Any], list[Entry]]:
    """The manifest and its collections, every field checked (a bundle is outside input)."""
    try:
        info = zf.getinfo(MANIFEST)
        if info.file_size > MAX_MANIFEST:
            raise _refuse("its manifest is too large")
        manifest = json.loads(zf.read(info))
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise _refuse(f"no readable {MANIFEST} ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse("not a calcard user bundle")
    if manifest.get("version") != VERSION:
        raise _refuse(f"version {manifest.get('version')!r} is not supported")
    if not isinstance(manifest.get("settings", {}), dict):
        raise _refuse("its settings are not an object")
    entries = [_entry(zf, raw) for raw in manifest.get("collections") or []]
    if len({e.name for e in entries}) != len(entries):
        raise _refuse("two collections have one name")
    return manifest, entries


def _entry(zf: zipfile.ZipFile, raw: Any) -> Entry:
    if not isinstance(raw, dict) or raw.get("tag") not in KINDS:
        raise _refuse("a collection is neither a calendar nor an address book")
    name, props = raw.get("name"), raw.get("props") or {}
    if not isinstance(name, str) or not isinstance(props, dict):
        raise _refuse("a collection has no name")
    try:
        names.check(name)
    except names.BadName as exc:
        raise _refuse(f"collection name {name!r}: {exc}") from None
    if "/" in name or name.startswith("."):
        raise _refuse(f"collection name {name!r} is not one segment")
    kept = {k: str(props[k]) for k in KEPT_PROPS if k in props}
    if any(
        len(v) > MAX_PROP or any(unicodedata.category(c) == "Cc" for c in v) for v in kept.values()
    ):
        raise _refuse(f"collection {name!r} has a property that is too long or has control codes")
    entry = Entry(name, raw["tag"], kept)
    if entry.file not in zf.namelist():
        raise _refuse(f"{entry.file} is missing")
    return entry


def import_user(db: Database, login: str, path: Path) -> ImportReport:
    """Import the bundle at ``path`` into LOGIN's account (see the module docstring)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(str(exc)) from None
    with zf:
        manifest, entries = read_manifest(zf)
        with db.transaction(write=True, owners=[accounts.normalize_login(login)]) as s:
            login = accounts.get_user(s, login).login
            targets = [_target(s, login, e) for e in entries]
            _apply_settings(s, login, manifest)
        report = ImportReport()
        for entry, target in zip(entries, targets, strict=True):
            with zf.open(entry.file) as member:
                lines = io.TextIOWrapper(member, encoding="utf-8-sig", errors="replace")
                summary = importexport.import_lines(
                    db, login, KINDS[entry.tag], lines, "/" + target + "/"
                )
            report.collections.append(target)
            report.summaries.append(summary)
    return report


def _target(s: Session, login: str, entry: Entry) -> str:
    """The path of the collection ``entry`` goes to, created when missing."""
    path = f"{login}/{entry.name}"
    existing = store.get_collection(s, path)
    if existing is not None:
        if existing.tag != entry.tag:
            raise Refusal(f"/{path}/ exists and is not a {_noun(entry.tag)}", Kind.CONFLICT)
        return path
    accounts.check_new_collection(s, login, entry.tag)
    store.create_collection(s, path, {**entry.props, "tag": entry.tag}, actor=login)
    return path


def _noun(tag: str) -> str:
    return "calendar" if tag == "VCALENDAR" else "address book"


def _apply_settings(s: Session, login: str, manifest: dict[str, Any]) -> None:
    """Time zone, name, settings (old home's paths now the new one's), and the e-mail
    address when the account has none (an operator's change: it counts as verified)."""
    old = str(manifest.get("login") or "")
    settings = _rehomed(manifest.get("settings") or {}, f"/{old}/", f"/{login}/") if old else {}
    user = accounts.get_user(s, login)
    email = str(manifest.get("email") or "")
    accounts.set_user(
        s,
        login,
        email=email if email and not user.email else None,
        timezone=str(manifest["timezone"]) if manifest.get("timezone") else None,
    )
    if isinstance(manifest.get("name"), str) and manifest["name"] and not user.name:
        user.name = manifest["name"][:200]
    accounts.update_settings(s, login, settings)


def _rehomed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new + value[len(old) :] if value.startswith(old) else value
    if isinstance(value, list):
        return [_rehomed(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rehomed(v, old, new) for k, v in value.items()}
    return value
