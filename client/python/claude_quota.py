"""A client for claude-quotad, the daemon that tells AI-agent routers whether a
task may spend the Claude subscription or must stay on a local model.

Standard library only (Python 3.9+), so a router can vendor this one file.
Ask before every model call; answers come from the daemon's memory in
microseconds::

    import claude_quota

    choice = claude_quota.route("high", "medium")
    if choice.provider == "anthropic":
        ...  # send the prompt to Claude, model choice.model
    else:
        ...  # send it to Ollama, model choice.model

``route`` never raises for a missing or failing daemon: it answers local,
because spending the subscription on a guess is the one unsafe answer. Use
``Client`` for the full protocol (status, decisions, subscriptions), and
``Client.ingest_headers(response.headers)`` after each of your own Claude
calls to keep the daemon's reading fresh without a poll.

The wire protocol (version 1): each frame is a 4-byte big-endian length, then
that many bytes of UTF-8 JSON, at most 64 KiB; every message has a ``"type"``.
"""

from __future__ import annotations

import json
import os
import socket as _socket
import struct
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Mapping, Optional

__all__ = [
    "PROTOCOL_VERSION",
    "TASK_VALUES",
    "TASK_COMPLEXITIES",
    "DEFAULT_TIMEOUT",
    "ClaudeQuotaError",
    "DaemonUnreachable",
    "WrongOwner",
    "ProtocolError",
    "BadRequest",
    "DaemonError",
    "Client",
    "Route",
    "route",
    "default_socket_path",
    "reading_from_headers",
]

__version__ = "0.1.0"

#: The protocol version this client speaks; the daemon refuses any other.
PROTOCOL_VERSION = 1

#: The largest frame either side accepts, in bytes of JSON.
MAX_FRAME_LEN = 64 * 1024

#: How much a task is worth, from "worth the cloud" to "never the cloud".
TASK_VALUES = ("critical", "high", "medium", "low", "routine")

#: How hard a task is, which decides how large a model it needs.
TASK_COMPLEXITIES = ("high", "medium", "low")

#: Seconds a request may wait for its answer. Answers come from memory;
#: only ``refresh`` waits on the network.
DEFAULT_TIMEOUT = 15.0

#: The environment variable that overrides the socket path everywhere.
SOCKET_ENV = "CLAUDE_QUOTA_SOCKET"

#: The local model ``route`` answers when the daemon cannot: the contract's
#: default large local model, which is what the daemon itself answers in the
#: ``unknown`` tier.
FALLBACK_LOCAL_MODEL = "qwen3:14b"

_SOCKET_NAME = "claude-quotad.sock"
_PREFIX = struct.Struct(">I")
# Linux's ``struct ucred``: pid, uid, gid.
_UCRED = struct.Struct("=iII")
# macOS's ``struct xucred`` starts with its version and the uid; the kernel
# wants room for the whole struct (76 bytes: 16 groups).
_XUCRED_HEAD = struct.Struct("=II")
_XUCRED_SIZE = 76
_SOL_LOCAL = 0
_LOCAL_PEERCRED = 1
# ``sun_path`` holds 104 bytes on macOS, including the terminating NUL.
_MACOS_MAX_SOCKET_PATH = 103


class ClaudeQuotaError(Exception):
    """Base of every error this module raises, so a router can catch them
    all in one place and stay local."""


class DaemonUnreachable(ClaudeQuotaError):
    """No daemon answered (not running, wrong socket, or too slow): route
    locally, and start it with ``claude-quotad`` or
    ``claude-quota service install``."""


class WrongOwner(DaemonUnreachable):
    """The process answering on the socket runs as another user, who could
    answer anything: route locally, and find out who it is. A socket
    directory only you can write keeps this from happening. ``uid`` is the
    other user's."""

    def __init__(self, socket_path: str, uid: int) -> None:
        super().__init__(
            f"refusing the daemon at {socket_path}: it runs as uid {uid}, not as you "
            f"(uid {os.geteuid()}); another user's process may be answering for claude-quotad"
        )
        self.uid = uid


class ProtocolError(ClaudeQuotaError):
    """The connection broke or the daemon sent something that is not
    protocol v1; the connection is dropped and the next call reconnects."""


class BadRequest(ClaudeQuotaError, ValueError):
    """The request was malformed: a bug in the caller, not a daemon fault.
    Raised before sending for values this module can check itself."""


class DaemonError(ClaudeQuotaError):
    """The daemon refused the request for a reason other than its shape;
    ``code`` is the protocol's machine-readable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"claude-quotad refused the request ({code}): {message}")
        self.code = code
        self.message = message


def default_socket_path() -> str:
    """The socket the daemon listens on unless told otherwise, resolved as
    the daemon and the Rust clients do, so nobody has to pass a path:
    ``$CLAUDE_QUOTA_SOCKET``, else ``$XDG_RUNTIME_DIR/claude-quota/`` on
    Linux or ``~/Library/Application Support/claude-quota/`` on macOS, else
    a per-user directory under ``$TMPDIR`` (or ``/tmp``)."""
    explicit = os.environ.get(SOCKET_ENV)
    if explicit:
        return explicit
    directory = _platform_dir()
    if directory is None:
        temp = os.environ.get("TMPDIR", "/tmp")
        directory = os.path.join(temp, f"claude-quota-{os.getuid()}")
    return os.path.join(directory, _SOCKET_NAME)


def _platform_dir() -> Optional[str]:
    if sys.platform == "darwin":
        home = os.environ.get("HOME")
        if not home:
            return None
        directory = os.path.join(home, "Library/Application Support/claude-quota")
        path = os.path.join(directory, _SOCKET_NAME)
        return directory if len(os.fsencode(path)) <= _MACOS_MAX_SOCKET_PATH else None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, "claude-quota") if runtime else None


def _check(kind: str, given: Any, allowed: tuple) -> str:
    """Refuses a name the daemon would refuse, without a round trip, with the
    same list of choices the daemon gives."""
    if given not in allowed:
        raise BadRequest(f"unknown {kind} {given!r}; expected one of: {' '.join(allowed)}")
    return given


class Client:
    """A connection to claude-quotad. Hold one per router for its lifetime:
    it connects on first use; after a timeout or a broken connection the
    next call connects again, and a connection the daemon closed since its
    last answer (it restarted) is replaced before asking. Every connection
    checks that the daemon runs as this user (:class:`WrongOwner` if not).
    Not thread-safe; give each thread its own.
    """

    def __init__(self, socket: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT):
        """``socket`` defaults to :func:`default_socket_path`; ``timeout`` is
        how many seconds each request may take (``None``: wait forever)."""
        self.socket_path = os.fspath(socket) if socket is not None else default_socket_path()
        self.timeout = timeout
        self._sock: Optional[_socket.socket] = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; a later call opens a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def hello(self, client_name: str = f"claude-quota-python/{__version__}") -> str:
        """Introduces the client and returns the daemon's ``name/version``;
        fails with ``DaemonError("unsupported_protocol")`` when the daemon
        speaks another protocol version, which is worth checking once at
        start rather than misreading every answer."""
        reply = self._request(
            {"type": "hello", "protocol": PROTOCOL_VERSION, "client": client_name}, "hello"
        )
        if reply.get("protocol") != PROTOCOL_VERSION:
            raise ProtocolError(f"the daemon speaks protocol {reply.get('protocol')!r}")
        return reply["daemon"]

    def status(self) -> Dict[str, Any]:
        """The daemon's full status (tier, reason, usage windows, staleness,
        last error, Ollama's models…) as the JSON object of the contract."""
        return self._request({"type": "status"}, "status")

    def decide(self, value: str) -> Dict[str, Any]:
        """The whole decision for a task of ``value``: ``use_cloud``,
        ``tier``, ``reason`` and ``stale``, for routers that log why."""
        _check("task value", value, TASK_VALUES)
        return self._request({"type": "should_use_cloud", "task_value": value}, "decision")

    def should_use_cloud(self, value: str) -> bool:
        """Whether a task of ``value`` (one of :data:`TASK_VALUES`) may go
        to the cloud now."""
        return bool(self.decide(value)["use_cloud"])

    def select_model(self, complexity: str) -> Dict[str, Any]:
        """The model for a task of ``complexity`` (one of
        :data:`TASK_COMPLEXITIES`): ``model``, ``provider``
        (``anthropic``/``ollama``), ``tier``, ``reason``, ``stale`` and
        ``available`` (false when the local model cannot run now)."""
        _check("task complexity", complexity, TASK_COMPLEXITIES)
        return self._request({"type": "select_model", "task_complexity": complexity}, "model")

    def refresh(self) -> Dict[str, Any]:
        """Asks the daemon to poll now (it polls at most once per 10 s) and
        returns the status after; it waits on the network, so it may take
        seconds."""
        return self._request({"type": "refresh"}, "status")

    def ingest_headers(self, headers: Mapping[str, Any]) -> bool:
        """Hands the daemon the ``anthropic-ratelimit-unified-*`` headers of a
        Messages API response (any mapping; names in any case), which saves
        it a poll of the usage API. Returns ``True`` when a reading was sent
        and ``False`` when the headers hold none; a value that is not a
        number is a :class:`BadRequest` naming the header."""
        reading = reading_from_headers(headers)
        if reading is None:
            return False
        self._request({"type": "ingest", "source": "headers", **reading}, "ok")
        return True

    def subscribe(self, timeout: Optional[float] = None) -> Iterator[Dict[str, Any]]:
        """Yields the status now, then again at every change of tier or
        reading, until the daemon closes (the iterator then ends). It uses a
        connection of its own, because a subscribed connection answers
        nothing else; ``timeout`` bounds the wait for each update (``None``:
        wait as long as the tier holds)."""
        sock = self._connect(timeout)
        try:
            _send(sock, {"type": "subscribe"})
        except OSError as err:
            sock.close()
            raise ProtocolError(f"cannot subscribe: {err}") from err
        return _updates(sock, timeout)

    def _request(self, request: Dict[str, Any], expected: str) -> Dict[str, Any]:
        """Sends one request and returns its reply; any fault of the stream
        drops the connection, since a late reply would answer the wrong
        question."""
        try:
            sock = self._send_request(request)
            reply = _receive(sock, allow_close=False)
            return _expect(reply, expected)
        except BadRequest:
            raise
        except DaemonError:
            self.close()
            raise
        except ProtocolError:
            self.close()
            raise
        except _socket.timeout as err:
            self.close()
            raise DaemonUnreachable(
                f"claude-quotad at {self.socket_path} did not answer within {self.timeout}s"
            ) from err
        except OSError as err:
            self.close()
            raise ProtocolError(f"connection to claude-quotad broken: {err}") from err

    def _send_request(self, request: Dict[str, Any]) -> _socket.socket:
        """Sends ``request`` on the held connection, or on a new one when
        none is held or the held one is dead (the daemon restarted since its
        last answer: the write fails, so the request reached nobody and may
        go again). Returns the socket it went out on."""
        if self._sock is not None:
            try:
                _send(self._sock, request)
                return self._sock
            except OSError:
                self.close()
        self._sock = self._connect(self.timeout)
        _send(self._sock, request)
        return self._sock

    def _connect(self, timeout: Optional[float]) -> _socket.socket:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as err:
            sock.close()
            raise DaemonUnreachable(
                f"cannot reach claude-quotad at {self.socket_path} ({err.strerror or err}); "
                "start it with `claude-quotad`, or install it as a service: "
                "`claude-quota service install`"
            ) from err
        try:
            uid = _peer_uid(sock)
        except OSError as err:
            sock.close()
            raise DaemonUnreachable(f"cannot tell who runs the daemon at {self.socket_path}: {err}") from err
        if uid != os.geteuid():
            sock.close()
            raise WrongOwner(self.socket_path, uid)
        return sock


_HEADER_PREFIX = "anthropic-ratelimit-unified-"
# The last second of year 9999, the latest reset an RFC 3339 time can carry.
_MAX_RESET = 253402300799


def reading_from_headers(headers: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The ``ingest`` windows in a response's rate-limit headers, or ``None``
    when they hold no 5-hour window: utilization is a 0-1 fraction there (×100 here),
    a reset is unix seconds, and ``rejected`` without a utilization counts
    as 100."""
    lowered = {str(name).lower(): str(value).strip() for name, value in headers.items()}
    reading: Dict[str, Any] = {}
    for window, key in (("5h", "five_hour"), ("7d", "seven_day")):
        name = f"{_HEADER_PREFIX}{window}-"
        fraction = _header_number(lowered, name + "utilization", sys.float_info.max)
        if fraction is None and lowered.get(name + "status") != "rejected":
            continue
        reset = _header_number(lowered, name + "reset", _MAX_RESET)
        reading[key] = {
            "utilization": 100.0 if fraction is None else fraction * 100,
            "resets_at": None if reset is None else _rfc3339(reset),
        }
    # An ingest needs the 5-hour window: 7-day headers alone are no reading.
    return reading if "five_hour" in reading else None


def _header_number(lowered: Dict[str, str], name: str, largest: float) -> Optional[float]:
    raw = lowered.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= largest:
        raise BadRequest(f"header {name} is not a usable number: {raw[:100]!r}")
    return value


def _rfc3339(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc).isoformat()


def _peer_uid(sock: _socket.socket) -> int:
    """The uid of the process at the other end of ``sock``: ``SO_PEERCRED``
    on Linux, ``LOCAL_PEERCRED`` on macOS. Elsewhere the daemon's owner
    cannot be checked, and an unchecked answer is not taken."""
    if sys.platform.startswith("linux"):
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _UCRED.size)
        return _UCRED.unpack(creds)[1]
    if sys.platform == "darwin":
        creds = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE)
        return _XUCRED_HEAD.unpack_from(creds)[1]
    raise OSError(f"checking a peer's uid is not supported on {sys.platform}")


def _updates(sock: _socket.socket, timeout: Optional[float]) -> Iterator[Dict[str, Any]]:
    """The status frames of a subscription, until the daemon closes; the
    socket is closed when the iteration ends, however it ends."""
    try:
        while True:
            reply = _receive(sock, allow_close=True)
            if reply is None:
                return
            yield _expect(reply, "status")
    except _socket.timeout as err:
        raise DaemonUnreachable(f"no update from claude-quotad within {timeout}s") from err
    except OSError as err:
        raise ProtocolError(f"subscription broken: {err}") from err
    finally:
        sock.close()


def _send(sock: _socket.socket, message: Dict[str, Any]) -> None:
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(payload) > MAX_FRAME_LEN:
        raise BadRequest(f"request of {len(payload)} bytes exceeds the {MAX_FRAME_LEN}-byte frame limit")
    sock.sendall(_PREFIX.pack(len(payload)) + payload)


def _receive(sock: _socket.socket, allow_close: bool) -> Optional[Dict[str, Any]]:
    """The next frame as a JSON object; ``None`` when the daemon closed
    cleanly between frames and ``allow_close`` says that is an ending."""
    prefix = _read_exactly(sock, _PREFIX.size, allow_close)
    if prefix is None:
        return None
    (length,) = _PREFIX.unpack(prefix)
    if length > MAX_FRAME_LEN:
        raise ProtocolError(f"the daemon announced a frame of {length} bytes (limit {MAX_FRAME_LEN})")
    body = _read_exactly(sock, length, allow_close=False)
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError(f"unreadable reply: {err}") from err
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"reply without a type: {message!r:.200}")
    return message


def _read_exactly(sock: _socket.socket, size: int, allow_close: bool) -> Optional[bytes]:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            if allow_close and not chunks:
                return None
            raise ProtocolError("the daemon closed the connection")
        chunks += chunk
    return bytes(chunks)


def _expect(reply: Dict[str, Any], expected: str) -> Dict[str, Any]:
    """Turns an ``error`` reply into its exception and checks the reply
    answers what was asked."""
    kind = reply["type"]
    if kind == "error":
        code = str(reply.get("code"))
        message = str(reply.get("message", ""))
        if code == "bad_request":
            raise BadRequest(message)
        raise DaemonError(code, message)
    if kind != expected:
        raise ProtocolError(f"expected a {expected!r} reply, got {kind!r}")
    return reply


@dataclass(frozen=True)
class Route:
    """Where one task should go: ``provider`` is ``"anthropic"`` or
    ``"ollama"``, ``model`` the model to call there, ``reason`` why (worth
    logging), ``tier`` the daemon's tier (``None`` when it could not be
    asked) and ``available`` whether a local model can run now."""

    provider: str
    model: str
    reason: str
    tier: Optional[str] = None
    available: bool = True


def route(
    value: str,
    complexity: str,
    socket: Optional[str] = None,
    timeout: float = 2.0,
    fallback_model: str = FALLBACK_LOCAL_MODEL,
) -> Route:
    """Where a task of ``value`` and ``complexity`` should go now.

    The cloud needs both answers: the task's value must allow the cloud and
    its complexity must call for the cloud model. Otherwise the task goes to
    the local model the daemon names; when the complexity asked for the
    cloud but the value does not allow it, that is the daemon's model for
    ``medium`` complexity, which is local in every tier.

    When the daemon is unreachable, slow, or fails in any way, the answer is
    local (``fallback_model``), never cloud. Invalid ``value`` or
    ``complexity`` still raise :class:`BadRequest`: that is a bug to fix,
    not an outage to ride out.
    """
    _check("task value", value, TASK_VALUES)
    _check("task complexity", complexity, TASK_COMPLEXITIES)
    try:
        with Client(socket, timeout=timeout) as client:
            decision = client.decide(value)
            choice = client.select_model(complexity)
            if choice["provider"] == "anthropic" and decision["use_cloud"]:
                return Route("anthropic", choice["model"], decision["reason"], choice["tier"])
            if choice["provider"] == "anthropic":
                choice = client.select_model("medium")
            return Route(
                "ollama",
                choice["model"],
                f"{decision['reason']}; {choice['reason']}",
                choice["tier"],
                bool(choice.get("available", True)),
            )
    except (ClaudeQuotaError, KeyError, TypeError) as err:
        return Route("ollama", fallback_model, f"claude-quotad unavailable, staying local: {err}")
