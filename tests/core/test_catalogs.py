"""Language choice (CONTRACT.md "Languages"): setting, then Accept-Language, then the
organization's default, then English; an unsupported language falls back."""

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from calcard.core import catalogs


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
