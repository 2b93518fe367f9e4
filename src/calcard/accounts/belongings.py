"""What belongs to a person, and its deletion for good when their account ends.

Most tables name their owner by login (the distribution key, DESIGN.md
"Growing past one machine"), and a login can be taken again once its user is
gone. So when a user is deleted, everything kept under their login or id goes
with them, in the same transaction: their collections with every item (the
trash included: it is not kept under a tombstone, since nobody could restore
it to anyone and a departed person's data should not outlive the account;
the operator's recourse is ``calcard backup``), the derived rows (occurrences,
reminders, notifications; queued index extensions go by ON DELETE CASCADE),
their push subscriptions, their import jobs, pending outgoing mail, login
failures, web sessions, app passwords, and the shares aimed at them. A new user
with the same login then starts empty.

Rows that reference the user by id with ON DELETE CASCADE (memberships,
workgroup memberships, app passwords, web sessions, rooms) go with the user
row; shares have a polymorphic target (user, group or organization) that no
foreign key can cover, so they are deleted here.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from calcard.core.models import (
    AppPassword,
    Collection,
    ImportJob,
    IndexedItem,
    LoginFailure,
    Notification,
    Occurrence,
    OutgoingMail,
    PushSubscription,
    Reminder,
    ReminderItem,
    Share,
    User,
    WebSession,
)


def delete_belongings(s: Session, user: User) -> None:
    """Delete for good everything of ``user`` except the user row itself."""
    login = user.login
    ids = list(s.scalars(select(Collection.id).where(Collection.owner == login)))
    for model in (Occurrence, IndexedItem, Reminder, ReminderItem, PushSubscription):
        s.execute(delete(model).where(or_(model.owner == login, model.collection_id.in_(ids))))
    # Items, sync-log rows, shares given, public links, merges go by ON DELETE CASCADE.
    s.execute(delete(Collection).where(Collection.id.in_(ids)))
    s.execute(delete(Share).where(Share.target_kind == "user", Share.target_id == user.id))
    s.execute(delete(Notification).where(Notification.owner == login))
    s.execute(delete(ImportJob).where(ImportJob.owner == login))
    s.execute(delete(OutgoingMail).where(OutgoingMail.owner == login))
    s.execute(delete(LoginFailure).where(LoginFailure.login == login))
    # These cascade from the user row too; said here so no engine setting can keep them.
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    s.execute(delete(AppPassword).where(AppPassword.user_id == user.id))
    s.flush()
