"""The tests' name for :mod:`harness.support` (the helpers the benchmarks share)."""

from harness.support import (
    CHROMIUM_ARGS,
    NGINX_SITE,
    REVIEW_SETTINGS,
    VENV_BIN,
    Nginx,
    Server,
    chromium_path,
    echo_models,
    free_port,
    nginx_binary,
    pumping,
    rated_answers,
    running,
    send_prompt,
    signin_app,
    wait_for_app,
    wait_until,
    write_config,
)

__all__ = ["CHROMIUM_ARGS", "NGINX_SITE", "REVIEW_SETTINGS", "VENV_BIN", "Nginx", "Server",
           "chromium_path", "echo_models", "free_port", "nginx_binary", "pumping", "rated_answers",
           "running", "send_prompt", "signin_app", "wait_for_app", "wait_until", "write_config"]
