"""``chatfeedback run``'s process while ``[[sinks]]`` are configured: the delivery worker
(outbox/worker.py) in background threads, then Streamlit's own command line in the same
process, so that stopping or killing the app stops its worker too and a restart resumes
delivery at once (nothing waits for a first page view)."""

from __future__ import annotations

import atexit
import logging


def main() -> None:
    from chatfeedback.config import load_settings
    from chatfeedback.outbox.worker import from_settings
    from chatfeedback.store import Store

    # as `chatfeedback run` set them: CHATFEEDBACK_CONFIG and CHATFEEDBACK_DATABASE_URL
    settings = load_settings()
    logging.getLogger("chatfeedback.outbox").setLevel(logging.INFO)
    worker = from_settings(settings, Store.open(settings.database_url)).start()
    # a clean stop (SIGTERM, Ctrl-C) hands the lead over at once: no replica waits for
    # the lease to expire (after SIGKILL it does, up to [outbox] lease seconds on SQLite)
    atexit.register(worker.stop, timeout=5)
    from streamlit.web import cli

    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
