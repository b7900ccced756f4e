"""The command line loads each command group only when it is used: ``chatfeedback --help``
lists every command, and neither importing the CLI, nor ``--help``, nor a cheap command
loads scipy, pandas or pyarrow (each run in a fresh interpreter, where nothing else loaded
them before)."""

import subprocess
import sys
from pathlib import Path

import chatfeedback
from chatfeedback.cli import COMMANDS

HEAVY = ("scipy", "pandas", "pyarrow")


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "chatfeedback", "--help"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("Commands:", 1)[1].split()
    assert set(COMMANDS) <= set(listed)
    assert result.stdout.startswith("Usage: chatfeedback ")


def test_every_command_module_is_in_the_table():
    """A ``cli_<group>.py`` module that no line of COMMANDS names would never be reachable."""
    package = Path(chatfeedback.__file__).parent
    modules = {p.stem for p in package.glob("cli_*.py")}
    assert modules == {entry.split(":")[0] for entry in COMMANDS.values()}


def test_importing_the_cli_loads_no_heavy_library():
    result = python("import sys, chatfeedback.cli\n"
                    f"print([m for m in {HEAVY!r} if m in sys.modules])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_and_a_cheap_command_load_no_heavy_library(tmp_path):
    url = f"sqlite:///{tmp_path / 'cheap.db'}"
    for args in (["--help"], ["db", "revision", "--db", url], ["db", "--help"],
                 ["queue", "--help"], ["export", "--help"], ["report", "--help"]):
        result = python("import sys\nfrom chatfeedback.cli import main\n"
                        f"try:\n    main({args!r}, prog_name='chatfeedback')\n"
                        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
                        f"print([m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)")
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1] == "[]", (args, result.stderr)
