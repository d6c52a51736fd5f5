"""A comment's Markdown as safe HTML. markdown-it-py parses it with raw HTML off (``<script>``
stays text), images off (``![x](url)`` stays text: a comment never makes the reader's browser
fetch anything), and ``$...$`` / ``$$...$$`` kept whole as escaped source inside an element of
class "tex", which the page's KaTeX renders (static/math.js). nh3 then cleans the result against
an allow-list anyway, and gives every link rel="nofollow ugc"."""

from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

_TAGS = {"p", "br", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "span", "div", "hr", "del"}
_ATTRIBUTES = {"a": {"href"}, "span": {"class"}, "div": {"class"}}


def _math(content: str, options: dict) -> str:
    if options.get("display_mode"):
        return f'<div class="tex">$${html.escape(content)}$$</div>'
    return f'<span class="tex">${html.escape(content)}$</span>'


_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable(
    ["image", "heading", "lheading"]
)
_MD.use(dollarmath_plugin, allow_labels=False, allow_digits=False, double_inline=True, renderer=_math)


def render(body: str) -> str:
    return nh3.clean(
        _MD.render(body),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc",
    )
