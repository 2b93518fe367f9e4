"""BDAY and ANNIVERSARY values in every form clients send, and never a crash."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calcard.contacts.birthdays import ContactDate, occurrence, parse_card, parse_date


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        ("19850412", "", ContactDate(4, 12, 1985)),
        ("1985-04-12", "", ContactDate(4, 12, 1985)),
        ("1985-04-12T00:00:00Z", "", ContactDate(4, 12, 1985)),
        ("19850412T103000", "", ContactDate(4, 12, 1985)),
        ("1985-04-12T10:30:00+02:00", "", ContactDate(4, 12, 1985)),
        ("--0412", "", ContactDate(4, 12, None)),
        ("--04-12", "", ContactDate(4, 12, None)),
        ("1604-04-12", ";X-APPLE-OMIT-YEAR=1604", ContactDate(4, 12, None)),
        ("1604-04-12", "", ContactDate(4, 12, None)),
        ("2000-02-29", "", ContactDate(2, 29, 2000)),
        ("--0229", "", ContactDate(2, 29, None)),
        ("circa 1985", ";VALUE=text", None),
        ("1985-04-12", ";VALUE=TEXT", None),
        ("2001-02-29", "", None),
        ("1985-13-01", "", None),
        ("", "", None),
        ("yesterday", "", None),
    ],
)
def test_parse_date_forms(value, params, expected):
    assert parse_date(value, params) == expected


def test_29_february_falls_on_28_february_in_common_years():
    leap = ContactDate(2, 29, 1992)
    assert occurrence(leap, 2027) == date(2027, 2, 28)
    assert occurrence(leap, 2028) == date(2028, 2, 29)


def test_parse_card_reads_folded_grouped_and_escaped_lines():
    card = parse_card(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:abc\r\nFN:Jean\\, the\r\n  Second\r\n"
        "item1.BDAY;VALUE=date:--0412\r\nANNIVERSARY:20100612\r\nEND:VCARD\r\n"
    )
    assert card.uid == "abc"
    assert card.name == "Jean, the Second"
    assert card.dates == (
        ("birthday", ContactDate(4, 12, None)),
        ("anniversary", ContactDate(6, 12, 2010)),
    )
    assert parse_card("BEGIN:VCARD\r\nN:Doe;Jane;;;\r\nEND:VCARD").name == "Jane Doe"


@given(st.text(), st.text())
def test_any_value_parses_or_is_ignored(value, params):
    result = parse_date(value, params)
    assert result is None or isinstance(result, ContactDate)


@given(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(["%Y%m%d", "%Y-%m-%d", "--%m%d", "--%m-%d", "%Y-%m-%dT10:00:00Z"]),
)
def test_every_valid_date_round_trips(day, form):
    text = day.strftime(form) if day.year >= 1000 or form.startswith("--") else None
    if text is None:
        return
    parsed = parse_date(text)
    assert parsed is not None and (parsed.month, parsed.day) == (day.month, day.day)
    if not form.startswith("--") and day.year != 1604:
        assert parsed.year == day.year


@given(st.text())
def test_any_card_text_parses_without_crashing(text):
    parse_card(text)
