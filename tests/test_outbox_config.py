"""The [[sinks]] entries and the [outbox] table: parsed into SinkSettings / OutboxConfig,
every bad entry refused with one line naming the sink and key; the registry loads a kind's
module only when asked, and the Event round-trips through the JSON the outbox stores."""

from pathlib import Path

import pytest

from chatfeedback.config import OutboxConfig, load_settings
from chatfeedback.errors import ConfigError
from chatfeedback.outbox import registry
from chatfeedback.outbox.base import Event, SinkSettings


def settings_from(tmp_path: Path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ={})


def test_sinks_parse_into_settings(tmp_path):
    settings = settings_from(tmp_path, """
[outbox]
poll = 0.5
threads = 4

[[sinks]]
name = "hooks"
kind = "webhook"
url = "https://hooks.example.org/feedback"
secret_env = "FEEDBACK_WEBHOOK_SECRET"
timeout = 3
redact = true

[[sinks]]
name = "lf"
kind = "langfuse"
url = "https://cloud.langfuse.com"
public_key_env = "LANGFUSE_PUBLIC_KEY"
max_tries = 5
""")
    hooks, lf = settings.sinks
    assert hooks == SinkSettings(name="hooks", kind="webhook",
                                 url="https://hooks.example.org/feedback",
                                 secret_env="FEEDBACK_WEBHOOK_SECRET", timeout=3.0,
                                 max_tries=12, redact=True, options={})
    assert isinstance(hooks.timeout, float)
    assert (lf.kind, lf.max_tries, lf.redact, lf.secret_env) == ("langfuse", 5, False, None)
    assert lf.options == {"public_key_env": "LANGFUSE_PUBLIC_KEY"}
    assert settings.outbox == OutboxConfig(poll=0.5, threads=4)


def test_no_sinks_by_default(tmp_path):
    settings = settings_from(tmp_path, "")
    assert settings.sinks == () and settings.outbox == OutboxConfig()


@pytest.mark.parametrize(("entry", "message"), [
    ('kind = "webhook"\nurl = "https://x.org"', r"sinks\[1\]\.name is required"),
    ('name = "h"\nkind = "kafka"\nurl = "https://x.org"',
     "sink 'h': 'kind' must be one of webhook, langfuse, otel; got 'kafka'"),
    ('name = "h"\nkind = "webhook"', "sink 'h': 'url' must be an http\\(s\\) URL, got None"),
    ('name = "h"\nkind = "webhook"\nurl = "ftp://x.org/"', "'url' must be an http"),
    ('name = "h"\nkind = "webhook"\nurl = "https://x.org"\nsecret = "hunter2"',
     "an inline 'secret' is refused"),
    ('name = "h"\nkind = "webhook"\nurl = "https://x.org"\nsecret_env = "A=B"',
     "'secret_env' is the NAME of an environment variable"),
    ('name = "h"\nkind = "webhook"\nurl = "https://x.org"\ntimeout = 0',
     "'timeout' must be a positive number of seconds, got 0"),
    ('name = "h"\nkind = "webhook"\nurl = "https://x.org"\nmax_tries = true',
     "'max_tries' must be a positive integer, got True"),
    ('name = "h"\nkind = "webhook"\nurl = "https://x.org"\nredact = "yes"',
     "'redact' must be true or false"),
])
def test_bad_sink_entries_are_refused_in_one_line(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=message) as caught:
        settings_from(tmp_path, f"[[sinks]]\n{entry}\n")
    assert "\n" not in str(caught.value)


def test_a_sink_name_twice_and_bad_outbox_keys(tmp_path):
    one = 'name = "h"\nkind = "webhook"\nurl = "https://x.org"\n'
    with pytest.raises(ConfigError, match="sink 'h' is defined twice"):
        settings_from(tmp_path, f"[[sinks]]\n{one}[[sinks]]\n{one}")
    with pytest.raises(ConfigError, match="'outbox.threads' must be a positive integer"):
        settings_from(tmp_path, "[outbox]\nthreads = 0\n")
    with pytest.raises(ConfigError, match="'outbox.poll' must be a positive number"):
        settings_from(tmp_path, '[outbox]\npoll = "fast"\n')
    with pytest.raises(ConfigError, match="unknown key 'outbox.colour'"):
        settings_from(tmp_path, "[outbox]\ncolour = 1\n")


def test_secret_is_read_from_the_variable_it_names():
    sink = SinkSettings(name="h", kind="webhook", url="https://x.org", secret_env="HOOK_KEY")
    assert sink.secret({"HOOK_KEY": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match="sink 'h': secret_env names the environment "
                                          "variable HOOK_KEY, which is not set"):
        sink.secret({})
    assert SinkSettings(name="n", kind="otel", url="http://x.org").secret({}) is None


def test_registry_maps_every_kind_to_a_module():
    from chatfeedback.outbox.base import KINDS
    assert set(registry.KINDS) == set(KINDS)


def test_event_round_trips_through_its_json():
    event = Event(id="01jd", action="comment", message_id="m", conversation_id="c", value=1,
                  scale="thumbs", actor="ann@example.org", at="2026-12-01T22:00:00+00:00",
                  model="echo", comment="fine", tags=("Clear", "Helpful"))
    data = event.as_json()
    assert data["tags"] == ["Clear", "Helpful"] and data["trace_id"] is None
    assert {"id", "action", "message_id", "conversation_id", "value", "scale", "actor",
            "at"} <= set(data)
    assert Event.from_json({**data, "added_later": 1}) == event
