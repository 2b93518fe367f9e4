"""Demo data so a new operator can sync a phone within a minute."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts
from calcard.core.models import Organization

DEMO_ORG = "Demo"
DEMO_USERS = (
    ("alice", "legal-representative", "Alice Martin"),
    ("bob", "administrator", "Bob Keller"),
    ("carol", "collaborator", "Carol Rossi"),
    ("dave", "external", "Dave External"),
)


def seed(s: Session) -> list[tuple[str, str]]:
    """Create the demo organization once; returns (login, password) pairs."""
    credentials = [(login, f"{login}-demo-pass") for login, _, _ in DEMO_USERS]
    if s.scalars(select(Organization).where(Organization.name == DEMO_ORG)).first():
        return credentials
    accounts.create_org(s, DEMO_ORG, plan="team")
    for (login, role, name), (_, password) in zip(DEMO_USERS, credentials, strict=True):
        accounts.add_user(
            s, login, DEMO_ORG, role, password, email=f"{login}@demo.invalid", name=name
        )
    return credentials
