"""The documentation: the site builds with warnings as errors (``make docs``), every internal
link of the README and of the pages resolves (anchors included, in the built HTML), and the
generated reference pages list every command and every settings key."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from chatfeedback.backends.registry import available_backends, backend_class
from chatfeedback.config import SECTIONS
from chatfeedback.outbox.base import SinkSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS = Path(sys.executable).with_name("mkdocs")
# [text](target) and ![alt](target), not inside code; reference definitions too.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as ``make docs`` builds it (``mkdocs build --strict``)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([str(MKDOCS), "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def test_the_site_builds_with_warnings_as_errors(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "reference" / "cli" / "index.html").is_file()


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if k == "id" and v)


def _ids(html: Path) -> set[str]:
    parser = _Ids()
    parser.feed(html.read_text(encoding="utf-8"))
    return parser.ids


def _built(site: Path, page: Path) -> Path:
    """The HTML file MkDocs writes for ``page`` (docs/x.md -> x/index.html)."""
    relative = page.relative_to(DOCS).with_suffix("")
    if relative.name == "index":
        return site / relative.parent / "index.html"
    return site / relative / "index.html"


def _links(markdown: str) -> list[str]:
    text = CODE.sub("", FENCE.sub("", markdown))
    return [a or b for a, b in LINK.findall(text)]


def _sources() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md",
            *sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)]


class _Remote(HTMLParser):
    """Every address a page makes the browser fetch by itself (stylesheets, scripts, images,
    fonts, frames), not the links a reader may click."""

    FETCHED: ClassVar[dict[str, str]] = {"link": "href", "script": "src", "img": "src", "iframe": "src", "source": "src"}

    def __init__(self) -> None:
        super().__init__()
        self.remote: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = self.FETCHED.get(tag)
        values = dict(attrs)
        if tag == "link" and values.get("rel") in ("canonical", "alternate"):
            return
        if attr and re.match(r"(https?:)?//", values.get(attr) or ""):
            self.remote.add(f"<{tag} {attr}={values[attr]}>")


def test_the_site_fetches_nothing_from_the_internet(site: Path) -> None:
    """No Google fonts, CDN scripts or remote images: the site works offline and tells no
    third party who reads it."""
    parser = _Remote()
    for page in site.rglob("*.html"):
        parser.feed(page.read_text(encoding="utf-8"))
    for sheet in site.rglob("*.css"):
        parser.remote |= set(re.findall(r"@import\s+url\([\"']?https?://[^)]+\)|"
                                        r"url\([\"']?https?://[^)]+\)",
                                        sheet.read_text(encoding="utf-8")))
    assert not parser.remote


def test_every_internal_link_resolves(site: Path) -> None:
    broken = []
    checked = 0
    for source in _sources():
        for link in _links(source.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", link):
                continue  # http(s), mailto: not ours to check here
            path, _, anchor = link.partition("#")
            target = (source.parent / path).resolve() if path else source
            checked += 1
            if not target.exists():
                broken.append(f"{source.relative_to(ROOT)}: {link} (no such file)")
                continue
            if anchor:
                if target.suffix != ".md" or DOCS not in target.parents:
                    broken.append(f"{source.relative_to(ROOT)}: {link} (an anchor outside "
                                  "the site's pages cannot be checked)")
                elif anchor not in _ids(_built(site, target)):
                    broken.append(f"{source.relative_to(ROOT)}: {link} (no such anchor)")
    assert checked > 50
    assert not broken, "\n".join(broken)


def test_the_readme_links_into_the_docs() -> None:
    links = _links((ROOT / "README.md").read_text(encoding="utf-8"))
    pages = {(ROOT / link.partition("#")[0]).resolve() for link in links
             if link.startswith("docs/")}
    assert DOCS / "index.md" in pages and DOCS / "reference" / "cli.md" in pages


def _nav(entries: list) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav(value) if isinstance(value, list) else [value]
    return pages


def test_the_home_page_lists_every_page_of_the_navigation() -> None:
    """docs/index.md's table of pages (with a line on each) misses none of mkdocs.yml's."""
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    linked = set(_links((DOCS / "index.md").read_text(encoding="utf-8")))
    missing = [page for page in _nav(nav) if page != "index.md" and page not in linked]
    assert not missing, f"add them to docs/index.md's table: {missing}"


def test_the_cli_reference_has_every_command(site: Path) -> None:
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        from generated import commands
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    from chatfeedback.cli import main

    ids = _ids(site / "reference" / "cli" / "index.html")
    paths = [path for path, _ in commands(main)]
    assert {"chatfeedback export", "chatfeedback db upgrade", "chatfeedback queue create"} \
        <= set(paths)
    missing = [p for p in paths if p.replace(" ", "-") not in ids]
    assert not missing
    html = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "--hash-salt" in html  # the options come from the command itself


def test_the_configuration_reference_has_every_key(site: Path) -> None:
    html = (site / "reference" / "configuration" / "index.html").read_text(encoding="utf-8")
    expected = {f"[{name}]" for name in SECTIONS} | {"[database]", "[[models]]"}
    expected |= {f.name for section in SECTIONS.values() for f in dataclasses.fields(section)}
    expected |= {key for name in available_backends() for key in backend_class(name).options}
    expected |= {"[[sinks]]"} | {f.name for f in dataclasses.fields(SinkSettings)} - {"options"}
    missing = sorted(key for key in expected if f"<code>{key}</code>" not in html)
    assert not missing
    sink_keys = [f for f in dataclasses.fields(SinkSettings) if f.name != "options"]
    assert all(f.metadata.get("help") in html for f in sink_keys)  # each with its help


def test_the_changelog_names_the_packages_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog,
                     re.MULTILINE)
    assert "## [Unreleased]" in changelog


TOML = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _settings_examples() -> list[tuple[str, str]]:
    """Every ```toml block of the pages that is a chatfeedback settings file (not a
    pyproject.toml or a Streamlit secrets file), with the page it is on."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for block in TOML.findall(page.read_text(encoding="utf-8")):
            if not set(tomllib.loads(block)) & {"project", "auth"}:
                found.append((str(page.relative_to(ROOT)), block))
    return found


def test_every_settings_example_in_the_docs_is_accepted(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each settings example is read by load_settings and its models built, as
    ``chatfeedback config check`` does: a renamed or removed key fails here. An example that
    names models it does not define (an [arena] or [[experiments]] snippet) gets echo
    entries of those names; environment variables it names get a value."""
    from chatfeedback.backends.registry import build_backend
    from chatfeedback.config import load_settings

    examples = _settings_examples()
    assert len(examples) >= 8
    for page, block in examples:
        data = tomllib.loads(block)
        defined = {m["name"] for m in data.get("models", [])}
        named = set(data.get("arena", {}).get("models", ()))
        named |= {arm["model"] for e in data.get("experiments", []) for arm in e["arms"]}
        stubs = "".join(f'\n[[models]]\nname = "{name}"\nbackend = "echo"\n'
                        for name in sorted(named - defined))
        path = tmp_path / "example.toml"
        path.write_text(block + stubs, encoding="utf-8")
        for name in re.findall(r'_env = "([A-Z_]+)"', block):
            monkeypatch.setenv(name, "x")
        try:
            settings = load_settings(path, environ={})
            for model in settings.models:
                if model.backend != "python":  # imports the reader's own module: not here
                    build_backend(model)
        except Exception as exc:  # noqa: BLE001 - the page and the reason, for the reader
            raise AssertionError(f"{page}: {exc}\n{block}") from None


def test_the_blocks_benchmarks_write_are_on_the_performance_page() -> None:
    """``--write-docs`` of a benchmark fills its ``<!-- name:start -->`` block in
    docs/performance.md: the block is there to fill, once."""
    page = (DOCS / "performance.md").read_text(encoding="utf-8")
    writers = [p for p in (ROOT / "benchmarks").glob("*.py") if ":start -->" in p.read_text()]
    assert len(writers) >= 2
    for script in writers:
        text = script.read_text(encoding="utf-8")
        assert 'ROOT / "docs" / "performance.md"' in text, script.name
        pairs = re.findall(r'"(<!-- [\w-]+:start -->)", "(<!-- [\w-]+:end -->)"', text)
        assert pairs, script.name
        for start, end in pairs:
            assert page.count(start) == page.count(end) == 1, (script.name, start)
            assert page.index(start) < page.index(end)
