from pathlib import Path

import pytest

from chatfeedback.config import load_settings
from chatfeedback.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///chatfeedback.db"
    assert settings.feedback.scale == "thumbs" and settings.feedback.mode == "locked"
    assert [m.name for m in settings.models] == ["echo"]
    assert settings.models[0].options == {"delay": 0.02}


def test_default_file_in_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chatfeedback.toml").write_text('[feedback]\nscale = "stars"\n')
    assert load_settings(environ={}).feedback.scale == "stars"


def test_precedence_file_env_flag(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///from-file.db"\n')
    assert load_settings(path, environ={}).database_url == "sqlite:///from-file.db"
    env = {"CHATFEEDBACK_CONFIG": str(path), "CHATFEEDBACK_DATABASE_URL": "sqlite:///env.db"}
    assert load_settings(environ=env).database_url == "sqlite:///env.db"
    assert load_settings(None, "sqlite:///flag.db", environ=env).database_url == \
        "sqlite:///flag.db"


def test_full_file(tmp_path):
    path = write(tmp_path, """
[database]
url = "sqlite:///x.db"
[feedback]
scale = "faces"
mode = "changeable"
[chat]
allowed_image_hosts = ["Images.Example.org", "cdn.example.net", "[2001:DB8:0::1]"]
[[models]]
name = "echo"
backend = "echo"
delay = 0.5
""")
    settings = load_settings(path, environ={})
    assert settings.feedback.scale == "faces" and settings.feedback.mode == "changeable"
    assert settings.models[0].options == {"delay": 0.5}
    assert settings.chat.allowed_image_hosts == ("images.example.org", "cdn.example.net",
                                                  "[2001:db8::1]")
    assert load_settings(None, environ={}).chat.allowed_image_hosts == ()  # none by default
    assert settings.source == str(path.resolve())


@pytest.mark.parametrize("text, message", [
    ("[feedback]\ncolour = 1\n", "unknown key 'feedback.colour'"),
    ("[database]\nurl = 3\n", "'database.url' must be a str"),
    ("[feedback]\nscale = \"hearts\"\n", "'feedback.scale' must be one of thumbs, faces, stars"),
    ("[feedback]\nmode = \"never\"\n", "'feedback.mode' must be one of"),
    ("wibble = 1\n", "unknown key 'wibble'"),
    ("[database\n", "not valid TOML"),
    ("[[models]]\nbackend = \"echo\"\n", "models[1].name is required"),
    ("[[models]]\nname = \"a\"\n", "model 'a': 'backend' is required"),
    ("[database]\nurl = \"nonsense\"\n", "is not a database URL"),
    ('[chat]\nallowed_image_hosts = "x.org"\n', "'chat.allowed_image_hosts' must be a list"),
    ('[chat]\nallowed_image_hosts = ["https://x.org"]\n',
     ("'chat.allowed_image_hosts' takes host names like \"images.example.org\", IPv4 "
      "addresses or bracketed IPv6 addresses like \"[2001:db8::1]\" (no scheme, port or path); "
      "got 'https://x.org'")),
    ('[chat]\nallowed_image_hosts = ["::1"]\n', "got '::1'"),
    ('[chat]\nallowed_image_hosts = ["x.org:8080"]\n', "got 'x.org:8080'"),
    ('[chat]\nallowed_image_hosts = ["x.org/img"]\n', "got 'x.org/img'"),
])
def test_bad_values_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_reviewers_and_criteria(tmp_path):
    path = write(tmp_path, """
[access]
admins = ["Lead@example.org"]
reviewers = ["Ann@example.org", "bob@example.org"]
[[criteria]]
name = "correct"
kind = "scale"
description = "Is every statement true?"
[[criteria]]
name = "tone"
kind = "choice"
options = ["too formal", "right", "too casual"]
[[criteria]]
name = "safe"
kind = "boolean"
[[criteria]]
name = "size"
kind = "scale"
level = "interval"
""")
    settings = load_settings(path, environ={})
    assert settings.access.reviewers == ("ann@example.org", "bob@example.org")
    assert settings.access.may_review("ann@example.org")
    assert settings.access.may_review("lead@example.org")  # admins review too
    assert not settings.access.may_review("eve@example.org")
    assert not settings.access.may_review(None)
    correct, tone, safe, size = settings.criteria
    assert (correct.kind, correct.level, correct.domain) == ("scale", "ordinal", (1, 2, 3, 4, 5))
    assert correct.description == "Is every statement true?"
    assert (tone.level, tone.domain) == ("nominal", ("too formal", "right", "too casual"))
    assert (safe.level, safe.domain) == ("nominal", (0, 1))
    assert size.level == "interval"
    assert settings.criterion("tone") is tone
    assert correct.check("4") == 4 and safe.check(True) == 1 and tone.check("right") == "right"
    for criterion, bad in [(correct, 6), (correct, True), (tone, "rude"), (safe, 2)]:
        with pytest.raises(ValueError, match="is not one of"):
            criterion.check(bad)


def test_default_rubric_is_one_thumbs_criterion(tmp_path):
    settings = load_settings(write(tmp_path, ""), environ={})
    assert [(c.name, c.kind) for c in settings.criteria] == [("good", "thumbs")]
    with pytest.raises(ConfigError, match="unknown criterion 'nope'; the settings define good"):
        settings.criterion("nope")


@pytest.mark.parametrize("text, message", [
    ("[access]\nreviewers = \"a@b\"\n", "'access.reviewers' must be a list of non-empty strings"),
    ("criteria = 3\n", "'criteria' must be one or more [[criteria]] tables"),
    ("[[criteria]]\nkind = \"scale\"\n", "criteria[1].name is required"),
    ("[[criteria]]\nname = \"a\"\nkind = \"stars\"\n",
     "criterion 'a': 'kind' must be one of thumbs, scale, boolean, choice; got 'stars'"),
    ("[[criteria]]\nname = \"a\"\nkind = \"choice\"\n", "criterion 'a': a choice needs 'options'"),
    ("[[criteria]]\nname = \"a\"\nkind = \"choice\"\noptions = [\"x\", \"x\"]\n",
     "'options' has the same option twice"),
    ("[[criteria]]\nname = \"a\"\nkind = \"scale\"\noptions = [\"x\", \"y\"]\n",
     "'options' is only for kind = \"choice\""),
    ("[[criteria]]\nname = \"a\"\nkind = \"thumbs\"\nlevel = \"interval\"\n",
     "'level' for a thumbs criterion must be nominal; got 'interval'"),
    ("[[criteria]]\nname = \"a\"\nkind = \"thumbs\"\n[[criteria]]\nname = \"a\"\nkind = \"scale\"\n",
     "criterion 'a' is defined twice"),
    ("[[criteria]]\nname = \"a\"\nkind = \"thumbs\"\nweight = 2\n",
     "criterion 'a': unknown key 'weight'"),
])
def test_bad_review_settings_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_rating_policy_of_each_mode():
    from chatfeedback.policy import MODES, RatingPolicy

    table = {m: (RatingPolicy(m).changeable, RatingPolicy(m).open_for(newest=False),
                 RatingPolicy(m).holds(1), RatingPolicy(m).holds(None)) for m in MODES}
    assert table == {"locked": (False, True, True, False),
                     "changeable": (True, True, False, False),
                     "latest": (True, False, False, False)}
    with pytest.raises(ValueError, match="unknown rating mode"):
        RatingPolicy("never")
