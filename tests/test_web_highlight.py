"""The highlighter escapes everything from the paper and adds only its own <mark> tags."""

from markupsafe import Markup

from paperwire.web.highlight import highlight, snippet
from paperwire.web.tex import math_spans


def test_plain_text_is_escaped_without_terms():
    out = highlight("<script>alert(1)</script> & co", [])
    assert isinstance(out, Markup)
    assert out == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"


def test_marks_whole_words_case_insensitively():
    out = highlight("Language models learn; a LANGUAGE of models.", ["language", "model"])
    assert out == ("<mark>Language</mark> <mark>models</mark> learn; a <mark>LANGUAGE</mark> of <mark>models</mark>.")


def test_script_title_stays_text_and_math_is_left_whole():
    out = highlight("<script>alert(1)</script> & $\\alpha<\\beta$ alpha", ["script", "alpha"])
    assert "<script>" not in out
    # the term is marked in the words, never inside the $...$ the browser renders as math
    assert out == (
        "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; &amp; $\\alpha&lt;\\beta$ <mark>alpha</mark>"
    )


def test_terms_never_match_inside_entities():
    # 'amp', 'lt' and 'gt' must not match the entities that escaping creates
    out = highlight("a & b < c > d", ["amp", "lt", "gt", "quot"])
    assert out == "a &amp; b &lt; c &gt; d"
    assert "<mark>" not in out


def test_malicious_terms_are_escaped_and_regex_safe():
    out = highlight("x <b>bold</b> (a+b)*", ["<b>", "(a+b)*", ".*"])
    assert "<b>" not in out.replace("<mark>", "")
    assert "<mark>&lt;b&gt;</mark>" in out
    assert "<mark>(a+b)*</mark>" in out


def test_short_terms_match_whole_words_only():
    assert highlight("an ant and an", ["an"]) == "<mark>an</mark> ant and <mark>an</mark>"


def test_phrases_match_across_whitespace():
    out = highlight("in-context  learning works", ["context learning"])
    assert out == "in-<mark>context  learning</mark> works"


def test_empty_inputs():
    assert highlight("", ["a"]) == ""
    assert highlight(None, ["a"]) == ""
    assert highlight("text", None) == "text"


def test_snippet_centres_on_first_match():
    text = ("filler " * 80) + "the needle is here " + ("more " * 80)
    s = snippet(text, ["needle"], width=120)
    assert "needle" in s
    assert s.startswith("… ") and s.endswith(" …")
    assert len(s) < 140
    assert snippet("short text", ["x"]) == "short text"


def test_no_mark_inside_any_math_delimiter():
    text = r"Privacy ($\epsilon \leq 4$) and \(\epsilon\) and $$\epsilon^2$$ and \[\epsilon\]: epsilon-DP"
    out = highlight(text, ["epsilon", "privacy"])
    assert out.count("<mark>") == 2
    assert "<mark>Privacy</mark>" in out and "<mark>epsilon</mark>-DP" in out
    for math in (r"$\epsilon \leq 4$", r"\(\epsilon\)", r"$$\epsilon^2$$", r"\[\epsilon\]"):
        assert math in out


def test_a_term_that_straddles_math_is_not_marked():
    # a phrase match that would end inside the expression: marking it would split the $...$
    assert "<mark>" not in highlight(r"top $K$ results", ["top K"])
    assert highlight(r"GSBAK$^K$: $top$-$K$ top", ["top"]) == r"GSBAK$^K$: $top$-$K$ <mark>top</mark>"


def test_unclosed_math_is_plain_text_and_highlighted():
    # auto-render finds no end for "$x^{$" (the $ is inside braces) and leaves the rest as text
    out = highlight(r"a $x^{$ model $y$", ["model", "y"])
    assert "<mark>model</mark>" in out


def test_math_spans_follow_katex_auto_render():
    assert math_spans(r"a $b$ c $$d$$ e") == [(2, 5), (8, 13)]
    # auto-render does not treat "\$" as escaped outside math: its first "$" opens an expression
    assert math_spans(r"cost \$5 and $x$") == [(6, 14)]
    assert math_spans(r"$a{$}b$ c") == [(0, 7)]  # a $ inside braces does not close
    assert math_spans(r"$x^{$ and $y$") == []  # no end: the scan stops, as auto-render's does
    assert math_spans("no math here") == []


def test_snippet_never_cuts_math():
    text = "w " * 200 + r"$\sum_{i=1}^{n} \epsilon_i \leq 4$" + " tail" * 100
    for width in (100, 280, 405, 420):
        s = snippet(text, ["tail"], width=width)
        assert s.count("$") % 2 == 0, (width, s)
