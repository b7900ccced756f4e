"""The tests' name for :mod:`harness.support` (the helpers the benchmarks share)."""

from harness.support import (CHROMIUM_ARGS, NGINX_SITE, VENV_BIN, Nginx, Server, chromium_path,
                             free_port, nginx_binary, running, send_prompt, signin_app,
                             wait_for_app, write_config)

__all__ = ["CHROMIUM_ARGS", "NGINX_SITE", "VENV_BIN", "Nginx", "Server", "chromium_path",
           "free_port", "nginx_binary", "running", "send_prompt", "signin_app",
           "wait_for_app", "write_config"]
