"""Babel extractor for the web calendar's pages: the English texts i18n.js translates.

Those are the text of elements marked ``data-i18n`` and the attributes marked
``data-i18n-title``, ``data-i18n-placeholder``, ``data-i18n-aria-label`` and
``data-i18n-alt``
(static/lib/i18n.js). scripts/babel-web.cfg names it for ``*.html``, next to Babel's
JavaScript extractor for ``t("...")``, so scripts/i18n finds every string.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import IO, Any

ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._open: list[tuple[int, list[str]]] = []  # marked elements being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        line = self.getpos()[0]
        for name in ATTRIBUTES:
            if f"data-i18n-{name}" in named and named.get(name):
                self.found.append((line, str(named[name])))
        if "data-i18n" in named:
            self._open.append((line, []))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            line, parts = self._open.pop()
            if "".join(parts).strip():
                self.found.append((line, "".join(parts).strip()))


def extract_html(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor interface: (line, function, message, comments) per text."""
    parser = _Texts()
    parser.feed(fileobj.read().decode(options.get("encoding", "utf-8")))
    for line, text in parser.found:
        yield line, "", text, []
