"""What stored text may make a reader's browser do: Markdown rewritten for display.

Prompts, answers, comments and imported messages are shown as Markdown. A Markdown image
is fetched by the browser the moment it is drawn, so an answer (or an injected prompt)
could send the conversation to any server in an image's URL. :func:`safe_markdown`
rewrites a text so that nothing in it loads by itself:

- an image is shown as a link whose text names its host, ``alt (image from host, not
  loaded)``, unless its host is in ``[chat] allowed_image_hosts`` (inside a link, or with
  no http(s) address, it becomes that text alone);
- a link works only for ``http``, ``https`` and ``mailto``; any other link (``javascript:``,
  ``data:``, relative) is shown as its text;
- raw HTML stays text (Streamlit shows it escaped), and so does every ``![`` that the
  parser did not read as an allowed image (a backslash is put before its ``!``).

The text is parsed with markdown-it-py (CommonMark, GFM tables, strikethrough and
footnotes, as Streamlit's own Markdown renderer reads it) and rewritten in place: only the
characters of the constructs above change, so everything else looks as it did. The result
is parsed again and checked; if anything would still load, the whole text is shown as
plain text (:func:`plain`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterator
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

LINK_SCHEMES = ("http://", "https://", "mailto:")
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
HOSTNAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*", re.IGNORECASE)
_HOST = rf"{HOSTNAME.pattern}|\[[0-9a-f:.]+\]"  # a name, an IPv4 or a bracketed IPv6 address
# An address whose host a browser reads the same way we do: no user part, no backslash,
# no percent-encoding in the host, no whitespace.
_IMAGE_URL = re.compile(rf"https?://(?P<host>{_HOST})(?::\d{{1,5}})?"
                        r"(?:[/?#][^\s\\]*)?", re.IGNORECASE)

_PLAIN = re.compile(r"([\\`*_\[\]!|$<>~&])")  # inline Markdown, anywhere
_PLAIN_BLOCK = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])", re.MULTILINE)  # at a line's start
_BANG = re.compile(r"!\[")
_MARKS = ("![", "](", "]:", "<")  # an image, an inline link, a definition, an autolink


def plain(text: str) -> str:
    """``text`` with every Markdown character escaped, so that it shows as written (for
    labels and captions made from stored text: titles, model names, comments)."""
    text = _PLAIN.sub(r"\\\1", text)
    return _PLAIN_BLOCK.sub(lambda m: m.group(1) + "".join("\\" + c if not c.isdigit() else c
                                                         for c in m.group(2)), text)


def normal_host(host: str) -> str | None:
    """``host`` (a name, an IPv4 address or a bracketed IPv6 address) as it is compared
    with ``[chat] allowed_image_hosts``: lower case, an IPv6 address in its compressed
    form (``[0:0::1]`` and ``[::1]`` are one host); None if it is none of these."""
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1] if host.endswith(']') else '-')}]"
        except ValueError:
            return None
    return host.lower() if HOSTNAME.fullmatch(host) else None


def image_host(url: str) -> str | None:
    """The host of an absolute http(s) image address in a form every browser reads alike
    (:func:`normal_host`), else None (such an image is never allowed)."""
    match = _IMAGE_URL.fullmatch(url)
    return normal_host(match.group("host")) if match else None


def link_allowed(url: str) -> bool:
    return url.lower().startswith(LINK_SCHEMES)


def safe_markdown(text: str, allowed_image_hosts: Collection[str] = (), *,
                  cached: bool = True) -> str:
    """``text`` rewritten so that showing it makes no request by itself (module docstring);
    ``allowed_image_hosts``: hosts whose images are shown. ``cached`` False for text that
    is shown once (an answer while it streams)."""
    hosts = frozenset(filter(None, map(normal_host, allowed_image_hosts)))
    return _cached(text, hosts) if cached else _safe(text, hosts)


def _safe(text: str, hosts: frozenset[str]) -> str:
    source = _normalize(text)
    if not any(mark in source for mark in _MARKS):  # no image, link or definition: as is
        return source
    result = _rewrite(source, hosts)
    if not _is_safe(result, hosts):
        return plain(source)
    return result


_cached = lru_cache(maxsize=1024)(_safe)  # the same messages are drawn on every rerun


# ------------------------------------------------------------------------- parsing
def _recording(rule: Callable[[StateInline, bool], bool], kind: str, bracket: int,
               nested: bool) -> Callable[[StateInline, bool], bool]:
    """``rule`` (link, image, autolink or code span), noting on the token it pushes where
    it starts and ends in ``state.src`` and where its label closes (``label_end``)."""
    def record(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        pushed = [] if silent else [t for t in state.tokens[count:] if t.type == kind]
        if pushed:
            label_end = -1
            if bracket >= 0:
                end = state.pos
                label_end = state.md.helpers.parseLinkLabel(state, start + bracket, nested)
                state.pos = end
            pushed[0].meta["at"] = (state.src, start, state.pos, label_end)
        return True
    return record


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": 100})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin, inline=False)
    md.validateLink = lambda url: True  # the browser's parser reads every link as a link
    for name, kind, bracket, nested in (
            ("link", "link_open", 0, True), ("image", "image", 1, False),
            ("autolink", "link_open", -1, False), ("backticks", "code_inline", -1, False)):
        rule = next(r.fn for r in md.inline.ruler.__rules__ if r.name == name)
        md.inline.ruler.at(name, _recording(rule, kind, bracket, nested))
    return md


_MD = _parser()


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def _line_starts(source: str) -> list[int]:
    starts = [0]
    for match in re.finditer("\n", source):
        starts.append(match.end())
    return starts


def _place(line: str, content: str, cursor: int) -> int | None:
    """Where ``content`` (a line of a block's inline text: the source line less its block
    prefix, stripped, or a table cell) begins in ``line``."""
    if not content:
        return cursor
    if line.endswith(content):
        return len(line) - len(content)
    core = content.strip(" \t")
    lead = len(content) - len(content.lstrip(" \t"))
    for candidate in (core, core.replace("|", "\\|")):
        found = line.find(candidate, cursor)
        if candidate and found >= 0:
            return found - lead
    return None


def _mapper(token: Token, source: str, lines: list[int],
            cursors: dict[int, int]) -> Callable[[int], int] | None:
    """Offsets in ``token.content`` to offsets in ``source``, or None if not found."""
    if token.map is None:
        return None
    bases: list[tuple[int, int]] = []  # (offset in content, offset in source) per line
    offset = 0
    for k, piece in enumerate(token.content.split("\n")):
        number = token.map[0] + k
        if number >= len(lines):
            return None
        end = lines[number + 1] - 1 if number + 1 < len(lines) else len(source)
        line = source[lines[number]:end]
        at = _place(line, piece, cursors.get(number, 0))
        if at is None:
            return None
        cursors[number] = at + len(piece)
        bases.append((offset, lines[number] + at))
        offset += len(piece) + 1

    def to_source(pos: int) -> int:
        for content_at, source_at in reversed(bases):
            if pos >= content_at:
                return source_at + pos - content_at
        return bases[0][1] + pos
    return to_source


# ---------------------------------------------------------------------- rewriting
Edit = tuple[int, int, str]  # (source offset, characters removed, text inserted)


def _host_text(url: str) -> str:
    host = image_host(url)
    if host is None:
        shown = url if len(url) <= 60 else url[:59] + "…"
        return f"image from {plain(shown)}, not loaded" if shown else "image, not loaded"
    return f"image from {host}, not loaded"


def _image_edits(token: Token, at: Callable[[int], int], in_link: bool) -> list[Edit]:
    _, start, end, label_end = token.meta["at"]
    url = token.attrGet("src") or ""
    note = _host_text(str(url))
    empty = label_end == start + 2
    if in_link or not str(url).lower().startswith(("http://", "https://")):
        # ``![alt](url)`` -> ``alt (note)``: the image's text, no link
        suffix = f"({note})" if empty else f" ({note})"
        return [(at(start), 2, ""), (at(label_end), at(end) - at(label_end), suffix)]
    # ``![alt](url)`` -> ``[alt (note)](url)``: a link the reader may follow
    return [(at(start), 1, ""), (at(label_end), 0, note if empty else f" ({note})")]


def _link_edits(token: Token, at: Callable[[int], int]) -> list[Edit]:
    _, start, end, label_end = token.meta["at"]
    if token.markup == "autolink":  # <scheme:...> -> \<scheme:...>, text
        return [(at(start), 0, "\\")]
    return [(at(start), 1, ""), (at(label_end), at(end) - at(label_end), "")]


def _inline_edits(children: list[Token], content: str, at: Callable[[int], int],
                  hosts: frozenset[str], keep: set[int],
                  code: list[tuple[int, int]]) -> Iterator[Edit]:
    in_link = 0
    for child in children:
        where = child.meta.get("at")
        if where is None or where[0] is not content:
            if child.type == "link_open":
                in_link += 1
            elif child.type == "link_close":
                in_link = max(0, in_link - 1)
            continue
        if child.type == "code_inline":
            code.append((at(where[1]), at(where[2])))
        elif child.type == "image":
            if image_host(str(child.attrGet("src") or "")) in hosts:
                keep.add(at(where[1]))
            else:
                yield from _image_edits(child, at, bool(in_link))
        elif child.type == "link_open":
            in_link += 1
            if not link_allowed(str(child.attrGet("href") or "")):
                yield from _link_edits(child, at)
        elif child.type == "link_close":
            in_link = max(0, in_link - 1)


def _rewrite(source: str, hosts: frozenset[str]) -> str:
    lines = _line_starts(source)
    edits: list[Edit] = []
    keep: set[int] = set()             # the "!" of allowed images
    code: list[tuple[int, int]] = []   # source ranges shown as code
    cursors: dict[int, int] = {}
    for token in _MD.parse(source):
        if token.type in ("code_block", "fence") and token.map:
            first, last = token.map
            code.append((lines[first], lines[last] if last < len(lines) else len(source)))
        elif token.type == "inline" and token.children:
            at = _mapper(token, source, lines, cursors)
            if at is not None:
                edits.extend(_inline_edits(token.children, token.content, at, hosts, keep,
                                           code))
    touched = {pos for pos, removed, _ in edits for pos in range(pos, pos + removed)}
    for match in _BANG.finditer(source):  # every other "![" becomes "\!["
        pos = match.start()
        if pos in keep or pos in touched or any(a <= pos < b for a, b in code):
            continue
        slashes = 0
        while pos - slashes > 0 and source[pos - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2 == 0:
            edits.append((pos, 0, "\\"))
    out = source
    for pos, removed, inserted in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:pos] + inserted + out[pos + removed:]
    return out


def _is_safe(text: str, hosts: frozenset[str]) -> bool:
    """Whether the parser finds in ``text`` no image from a host not allowed, and no live
    link with another scheme (images in an image's text are text, and not looked at)."""
    for token in _MD.parse(text):
        for child in token.children or ():
            if child.type == "image" and \
                    image_host(str(child.attrGet("src") or "")) not in hosts:
                return False
            if child.type == "link_open" and \
                    not link_allowed(str(child.attrGet("href") or "")):
                return False
    return True
