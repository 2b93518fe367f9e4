"""The MOVE Destination rules of calcard.core.names (RFC 4918 §10.3, §9.9.4; RFC 3986)."""

from __future__ import annotations

import pytest

from calcard.core import names


@pytest.mark.parametrize(
    ("value", "here", "path"),
    [
        ("http://h:8080/u/c/a%3Fb%23c%3Bd.ics", "h:8080", "/u/c/a?b#c;d.ics"),
        ("http://H/u/c/%D1%82.ics", "h:80", "/u/c/т.ics"),
        ("https://h/u/c/100%25.ics", "h:443", "/u/c/100%.ics"),
        ("http://[::1]:5232/u/c/x.ics", "[::1]:5232", "/u/c/x.ics"),
        ("/u/c/a%2541.ics", "h:80", "/u/c/a%41.ics"),
    ],
)
def test_a_destination_is_split_before_it_is_decoded(value, here, path):
    assert names.destination(value, here) == path


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("http://h:port/u/c/x.ics", 400),
        ("http://h:99999/u/c/x.ics", 400),
        ("http://other:80/u/c/x.ics", 502),
        ("http://h:81/u/c/x.ics", 502),
        ("ftp://h/u/c/x.ics", 400),
        ("u/c/x.ics", 400),
        ("/u/c/ä.ics", 400),
        ("/u/c/%C3%28.ics", 400),
        ("/u/c/a%2Fb.ics", 400),
        ("/u/c/%2E%2E/x.ics", 400),
        ("/u/c/a%0Ab.ics", 400),
        ("", 400),
    ],
)
def test_a_bad_destination_is_refused_with_its_status(value, status):
    with pytest.raises(names.BadName) as refused:
        names.destination(value, "h:80")
    assert refused.value.status == status
