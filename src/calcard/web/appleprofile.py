"""Apple configuration profiles (.mobileconfig) that set up an iPhone, iPad or Mac.

One profile carries a CalDAV and a CardDAV account payload (Apple's
``com.apple.caldav.account`` and ``com.apple.carddav.account``) for the user,
with an app password so the account password never lands on the device. The
profile is unsigned: iOS shows it as "unverified", which is usual for
self-hosted servers.
"""

from __future__ import annotations

import plistlib
import uuid
from urllib.parse import urlsplit

from calcard.core.catalogs import N_, say

MEDIA_TYPE = "application/x-apple-aspen-config"


# What the device's settings call each account (catalogs "messages").
DESCRIPTIONS = {
    "CalDAV": N_("calcard calendars of {login}"),
    "CardDAV": N_("calcard address books of {login}"),
}


def _account(kind: str, base_url: str, login: str, password: str, language: str) -> dict:
    """One account payload; ``kind`` is "CalDAV" or "CardDAV"."""
    url = urlsplit(base_url)
    description = say(language, DESCRIPTIONS[kind], login=login)
    https = url.scheme == "https"
    return {
        "PayloadType": f"com.apple.{kind.lower()}.account",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"calcard.{url.hostname}.{login}.{kind.lower()}",
        "PayloadUUID": str(uuid.uuid4()).upper(),
        "PayloadDisplayName": f"{description} ({kind})",
        f"{kind}AccountDescription": description,
        f"{kind}HostName": url.hostname or "localhost",
        f"{kind}Port": url.port or (443 if https else 80),
        f"{kind}UseSSL": https,
        f"{kind}Username": login,
        f"{kind}Password": password,
        f"{kind}PrincipalURL": f"{url.path.rstrip('/')}/{login}/",
    }


def build(base_url: str, login: str, password: str, language: str) -> bytes:
    """The profile as an XML property list, its descriptions in ``language``."""
    host = urlsplit(base_url).hostname or "localhost"
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"calcard.{host}.{login}",
        "PayloadUUID": str(uuid.uuid4()).upper(),
        "PayloadDisplayName": f"calcard ({login})",
        "PayloadDescription": say(
            language, "Calendars and contacts of {login} on {host}", login=login, host=host
        ),
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [
            _account(kind, base_url, login, password, language) for kind in ("CalDAV", "CardDAV")
        ],
    }
    return plistlib.dumps(profile)
