"""A newcomer's first steps: ``chatfeedback init``, ``config check``, the echo-only hint in
the chat, and shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatfeedback import experiments, scaffold
from chatfeedback.cli import main
from chatfeedback.config import SECTIONS, ModelConfig, Settings, load_settings
from chatfeedback.errors import ConfigError
from chatfeedback.rubric import Criterion
from chatfeedback.ui import keys

from .support import VENV_BIN, running
from .test_openai_backend import model_entry

CHATFEEDBACK = str(VENV_BIN / "chatfeedback")
# The example entries name these variables for their keys.
KEYS = {"VLLM_KEY": "vllm-test-key", "OPENAI_API_KEY": "sk-test-key",
        "FEEDBACK_WEBHOOK_SECRET": "whsec-test"}


def uncommented(text: str) -> str:
    """The template with every commented-out setting line switched on."""
    return "\n".join(line[2:] if re.match(r"# (\[|[A-Za-z_\"-]+ = )", line) else line
                     for line in text.splitlines())


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_init_writes_a_file_that_check_and_run_accept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHATFEEDBACK_CONFIG", raising=False)
    monkeypatch.delenv("CHATFEEDBACK_DATABASE_URL", raising=False)
    result = subprocess.run(check=False, args=[CHATFEEDBACK, "init"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "chatfeedback.toml"
    assert result.stdout.startswith("wrote chatfeedback.toml")
    text = path.read_text(encoding="utf-8")

    check = subprocess.run(check=False, args=[CHATFEEDBACK, "config", "check"], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"# {path}: valid.")
    resolved = tomllib.loads(check.stdout)
    assert resolved["feedback"]["scale"] == "thumbs" and resolved["chat"]["window"] == 10
    assert [m["name"] for m in resolved["models"]] == ["echo"]

    # a second init refuses, one line, exit 2, and the file is untouched
    again = subprocess.run(check=False, args=[CHATFEEDBACK, "init"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.strip().count("\n") == 0 and "already exists" in again.stderr
    assert path.read_text(encoding="utf-8") == text

    # the app starts with it: this folder's chatfeedback.toml, found by default
    with running(f"sqlite:///{tmp_path / 'app.db'}") as server:  # cwd: tmp_path
        assert server.proc.poll() is None


def test_the_template_has_every_key_config_accepts():
    text = scaffold.template()
    tomllib.loads(text)  # valid as written
    sections = dict(re.findall(r"^\[(\w+)\]\n((?:#.*\n)*)", text, re.MULTILINE))
    assert set(sections) == {"database", *SECTIONS}
    assert "# url = " in sections["database"]
    for name, section in SECTIONS.items():
        for field in fields(section):
            help_line, key_line = f"# {field.metadata['help']}\n", f"# {field.name} = "
            assert help_line + key_line in sections[name], (name, field.name)
    for field in fields(ModelConfig):
        if field.name != "options":
            assert f"# {field.name} = " in text, field.name
    review = text.split("# Review:")[1].split("# Experiments")[0]
    for field in fields(Criterion):
        assert re.search(rf"\b{field.name}\b", review), field.name
    trials = text.split("# Experiments")[1]
    for key in (*experiments._KEYS, *experiments._ARM_KEYS):
        assert re.search(rf"\b{key}\b", trials), key
    for example in ("localhost:11434", "Qwen/Qwen2.5-7B-Instruct", "api.openai.com"):
        assert example in text
    # nothing unknown to config.py: an unknown key would be refused, as this one is
    with pytest.raises(ConfigError, match="unknown key 'feedback.colour'"):
        scaffold_settings(text.replace("[feedback]\n", "[feedback]\ncolour = 1\n"))


def scaffold_settings(text: str, tmp: Path | None = None) -> Settings:
    import tempfile

    folder = Path(tmp or tempfile.mkdtemp())
    path = folder / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ={})


def test_the_templates_defaults_and_examples_are_what_config_uses(tmp_path, monkeypatch):
    """Every commented-out line switched on: the defaults it shows are config.py's, and the
    three model examples are valid entries."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    text = uncommented(scaffold.template())
    settings = scaffold_settings(text, tmp_path)
    defaults = Settings()
    for name in SECTIONS:
        assert getattr(settings, name) == getattr(defaults, name), name
    assert settings.database_url == defaults.database_url
    assert [m.name for m in settings.models] == ["echo", "llama", "qwen", "gpt"]
    assert settings.criteria == defaults.criteria
    [trial] = settings.experiments
    assert [a.name for a in trial.arms] == ["control", "concise"]
    [hooks] = settings.sinks
    assert (hooks.kind, hooks.secret_env) == ("webhook", "FEEDBACK_WEBHOOK_SECRET")
    path = tmp_path / "all.toml"
    path.write_text(text, encoding="utf-8")
    result = run("config", "check", "--config", str(path), env=KEYS)
    assert result.exit_code == 0, result.output
    assert 'api_key_env = "OPENAI_API_KEY"' in result.stdout
    assert "sk-test-key" not in result.stdout and "vllm-test-key" not in result.stdout
    assert 'secret_env = "FEEDBACK_WEBHOOK_SECRET"' in result.stdout
    assert "whsec-test" not in result.stdout


def test_config_check_shows_secrets_only_as_names(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "postgresql+psycopg://bob:hunter2@db.example/fb"\n'
                    '[[models]]\nname = "gpt"\nbackend = "openai"\n'
                    'base_url = "https://api.openai.com/v1"\nmodel = "gpt-4o-mini"\n'
                    'api_key_env = "CF_TEST_KEY"\nheaders = { "X-Token" = "tok-secret" }\n',
                    encoding="utf-8")
    result = run("config", "check", "--config", str(path), env={"CF_TEST_KEY": "sk-hidden"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "hunter2" not in out and "sk-hidden" not in out and "tok-secret" not in out
    resolved = tomllib.loads(out)
    assert resolved["database"]["url"] == "postgresql+psycopg://bob:***@db.example/fb"
    assert resolved["models"][0]["api_key_env"] == "CF_TEST_KEY"
    assert resolved["models"][0]["headers"] == {"X-Token": "***"}
    # the key's variable unset: the check fails as `run` would, one line, exit 2
    missing = run("config", "check", "--config", str(path), env={"CF_TEST_KEY": None})
    assert missing.exit_code == 2 and missing.stdout == ""
    assert missing.stderr.strip() == ("Error: model 'gpt': api_key_env names the environment "
                                      "variable CF_TEST_KEY, which is not set")


def test_config_check_refuses_a_bad_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[feedback]\nscale = 'hearts'\n", encoding="utf-8")
    result = run("config", "check", "--config", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "feedback.scale" in result.stderr


# ---------------------------------------------------------------- the app's first run
def test_the_echo_only_hint_shows_and_can_be_dismissed(make_app):
    at = make_app()
    [hint] = [i.value for i in at.info]
    assert "echo" in hint and "chatfeedback init" in hint and "[[models]]" in hint
    at.button(key=keys.ECHO_HINT_CLOSE).click().run()
    assert not at.info and not [b for b in at.button if b.key == keys.ECHO_HINT_CLOSE]
    at.chat_input[0].set_value("hello").run()  # stays dismissed for the session
    assert not at.exception and not at.info


def test_no_echo_hint_with_a_real_model(make_app, openai_server):
    at = make_app(model_entry(openai_server.base_url, name="llama"))
    assert not at.exception
    assert not at.info and not [b for b in at.button if b.key == keys.ECHO_HINT_CLOSE]


# ----------------------------------------------------------------- shell completion
def test_bash_completion_script_completes_a_subcommand():
    env = dict(os.environ, _CHATFEEDBACK_COMPLETE="bash_source")
    script = subprocess.run(check=False, args=[CHATFEEDBACK], env=env, capture_output=True, text=True,
                            timeout=60)
    assert script.returncode == 0 and "complete -o nosort -F" in script.stdout
    # bash sources it, then calls the function it registered, as <Tab> does (the command
    # name is its first argument)
    probe = script.stdout + "".join(
        f"\nCOMPREPLY=(); COMP_WORDS=({words}); COMP_CWORD={cword}; "
        "_chatfeedback_completion chatfeedback; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
        for words, cword in (("chatfeedback expo", 1), ("chatfeedback db re", 2)))
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(check=False, args=["bash", "--norc", "-c", probe], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["export", "rebuild-stats", "revision"]
