"""The core never imports streamlit: only chatfeedback/ui/ may."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "chatfeedback"


def test_streamlit_only_in_ui():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "ui" in path.relative_to(SRC).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def test_statistics_are_pure_functions():
    """stats/ works on counts and aggregates: no database, no Streamlit, no Store."""
    offenders = []
    for path in (SRC / "stats").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                names = ["." * node.level + (node.module or "")]
            if any(n.split(".")[0] in ("sqlalchemy", "streamlit") or n.startswith("..")
                   or "store" in n for n in names):
                offenders.append(f"{path.relative_to(SRC)}: {names}")
    assert offenders == []
