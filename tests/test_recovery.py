"""Answers cut off by a crash: saved every second while streaming (even while the model is
silent), and marked interrupted once no server has saved them for STALE_AFTER seconds."""

import threading
from datetime import timedelta
from typing import ClassVar

import pytest

from chatfeedback.backends import Backend
from chatfeedback.chat import STALE_AFTER
from chatfeedback.store.store import now

from .support import wait_until

pytestmark = pytest.mark.all_databases


class Thinking(Backend):
    """Silent until the test lets it answer (a model thinking or queued)."""

    options: ClassVar = {"delay": (int, float)}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.answer = threading.Event()

    def stream(self, messages, generation):
        assert self.answer.wait(60), "the test never let the model answer"
        yield "done"


def test_a_silent_model_is_still_saved_every_second(make_service):
    svc = make_service()
    thinking = Thinking(svc.settings.model("echo"))
    svc._backends["echo"] = thinking
    turn = svc.send(None, "think hard")
    reply = svc.reply(turn.answer)
    worker = threading.Thread(target=lambda: list(reply))
    worker.start()
    try:  # saved again and again although the model has said nothing yet
        def saved_again():  # the answer, once a save came 1.5 s after its start
            answer = svc.store.message(turn.answer.id)
            late = answer.updated_at - turn.answer.created_at >= timedelta(seconds=1.5)
            return answer if late else None

        during = wait_until(saved_again, timeout=30, what=lambda: "a save 1.5 s after the "
                            f"start (stored: {svc.store.message(turn.answer.id)})")
        assert (during.status, during.content) == ("streaming", "")
    finally:
        thinking.answer.set()
        worker.join(60)
    final = svc.store.message(turn.answer.id)
    assert (final.status, final.content) == ("complete", "done")
    for saver in [t for t in threading.enumerate() if t.name == f"save-{turn.answer.id}"]:
        saver.join(60)  # the periodic saver has ended: nothing overwrites the final save
        assert not saver.is_alive()
    assert svc.store.message(turn.answer.id) == final


def test_a_page_recovers_only_answers_that_no_server_saves(make_service):
    svc = make_service()
    conv = svc.new_conversation()
    store = svc.store
    q1 = store.add_message(conv.id, "user", "crashed")
    dead = store.add_message(conv.id, "assistant", "half an ans", parent_id=q1.id,
                             status="streaming",
                             created_at=now() - timedelta(seconds=STALE_AFTER + 2))
    q2 = store.add_message(conv.id, "user", "live")
    live = store.add_message(conv.id, "assistant", "still go", parent_id=q2.id,
                             status="streaming")
    shown = svc.recover_stale(store.messages(conv.id))
    by_id = {m.id: m for m in shown}
    assert by_id[dead.id].status == "error" and "interrupted" in by_id[dead.id].error
    assert by_id[dead.id].content == "half an ans"
    assert by_id[live.id].status == "streaming"
    assert store.message(dead.id).status == "error"
    assert store.message(live.id).status == "streaming"
    assert svc.recover_stale(shown) == shown  # nothing more to do
