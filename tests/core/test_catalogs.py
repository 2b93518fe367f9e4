"""Language choice (CONTRACT.md "Languages"): setting, then Accept-Language, then the
organization's default, then English; an unsupported language falls back."""

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
