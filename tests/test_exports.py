"""Every export format read back, with exact rows for a small hand-built store; consent."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from chatfeedback.cli import main
from chatfeedback.export import Summary, write_parquet, write_training
from chatfeedback.store import Filters, Store
from chatfeedback.store.columns import iter_rated_answer_batches

pytestmark = pytest.mark.all_databases  # each test on SQLite and on PostgreSQL
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SYSTEM = "Be brief."


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def hand_built(store: Store) -> dict[str, str]:
    """Three conversations:

    A (consent, thumbs, system prompt): "Hi" -> "Hello!" 👍; "Capital of France?" ->
      "Lyon" 👎, regenerated -> "Paris" 👍; "Thanks" -> "You're welcome" (unrated).
    B (consent, stars, no system prompt): "Poem?" -> "Roses are red" 3★ (neutral);
      "Another" -> "Violets are blue" 5★; "Long story" -> "Once upon" (stopped) 1★.
    C (no consent): "Secret" -> "ok" 👍.
    """
    ids: dict[str, str] = {}
    a = store.create_conversation(model="m1", training_consent=True, created_at=_at(0)).id
    b = store.create_conversation(model="m2", training_consent=True, created_at=_at(1)).id
    c = store.create_conversation(model="m1", training_consent=False, created_at=_at(2)).id
    ids.update(a=a, b=b, c=c)

    def answer(conv: str, parent: str, text: str, model: str, minute: int, **kw) -> str:
        return store.add_message(conv, "assistant", text, parent_id=parent, model=model,
                                 backend="echo", settings={"temperature": 0.5},
                                 created_at=_at(minute), **kw).id

    hi = store.add_message(a, "user", "Hi", created_at=_at(3)).id
    ids["hello"] = answer(a, hi, "Hello!", "m1", 4, system_prompt=SYSTEM)
    capital = store.add_message(a, "user", "Capital of France?", created_at=_at(5)).id
    ids["lyon"] = answer(a, capital, "Lyon", "m1", 6, system_prompt=SYSTEM)
    ids["paris"] = answer(a, capital, "Paris", "m1", 7, system_prompt=SYSTEM,
                          trace_id="req_paris")
    thanks = store.add_message(a, "user", "Thanks", created_at=_at(8)).id
    answer(a, thanks, "You're welcome", "m1", 9, system_prompt=SYSTEM)
    poem = store.add_message(b, "user", "Poem?", created_at=_at(10)).id
    ids["roses"] = answer(b, poem, "Roses are red", "m2", 11)
    another = store.add_message(b, "user", "Another", created_at=_at(12)).id
    ids["violets"] = answer(b, another, "Violets are blue", "m2", 13)
    story = store.add_message(b, "user", "Long story", created_at=_at(14)).id
    ids["once"] = answer(b, story, "Once upon", "m2", 15, status="stopped")
    secret = store.add_message(c, "user", "Secret", created_at=_at(16)).id
    ids["ok"] = answer(c, secret, "ok", "m1", 17)
    for key, value, scale in (("hello", 1, "thumbs"), ("lyon", 0, "thumbs"),
                              ("paris", 1, "thumbs"), ("roses", 3, "stars"),
                              ("violets", 5, "stars"), ("once", 1, "stars"),
                              ("ok", 1, "thumbs")):
        store.rate(ids[key], value, scale=scale)
    store.annotate(ids["lyon"], comment="Wrong city", tags=["Wrong"])
    return ids


def sys_user(*turns: str) -> list[dict[str, str]]:
    out = [{"role": "system", "content": SYSTEM}]
    for i, text in enumerate(turns):
        out.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return out


def msgs(*turns: str) -> list[dict[str, str]]:
    return sys_user(*turns)[1:]


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


KTO = [
    {"prompt": sys_user("Hi"), "completion": assistant("Hello!"), "label": True},
    {"prompt": sys_user("Hi", "Hello!", "Capital of France?"), "completion": assistant("Lyon"),
     "label": False},
    {"prompt": sys_user("Hi", "Hello!", "Capital of France?"),
     "completion": assistant("Paris"), "label": True},
    {"prompt": msgs("Poem?", "Roses are red", "Another"),
     "completion": assistant("Violets are blue"), "label": True},
]
DPO = [{"prompt": sys_user("Hi", "Hello!", "Capital of France?"),
        "chosen": assistant("Paris"), "rejected": assistant("Lyon"), "source": "rating"}]
SFT = [{"messages": sys_user("Hi", "Hello!"), "source": "rating"},
       {"messages": sys_user("Hi", "Hello!", "Capital of France?", "Paris"), "source": "rating"},
       {"messages": msgs("Poem?", "Roses are red", "Another", "Violets are blue"),
        "source": "rating"}]


def export(db_url: str, tmp_path: Path, fmt: str, *extra: str) -> tuple[Path, str]:
    out = tmp_path / f"out.{fmt}"
    result = CliRunner().invoke(main, ["export", "--format", fmt, "-o", str(out), "--db",
                                       db_url, *extra])
    assert result.exit_code == 0, result.output
    return out, result.stderr


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_kto_rows_and_summary(store, hand_built, db_url, tmp_path):
    out, err = export(db_url, tmp_path, "kto")
    assert read_jsonl(out) == KTO
    assert "kto: 4 rows, 3 positives, 1 negatives" in err
    assert "1 neutral" in err and "1 stopped, failed or empty" in err
    assert "1 rated answers in conversations without training consent" in err
    assert "KTOConfig(desirable_weight=1.0, undesirable_weight=3.0)" in err


def test_dpo_pairs_regenerated_versions(store, hand_built, db_url, tmp_path):
    out, err = export(db_url, tmp_path, "dpo")
    assert read_jsonl(out) == DPO
    assert "dpo: 1 rows, 1 pairs" in err


def test_sft_is_positive_answers_in_openai_format(store, hand_built, db_url, tmp_path):
    out, err = export(db_url, tmp_path, "sft")
    assert read_jsonl(out) == SFT
    assert err.startswith("sft: 3 rows, 3 positives, 1 negatives")


def test_training_exports_respect_consent(store, hand_built, db_url, tmp_path):
    out, _ = export(db_url, tmp_path, "sft")
    assert "Secret" not in out.read_text()
    store.set_training_consent(hand_built["c"], True)
    out, err = export(db_url, tmp_path, "sft")
    assert read_jsonl(out)[-1] == {"messages": msgs("Secret", "ok"), "source": "rating"}
    assert "without training consent" not in err
    store.set_training_consent(hand_built["a"], False)
    store.set_training_consent(hand_built["b"], False)
    store.set_training_consent(hand_built["c"], False)
    for fmt in ("kto", "dpo", "sft"):
        out, err = export(db_url, tmp_path, fmt)
        assert out.read_text() == ""
        assert "7 rated answers in conversations without training consent" in err


def test_filters_apply_to_training_exports(store, hand_built, db_url, tmp_path):
    out, _ = export(db_url, tmp_path, "kto", "--model", "m2")
    assert read_jsonl(out) == KTO[3:]
    out, _ = export(db_url, tmp_path, "kto", "--until", "2000-01-01")
    assert out.read_text() == ""


def test_analysis_exports_every_rated_answer(store, hand_built, db_url, tmp_path):
    out, err = export(db_url, tmp_path, "jsonl")
    rows = read_jsonl(out)
    assert err.strip() == "exported 7 rows"
    # oldest rating first; the comment on "Lyon" was its latest change
    assert [r["response"] for r in rows] == ["Hello!", "Paris", "Roses are red",
                                             "Violets are blue", "Once upon", "ok", "Lyon"]
    lyon = rows[6]
    assert (lyon["prompt"], lyon["rating"], lyon["scale"], lyon["score"], lyon["comment"],
            lyon["tags"], lyon["model"], lyon["version"], lyon["versions"],
            lyon["system_prompt"], lyon["settings"]) == (
        "Capital of France?", 0, "thumbs", 0.0, "Wrong city", ["Wrong"], "m1", 1, 2, SYSTEM,
        {"temperature": 0.5})
    assert (rows[3]["rating"], rows[3]["score"], rows[4]["status"]) == (5, 1.0, "stopped")
    out, _ = export(db_url, tmp_path, "csv")
    with out.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["response"] for r in table] == [r["response"] for r in rows]
    assert json.loads(table[6]["tags"]) == ["Wrong"]


def test_parquet_has_typed_columns(store, hand_built, db_url, tmp_path):
    out, err = export(db_url, tmp_path, "parquet")
    assert err.strip() == "exported 7 rows"
    table = pq.read_table(out)
    schema = table.schema
    assert schema.field("rating").type == pa.int8()
    assert schema.field("score").type == pa.float64()
    assert schema.field("tags").type == pa.list_(pa.string())
    assert schema.field("rated_at").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    jsonl = read_jsonl(export(db_url, tmp_path, "jsonl")[0])
    for got, want in zip(rows, jsonl, strict=True):
        assert got["message_id"] == want["message_id"]
        assert got["rating"] == want["rating"] and got["tags"] == want["tags"]
        assert json.loads(got["settings"]) == want["settings"]
        assert got["rated_at"].isoformat() == want["rated_at"]
        assert got["created_at"] == datetime.fromisoformat(want["created_at"])
        assert got["trace_id"] == want["trace_id"]
    assert [r["trace_id"] for r in rows if r["trace_id"]] == ["req_paris"]  # the answer's


def test_parquet_is_the_same_whatever_the_batch_size(store, hand_built, tmp_path):
    whole, small = tmp_path / "whole.parquet", tmp_path / "small.parquet"
    assert write_parquet(iter_rated_answer_batches(store), whole) == 7
    assert write_parquet(iter_rated_answer_batches(store, batch=2), small) == 7
    assert pq.ParquetFile(small).metadata.num_row_groups == 4
    assert pq.read_table(small).equals(pq.read_table(whole))
    assert pq.read_table(whole).column("tags").to_pylist() == [[]] * 6 + [["Wrong"]]


def test_parquet_reads_one_snapshot(store, hand_built, tmp_path):
    """Ratings changed while the export runs do not show up in it, not even in batches
    read after the change: the export is one query, one read transaction."""
    before = tmp_path / "before.parquet"
    write_parquet(iter_rated_answer_batches(store), before)
    batches = iter_rated_answer_batches(store, batch=2)
    first = next(batches)
    store.rate(hand_built["ok"], 0, scale="thumbs")    # would move to the end
    store.annotate(hand_built["hello"], comment="late")
    during = tmp_path / "during.parquet"
    write_parquet([first, *batches], during)
    assert pq.read_table(during).equals(pq.read_table(before))


@pytest.mark.parametrize("window", [("--model", "m2"), ("--until", "2000-01-01"),
                                    ("--since", "2000-01-01", "--model", "m1")])
def test_parquet_filters_like_jsonl(store, hand_built, db_url, tmp_path, window):
    out, err = export(db_url, tmp_path, "parquet", *window)
    ids = [r["message_id"] for r in read_jsonl(export(db_url, tmp_path, "jsonl", *window)[0])]
    assert pq.read_table(out).column("message_id").to_pylist() == ids
    assert err.strip() == f"exported {len(ids)} rows"


def test_datasets_reads_the_exports_as_they_are(store, hand_built, db_url, tmp_path,
                                                monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from datasets import load_dataset

    cache = str(tmp_path / "hf-cache")
    kto = load_dataset("json", data_files=str(export(db_url, tmp_path, "kto")[0]),
                       split="train", cache_dir=cache)
    assert kto.column_names == ["prompt", "completion", "label"]
    assert kto.to_list() == KTO
    dpo = load_dataset("json", data_files=str(export(db_url, tmp_path, "dpo")[0]),
                       split="train", cache_dir=cache)
    assert dpo.to_list() == DPO
    jsonl = load_dataset("json", data_files=str(export(db_url, tmp_path, "jsonl")[0]),
                         split="train", cache_dir=cache)
    assert jsonl.num_rows == 7 and jsonl[6]["comment"] == "Wrong city"
    parquet = load_dataset("parquet", data_files=str(export(db_url, tmp_path, "parquet")[0]),
                           split="train", cache_dir=cache)
    assert parquet.num_rows == 7
    assert parquet.features["rating"].dtype == "int8"
    assert parquet[1]["response"] == "Paris" and parquet[6]["tags"] == ["Wrong"]


def test_training_export_streams_without_a_file(store, hand_built):
    out = io.StringIO()
    summary = write_training(store, "kto", out)
    assert [json.loads(x) for x in out.getvalue().splitlines()] == KTO
    assert (summary.rows, summary.positives, summary.negatives) == (4, 3, 1)


@pytest.mark.parametrize("positives, negatives, weights", [
    (100, 30, (1.0, 3.33)), (30, 100, (3.34, 1.0)), (50, 50, (1.0, 1.0)), (5, 0, None)])
def test_kto_weights_follow_trl_advice(positives, negatives, weights):
    summary = Summary("kto", positives=positives, negatives=negatives)
    assert summary.weights() == weights
    if weights:
        desirable, undesirable = weights
        assert 1 <= desirable * positives / (undesirable * negatives) <= 4 / 3


def test_parquet_refuses_a_terminal_and_bad_paths(store, db_url, tmp_path):
    result = CliRunner().invoke(main, ["export", "--format", "parquet", "-o",
                                       str(tmp_path / "missing" / "x.parquet"), "--db", db_url])
    assert result.exit_code == 2
    assert result.output.startswith("Error: cannot write")


def test_parquet_read_by_child_processes_equals_the_in_process_read(db_url, tmp_path):
    """On SQLite two ADBC readers share the export slice by slice (a slice is a run of
    days, here about 150 ratings): the file is the one the in-process reader writes,
    whole and under each filter."""
    from chatfeedback import demo
    from chatfeedback.export import export_parquet
    from chatfeedback.store.columns import slice_starts

    store = Store.open(db_url)
    demo.fill(store, 3000, seed=4, weeks=3, end=T0)
    if store.engine.dialect.name == "sqlite":
        assert len(slice_starts(store, rows=150)) > 6
    for window in (Filters(), Filters(model="echo"), Filters(since=T0 - timedelta(days=9),
                                                             until=T0 - timedelta(days=2))):
        children, here = tmp_path / "children.parquet", tmp_path / "here.parquet"
        count = export_parquet(store, children, window, rows=150)
        assert write_parquet(iter_rated_answer_batches(store, window), here) == count > 0
        assert pq.read_table(children).equals(pq.read_table(here))
    store.close()


def test_a_reader_that_fails_says_why_in_one_line(store, hand_built, db_url, tmp_path):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the reader processes read SQLite files")
    with store.engine.begin() as conn:  # a column the export reads is gone
        conn.exec_driver_sql("ALTER TABLE messages DROP COLUMN ttft_ms")
    result = CliRunner().invoke(main, ["export", "--format", "parquet", "-o",
                                       str(tmp_path / "x.parquet"), "--db", db_url])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: the export could not read the database: ")
    assert "no such column" in line and "ttft_ms" in line


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "events", "kto"])
def test_a_database_error_while_streaming_is_one_line(store, hand_built, db_url, tmp_path,
                                                      fmt):
    """The rows are read while they are written: an error then is the CLI's one line and
    exit code 2, not a traceback."""
    with store.engine.begin() as conn:  # tables the exports read are gone
        conn.exec_driver_sql("ALTER TABLE messages RENAME TO gone_messages")
        conn.exec_driver_sql("ALTER TABLE rating_events RENAME TO gone_events")
    result = CliRunner().invoke(main, ["export", "--format", fmt, "-o",
                                       str(tmp_path / "out"), "--db", db_url])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: database error on {store.url}: ")
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith("feedback.db")]


EDGE = datetime(2026, 11, 2, tzinfo=UTC)  # --since 2026-11-02 --until 2026-11-03 (UTC)


@pytest.fixture
def around_the_edges(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Four answers whose rating times sit on the edges of 2026-11-02..2026-11-03, each
    created on the other side of an edge from its rating (the filter is by rating time)."""
    monkeypatch.setenv("TZ", "UTC")  # the CLI reads a plain date in local time
    time.tzset()
    conv = store.create_conversation(model="m1", training_consent=True,
                                     created_at=EDGE - timedelta(days=5)).id
    ids = {}
    for name, created, rated in (
            ("at since", EDGE - timedelta(days=3), EDGE),
            ("before since", EDGE - timedelta(hours=12), EDGE - timedelta(microseconds=1)),
            ("on until day", EDGE + timedelta(days=1, hours=9),
             EDGE + timedelta(days=2, microseconds=-1)),
            ("after until day", EDGE + timedelta(days=1, hours=12), EDGE + timedelta(days=2))):
        prompt = store.add_message(conv, "user", f"{name}?", created_at=created).id
        ids[name] = store.add_message(conv, "assistant", name, parent_id=prompt, model="m1",
                                      created_at=created).id
        store.rate(ids[name], 1, scale="thumbs", at=rated)
    yield ids
    monkeypatch.delenv("TZ")
    time.tzset()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "kto", "sft"])
def test_date_filters_keep_the_until_day_and_nothing_before_since(store, around_the_edges,
                                                                   db_url, tmp_path, fmt):
    """--since 2026-11-02 --until 2026-11-03: a rating at 2026-11-03 23:59:59.999999 is in,
    one at 2026-11-02 00:00 is in, one a microsecond before it is out, one at 2026-11-04
    00:00 is out; by when the rating was given, whatever the answer's own time."""
    out, _ = export(db_url, tmp_path, fmt, "--since", "2026-11-02", "--until", "2026-11-03")
    if fmt == "parquet":
        answers = pq.read_table(out).column("response").to_pylist()
    elif fmt == "csv":
        with out.open(newline="") as fh:
            answers = [r["response"] for r in csv.DictReader(fh)]
    else:
        rows = read_jsonl(out)
        answers = [r.get("response") or (r.get("completion") or r.get("messages"))[-1]["content"]
                   for r in rows]
    assert answers == ["at since", "on until day"]


def test_no_dpo_pair_of_equal_texts_on_demo_data(store, db_url, tmp_path):
    """`chatfeedback demo` regenerates some answers into the same text, rated differently:
    such pairs are left out of dpo and counted; kto and sft leave out exact duplicates."""
    result = CliRunner().invoke(main, ["demo", "--responses", "20000", "--seed", "1",
                                       "--db", db_url])
    assert result.exit_code == 0, result.output
    out, err = export(db_url, tmp_path, "dpo")
    rows = read_jsonl(out)
    assert rows
    assert not [r for r in rows if r["chosen"][0]["content"].split()
                == r["rejected"][0]["content"].split()]
    dropped = re.search(r"([\d,]+) pairs whose chosen and rejected texts are the same", err)
    assert dropped and int(dropped[1].replace(",", "")) > 0
    assert f"dpo: {len(rows):,} rows, {len(rows):,} pairs" in err
    for fmt in ("kto", "sft"):
        out, err = export(db_url, tmp_path, fmt)
        lines = out.read_text().splitlines()
        assert len(set(lines)) == len(lines)
        dropped = re.search(r"([\d,]+) duplicate rows", err)
        assert dropped and int(dropped[1].replace(",", "")) > 0
        assert err.startswith(f"{fmt}: {len(lines):,} rows")


def test_duplicates_and_same_text_pairs_are_left_out_and_counted(store, db_url, tmp_path):
    """Two identical imported conversations rated alike give one kto and one sft row; two
    versions whose texts differ only in whitespace, rated differently, give no dpo pair,
    while a real pair beside them stays."""
    for _ in range(2):
        conv = store.import_conversation([("user", "Hi"), ("assistant", "Hello!")])
        store.set_training_consent(conv.id, True)
        hello = next(m for m in store.messages(conv.id) if m.role == "assistant")
        store.rate(hello.id, 1, scale="thumbs")
    conv = store.create_conversation(training_consent=True).id
    prompt = store.add_message(conv, "user", "Capital?").id
    for text, value in (("Paris.", 1), ("  Paris.\n", 0), ("Lyon.", 0)):
        answer = store.add_message(conv, "assistant", text, parent_id=prompt)
        store.rate(answer.id, value, scale="thumbs")
    out, err = export(db_url, tmp_path, "dpo")
    assert [(r["chosen"][0]["content"], r["rejected"][0]["content"])
            for r in read_jsonl(out)] == [("Paris.", "Lyon.")]
    assert "1 pairs whose chosen and rejected texts are the same" in err
    out, err = export(db_url, tmp_path, "kto")
    assert [r["completion"][0]["content"] for r in read_jsonl(out)].count("Hello!") == 1
    assert "1 duplicate rows" in err and err.startswith("kto: 4 rows, 2 positives, 2 negatives")
    out, err = export(db_url, tmp_path, "sft")
    assert [r["messages"][-1]["content"] for r in read_jsonl(out)] == ["Hello!", "Paris."]
    assert "1 duplicate rows" in err
