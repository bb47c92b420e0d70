"""Running the commands a user types, and a local stand-in for the Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .repo import REPO

TRAIN = str(REPO / "recipes" / "train.py")
EVAL = str(REPO / "recipes" / "eval.py")


def offline_env(tmp_path, **extra: str) -> dict[str, str]:
    """The environment of a command run on a machine without network: an empty Hub cache of its own, no
    token, no GPU, and the checkout under test first on the path."""
    env = {key: value for key, value in os.environ.items() if key not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"), CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(REPO),
               OMP_NUM_THREADS="1", **extra)
    return env


def run(argv: list[str], env: dict[str, str], cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``argv`` as a user would, with a umask of 022; the output as text."""
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
                          preexec_fn=lambda: os.umask(0o022))


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def output(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in output(done), output(done)[-4000:]


class _FakeHub(BaseHTTPRequestHandler):
    """Answers the reachability probe and the repository creation; refuses every upload (403)."""

    def _reply(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):  # noqa: N802
        self._reply(200)

    def do_GET(self):  # noqa: N802
        self._reply(200 if self.path == "/" else 403, {"error": "refused by the test Hub"})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/api/repos/create":
            name = f"{body.get('organization') or 'me'}/{body['name']}"
            self._reply(200, {"url": f"http://{self.headers['Host']}/{name}", "name": name})
        else:
            self._reply(403, {"error": "uploads are refused by the test Hub"})

    def log_message(self, *args):
        pass


@contextmanager
def fake_hub():
    """A Hub on 127.0.0.1 that lets a run create its repository and refuses the upload: its endpoint URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
