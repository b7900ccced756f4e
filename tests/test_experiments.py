"""Experiments: settings with one-line errors, sticky assignment (stable across processes,
proportions within sampling error), start/stop recorded with times, conversations that carry
their arm into the chat and the exports, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from chatfeedback.cli import main
from chatfeedback.config import load_settings
from chatfeedback.errors import ConfigError
from chatfeedback.experiments import Arm, Experiment
from chatfeedback.store import experiments as log

from .support import echo_models, write_config

pytestmark = pytest.mark.all_databases

MODELS = echo_models("gpt", "llama", prompts={"llama": "You are llama."})
EXPERIMENT = MODELS + """
[[experiments]]
name = "prompt-v2"
unit = "user"
blind = true
arms = [
  { name = "control", model = "gpt", weight = 1 },
  { name = "v2", model = "gpt", system_prompt = "You are concise.", weight = 1, settings = { delay = 0.001 } },
]

[[experiments]]
name = "per-chat"
unit = "conversation"
arms = [
  { name = "gpt", model = "gpt", weight = 3 },
  { name = "llama", model = "llama", weight = 1 },
]
"""


# ------------------------------------------------------------------------------ settings
TWO = '[{ name = "a", model = "gpt" }, { name = "b", model = "gpt" }]'


@pytest.mark.parametrize("body, message", [
    ('name = "x"\narms = [{ name = "a", model = "gpt" }]',
     "experiment 'x': 'arms' must be a list of at least two tables"),
    (f'name = "x"\nunit = "team"\narms = {TWO}',
     "experiment 'x': 'unit' must be one of user, conversation"),
    ('name = "x"\narms = [{ name = "a", model = "gpt" }, { name = "b", model = "nope" }]',
     "experiment 'x', arm 'b': 'model' must name a [[models]] entry (gpt, llama); got 'nope'"),
    ('name = "x"\narms = [{ name = "a", model = "gpt", weight = 0 }, { name = "b", model = "gpt" }]',
     "arm 'a': 'weight' must be a positive number, got 0"),
    ('name = "x"\narms = [{ name = "a", model = "gpt" }, { name = "a", model = "gpt" }]',
     "experiment 'x': arm 'a' is defined twice"),
    (f'name = "x"\nblind = "yes"\narms = {TWO}', "'blind' must be true or false"),
    ('name = "x"\ncolour = 1\narms = []', "experiment 'x': unknown key 'colour'"),
    ('arms = []', "experiments[1].name is required"),
    ('name = "x"\narms = [{ name = "a", model = "gpt", temp = 1 }, { name = "b", model = "gpt" }]',
     "arm 'a': unknown key 'temp'"),
])
def test_bad_experiments_are_one_line_errors(tmp_path, body, message):
    path = write_config(tmp_path / "c.toml", MODELS + "\n[[experiments]]\n" + body + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_experiments_are_read(tmp_path):
    settings = load_settings(write_config(tmp_path / "c.toml", EXPERIMENT), environ={})
    exp = settings.experiment("prompt-v2")
    assert exp.unit == "user" and exp.blind
    assert exp.arms[1] == Arm("v2", "gpt", 1.0, "You are concise.", {"delay": 0.001})
    assert settings.experiment("per-chat").weights == (3.0, 1.0)
    with pytest.raises(ConfigError, match="unknown experiment 'nope'; the settings define "
                                          "prompt-v2, per-chat"):
        settings.experiment("nope")


# ---------------------------------------------------------------------------- assignment
THREE = Experiment("t", (Arm("a", "m", 1), Arm("b", "m", 1), Arm("c", "m", 2)))


def test_assignment_proportions_are_within_sampling_error_of_the_weights():
    units = 10_000
    counts = {"a": 0, "b": 0, "c": 0}
    for i in range(units):
        counts[THREE.assign(f"user-{i}@example.org").name] += 1
    for arm in THREE.arms:
        p = THREE.probability(arm)
        sd = (units * p * (1 - p)) ** 0.5
        assert abs(counts[arm.name] - units * p) < 4 * sd, counts


def test_assignment_is_the_same_in_another_process():
    ids = [f"person-{i}" for i in range(500)]
    here = [THREE.assign(u).name for u in ids]
    code = ("import json, sys; from chatfeedback.experiments import Arm, Experiment; "
            "e = Experiment('t', (Arm('a', 'm', 1), Arm('b', 'm', 1), Arm('c', 'm', 2))); "
            "print(json.dumps([e.assign(f'person-{i}').name for i in range(500)]))")
    there = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                      text=True, check=True).stdout)
    assert here == there
    assert len(set(here)) == 3  # and it does spread people


# ------------------------------------------------------------------- start, stop, list
def cli(*args):
    return CliRunner().invoke(main, list(args))


def test_start_stop_list_are_recorded_with_times(tmp_path, db_url):
    config = str(write_config(tmp_path / "c.toml", EXPERIMENT))
    opts = ["--config", config, "--db", db_url]
    assert "prompt-v2: never started" in cli("experiments", "list", *opts).output
    started = cli("experiments", "start", "prompt-v2", *opts)
    assert started.exit_code == 0, started.output
    assert "started prompt-v2 at" in started.output and "v2 (gpt, weight 1)" in started.output
    again = cli("experiments", "start", "prompt-v2", *opts)
    assert again.exit_code == 2 and "experiment 'prompt-v2' is already running" in again.output
    assert "prompt-v2: running since" in cli("experiments", "list", "prompt-v2", *opts).output
    stopped = cli("experiments", "stop", "prompt-v2", *opts)
    assert stopped.exit_code == 0 and "stopped prompt-v2 at" in stopped.output
    listed = cli("experiments", "list", *opts).output
    assert "prompt-v2: stopped" in listed and "(started" in listed
    assert cli("experiments", "stop", "prompt-v2", *opts).exit_code == 2
    unknown = cli("experiments", "start", "nope", *opts)
    assert unknown.exit_code == 2 and "unknown experiment 'nope'" in unknown.output


# ------------------------------------------------------------------ in the conversation
def test_a_person_keeps_their_arm_and_the_arm_answers(make_service, db_url):
    svc = make_service(EXPERIMENT)
    log.record(svc.store, "prompt-v2", "start",
               definition=svc.settings.experiment("prompt-v2").definition())
    people = [f"p{i}@example.org" for i in range(40)]
    first = {}
    for person in people:
        turn = svc.send(None, "hello", owner=person)
        conv = turn.conversation
        assert (conv.experiment, conv.unit, conv.assignment_p) == ("prompt-v2", person, 0.5)
        first[person] = conv.arm
        answer = svc.reply(turn.answer)
        list(answer)
        stored = svc.store.message(turn.answer.id)
        expected = "You are concise." if conv.arm == "v2" else None
        assert stored.system_prompt == expected
        assert stored.model == "gpt"
    assert set(first.values()) == {"control", "v2"}
    restarted = make_service(EXPERIMENT)  # a restart, or another replica
    for person in people:
        for _ in range(2):
            assert restarted.new_conversation(owner=person).arm == first[person]
    anonymous = restarted.new_conversation(person="session:abc")
    assert anonymous.unit == "session:abc" and anonymous.owner is None
    log.record(svc.store, "prompt-v2", "stop")
    after = restarted.new_conversation(owner=people[0])
    assert after.experiment is None and after.arm is None


def test_conversation_unit_assigns_each_conversation(make_service):
    svc = make_service(EXPERIMENT)
    log.record(svc.store, "per-chat", "start",
               definition=svc.settings.experiment("per-chat").definition())
    convs = [svc.new_conversation(owner="same@example.org") for _ in range(60)]
    assert all(c.unit == c.id for c in convs)
    assert {c.arm for c in convs} == {"gpt", "llama"}
    llama = next(c for c in convs if c.arm == "llama")
    assert llama.model == "llama" and llama.assignment_p == 0.25
    turn = svc.send(llama.id, "hi", owner="same@example.org")
    list(svc.reply(turn.answer))
    assert svc.store.message(turn.answer.id).system_prompt == "You are llama."


def test_the_arms_it_started_with_assign_after_the_settings_change(make_service, tmp_path):
    svc = make_service(EXPERIMENT)
    log.record(svc.store, "per-chat", "start",
               definition=svc.settings.experiment("per-chat").definition())
    changed = make_service(EXPERIMENT.replace("weight = 3", "weight = 1000"))
    exp = changed.running_experiment()
    assert exp.weights == (3.0, 1.0)


def test_exports_carry_experiment_and_arm(make_service, db_url):
    svc = make_service(EXPERIMENT)
    log.record(svc.store, "prompt-v2", "start",
               definition=svc.settings.experiment("prompt-v2").definition())
    turn = svc.send(None, "hello", owner="ann@example.org")
    list(svc.reply(turn.answer))
    svc.rate(turn.answer.id, 1)
    log.record(svc.store, "prompt-v2", "stop")
    plain = svc.send(None, "outside", owner="ann@example.org")
    list(svc.reply(plain.answer))
    svc.rate(plain.answer.id, 0)
    rows = [json.loads(x) for x in cli("export", "--db", db_url).stdout.splitlines()]
    by_id = {r["message_id"]: r for r in rows}
    assert (by_id[turn.answer.id]["experiment"], by_id[turn.answer.id]["arm"]) == \
        ("prompt-v2", turn.conversation.arm)
    assert (by_id[plain.answer.id]["experiment"], by_id[plain.answer.id]["arm"]) == (None, None)
    only = cli("export", "--db", db_url, "--experiment", "prompt-v2").stdout.splitlines()
    assert [json.loads(x)["message_id"] for x in only] == [turn.answer.id]
    header = cli("export", "--format", "csv", "--db", db_url).stdout.splitlines()[0]
    assert ",experiment,arm," in header + ","  # side by side (trace_id may follow)
