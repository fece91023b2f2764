"""Fake HTTP services on 127.0.0.1 for the tests: Anthropic's usage endpoint
(what the daemon polls), Ollama's model list and chat API, and Anthropic's
Messages API (what the cascade examples call). Each checks the headers the
real one needs and records what it was sent, so a test can prove where a
prompt went and, as important, where it did not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

Reply = Tuple[int, Dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the fake that owns the server."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeServer = self.server.fake  # type: ignore[attr-defined]
        status, payload = fake.record(self.command, self.path, dict(self.headers), body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in fake.reply_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keeps pytest's output to the failures."""


class FakeServer:
    """A JSON-over-HTTP fake served from a thread; subclasses answer in
    ``handle`` and every request is kept in ``requests``."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        #: Headers sent with every reply (e.g. Anthropic's rate-limit headers).
        self.reply_headers: Dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        """The base URL to hand to the daemon or the examples."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stops serving; the port then refuses connections."""
        self._server.shutdown()
        self._server.server_close()

    def record(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Reply:
        """Keeps the request, then answers it."""
        parsed = json.loads(body) if body else None
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": lowered, "json": parsed})
            return self.handle(method, path, lowered, parsed)

    def handle(self, method: str, path: str, headers: Dict[str, str], body: Any) -> Reply:
        """Answers one request; called with the lock held."""
        raise NotImplementedError

    def posts(self, path: str) -> List[Dict[str, Any]]:
        """The bodies POSTed to ``path``, in order."""
        with self._lock:
            return [r["json"] for r in self.requests if r["method"] == "POST" and r["path"] == path]


class FakeUsageApi(FakeServer):
    """Anthropic's ``GET /api/oauth/usage`` as the field serves it (tests/fixtures/usage/)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.body = usage_body(10.0, 20.0)
        self.failing = False
        super().__init__()

    def set_usage(self, five_hour: float, seven_day: Optional[float] = 20.0) -> None:
        """Serves these utilizations from the next poll on."""
        with self._lock:
            self.body = usage_body(five_hour, seven_day)

    def fail(self) -> None:
        """Answers 503 from now on, so only pushed readings change the daemon's."""
        with self._lock:
            self.failing = True

    def handle(self, method: str, path: str, headers: Dict[str, str], body: Any) -> Reply:
        if (method, path) != ("GET", "/api/oauth/usage"):
            return 404, {"error": "not found"}
        if self.failing:
            return 503, {"error": "overloaded"}
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "invalid token"}
        if headers.get("anthropic-beta") != "oauth-2025-04-20":
            return 400, {"error": "missing anthropic-beta"}
        return 200, self.body


def usage_body(five_hour: float, seven_day: Optional[float]) -> Dict[str, Any]:
    """A reply of the real endpoint's shape."""
    return {
        "five_hour": _window(five_hour, timedelta(hours=2)),
        "seven_day": None if seven_day is None else _window(seven_day, timedelta(days=3)),
        "seven_day_opus": None,
        "seven_day_sonnet": {"utilization": 1.0, "resets_at": None},
        "extra_usage": {"is_enabled": False, "monthly_limit": None, "used_credits": None, "utilization": None},
    }


def _window(utilization: float, ahead: timedelta) -> Dict[str, Any]:
    # Always ahead: a window past its reset counts as 0 % in the daemon.
    resets_at = datetime.now(timezone.utc) + ahead
    return {"utilization": utilization, "resets_at": resets_at.isoformat()}


class FakeOllama(FakeServer):
    """Ollama's ``GET /api/tags`` and non-streaming ``POST /api/chat``."""

    REPLY = "local answer from the fake Ollama"

    def __init__(self, models: Tuple[str, ...] = ("qwen3:14b", "qwen3:8b")) -> None:
        self.models = list(models)
        super().__init__()

    def handle(self, method: str, path: str, headers: Dict[str, str], body: Any) -> Reply:
        if (method, path) == ("GET", "/api/tags"):
            return 200, {"models": [{"name": m, "model": m, "size": 1, "digest": "d", "details": {}} for m in self.models]}
        if (method, path) == ("POST", "/api/chat"):
            if body.get("stream") is not False or not body.get("messages"):
                return 400, {"error": "expected stream: false and messages"}
            return 200, {
                "model": body["model"],
                "message": {"role": "assistant", "content": self.REPLY},
                "done": True,
            }
        return 404, {"error": "not found"}


class FakeAnthropic(FakeServer):
    """Anthropic's ``POST /v1/messages``, accepting one API key (``x-api-key``)
    or one OAuth token (``Authorization: Bearer``)."""

    REPLY = "cloud answer from the fake Anthropic"
    KEY = "sk-ant-api03-fake-key"

    def handle(self, method: str, path: str, headers: Dict[str, str], body: Any) -> Reply:
        if (method, path) != ("POST", "/v1/messages"):
            return 404, {"type": "error", "error": {"type": "not_found_error"}}
        authorized = headers.get("x-api-key") == self.KEY or headers.get("authorization") == f"Bearer {self.KEY}"
        if not authorized:
            return 401, {"type": "error", "error": {"type": "authentication_error"}}
        if headers.get("anthropic-version") != "2023-06-01" or not body.get("max_tokens"):
            return 400, {"type": "error", "error": {"type": "invalid_request_error"}}
        return 200, {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": self.REPLY}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 7},
        }
