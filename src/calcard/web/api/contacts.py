"""Contact groups, copy/move, duplicates, merge and undo over JSON."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard import contacts, store
from calcard.core.errors import Kind, Refusal
from calcard.core.models import as_id
from calcard.web.api.common import ApiContext, authenticated_login, json_body, query_param


def _strings(body: dict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refusal(f"{key} must be a list of UIDs")
    return value


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise Refusal(f"{key} is required")
    return value


def routes(ctx: ApiContext) -> list[Route]:
    def call(
        request: Request,
        work: Callable,
        write: bool,
        status: int = 200,
        paths: tuple[object, ...] = (),
    ) -> JSONResponse:
        """Authenticate, run ``work(session, login)`` in one transaction, map refusals.

        Writes lock the caller and the owners of the named address books, as DAV does.
        """
        login = authenticated_login(ctx, request)
        owners = [login] + [store.owner_of(p.strip("/")) for p in paths if isinstance(p, str)]
        with ctx.db.transaction(write=write, owners=owners) as s:
            return JSONResponse(work(s, login), status_code=status)

    def posted(handler: Callable) -> Callable:
        async def endpoint(request: Request) -> JSONResponse:
            body = await json_body(request)
            return await run_in_threadpool(handler, request, body)

        return endpoint

    def read_book(request: Request, key: str, listing: Callable) -> JSONResponse:
        """GET endpoints: ``{key: [each.as_json() for each in listing(session, book)]}``."""
        path = query_param(request, "addressbook")

        def work(s, login):
            found = listing(s, contacts.addressbook(s, login, path))
            return {key: [each.as_json() for each in found]}

        return call(request, work, write=False)

    def groups(request: Request) -> JSONResponse:
        return read_book(request, "groups", contacts.list_groups)

    def create_group(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            book = contacts.addressbook(s, login, _text(body, "addressbook"), write=True)
            style = body.get("style", "vcard4")
            return contacts.create_group(s, book, _text(body, "name"), style).as_json()

        return call(request, work, True, 201, (body.get("addressbook"),))

    def members(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            book = contacts.addressbook(s, login, _text(body, "addressbook"), write=True)
            add, remove = _strings(body, "add"), _strings(body, "remove")
            uid = request.path_params["uid"]
            return contacts.change_members(s, book, uid, add, remove).as_json()

        return call(request, work, True, paths=(body.get("addressbook"),))

    def transfer(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            move = body.get("move", False)
            if not isinstance(move, bool):
                raise Refusal("move must be true or false")
            source = contacts.addressbook(s, login, _text(body, "from"), write=move)
            target = contacts.addressbook(s, login, _text(body, "to"), write=True)
            report = contacts.transfer(s, source, target, _strings(body, "uids"), move)
            return report.as_json()

        return call(request, work, True, paths=(body.get("from"), body.get("to")))

    def duplicates(request: Request) -> JSONResponse:
        return read_book(request, "duplicates", contacts.duplicates)

    def merge(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            book = contacts.addressbook(s, login, _text(body, "addressbook"), write=True)
            done = contacts.merge(s, book, _text(body, "keep"), _strings(body, "merge"), login)
            return {"merge": done.id, "uid": done.uid, "path": f"/{book.path}/{done.href}"}

        return call(request, work, True, paths=(body.get("addressbook"),))

    def merges(request: Request) -> JSONResponse:
        return call(request, lambda s, login: {"merges": contacts.list_merges(s, login)}, False)

    def undo_sync(request: Request) -> JSONResponse:
        merge_id = as_id(request.path_params["id"])
        if merge_id is None:
            raise Refusal(f"no merge {request.path_params['id']}", Kind.NOT_FOUND)
        return call(request, lambda s, login: contacts.undo_merge(s, login, merge_id), True)

    async def undo(request: Request) -> JSONResponse:
        return await run_in_threadpool(undo_sync, request)

    return [
        Route("/api/contacts/groups", groups),
        Route("/api/contacts/groups", posted(create_group), methods=["POST"]),
        Route("/api/contacts/groups/{uid}/members", posted(members), methods=["POST"]),
        Route("/api/contacts/transfer", posted(transfer), methods=["POST"]),
        Route("/api/contacts/duplicates", duplicates),
        Route("/api/contacts/merge", posted(merge), methods=["POST"]),
        Route("/api/contacts/merges", merges),
        Route("/api/contacts/merges/{id:int}/undo", undo, methods=["POST"]),
    ]
