"""The delivery outbox: rating events sent on to webhooks, Langfuse and OpenTelemetry.

``base.py`` (the event, the sink contract, a sink's settings), ``registry.py`` (kind to
module, imported lazily), ``worker.py`` (the delivery loop), one module per sink kind
(``webhook.py``, ``langfuse.py``, ``otel.py``). The outbox table's SQL is store/outbox.py's.
"""
