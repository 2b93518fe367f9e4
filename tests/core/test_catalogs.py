"""Language choice (CONTRACT.md "Languages"): setting, then Accept-Language, then the
organization's default, then English; an unsupported language falls back."""

import ast
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from calcard.core import catalogs, errors


def test_every_shipped_language_is_supported_and_english_is_the_source():
    assert catalogs.SUPPORTED[0] == "en"
    assert {"de", "fr", "it", "es"} <= set(catalogs.SUPPORTED)


def test_accept_language_is_ranked_by_quality_and_refusals_are_dropped():
    header = "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, it;q=0, *;q=0.5, x;q=bad"
    assert catalogs.accepted(header) == ["fr-CH", "fr", "en", "de"]
    assert catalogs.accepted(None) == []


def test_the_users_setting_wins_then_the_browser_then_the_organization():
    assert catalogs.choose("it", "de-DE,de;q=0.9", "fr") == "it"
    assert catalogs.choose("", "de-DE,de;q=0.9", "fr") == "de"
    assert catalogs.choose(None, "", "fr") == "fr"
    assert catalogs.choose(None, None, None) == "en"


def test_an_unsupported_language_gives_english_or_the_next_choice():
    assert catalogs.choose("tlh", "", "") == "en"
    assert catalogs.choose(None, "ja, es;q=0.5", "") == "es"
    assert catalogs.choose("xx", "zz", "yy") == "en"
    assert catalogs.say("ja", "Calendar") == "Calendar"
    assert catalogs.supported("de_CH") == "de"


# --- the catalogs themselves ---------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
# What scripts/i18n extracts, per domain: its config, the tree it reads, its keywords.
EXTRACTION = {
    "messages": ("babel-messages.cfg", REPO / "src" / "calcard", {"say": (2,), "N_": None}),
    "web": ("babel-web.cfg", REPO / "src" / "calcard" / "web" / "ui", {"t": None}),
}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def _extracted(domain: str) -> set[str]:
    config, tree, keywords = EXTRACTION[domain]
    path = REPO / "scripts" / config
    if not path.is_file() or not tree.is_dir():
        return set()
    method_map, options_map = parse_mapping_cfg(path.open(encoding="utf-8"))
    found = extract_from_dir(
        str(tree), method_map, options_map, keywords=keywords, strip_comment_tags=True
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str) and message}


def _catalog(language: str, domain: str):
    path = catalogs.LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        return read_po(f, locale=language)


def test_scripts_i18n_extracts_with_the_keywords_this_test_uses():
    script = (REPO / "scripts" / "i18n").read_text()
    assert "-k say:2 -k N_" in script and "-k t " in script


@pytest.mark.parametrize("domain", catalogs.DOMAINS)
def test_every_message_is_translated_in_every_language_with_its_placeholders(domain):
    sources = _extracted(domain)
    for language in catalogs.SUPPORTED[1:]:
        entries = {m.id: m for m in _catalog(language, domain) if m.id}
        missing = sources - set(entries)
        assert not missing, f"{language}/{domain}.po lacks {sorted(missing)[:5]}: run scripts/i18n"
        for source in sources:
            entry = entries[source]
            assert entry.string and not entry.fuzzy, f"{language}: untranslated {source!r}"
            assert set(PLACEHOLDER.findall(entry.string)) == set(PLACEHOLDER.findall(source)), (
                f"{language}: placeholders of {source!r} changed in {entry.string!r}"
            )


@pytest.mark.parametrize("domain", catalogs.DOMAINS)
def test_no_catalog_keeps_a_message_the_code_no_longer_uses(domain):
    sources = _extracted(domain)
    for language in catalogs.SUPPORTED[1:]:
        stale = {m.id for m in _catalog(language, domain) if m.id} - sources
        assert not stale, f"{language}/{domain}.po: stale {sorted(stale)[:5]}: run scripts/i18n"


def test_the_same_words_read_in_each_language():
    assert catalogs.say("de", "Invitation: {title}", title="Budget") == "Einladung: Budget"
    assert catalogs.say("it", "Stop") == "Interrompi"
    assert catalogs.say("fr", "When: {when}", when="x") == "Quand\u00a0: x"
    assert catalogs.say("es", "Stop this reminder?") == "¿Detener este recordatorio?"


def test_dates_are_written_as_the_language_writes_them():
    start = datetime(2026, 3, 5, 9, 30, tzinfo=ZoneInfo("UTC"))
    zurich = ZoneInfo("Europe/Zurich")
    assert catalogs.moment("de", start, zurich) == "Donnerstag, 5. März 2026, 10:30 (Europe/Zurich)"
    assert catalogs.moment("it", start.date()) == "giovedì 5 marzo 2026"
    assert catalogs.moment("xx", start.date()) == "Thursday, March 5, 2026"


# --- refusals ----------------------------------------------------------------------------

# Refusals a person reads (the JSON API's {"error": ...}) are said in the reader's
# language. English by design (docs/languages.md, "Stays English"): the CLI's own, the
# backup's and user bundle's (operators), and those only DAV answers (WebDAV-Push
# registrations, free/busy requests to a scheduling outbox).
ENGLISH_BY_DESIGN = {"cli.py", "core/backup.py", "transfer/bundle.py", "push/wire.py"}
ENGLISH_BY_DESIGN |= {"freebusy/__init__.py", "core/errors.py"}  # errors.py: the class
# The store's refusals are DAV's and stay English, but for those the web's contacts and
# trash pages show and an import's (its target, its job): there a StoreError
# (RestoreConflict) is held to the same rule.
READ_STORE_ERRORS = {"contacts/__init__.py", "contacts/cards.py", "trash.py"}
READ_STORE_ERRORS |= {"transfer/importexport.py", "transfer/importjobs.py"}
# Besides Refusal itself, everywhere: the refusals of their own type a person reads (a
# parser's, in an import's report of what it skipped; dates out of range) and the
# Messages kept to be said later (an import job's report).
READ_EVERYWHERE = {"Refusal", "ParseError", "OutOfRange", "Message"}


def _marked(node, constants: dict[str, object]) -> object:
    """The template ``node`` gives a ``Refusal``: its text if it is ``N_("...")`` or a
    name bound to one; the node itself if it is an f-string or an unmarked literal
    (both are wrong); None if the template comes from elsewhere (``exc.template``)."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_":
        return node.args[0].value if isinstance(node.args[0], ast.Constant) else node
    if isinstance(node, ast.Name) and node.id in constants:
        return _marked(constants[node.id], {})
    if isinstance(node, (ast.JoinedStr, ast.Constant, ast.BinOp)):
        return node
    return None


def _refusal_templates() -> list[tuple[str, object]]:
    """(where, template) of each ``Refusal(...)`` (READ_EVERYWHERE, called by name or
    as ``module.Name``) in src/calcard but ENGLISH_BY_DESIGN (and ``StoreError(...)`` in
    READ_STORE_ERRORS)."""
    found = []
    tree_root = REPO / "src" / "calcard"
    for path in sorted(tree_root.rglob("*.py")):
        if str(path.relative_to(tree_root)) in ENGLISH_BY_DESIGN:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {  # names bound once to a value: module constants and locals
            target.id: node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        refusals = set(READ_EVERYWHERE)
        if str(path.relative_to(tree_root)) in READ_STORE_ERRORS:
            refusals |= {"StoreError", "RestoreConflict"}
        for node in ast.walk(tree):
            called = getattr(node, "func", None)
            name = getattr(called, "id", None) or getattr(called, "attr", None)
            if isinstance(node, ast.Call) and name in refusals:
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                found.append((where, _marked(node.args[0], constants) if node.args else None))
    return found


def test_every_refusal_is_a_marked_template_in_every_catalog():
    templates = _refusal_templates()
    assert len(templates) > 190  # the scan sees the service layer and the API
    unmarked = [where for where, template in templates if isinstance(template, ast.AST)]
    assert not unmarked, f"Refusal(f'...') or an unmarked text: use N_ and values= {unmarked}"
    for language in catalogs.SUPPORTED[1:]:
        entries = {m.id: m for m in _catalog(language, "messages") if m.id}
        for where, template in templates:
            if isinstance(template, str):
                entry = entries.get(template)
                assert entry and entry.string, f"{language}: {where} {template!r} untranslated"


def test_a_refusal_keeps_its_english_message_and_says_its_template_in_a_language():
    refused = errors.Refusal(catalogs.N_("no calendar {path!r}"), values={"path": "a/b"})
    assert str(refused) == refused.message == "no calendar 'a/b'"
    assert catalogs.say("de", refused.template, **refused.values) == "kein Kalender 'a/b'"
    assert catalogs.say("ja", refused.template, **refused.values) == "no calendar 'a/b'"


def test_a_kept_message_is_said_when_read_and_alternatives_are_joined_as_the_reader_joins():
    inner = errors.Refusal(catalogs.N_("no calendar {path!r}"), values={"path": "a/b"})
    kept = catalogs.Message(catalogs.N_("{uid}: {reason}"), {"uid": "x", "reason": inner.reason})
    read = catalogs.Message.kept(json.loads(json.dumps(kept.as_json())))  # as a job row keeps it
    assert read == kept and str(read) == "x: no calendar 'a/b'"
    assert read.said("fr") == "x\u00a0: aucun calendrier 'a/b'"
    assert catalogs.Message.kept("entry #1 ({x}): as written").said("de") == (
        "entry #1 ({x}): as written"  # a plain text kept before: not a template
    )
    wanted = catalogs.OneOf(("text/calendar", "text/vcard", catalogs.Message("no Content-Type")))
    refused = errors.Refusal(catalogs.N_("send the body as {wanted}"), values={"wanted": wanted})
    assert refused.message == "send the body as text/calendar, text/vcard, or no Content-Type"
    assert catalogs.say("de", refused.template, **refused.values) == (
        "senden Sie den Anfragetext als text/calendar, text/vcard oder ohne Content-Type"
    )
