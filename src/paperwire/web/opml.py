"""OPML 2.0 (http://opml.org/spec2.opml): a list of feeds a feed reader imports in one go."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from .feed_links import FeedLink


def build_opml(title: str, feeds: list[FeedLink], base: str) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    for f in feeds:
        etree.SubElement(
            body, "outline", type="rss", text=f.title, title=f.title, xmlUrl=base + f.url, htmlUrl=base + f.html_url
        )
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
