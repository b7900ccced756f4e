"""The layers, and every "never" between them, checked on each module's imports.

    ui/, cli       the clients; ui/ is the only importer of streamlit, nothing below imports it
    chat, export, analytics, review, arena, experiments, cli ...   the core
    store/         the only place with SQL; imports nothing above it
    backends/      beside the store: neither knows the other
    errors, ids, scales, policy, history, stats/   the floor (stats: pure functions)
"""

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "chatfeedback"
# What the store may import from the package besides itself: the floor.
FLOOR = ("errors", "ids", "scales", "policy", "history", "stats")


def modules(under: str = "") -> list[Path]:
    return sorted((SRC / under).rglob("*.py"))


def where(path: Path) -> tuple[str, ...]:
    """The package path of a module: ('store', 'columns'), ('chat',)."""
    return path.relative_to(SRC).with_suffix("").parts


def imports(path: Path) -> set[str]:
    """Every name ``path`` imports, relative imports resolved: 'sqlalchemy.orm',
    'chatfeedback.store.schema', and 'chatfeedback.scales' for ``from .. import scales``."""
    package = ["chatfeedback", *where(path)[:-1]]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def ours(names: set[str]) -> set[str]:
    """The package's own modules among ``names``, without the 'chatfeedback.' prefix."""
    return {n.removeprefix("chatfeedback.") for n in names
            if n.startswith("chatfeedback.")}


def top(name: str) -> str:
    return name.split(".")[0]


def test_streamlit_only_in_ui():
    offenders = [str(where(p)) for p in modules()
                 if where(p)[0] != "ui" and "streamlit" in {top(n) for n in imports(p)}]
    assert offenders == []


# chatfeedback/streamlit.py is the drop-in chat's import path for other people's apps
# (``from chatfeedback.streamlit import feedback_chat``): a client, like the CLI, that only
# re-exports ui/dropin.py. Nothing in the package imports it.
CLIENTS = (("streamlit",),)


def test_nothing_below_the_ui_imports_it():
    """The core works without Streamlit: no module below the clients (ui/, the CLI, whose
    ``run`` starts the UI, and the drop-in chat's import path) imports ui/."""
    offenders = [(where(p), n) for p in modules()
                 if where(p)[0] != "ui" and not where(p)[0].startswith("cli")
                 and where(p) not in CLIENTS
                 for n in ours(imports(p)) if top(n) == "ui"]
    assert offenders == []


def test_the_drop_in_import_path_only_re_exports_the_ui():
    assert ours(imports(SRC / "streamlit.py")) == {"ui.dropin", "ui.dropin.feedback_chat"}
    assert not [where(p) for p in modules() if "chatfeedback.streamlit" in imports(p)]


# What runs SQL: SQLAlchemy, and the drivers read directly (the Parquet reader's ADBC).
SQL = ("sqlalchemy", "sqlite3", "psycopg", "adbc_driver_manager", "adbc_driver_sqlite")


def test_sql_only_in_the_store():
    """sqlalchemy and the database drivers are imported, and a Store's ``engine`` read,
    only inside store/."""
    offenders = []
    for path in modules():
        if where(path)[0] == "store":
            continue
        for name in sorted({top(n) for n in imports(path)} & set(SQL)):
            offenders.append((where(path), f"imports {name}"))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "engine":
                offenders.append((where(path), f"reads .engine on line {node.lineno}"))
    assert offenders == []


def test_the_store_imports_nothing_above_it():
    """No chat, export, analytics, ui, cli, backends, review, arena ...: only the floor."""
    offenders = [(where(p), n) for p in modules("store")
                 for n in ours(imports(p))
                 if top(n) != "store" and top(n) not in FLOOR]
    assert offenders == []


def test_backends_and_the_store_know_nothing_of_each_other():
    offenders = [(where(p), n) for p in modules("backends") for n in ours(imports(p))
                 if top(n) == "store"]
    offenders += [(where(p), n) for p in modules("store") for n in ours(imports(p))
                  if top(n) == "backends"]
    assert offenders == []


def test_statistics_are_pure_functions():
    """stats/ works on counts and aggregates: no database, no Streamlit, no Store; of the
    package it imports only stats/ itself."""
    offenders = [(where(p), n) for p in modules("stats") for n in imports(p)
                 if top(n) in ("sqlalchemy", "streamlit")
                 or (n.startswith("chatfeedback") and top(n.removeprefix("chatfeedback."))
                     != "stats")]
    assert offenders == []


def test_migrations_import_no_application_code():
    """A migration is history: it carries its own copy of any rule it applies."""
    offenders = [p.name for p in modules("store/migrations/versions")
                 if any(n.startswith("chatfeedback") for n in imports(p))]
    assert offenders == []


def test_the_parquet_readers_process_loads_no_store():
    """The reader child process (store/arrow_reader.py) imports pyarrow and its driver only:
    the store package loads its names lazily, so the child pays for no SQLAlchemy."""
    import subprocess
    import sys

    heavy = ("sqlalchemy", "alembic", "chatfeedback.store.store")
    code = ("import sys, chatfeedback.store.arrow_reader\n"
            f"print([m for m in {heavy!r} if m in sys.modules])")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_ruff_finds_nothing():
    """``make lint``'s ruff half on the whole tree (its mypy half is tests/test_api.py's): a
    finding fails the suite, so lint cannot rot unseen. pyproject.toml pins ruff's minor
    version, whose default rules these are, and says why each configured exception exists."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise"],
                          cwd=SRC.parents[1], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
