"""Helpers shared by tests and benchmarks: config files, a running server, a browser."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def echo_models(*names: str, prompts: dict[str, str] | None = None) -> str:
    """Settings text: a [[models]] entry per name, each the echo backend without delay;
    ``prompts`` gives some of them a system prompt."""
    out = ""
    for name in names:
        out += f'\n[[models]]\nname = "{name}"\nbackend = "echo"\ndelay = 0.0\n'
        if prompts and name in prompts:
            out += f'system_prompt = "{prompts[name]}"\n'
    return out


# Settings text for review: an admin, two reviewers, and a scale and a choice criterion.
REVIEW_SETTINGS = """
[access]
admins = ["lead@example.org"]
reviewers = ["ann@example.org", "bob@example.org"]
[[criteria]]
name = "correct"
kind = "scale"
description = "Is every statement true?"
[[criteria]]
name = "tone"
kind = "choice"
options = ["too formal", "right", "too casual"]
"""


def write_config(path: Path, text: str = "") -> Path:
    """A settings file; without [[models]] it uses a fast echo model."""
    if "[[models]]" not in text:
        text += '\n[[models]]\nname = "echo"\nbackend = "echo"\ndelay = 0.0\n'
    path.write_text(text, encoding="utf-8")
    return path


def signin_app(folder: Path, provider: str) -> tuple[int, str]:
    """A free port and the app's address on it, with ``folder/.streamlit/secrets.toml`` set up
    to sign in through the OpenID Connect provider at ``provider`` (the local test provider).
    Start the app with its working folder there, on the port returned."""
    port = free_port()
    app_url = f"http://localhost:{port}/"
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(f"""
[auth]
redirect_uri = "{app_url}oauth2callback"
cookie_secret = "a-test-cookie-secret-of-some-length"
client_id = "chatfeedback"
client_secret = "test-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    return port, app_url


def chromium_path() -> str | None:
    """Debian's chromium when present (or $CHATFEEDBACK_CHROMIUM); None = Playwright's own."""
    explicit = os.environ.get("CHATFEEDBACK_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Server:
    """``chatfeedback run`` in a subprocess on a free port."""

    def __init__(self, db_url: str, config: Path | None = None, port: int | None = None,
                 env: dict[str, str] | None = None, log: Path | None = None) -> None:
        self.db_url, self.config = db_url, config
        self.port = port or free_port()
        self.env = dict(os.environ, **(env or {}))
        self.env.pop("CHATFEEDBACK_CONFIG", None)
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        cmd = [str(VENV_BIN / "chatfeedback"), "run", "--port", str(self.port),
               "--db", self.db_url]
        if self.config:
            cmd += ["--config", str(self.config)]
        return cmd

    def start(self, timeout: float = 60) -> Server:
        # the child writes to its own copy of the log's descriptor: ours is closed at once
        with (open(self.log_path, "ab") if self.log_path
              else nullcontext(subprocess.DEVNULL)) as out:
            self.proc = subprocess.Popen(self.command(), env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        proc = self.proc

        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=2) as r:
                    return r.read() == b"ok"
            except OSError:
                return False

        wait_until(healthy, timeout, every=0.2, what=f"the server on port {self.port} to "
                   "answer its health check")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (every thread, ended ones included)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def running(db_url: str, config: Path | None = None, **kw: object) -> Iterator[Server]:
    server = Server(db_url, config, **kw).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------- page helpers
def wait_for_app(page: object, timeout: float = 30_000) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.wait_for_timeout(150)  # type: ignore[attr-defined]
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']") \
        .wait_for(timeout=timeout)  # type: ignore[attr-defined]
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']") \
        .wait_for(timeout=timeout)  # type: ignore[attr-defined]


def send_prompt(page: object, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")  # type: ignore[attr-defined]
    box.fill(text)
    box.press("Enter")
    page.wait_for_timeout(200)  # type: ignore[attr-defined]
    wait_for_app(page)


# ------------------------------------------------------------------ nginx in front
NGINX_SITE = Path(__file__).resolve().parents[1] / "deploy" / "nginx-chatfeedback.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if not found:
        raise RuntimeError("nginx not found: install Debian's 'nginx' package "
                           "(make system-deps does it as root)")
    return found


class Nginx:
    """nginx (not a daemon) with deploy/nginx-chatfeedback.conf, its replicas and port
    replaced, in a temp dir; the access log records each request's route and replica."""

    def __init__(self, workdir: Path, replica_ports: list[int], port: int | None = None) -> None:
        self.dir, self.port = workdir, port or free_port()
        self.dir.mkdir(parents=True, exist_ok=True)
        site = NGINX_SITE.read_text()
        servers = "".join(f"    server 127.0.0.1:{p};\n" for p in replica_ports)
        site = site.replace("    server 127.0.0.1:8501;   # one line per `chatfeedback run "
                            "--port N`\n    server 127.0.0.1:8502;\n", servers)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        assert servers in site and f"127.0.0.1:{self.port}" in site, "site template changed"
        (self.dir / "chatfeedback.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format route '$chatfeedback_route $upstream_addr $status $request_uri';
    access_log {self.dir}/access.log route;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    include {self.dir}/chatfeedback.conf;
}}
""")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def command(self, *extra: str) -> list[str]:
        return [nginx_binary(), "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                "-e", str(self.dir / "error.log"), *extra]

    def start(self, timeout: float = 20) -> Nginx:
        subprocess.run(self.command("-t", "-q"), check=True, capture_output=True)
        self.proc = subprocess.Popen(self.command("-g", "daemon off;"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc = self.proc

        def answering() -> bool:
            if proc.poll() is not None:
                raise RuntimeError("nginx exited: " + (self.dir / "error.log").read_text())
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=2) as r:
                    r.read()
                return True
            except OSError:
                return False

        wait_until(answering, timeout, every=0.1, what="nginx to answer")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def routes(self) -> list[tuple[str, str, str]]:
        """(route cookie, replica address, path) of every request so far."""
        lines = (self.dir / "access.log").read_text().splitlines()
        return [(p[0], p[1], p[3]) for p in (line.split(" ") for line in lines) if len(p) >= 4]

    def route_to(self, replica_port: int, tries: int = 64) -> str:
        """A route cookie value that nginx sends to the replica on ``replica_port``."""
        for i in range(tries):
            key = f"probe{i}"
            req = urllib.request.Request(self.url + f"_stcore/health?probe={key}",
                                         headers={"Cookie": f"chatfeedback_route={key}"})
            urllib.request.urlopen(req, timeout=5).read()

        def leading() -> str | None:
            logged = [(key, upstream) for key, upstream, _ in self.routes()
                      if key.startswith("probe")]
            for key, upstream in logged:
                if upstream.endswith(f":{replica_port}"):
                    return key
            if len(logged) >= tries:
                raise RuntimeError(f"no route cookie leads to port {replica_port}")
            return None

        # the access log is written after each response
        return wait_until(leading, timeout=30, every=0.1,
                          what=f"the access log to show the {tries} probes")


def rated_answers(db_url: str) -> list:
    """Every stored answer of every conversation with its rating (None if unrated), in
    order: what a test reads back after clicks in a chat."""
    from chatfeedback.store import Store
    store = Store.open(db_url)
    try:
        return [(m, store.rating(m.id)) for c in store.list_conversations()
                for m in store.messages(c.id) if m.role == "assistant"]
    finally:
        store.close()


def wait_until(condition: Callable[[], Any], timeout: float = 60, every: float = 0.05,
               what: str | Callable[[], object] = "the condition",
               sleep: Callable[[float], object] = time.sleep) -> Any:
    """Poll ``condition`` until it is truthy (returned) or ``timeout`` seconds pass
    (AssertionError naming ``what``; a callable ``what`` is asked then, so the message can
    show the state that was waited on). ``condition`` may raise to give up early (a process
    that died). ``sleep``: how to pause between polls (``pumping(page)`` for a browser)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            named = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {named}")
        sleep(every)


def pumping(page: Any) -> Callable[[float], None]:
    """A pause for :func:`wait_until` that lets Playwright deliver the page's events (its
    sync API dispatches them only inside its own calls: ``time.sleep`` holds them back)."""
    return lambda seconds: page.wait_for_timeout(seconds * 1000)
