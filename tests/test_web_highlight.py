"""The highlighter escapes everything from the paper and adds only its own <mark> tags."""

from markupsafe import Markup

from paperwire.web.highlight import highlight, snippet


def test_plain_text_is_escaped_without_terms():
    out = highlight("<script>alert(1)</script> & co", [])
    assert isinstance(out, Markup)
    assert out == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"


def test_marks_whole_words_case_insensitively():
    out = highlight("Language models learn; a LANGUAGE of models.", ["language", "model"])
    assert out == ("<mark>Language</mark> <mark>models</mark> learn; a <mark>LANGUAGE</mark> of "
                   "<mark>models</mark>.")


def test_script_title_stays_text_and_term_inside_is_marked():
    out = highlight("<script>alert(1)</script> & $\\alpha<\\beta$", ["script", "alpha"])
    assert "<script>" not in out
    assert out == ("&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; &amp; "
                   "$\\<mark>alpha</mark>&lt;\\beta$")


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
