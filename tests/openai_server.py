"""The tests' name for :mod:`harness.openai_server` (the benchmarks run it too)."""

from harness.openai_server import OpenAIServer, Recorded, Script, Unaccepting, refusing_url

__all__ = ["OpenAIServer", "Recorded", "Script", "Unaccepting", "refusing_url"]
