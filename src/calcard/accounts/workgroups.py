"""Workgroups: named groups of members inside an organization, usable as share targets.

Managing them follows the member rules (legal representative or
administrator); members see their organization's workgroups.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Organization, Share, User, Workgroup, WorkgroupMember


@dataclass(frozen=True)
class WorkgroupInfo:
    name: str
    members: list[str]


def _get(s: Session, org: Organization, name: str) -> Workgroup:
    group = s.scalars(
        select(Workgroup).where(Workgroup.org_id == org.id, Workgroup.name == name)
    ).first()
    if group is None:
        raise Refusal(
            N_("no workgroup {name!r} in {org!r}"),
            Kind.NOT_FOUND,
            values={"name": name, "org": org.name},
        )
    return group


def _managed(s: Session, org_name: str, actor: str | None) -> Organization:
    org = accounts.get_org(s, org_name)
    accounts.require_manager(s, actor, org)
    return org


def create(s: Session, org_name: str, name: str, actor: str | None = None) -> WorkgroupInfo:
    org = _managed(s, org_name, actor)
    if not name.strip():
        raise Refusal(N_("a workgroup needs a name"))
    exists = s.scalars(
        select(Workgroup).where(Workgroup.org_id == org.id, Workgroup.name == name)
    ).first()
    if exists:
        raise Refusal(
            N_("workgroup {name!r} already exists in {org_name!r}"),
            values={"name": name, "org_name": org_name},
        )
    s.add(Workgroup(org_id=org.id, name=name))
    s.flush()
    return WorkgroupInfo(name, [])


def delete(s: Session, org_name: str, name: str, actor: str | None = None) -> None:
    """Remove a workgroup; shares to it end with it."""
    org = _managed(s, org_name, actor)
    group = _get(s, org, name)
    for share in s.scalars(
        select(Share).where(Share.target_kind == "group", Share.target_id == group.id)
    ):
        s.delete(share)
    s.delete(group)
    s.flush()


def add_member(s: Session, org_name: str, name: str, login: str, actor: str | None = None) -> None:
    org = _managed(s, org_name, actor)
    group = _get(s, org, name)
    user = accounts.get_user(s, login)
    if accounts.role_of(s, user.login, org) is None:
        raise Refusal(
            N_("{login!r} is not a member of {org_name!r}"),
            values={"login": user.login, "org_name": org_name},
        )
    if s.get(WorkgroupMember, (group.id, user.id)) is None:
        s.add(WorkgroupMember(workgroup_id=group.id, user_id=user.id))
        s.flush()


def remove_member(
    s: Session, org_name: str, name: str, login: str, actor: str | None = None
) -> None:
    org = _managed(s, org_name, actor)
    group = _get(s, org, name)
    user = accounts.get_user(s, login)
    membership = s.get(WorkgroupMember, (group.id, user.id))
    if membership is None:
        raise Refusal(
            N_("{login!r} is not in workgroup {name!r}"),
            Kind.NOT_FOUND,
            values={"login": user.login, "name": name},
        )
    s.delete(membership)
    s.flush()


def list_workgroups(s: Session, org_name: str, actor: str | None = None) -> list[WorkgroupInfo]:
    """The organization's workgroups with their members' logins."""
    org = accounts.get_org(s, org_name)
    if actor is not None and accounts.role_of(s, actor, org) in (None, "external"):
        raise Refusal(
            N_("only members of {org_name!r} see its workgroups"),
            Kind.FORBIDDEN,
            values={"org_name": org_name},
        )
    groups = s.scalars(select(Workgroup).where(Workgroup.org_id == org.id).order_by(Workgroup.name))
    return [
        WorkgroupInfo(
            g.name,
            list(
                s.scalars(
                    select(User.login)
                    .join(WorkgroupMember, WorkgroupMember.user_id == User.id)
                    .where(WorkgroupMember.workgroup_id == g.id)
                    .order_by(User.login)
                )
            ),
        )
        for g in groups
    ]
