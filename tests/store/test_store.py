"""calcard.store on both databases: revisions, sync log, trash and restore rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from calcard import store
from calcard.core.models import Item
from calcard.store import ItemData, StoreError


def item(href: str, uid: str, text: str = "x", start: int = 0, end: int = 10) -> ItemData:
    return ItemData(
        href=href,
        uid=uid,
        etag=store.etag_of(text + uid),
        text=text + uid,
        component="VEVENT",
        start=start,
        end=end,
    )


@pytest.fixture
def calendar(backend, request):
    path = f"st{abs(hash(request.node.name)) % 10**8}/cal"
    with backend.db.transaction(write=True) as s:
        collection, _, _ = store.create_collection(s, path, {"tag": "VCALENDAR"})
    return backend.db, collection


def test_every_change_bumps_revision_and_logs_only_what_changed(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("a.ics", "a"))
        store.put_item(s, col, item("b.ics", "b"))
        after_two = store.get_collection(s, col.path).revision
        store.put_item(s, col, item("a.ics", "a", "changed"))
        store.delete_item(s, col, "b.ics")
        assert sorted(store.changes_since(s, col.id, after_two)) == ["a.ics", "b.ics"]
        now = store.get_collection(s, col.path).revision
        assert now == after_two + 2
        assert store.changes_since(s, col.id, now) == []
        assert [i.href for i in store.all_items(s, col.id)] == ["a.ics"]


def test_uid_clash_is_refused_and_leaves_nothing_half_written(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("a.ics", "same"))
        revision = store.get_collection(s, col.path).revision
        with pytest.raises(StoreError):
            store.put_item(s, col, item("b.ics", "same"))
        assert store.get_item(s, col.id, "b.ics") is None
        assert store.get_collection(s, col.path).revision == revision


def test_time_range_filter_uses_overlap(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("early.ics", "e", start=0, end=100))
        store.put_item(s, col, item("late.ics", "l", start=200, end=300))
        hits = store.filter_items(s, col.id, "VEVENT", 50, 250)
        assert [i.href for i in hits] == ["early.ics", "late.ics"]
        assert [i.href for i in store.filter_items(s, col.id, "VEVENT", 100, 200)] == []
        assert store.filter_items(s, col.id, "VTODO", 0, 1000) == []


def test_restore_refuses_a_reused_uid_and_works_once_free(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("a.ics", "u1"))
        store.delete_item(s, col, "a.ics")
        deleted_id = s.execute(
            select(Item.id).where(Item.collection_id == col.id, Item.href == "a.ics")
        ).scalar_one()
        store.put_item(s, col, item("other.ics", "u1"))
        with pytest.raises(StoreError, match="in use again"):
            store.restore_item(s, col, deleted_id)
        store.delete_item(s, col, "other.ics")
        assert store.restore_item(s, col, deleted_id).href == "a.ics"
        assert store.get_item(s, col.id, "a.ics") is not None


def test_replacing_a_collection_reports_replaced_and_new(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("a.ics", "a"))
        store.put_item(s, col, item("gone.ics", "g"))
        _, replaced, new = store.create_collection(
            s, col.path, {"tag": "VCALENDAR"}, [item("a.ics", "a", "v2"), item("n.ics", "n")]
        )
        assert list(replaced) == ["a.ics"] and new == ["n.ics"]
        assert [i.href for i in store.all_items(s, col.id)] == ["a.ics", "n.ics"]


def test_move_between_collections_logs_both_sides(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        other, _, _ = store.create_collection(s, col.path + "2", {"tag": "VCALENDAR"})
        store.put_item(s, col, item("m.ics", "m"))
        before = (store.get_collection(s, col.path).revision, other.revision)
        store.move_item(s, col, "m.ics", other, "moved.ics")
        assert store.changes_since(s, col.id, before[0]) == ["m.ics"]
        assert store.changes_since(s, other.id, before[1]) == ["moved.ics"]
        assert store.get_item(s, other.id, "moved.ics").uid == "m"


def test_verify_detects_a_torn_item(calendar):
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("v.ics", "v"))
        assert store.verify(s)
    with pytest.raises(RuntimeError), db.transaction(write=True) as s:
        s.execute(update(Item).where(Item.collection_id == col.id).values(text="torn"))
        assert not store.verify(s)
        raise RuntimeError("roll the tear back")
    with db.transaction() as s:
        assert store.verify(s)


def test_sync_positions_inside_one_revision_lose_and_repeat_nothing(calendar):
    """RFC 6578 §3.6: a page may end inside a revision that changed several hrefs."""
    db, col = calendar
    with db.transaction(write=True) as s:
        store.put_item(s, col, item("a.ics", "a"))
        col, _, _ = store.create_collection(
            s, col.path, {"tag": "VCALENDAR"}, [item(f"{n}.ics", n) for n in "bcde"]
        )
        first = store.changes_page(s, col.id, store.SyncPosition(0), 2, live_only=True)
        assert [href for _, href in first] == ["b.ics", "c.ics"]
        revision, href = first[-1]
        rest = store.changes_page(s, col.id, store.SyncPosition(revision, href))
        assert [h for _, h in rest] == ["d.ics", "e.ics"]  # a.ics went before the client had it
        everything = store.changes_page(s, col.id, store.SyncPosition(0))
        assert [h for _, h in everything] == ["a.ics", "b.ics", "c.ics", "d.ics", "e.ics"]
