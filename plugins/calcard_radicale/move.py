"""MOVE of an item (RFC 4918 §9.9) with its Destination read as a URI first.

Radicale decodes the Destination header before splitting it into scheme,
authority and path, so a name holding an encoded ``?``, ``#`` or ``;`` lost
its tail and a bad port was a 500. Here the header is split first
(names.destination); the rest follows RFC 4918 §9.9 and Radicale's rules
(both ends need write rights, items only, same kind of collection, a UID
once per collection as RFC 4791 §5.3.2.1 and RFC 6352 §6.3.2.1 ask).
"""

from __future__ import annotations

import posixpath
from http import client

from radicale import httputils, pathutils, storage, utils
from radicale.app.base import Access

from calcard.core import names
from calcard_radicale import runtime


def do_move(app, environ, base_prefix: str, path: str, user: str, user_groups, request_info):
    """Radicale's ``do_MOVE`` for calcard (see the module's docstring)."""
    try:
        here = utils.get_server_netloc(environ, force_port=True)
        to_path = pathutils.sanitize_path(
            names.destination(environ.get("HTTP_DESTINATION", ""), here)
        )
    except names.BadName as refused:
        runtime.refuse(refused.status, str(refused))
        return httputils.BAD_REQUEST
    if not (to_path + "/").startswith(base_prefix + "/"):
        return httputils.NOT_ALLOWED
    to_path = to_path[len(base_prefix) :]
    access = Access(app._rights, user, user_groups, path)
    to_access = Access(app._rights, user, user_groups, to_path)
    if not access.check("w") or not to_access.check("w"):
        return httputils.NOT_ALLOWED
    with app._storage.acquire_lock("w", user, path=path, request="MOVE", to_path=to_path):
        item = next(iter(app._storage.discover(path)), None)
        if item is None:
            return httputils.NOT_FOUND
        if not access.check("w", item) or not to_access.check("w", item):
            return httputils.NOT_ALLOWED
        if isinstance(item, storage.BaseCollection):
            return httputils.METHOD_NOT_ALLOWED  # collections are not moved
        return _move_item(app, environ, item, to_path, request_info)


def _move_item(app, environ, item, to_path: str, request_info):
    """Move ``item`` to ``to_path`` once the target's rules hold (under the write lock)."""
    to_item = next(iter(app._storage.discover(to_path)), None)
    if isinstance(to_item, storage.BaseCollection):
        return httputils.FORBIDDEN
    to_collection = next(iter(app._storage.discover(pathutils.parent_path(to_path))), None)
    if not isinstance(to_collection, storage.BaseCollection):
        return httputils.CONFLICT  # RFC 4918 §9.9.4: the target's parent is missing
    tag = item.collection.tag
    if not tag or tag != to_collection.tag:
        return httputils.FORBIDDEN
    if to_item and environ.get("HTTP_OVERWRITE", "F") != "T":
        return httputils.PRECONDITION_FAILED
    elsewhere = to_collection.path != item.collection.path
    if (to_item and to_item.uid != item.uid) or (
        not to_item and elsewhere and to_collection.has_uid(item.uid)
    ):
        precondition = "C:no-uid-conflict" if tag == "VCALENDAR" else "CR:no-uid-conflict"
        return app._webdav_error_response(client.CONFLICT, precondition, request_info)
    try:
        app._storage.move(item, to_collection, posixpath.basename(pathutils.strip_path(to_path)))
    except ValueError:
        return httputils.BAD_REQUEST
    return client.NO_CONTENT if to_item else client.CREATED, {}, None, None
