"""SQLAlchemy models: the one schema, changed only through Alembic migrations.

Tables that grow with use carry an ``owner`` (the owning user's login) so they
can be distributed by that key later (DESIGN.md, "Growing past one machine").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from calcard.core.times import utcnow

MAX_ID = 2**63 - 1  # the largest BIGINT (PostgreSQL) and SQLite INTEGER


def as_id(value: object) -> int | None:
    """A row id or counter given as text (a path or query parameter), or None if it is none.

    ASCII digits up to ``MAX_ID`` only: ``str.isdigit`` also passes '²' (which int()
    refuses), and a longer number overflows the column the query binds it to.
    """
    text = str(value)
    if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > MAX_ID:
        return None
    return int(text)


class Base(DeclarativeBase):
    if TYPE_CHECKING:  # every model maps a Table (DeclarativeBase allows any FromClause)
        __table__: ClassVar[Table]


# SQLite reuses the largest rowid after a delete unless a table says AUTOINCREMENT;
# ids of people, organizations, groups and collections are referenced elsewhere
# (shares, links, sessions), so a new row must never take a deleted one's id.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="free")
    # The language of members who chose none and whose browser asks for none we have
    # (CONTRACT.md "Languages"); "" means English.
    language: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """An account. ``email`` only ever holds a verified address (scheduling, free/busy and
    mail match it); a new address waits in ``email_pending`` until its owner follows the
    signed link mailed to it. Verified addresses are unique, case-blind: ``email_key`` is
    ``email`` lowercased (kept so by ``_email_key``), unique where not empty; a plain
    column rather than an index on lower(email), which SQLite cannot reflect."""

    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_email_key",
            "email_key",
            unique=True,
            sqlite_where=text("email_key != ''"),
            postgresql_where=text("email_key != ''"),
        ),
        NEVER_REUSE_IDS,
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    email_key: Mapped[str] = mapped_column(String(320), default="", server_default="")
    email_pending: Mapped[str] = mapped_column(String(320), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    chat_webhook: Mapped[str] = mapped_column(String(1000), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    settings: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # TOTP two-factor authentication: a secret is pending until confirmed with a code.
    totp_secret: Mapped[str] = mapped_column(String(64), default="", server_default="")
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The last accepted TOTP time step, so a code cannot be replayed.
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The organization the user works in ("switching"); None = the first membership.
    current_org_id: Mapped[int | None] = mapped_column(Integer)

    @validates("email")
    def _email_key(self, _key: str, value: str) -> str:
        self.email_key = (value or "").strip().lower()
        return value


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    calendar_access: Mapped[bool] = mapped_column(Boolean, default=True)
    contacts_access: Mapped[bool] = mapped_column(Boolean, default=True)


class OrgInvitation(Base):
    """An existing user asked to join an organization by one of its managers.

    Not a membership: until the user accepts, the organization's people see
    nothing of the user's (no shares, free/busy, workgroups apply), since every
    such rule joins ``memberships``. Accepting turns it into one; declining
    deletes it.
    """

    __tablename__ = "org_invitations"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OrgBranding(Base):
    """An organization's logo and colors, shown on its login page and in the app.

    The logo is kept in the database (it is small and size-limited) so every
    node serves it; ``logo_type`` is the media type found by decoding it, never
    the one the uploader claimed.
    """

    __tablename__ = "org_branding"
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    accent: Mapped[str] = mapped_column(String(7), default="")
    background: Mapped[str] = mapped_column(String(7), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Workgroup(Base):
    __tablename__ = "workgroups"
    __table_args__ = (UniqueConstraint("org_id", "name"), NEVER_REUSE_IDS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))


class WorkgroupMember(Base):
    __tablename__ = "workgroup_members"
    workgroup_id: Mapped[int] = mapped_column(
        ForeignKey("workgroups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AppPassword(Base):
    __tablename__ = "app_passwords"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Collection(Base):
    """A DAV collection; ``path`` is Radicale's sanitized path without slashes."""

    __tablename__ = "collections"
    __table_args__ = (
        Index(
            "uq_collections_live_path",
            "path",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_collections_parent", "parent"),
        NEVER_REUSE_IDS,
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1000))
    parent: Mapped[str] = mapped_column(String(1000))
    owner: Mapped[str] = mapped_column(String(100), index=True)
    tag: Mapped[str] = mapped_column(String(20), default="")
    props: Mapped[str] = mapped_column(Text, default="{}")
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str] = mapped_column(String(100), default="")
    # set by a restore (migration 0018): part of sync tokens and the collection's ETag
    lineage: Mapped[str] = mapped_column(String(40), server_default="")


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        Index(
            "uq_items_live_href",
            "collection_id",
            "href",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "uq_items_live_uid",
            "collection_id",
            "uid",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND uid <> ''"),
            postgresql_where=text("deleted_at IS NULL AND uid <> ''"),
        ),
        Index("ix_items_time", "collection_id", "start", "end"),
        # Views ask about now and later, where few items end: the selective side.
        Index("ix_items_end", "collection_id", "end", "start"),
        Index("ix_items_trash", "owner", "deleted_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(100))
    href: Mapped[str] = mapped_column(String(1000))
    uid: Mapped[str] = mapped_column(String(1000), default="")
    etag: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    component: Mapped[str] = mapped_column(String(20), default="")
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str] = mapped_column(String(100), default="")


class SyncLog(Base):
    """One row per change of an href, so sync costs O(changes) (RFC 6578)."""

    __tablename__ = "sync_log"
    __table_args__ = (Index("ix_sync_log_collection_revision", "collection_id", "revision"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(BigInteger)
    href: Mapped[str] = mapped_column(String(1000))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class Share(Base):
    """A collection shared with a user, a workgroup or a whole organization."""

    __tablename__ = "shares"
    __table_args__ = (UniqueConstraint("collection_id", "target_kind", "target_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str] = mapped_column(String(100))
    target_kind: Mapped[str] = mapped_column(String(10))  # user | group | org
    target_id: Mapped[int] = mapped_column(Integer)
    access: Mapped[str] = mapped_column(String(20))  # read | read-write
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Reminder(Base):
    """One delivery of one alarm occurrence on one channel (DESIGN.md, Reminders).

    ``due_at`` is when a dispatcher may next take it: the fire time, then the
    retry time after a failure. ``key`` names the alarm occurrence inside its
    item, so a rescheduled item never produces a second row for the same send.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("collection_id", "href", "key", "channel", "fire_at"),
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_owner", "owner", "fire_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    collection_id: Mapped[int] = mapped_column(Integer)
    href: Mapped[str] = mapped_column(String(1000))
    key: Mapped[str] = mapped_column(String(1000))
    channel: Mapped[str] = mapped_column(String(20))  # email | display | chat
    fire_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    repeat: Mapped[str] = mapped_column(String(10), default="")  # hourly | daily | weekly
    title: Mapped[str] = mapped_column(String(1000), default="")
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    location: Mapped[str] = mapped_column(String(1000), default="")


class ReminderItem(Base):
    """How far ahead an item's alarms are scheduled, so the horizon can be extended."""

    __tablename__ = "reminder_items"
    collection_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    href: Mapped[str] = mapped_column(String(1000), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    scheduled_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Notification(Base):
    """A browser notification waiting for (or already shown in) the user's web sessions."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_owner_id", "owner", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    reminder_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServerSecret(Base):
    """Secrets every node shares (e.g. the key that signs reminder stop links)."""

    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class PushSubscription(Base):
    """A push subscription: a WebDAV-Push registration of a collection (``kind`` webdav,
    draft "Push for WebDAV") or a browser's Web Push subscription (``kind`` browser, for
    reminders and invitation notices with the tab closed; ``collection_id`` None).

    ``token`` is the registration URL's last segment (canonical, random), ``owner`` the
    registrant and ``path`` the collection path they registered through (a sharee's
    alias, re-checked with the door before each send). ``due_at`` is set by a change
    (``store.push``) and cleared once a message went out; ``changes`` counts changes, so
    one arriving during a send is not lost. ``cursor``: the last notification a
    browser got. ``app_password_id``: the device's app password, when it registered
    with one; revoking it ends the registration (a lost phone learns nothing more).
    """

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        Index("ix_push_subscriptions_collection", "collection_id"),
        Index("ix_push_subscriptions_owner", "owner", "kind"),
        Index("ix_push_subscriptions_due", "due_at"),
        Index("ix_push_subscriptions_expires", "expires_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # webdav | browser
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE")
    )
    path: Mapped[str] = mapped_column(String(1000), default="")
    push_resource: Mapped[str] = mapped_column(String(2000))
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The app password the registering device logged in with: revoking it ends this.
    app_password_id: Mapped[int | None] = mapped_column(Integer)


class Occurrence(Base):
    """One materialized occurrence of a calendar item's VEVENTs or VTODOs.

    Written with each calendar change (DESIGN.md rule 3), so free/busy and
    calendar-query time ranges are indexed range lookups instead of
    re-expanding recurrences; ``IndexedItem`` records each item's window so it
    can be extended. ``kind`` FREE marks occurrences that match time ranges but
    take no time (transparent, cancelled, zero-length), INSTANT events without
    an end (which match a range starting at them), TODO a task's occurrence
    (what a range must reach to match it; never busy).
    """

    __tablename__ = "occurrences"
    __table_args__ = (
        Index("ix_occurrences_owner_time", "owner", "start", "end"),
        Index("ix_occurrences_item", "collection_id", "href"),
        Index("ix_occurrences_collection_time", "collection_id", "start"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    collection_id: Mapped[int] = mapped_column(Integer)
    href: Mapped[str] = mapped_column(String(1000))
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # BUSY | BUSY-TENTATIVE | FREE | INSTANT | TODO


class IndexedItem(Base):
    """An item whose occurrences are materialized, and for which window (POSIX seconds;
    ``store.busy.FOREVER_BEFORE`` / ``FOREVER_AFTER``: all time on that side).

    ``exact`` says the rows answer time-range queries on their own: every
    occurrence has a fixed instant (no floating times or dates, which depend on
    the reader's zone) and the whole recurrence set expanded cleanly.
    """

    __tablename__ = "indexed_items"
    __table_args__ = (
        Index("ix_indexed_items_collection_start", "collection_id", "window_start"),
        Index("ix_indexed_items_collection_end", "collection_id", "window_end"),
    )
    collection_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    href: Mapped[str] = mapped_column(String(1000), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[int] = mapped_column(BigInteger)
    window_end: Mapped[int] = mapped_column(BigInteger, index=True)
    exact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # the end a query asked this series to be indexed to, refused because the per-item
    # cap would cut its past (``store.busy.extend``): no extension that far is tried again
    refused_last: Mapped[int | None] = mapped_column(BigInteger)


class IndexExtension(Base):
    """A calendar whose series without end a query asked for past the index's horizon,
    queued for the dispatcher to index up to ``until`` (POSIX seconds; ``store.busy``):
    one row per calendar however many queries ask, so the background work is bounded by
    the calendar, not by its readers. ``after`` is the last href done of this pass."""

    __tablename__ = "index_extensions"
    collection_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str] = mapped_column(String(100))
    until: Mapped[int] = mapped_column(BigInteger)
    after: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Room(Base):
    """A bookable resource (CUTYPE=ROOM) of an organization; its calendar is its user's."""

    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)


class OutgoingMail(Base):
    """A mail waiting to be sent by a dispatcher (iMIP invitations, replies, summaries).

    Queued in the transaction that decided to send it, so a rolled-back change
    sends nothing, and retried like reminders when the SMTP server refuses.
    """

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text, default="")
    calendar: Mapped[str] = mapped_column(Text, default="")  # the iTIP object, if any
    method: Mapped[str] = mapped_column(String(20), default="")  # REQUEST | CANCEL | REPLY
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """A refused login, kept a day: throttling must hold across processes and nodes."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_pair", "login", "address", "failed_at"),
        Index("ix_login_failures_address", "address", "failed_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    login: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PublicLink(Base):
    """A secret read-only .ics feed URL of a calendar; only the token's hash is stored."""

    __tablename__ = "public_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A browser session of the web UI, kept in the database so any node can serve it.

    Only a hash of the cookie value is stored: a leaked table opens no session.
    ``csrf`` is the per-session token every changing request must echo in a header.
    ``user_id`` ties it to the person, not the login: deleting the user deletes
    their sessions, and a later account with the same login never inherits one.
    """

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ContactMerge(Base):
    """A duplicate-contact merge, with the original cards so it can be undone.

    ``originals`` is JSON: one ``{"href", "uid", "text", "item_id", "removed"}``
    per card the merge changed (the kept card, the merged-away ones and any
    group whose members were repointed). ``merged_etag`` is the kept card's
    ETag right after the merge: undo refuses when the card changed since.
    """

    __tablename__ = "contact_merges"
    __table_args__ = (Index("ix_contact_merges_owner", "owner", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    kept_uid: Mapped[str] = mapped_column(String(1000))
    kept_href: Mapped[str] = mapped_column(String(1000))
    merged_etag: Mapped[str] = mapped_column(String(100))
    originals: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HolidaySubscription(Base):
    """A holiday calendar a user added to their DAV home (calcard.public_holidays).

    Its holidays are ordinary items of the collection, so DAV sync works as for
    any calendar; this row makes the collection read-only for everyone
    (calcard.sharing) and records what generated it, so the dispatcher can move
    the window forward and follow updates of the ``holidays`` package.
    """

    __tablename__ = "holiday_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), unique=True
    )
    country: Mapped[str] = mapped_column(String(10))
    subdivision: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(20), default="")
    last_year: Mapped[int] = mapped_column(Integer)
    source_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportJob(Base):
    """A file import from the web UI, running in the background on the node that took the upload.

    Its progress lives here, not in that process, so a poll landing on any node
    can answer it. ``heartbeat_at`` moves with every stored batch: a running job
    whose heartbeat stopped was cut off (its process ended). ``skipped`` is a JSON
    list of at most ``importjobs.MAX_REASONS`` reasons; ``skipped_count`` counts all.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_owner", "owner", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(1000))
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes of the upload
    position: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes read so far
    entries: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
