"""The Export page's privacy options: a redacted, rater-hashed download, built by the same
filter as ``chatfeedback export --redact --hash-raters --hash-salt`` (export/private.py),
with the counts per kind shown before the download."""

from __future__ import annotations

import json

import pytest

from chatfeedback.export.private import Privacy
from chatfeedback.store import Store
from chatfeedback.ui import keys

from .test_access import open_page

PROMPT = "Mail ann@example.org or call +49 30 1234 5678, key sk-abcdefghijklmnopqrstuv123"
ANSWER = "Noted: I will write to ann@example.org from 10.0.0.7."


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the page offers for download in AppTest, by their URL. AppTest keeps them
    in a MemoryMediaFileStorage of its own for the length of a run; this records each file
    it is given (nothing else changes), so a test can read what a click would download."""
    from streamlit.runtime import memory_media_file_storage
    from streamlit.testing.v1 import app_test

    files: dict[str, bytes] = {}

    class Recording(memory_media_file_storage.MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
            file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
            files[self.get_url(file_id)] = self.get_file(file_id).content
            return file_id

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    return files


def rated(db_url: str) -> str:
    store = Store.open(db_url)
    conv = store.create_conversation(model="echo", training_consent=True)
    user = store.add_message(conv.id, "user", PROMPT)
    answer = store.add_message(conv.id, "assistant", ANSWER, parent_id=user.id, model="echo")
    store.rate(answer.id, 1, scale="thumbs", actor="rater@example.org")
    store.close()
    return answer.id


def test_a_redacted_download_with_hashed_raters(make_app, db_url, downloads):
    answer_id = rated(db_url)
    at = make_app()
    open_page(at, "Export")
    assert not at.exception
    assert len(at.download_button) == 10  # every format, unredacted, as before

    at.toggle(key=keys.EXPORT_REDACT).set_value(True)
    at.toggle(key=keys.EXPORT_HASH).set_value(True).run()  # the salt box opens
    at.text_input(key=keys.EXPORT_SALT).set_value("team-salt")
    at.selectbox(key=keys.EXPORT_FORMAT).set_value("jsonl").run()
    assert len(at.download_button) == 0  # nothing to download before it is prepared
    at.button(key=keys.EXPORT_PREPARE).click().run()
    assert not at.exception

    summary = at.success[0].value
    assert "exported 1 rows" in summary
    assert "redacted 1 KEY, 2 EMAIL, 1 IP, 1 PHONE" in summary
    assert "raters hashed with HMAC-SHA256" in summary
    counts = {m.label: m.value for m in at.metric}
    assert counts == {"[KEY]": "1", "[EMAIL]": "2", "[IBAN]": "0", "[CARD]": "0", "[IP]": "1",
                      "[PHONE]": "1"}

    button = at.download_button(key=keys.export("private"))
    data = downloads[button.proto.url]
    [row] = [json.loads(line) for line in data.decode().splitlines()]
    assert row["message_id"] == answer_id
    assert row["prompt"] == "Mail [EMAIL] or call [PHONE], key [KEY]"
    assert row["response"] == "Noted: I will write to [EMAIL] from [IP]."
    assert row["rater"] == Privacy(hash_raters=True, salt="team-salt").rater("rater@example.org")
    assert "example.org" not in data.decode()

    # Another format is another file: its counts are not shown for the jsonl one.
    at.selectbox(key=keys.EXPORT_FORMAT).set_value("csv").run()
    assert len(at.download_button) == 0 and len(at.metric) == 0
