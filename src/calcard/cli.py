"""The ``calcard`` command: serving and administration (CONTRACT.md).

Every refusal is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click

from calcard import accounts, sharing, store, trash
from calcard.accounts import twofactor, workgroups
from calcard.core import backup, catalogs, times
from calcard.core.config import load_settings
from calcard.core.db import Database, org_key
from calcard.core.errors import Kind, Refusal
from calcard.sharing import publiclinks
from calcard.transfer import bundle, importexport

PROGRESS_EVERY = 1000


def database() -> Database:
    return Database(load_settings().database_url)


def refusals(func: Callable) -> Callable:
    """Turn a refusal into a one-line error and exit 1: a ``Refusal`` of the service layer
    (whatever its kind: the CLI has no statuses) and the ValueError or OSError of a bad
    argument or file (``--now``, the file to import)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (Refusal, ValueError, OSError) as exc:
            click.echo(f"calcard: {exc}", err=True)
            sys.exit(1)

    return wrapper


def _locks(options: dict) -> list[str]:
    """What a command changes, locked as the JSON API and DAV lock the same data
    (core.db.lock_owners): the logins it names, the organization it names
    (``org_key``) and the owner of the collection path it names. So an operator's
    change and a person's own change of the same data run one after the other,
    and nobody else's writes wait for the command."""
    keys = [accounts.normalize_login(options[k]) for k in ("login", "user_login") if options.get(k)]
    if options.get("org_name"):
        keys.append(org_key(options["org_name"]))
    if options.get("path"):
        keys.append(store.owner_of(options["path"].strip("/")))
    return keys


def write(func: Callable) -> Callable:
    """Run the command in one write transaction on an up-to-date schema, holding the
    locks of what it changes (``_locks``)."""

    @functools.wraps(func)
    @refusals
    def wrapper(**options):
        db = database()
        db.upgrade()
        with db.transaction(write=True, owners=_locks(options)) as s:
            return func(s, **options)

    return wrapper


class _OneLineUsage(click.Group):
    """A usage error (a missing argument, an unknown command or option) is one line on
    stderr too, naming the command and where its help is, with click's exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "calcard"
            message = " ".join(exc.format_message().split())
            click.echo(f"{where}: {message} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, EOFError, KeyboardInterrupt):
            click.echo("calcard: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_OneLineUsage)
def main() -> None:
    """calcard: calendars and contacts for organizations."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5232, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--demo", "with_demo", is_flag=True, help="Seed a demo organization and print logins."
)
@refusals
def serve(host: str, port: int, workers: int, with_demo: bool) -> None:
    """Serve CalDAV/CardDAV, the API and the web UI on one port."""
    from calcard.web.server import serve as run

    db = database()
    db.upgrade()
    if with_demo:
        _print_demo(db, host, port)
    db.dispose()
    _announce_bound_url(host, port)
    run(host, port, workers)


def _announce_bound_url(host: str, port: int) -> None:
    """Without CALCARD_BASE_URL, mails link to the address served on (the workers read it
    from CALCARD_BOUND_URL), and the operator is told once how to set the public URL."""
    if load_settings().base_url:
        return
    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    bound = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    os.environ["CALCARD_BOUND_URL"] = bound
    click.echo(
        f"warning: CALCARD_BASE_URL is not set; links in mails use {bound} and pages the "
        "address the browser reached. Set CALCARD_BASE_URL to the public URL "
        "(e.g. https://cal.example.com).",
        err=True,
    )


def _print_demo(db: Database, host: str, port: int) -> None:
    from calcard import demo  # the demo's seeding (scheduling, mail) only when serving it

    with db.transaction(write=True, owners=[org_key(demo.DEMO_ORG)]) as s:
        logins = demo.seed(s)
    click.echo(f"Demo organization {demo.DEMO_ORG!r}; DAV URL http://{host}:{port}/")
    for login, password in logins:
        click.echo(f"  login {login:<6} password {password}")


@main.command("demo")
@refusals
def demo_command() -> None:
    """Seed the demo organization and print its logins."""
    db = database()
    db.upgrade()
    _print_demo(db, "127.0.0.1", 5232)


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
@refusals
def upgrade() -> None:
    """Apply pending migrations."""
    database().upgrade()
    click.echo("database is up to date")


@main.group()
def org() -> None:
    """Organizations."""


@org.command("create")
@click.argument("name")
@click.option("--plan", type=click.Choice(list(accounts.PLANS)), default="free", show_default=True)
@write
def org_create(s, name: str, plan: str) -> None:
    accounts.create_org(s, name, plan)
    click.echo(f"organization {name!r} created on plan {plan}")


@org.command("set")
@click.argument("org_name", metavar="NAME")
@click.option(
    "--language",
    required=True,
    help="The members' default language (en, de, fr, it, es); \"\" or en resets it.",
)
@write
def org_set(s, org_name: str, language: str) -> None:
    """Change an organization's settings as the operator."""
    chosen = accounts.set_org_language(s, org_name, language)
    click.echo(f"language of {org_name!r} is {chosen or catalogs.SOURCE}")


@main.group()
def user() -> None:
    """Users and memberships."""


@user.command("add")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option("--email", default="")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@write
def user_add(s, login, org_name, role, email, name, password_stdin) -> None:
    """Create a user, or add an existing login to another organization at once.

    The operator is trusted: no invitation, and the e-mail address counts as
    verified (a new login's; an existing login keeps its own details).
    """
    password = sys.stdin.readline().rstrip("\r\n")
    created = accounts.add_user(s, login, org_name, role, password, email=email, name=name)
    click.echo(f"user {created.login!r} is {role} of {org_name!r}")


@user.command("remove")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@write
def user_remove(s, login, org_name) -> None:
    """End a membership; the last one ends the user, deleting all their data for good."""
    accounts.remove_user(s, login, org_name)
    click.echo(f"{login!r} removed from {org_name!r}")


@user.command("password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@write
def user_password(s, login, password_stdin) -> None:
    """Set a user's password (every web session of theirs ends; app passwords stay)."""
    password = sys.stdin.readline().rstrip("\r\n")
    changed = accounts.set_password(s, login, password)
    click.echo(f"password of {changed.login!r} changed; their web sessions are ended")


@user.command("set")
@click.argument("login")
@click.option("--email")
@click.option("--chat-webhook")
@click.option("--timezone")
@click.option(
    "--language",
    type=click.Choice(catalogs.SUPPORTED),
    help="The person's language (CONTRACT.md); mails without wording in it are in English.",
)
@write
def user_set(s, login, email, chat_webhook, timezone, language) -> None:
    """Change a person's own details as the operator (an e-mail set here counts as verified)."""
    accounts.set_user(s, login, email=email, chat_webhook=chat_webhook, timezone=timezone)
    if language:
        accounts.update_settings(s, login, {"language": language})
    click.echo(f"{login!r} updated")


@user.command("export")
@click.argument("login")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@refusals
def user_export(login: str, file: Path) -> None:
    """Write all of a person's calendars and address books, with settings, to FILE (.zip)."""
    with file.open("wb") as out:
        count = bundle.export_user(database(), login, out)
    click.echo(f"{count} collections of {login!r} written to {file}")


@user.command("import")
@click.argument("login")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@refusals
def user_import(login: str, file: Path) -> None:
    """Import a bundle of `calcard user export` into LOGIN's account (moving a person)."""
    db = database()
    db.upgrade()
    report = bundle.import_user(db, login, file)
    for summary in report.summaries:
        for reason in summary.skipped:
            click.echo(f"skipped: {reason}", err=True)
    for line in report.lines():
        click.echo(line)


def _invitation_to(s, login: str, org_name: str) -> int:
    found = [i for i in accounts.invitations_of(s, login) if i.org == org_name]
    if not found:
        raise Refusal(f"{login!r} has no invitation to {org_name!r}", Kind.NOT_FOUND)
    return found[0].id


@user.command("invitations")
@click.argument("login")
@refusals
def user_invitations(login: str) -> None:
    """One line per invitation waiting for LOGIN's answer: id, organization, role, by, when."""
    with database().transaction() as s:
        found = accounts.invitations_of(s, login)
    for i in found:
        by = i.invited_by or "-"
        click.echo(f"{i.id}\t{i.org}\t{i.role}\tinvited by {by}\t{i.created_at:%Y-%m-%d %H:%M}")


@user.command("accept")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@write
def user_accept(s, login, org_name) -> None:
    """Accept LOGIN's invitation to an organization on their behalf (they asked you to)."""
    joined = accounts.accept_invitation(s, login, _invitation_to(s, login, org_name))
    click.echo(f"{joined.login!r} is now {joined.role} of {org_name!r}")


@user.command("decline")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@write
def user_decline(s, login, org_name) -> None:
    """Decline LOGIN's invitation to an organization on their behalf."""
    accounts.decline_invitation(s, login, _invitation_to(s, login, org_name))
    click.echo(f"{login!r} declined the invitation to {org_name!r}")


@user.command("role")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@write
def user_role(s, login, org_name, role) -> None:
    accounts.set_role(s, login, org_name, role)
    click.echo(f"{login!r} is now {role} of {org_name!r}")


@main.group("app-password")
def app_password() -> None:
    """App-specific passwords for DAV clients."""


@app_password.command("add")
@click.argument("login")
@click.option("--label", required=True)
@write
def app_password_add(s, login, label) -> None:
    secret = accounts.add_app_password(s, login, label)
    click.echo(f"app password {label!r} for {login!r} (shown once):")
    click.echo(secret)


@app_password.command("list")
@click.argument("login")
@refusals
def app_password_list(login: str) -> None:
    """One line per live app password: id, label, created, last used."""
    with database().transaction() as s:
        for p in accounts.list_app_passwords(s, login):
            used = f"{p.last_used_at:%Y-%m-%d %H:%M}" if p.last_used_at else "never"
            click.echo(f"{p.id}\t{p.label}\t{p.created_at:%Y-%m-%d %H:%M}\t{used}")


@app_password.command("revoke")
@click.argument("login")
@click.argument("password_id", type=int)
@write
def app_password_revoke(s, login: str, password_id: int) -> None:
    accounts.revoke_app_password(s, login, password_id)
    click.echo(f"app password {password_id} of {login!r} revoked")


@user.command("access")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@click.option("--calendar/--no-calendar", required=True)
@click.option("--contacts/--no-contacts", required=True)
@write
def user_access(s, login, org_name, calendar, contacts) -> None:
    """Which products a member may use in an organization."""
    accounts.set_product_access(s, login, org_name, calendar, contacts)
    click.echo(f"{login!r} in {org_name!r}: calendar {calendar}, contacts {contacts}")


@user.command("2fa-off")
@click.argument("login")
@write
def user_2fa_off(s, login) -> None:
    """Turn two-factor authentication off for someone who lost their authenticator."""
    twofactor.disable(s, login, None)
    click.echo(f"two-factor authentication is off for {login!r}")


@main.group()
def workgroup() -> None:
    """Workgroups inside an organization (share targets)."""


@workgroup.command("add")
@click.argument("name")
@click.option("--org", "org_name", required=True)
@write
def workgroup_add(s, name, org_name) -> None:
    workgroups.create(s, org_name, name)
    click.echo(f"workgroup {name!r} created in {org_name!r}")


@workgroup.command("remove")
@click.argument("name")
@click.option("--org", "org_name", required=True)
@write
def workgroup_remove(s, name, org_name) -> None:
    workgroups.delete(s, org_name, name)
    click.echo(f"workgroup {name!r} removed from {org_name!r}")


@workgroup.command("join")
@click.argument("name")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@write
def workgroup_join(s, name, login, org_name) -> None:
    workgroups.add_member(s, org_name, name, login)
    click.echo(f"{login!r} is in workgroup {name!r}")


@workgroup.command("leave")
@click.argument("name")
@click.argument("login")
@click.option("--org", "org_name", required=True)
@write
def workgroup_leave(s, name, login, org_name) -> None:
    workgroups.remove_member(s, org_name, name, login)
    click.echo(f"{login!r} left workgroup {name!r}")


@workgroup.command("list")
@click.option("--org", "org_name", required=True)
@refusals
def workgroup_list(org_name) -> None:
    """One line per workgroup: name, then its members."""
    with database().transaction() as s:
        for group in workgroups.list_workgroups(s, org_name):
            click.echo("\t".join([group.name, *group.members]))


@main.group("public-link")
def public_link() -> None:
    """Secret read-only .ics URLs of calendars."""


@public_link.command("add")
@click.argument("path")
@click.option("--expires", required=True, type=click.Choice(list(publiclinks.EXPIRIES)))
@write
def public_link_add(s, path, expires) -> None:
    """Prints the URL alone on the last line (shown once)."""
    link, token = publiclinks.create(s, path, expires)
    click.echo(f"public link {link.id} for {link.path} (shown once):")
    click.echo(f"{load_settings().link_url}/api/public/{token}.ics")


@public_link.command("list")
@click.argument("path")
@refusals
def public_link_list(path) -> None:
    with database().transaction() as s:
        for link in publiclinks.list_links(s, path):
            ends = f"{link.expires_at:%Y-%m-%d}" if link.expires_at else "unlimited"
            click.echo(f"{link.id}\t{link.path}\t{link.created_at:%Y-%m-%d}\t{ends}")


@public_link.command("revoke")
@click.argument("path")
@click.argument("link_id", type=int)
@write
def public_link_revoke(s, path, link_id) -> None:
    publiclinks.revoke(s, path, link_id)
    click.echo(f"public link {link_id} of {path} revoked")


def share_target(func: Callable) -> Callable:
    for option in (
        click.option("--org", "org_name"),
        click.option("--group"),
        click.option("--user", "user_login"),
    ):
        func = option(func)
    return func


def _one_target(user_login, group, org_name) -> tuple[str, str]:
    given = [(k, v) for k, v in (("user", user_login), ("group", group), ("org", org_name)) if v]
    if len(given) != 1:
        raise Refusal("name exactly one of --user, --group or --org")
    return given[0]


@main.group()
def share() -> None:
    """Share calendars and address books."""


@share.command("add")
@click.argument("path")
@share_target
@click.option("--access", required=True, type=click.Choice(sharing.ACCESS_LEVELS))
@write
def share_add(s, path, user_login, group, org_name, access) -> None:
    kind, name = _one_target(user_login, group, org_name)
    sharing.add_share(s, path, kind, name, access)
    click.echo(f"{path} shared with {kind} {name!r} ({access})")


@share.command("remove")
@click.argument("path")
@share_target
@write
def share_remove(s, path, user_login, group, org_name) -> None:
    kind, name = _one_target(user_login, group, org_name)
    sharing.remove_share(s, path, kind, name)
    click.echo(f"{path} no longer shared with {kind} {name!r}")


@main.command("import")
@click.argument("login")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", help="Collection path, e.g. /alice/work/ (default: the user's default).")
@refusals
def import_command(login, file, into) -> None:
    """Import an .ics or .vcf file; progress and skipped entries go to stderr."""
    db = database()
    db.upgrade()
    summary = importexport.import_file(db, login, file, into, progress=_import_progress)
    for reason in summary.skipped:
        click.echo(f"skipped: {reason}", err=True)
    click.echo(str(summary))


def _import_progress(done: int, summary: importexport.ImportSummary) -> None:
    """Big files report every PROGRESS_EVERY entries so an operator sees it move."""
    if done % PROGRESS_EVERY == 0:
        click.echo(f"... {done} entries read", err=True)


@main.command("export")
@click.argument("path")
@refusals
def export_command(path: str) -> None:
    """Write a calendar as one .ics or an address book as one .vcf to stdout."""
    out = sys.stdout
    for chunk in importexport.export(database(), path).chunks:
        out.write(chunk)
    out.flush()


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@refusals
def backup_command(file: Path) -> None:
    """Write a consistent snapshot of the whole database to FILE (while serving)."""
    partial = file.with_name(file.name + ".partial")
    try:
        with partial.open("wb") as out:
            summary = backup.backup(database(), out)
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"backed up {summary.total} rows of schema {summary.revision} to {file}")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@refusals
def restore_command(file: Path) -> None:
    """Restore a backup into the (empty) database; refuses a damaged file."""
    summary = backup.restore(database(), file)
    click.echo(f"restored {summary.total} rows of schema {summary.revision}")


@main.group("trash")
def trash_group() -> None:
    """Deleted events, contacts and collections."""


@trash_group.command("list")
@click.argument("login")
@refusals
def trash_list(login: str) -> None:
    with database().transaction() as s:
        for entry in trash.list_trash(s, login):
            click.echo(str(entry))


@trash_group.command("restore")
@click.argument("login")
@click.argument("entry_id")
@click.option(
    "--into", help="Restore an item into this collection (a collection: under this path)."
)
@click.option("--new-uid", is_flag=True, help="Give the restored item a new UID.")
@write
def trash_restore(s, login, entry_id, into, new_uid) -> None:
    try:
        restored = trash.restore(s, login, entry_id, into, new_uid)
    except trash.RestoreConflict as exc:
        raise Refusal(f"{exc}; {_conflict_hint(exc.options)}", exc.kind) from exc
    click.echo(f"restored {restored}")


def _conflict_hint(options: dict) -> str:
    hints = [f"--into {path}" for path in options.get("into", [])[:3]]
    if options.get("new_uid"):
        hints.append("--new-uid")
    return "retry with " + " or ".join(hints) if hints else "nothing to retry with"


@trash_group.command("purge")
@click.option("--now", "now_text", help="Pretend it is this ISO time (default: now).")
@refusals
def trash_purge(now_text: str | None) -> None:
    """Delete for good what is older than each owner's plan retention."""
    now = times.as_utc(datetime.fromisoformat(now_text)) if now_text else times.utcnow()
    db = database()
    db.upgrade()
    click.echo(str(trash.purge(db, now)))


@main.command("check")
@click.option("--repair", is_flag=True, help="Rebuild what is wrong, then check again.")
@refusals
def check_command(repair: bool) -> None:
    """Check the data derived from items (occurrence index, busy time, reminder
    schedule, sync log, ETags); exit 1 when something is wrong (after --repair: when
    the repair did not leave everything consistent)."""
    from calcard.store import consistency

    db = database()
    db.upgrade()
    found = consistency.scan(db, repair=repair, report=click.echo)
    summary = f"{found.collections} collections, {found.items} items: {found.problems} problems"
    if not repair or not found.problems:
        click.echo(summary + ("" if found.problems else ", consistent"))
        sys.exit(1 if found.problems else 0)
    left = consistency.scan(db, report=lambda problem: click.echo(f"still: {problem}"))
    click.echo(f"{summary}, repaired; {left.problems} left")
    sys.exit(1 if left.problems else 0)


@main.group("reminders")
def reminders_group() -> None:
    """The reminder dispatcher."""


@reminders_group.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@refusals
def reminders_run(once: bool) -> None:
    """Dispatch reminders (any number may run against one database)."""
    import signal

    from calcard.worker import Dispatcher

    settings = load_settings()
    db = Database(settings.database_url)
    db.upgrade()
    worker = Dispatcher(db, settings)
    if once:
        total = 0
        while handled := worker.run_once():
            total += handled
        click.echo(f"{total} reminders handled")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stopping.set())
    worker.run_forever()


@main.group("room")
def room_group() -> None:
    """Rooms (bookable resources) of an organization."""


@room_group.command("add")
@click.argument("name")
@click.option("--org", "org_name", required=True)
@click.option("--capacity", type=click.IntRange(1, 100_000))
@write
def room_add(s, name, org_name, capacity) -> None:
    from calcard.accounts import rooms

    room = rooms.create_room(s, org_name, name, capacity)
    click.echo(f"room {name!r} added: calendar /{room.login}/calendar/, address {room.email}")


if __name__ == "__main__":
    main()
