"""Read the pages the UI serves as a person sees them: elements by id, table rows, link targets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self, tag: str | None = None):
        for child in self.children:
            if isinstance(child, Element):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.root = Element("document", {})
        self._open = [self.root]
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data):
        self._open[-1].children.append(data)

    def by_id(self, element_id: str) -> Element:
        for element in self.root.iter():
            if element.attrs.get("id") == element_id:
                return element
        raise AssertionError(f"No element with id {element_id!r} on the page.")

    def all(self, tag: str) -> list[Element]:
        return list(self.root.iter(tag))

    def table(self, element_id: str) -> list[Element]:
        """The body rows of a table."""
        [body] = self.by_id(element_id).iter("tbody")
        return list(body.iter("tr"))

    def column(self, element_id: str, header: str) -> list[str]:
        """The cells of the column `header` (a header may add its time zone to the name)."""
        key = re.sub(r"[^a-z0-9]+", "-", header.lower()).strip("-")
        headers = [
            th.attrs.get("data-col") or th.text.rstrip(" ▲▼")
            for th in self.by_id(element_id).iter("th")
        ]
        index = headers.index(key if key in headers else header)
        return [list(row.iter("td"))[index].text for row in self.table(element_id)]

    def link(self, rel: str) -> str | None:
        found = [a.attrs["href"] for a in self.all("a") if a.attrs.get("rel") == rel]
        return found[0] if found else None
