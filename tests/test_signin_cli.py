"""`chatfeedback run` finds the Streamlit secrets file and checks its [auth] section."""

from pathlib import Path

from click.testing import CliRunner

from chatfeedback.cli import main
from chatfeedback.cli_run import check_sign_in, secrets_files
from chatfeedback.config import load_settings


def test_secrets_next_to_the_config_file_are_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    deploy = tmp_path / "deploy"
    (deploy / ".streamlit").mkdir(parents=True)
    (deploy / "chatfeedback.toml").write_text("")
    secrets = deploy / ".streamlit" / "secrets.toml"
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
                       'cookie_secret = "0123456789abcdef"\n')
    settings = load_settings(deploy / "chatfeedback.toml", environ={})
    assert secrets_files(None, settings) == [secrets]
    assert check_sign_in([secrets]) == f"sign-in on: {secrets}"
    other = tmp_path / "other.toml"
    other.write_text("")
    assert secrets_files(str(other), settings) == [other]
    assert check_sign_in([other]) == "sign-in off: one anonymous user"
    assert secrets_files(None, load_settings(None, environ={})) == []


def test_incomplete_auth_section_is_exit_2_one_line(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    result = CliRunner().invoke(main, ["run", "--secrets", str(secrets),
                                       "--db", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {secrets}: [auth] needs cookie_secret for sign-in\n"


def test_unreadable_secrets_is_exit_2(tmp_path: Path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[auth\n")
    result = CliRunner().invoke(main, ["run", "--secrets", str(secrets),
                                       "--db", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2 and "cannot read secrets file" in result.stderr
    assert "Traceback" not in result.output
