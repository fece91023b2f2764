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

``route`` asks the daemon one question (``route``) in one round trip under
one deadline (2 s by default) and never raises: whenever the daemon cannot
be asked it answers local, with the local model the daemon named in its
``hello`` (the built-in default only before any contact), because spending
the subscription on a guess is the one unsafe answer. Use ``Client`` for
the full protocol (status, decisions, subscriptions), and
``Client.ingest_headers(response.headers)`` after each of your own Claude
calls to keep the daemon's reading fresh without a poll (the daemon reads
the headers; this client only hands them over). With several Claude
accounts configured in the daemon, every question takes ``account=`` and
every answer names its account.

The rules every bundled client (Rust, Python, Node) follows alike, held to
by one conformance suite (``tests/conformance/cases.json``), are in
docs/protocol.md, "Client rules".

The wire protocol (version 1): each frame is a 4-byte big-endian length, then
that many bytes of UTF-8 JSON, at most 64 KiB; every message has a ``"type"``.
"""

from __future__ import annotations

import json
import os
import socket as _socket
import stat
import string
import struct
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional, Tuple, Union

__all__ = [
    "PROTOCOL_VERSION",
    "TASK_VALUES",
    "TASK_COMPLEXITIES",
    "DEFAULT_TIMEOUT",
    "ROUTE_TIMEOUT",
    "FALLBACK_LOCAL_MODEL",
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

#: Seconds a call may take, connecting included. Answers come from memory;
#: only ``refresh`` waits on the network.
DEFAULT_TIMEOUT = 15.0

#: Seconds a ``route`` call may take, connecting included, before it
#: answers local: a daemon slower than this is not one to wait for before a
#: model call.
ROUTE_TIMEOUT = 2.0

#: The environment variable that overrides the socket path everywhere.
SOCKET_ENV = "CLAUDE_QUOTA_SOCKET"

#: The local model ``route`` answers when the daemon cannot be asked and
#: never named its own (before any contact): the policy's default
#: ``models.local_large``.
FALLBACK_LOCAL_MODEL = "qwen3:14b"

#: How this client introduces itself in ``hello``, for the daemon's logs.
_CLIENT_NAME = f"claude-quota-python/{__version__}"
#: The reason every local fallback starts with.
_FALLBACK_REASON = "claude-quotad unavailable, staying local"
_TIERS = ("burst", "active", "resting", "unknown")
_PROVIDERS = ("anthropic", "ollama")
_SUBAGENT_MODELS = ("keep", "opus", "sonnet", "haiku")
_ERROR_CODES = ("bad_request", "unsupported_protocol", "frame_too_large", "too_many_connections", "internal")
#: The reply type each request is answered with (or ``error``).
_ANSWERS = {
    "hello": "hello",
    "status": "status",
    "refresh": "status",
    "subscribe": "status",
    "should_use_cloud": "decision",
    "select_model": "model",
    "route": "route",
    "ingest": "ok",
}

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
    Linux (without ``XDG_RUNTIME_DIR``, ``/run/user/<uid>/claude-quota/``
    when that runtime directory is yours alone) or
    ``~/Library/Application Support/claude-quota/`` on macOS, else a
    per-user directory under ``$TMPDIR`` (or ``/tmp``)."""
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
    runtime = os.environ.get("XDG_RUNTIME_DIR") or _user_runtime_dir()
    return os.path.join(runtime, "claude-quota") if runtime else None


def _user_runtime_dir() -> Optional[str]:
    """``/run/user/<uid>`` when it is a real directory of this user that
    nobody else can write, as the daemon checks it; else None."""
    directory = f"/run/user/{os.getuid()}"
    try:
        info = os.lstat(directory)
    except OSError:
        return None
    private = (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & 0o022
    )
    return directory if private else None


def _check(kind: str, given: Any, allowed: tuple) -> str:
    """Refuses a name the daemon would refuse, without a round trip, with the
    same list of choices the daemon gives."""
    if given not in allowed:
        raise BadRequest(f"unknown {kind} {given!r}; expected one of: {' '.join(allowed)}")
    return given


class Client:
    """A connection to claude-quotad. Hold one per router for its lifetime:
    it connects on first use, saying ``hello`` in the same write as its
    first request. A timeout or a broken or unreadable reply drops the
    connection and the next call connects again (a connection the daemon
    closed since its last answer, when it restarted, is replaced before
    asking); an ``error`` reply keeps it. Every connection checks that the
    daemon runs as this user (:class:`WrongOwner` if not). Not
    thread-safe; give each thread its own.
    """

    def __init__(
        self,
        socket: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        route_timeout: float = ROUTE_TIMEOUT,
    ):
        """``socket`` defaults to :func:`default_socket_path`; ``timeout`` is
        how many seconds each call may take, connecting included (``None``:
        wait forever); ``route_timeout`` the same for :meth:`route`."""
        self.socket_path = os.fspath(socket) if socket is not None else default_socket_path()
        self.timeout = timeout
        self.route_timeout = route_timeout
        self._sock: Optional[_socket.socket] = None
        self._greeted = False
        # The model before any contact; the module-level route() may name another.
        self._before_contact = FALLBACK_LOCAL_MODEL

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; a later call opens a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def fallback_model(self) -> str:
        """The local model :meth:`route` answers when the daemon cannot be
        asked: the one the daemon named in its last ``hello``, the built-in
        default before any contact."""
        return _fallback_model(self.socket_path, self._before_contact)

    def hello(self, client_name: str = _CLIENT_NAME) -> str:
        """Introduces the client and returns the daemon's ``name/version``;
        fails with :class:`ProtocolError` when the daemon speaks another
        protocol version. (Every new connection says ``hello`` by itself.)"""
        reply = self._request({"type": "hello", "protocol": PROTOCOL_VERSION, "client": client_name})
        return reply["daemon"]

    def status(self) -> Dict[str, Any]:
        """The daemon's full status (tier, reason, usage windows, staleness,
        last error, Ollama's models…) as the JSON object of the contract."""
        return self._request({"type": "status"})

    def decide(self, value: str, *, account: Optional[str] = None) -> Dict[str, Any]:
        """The whole decision for a task of ``value``: ``use_cloud``,
        ``tier``, ``reason`` and ``stale``, for routers that log why, and
        ``account`` and ``claude_config_dir`` when the daemon has accounts.
        ``account`` asks for that account alone; without it the daemon
        picks."""
        _check("task value", value, TASK_VALUES)
        return self._request(_with_account({"type": "should_use_cloud", "task_value": value}, account))

    def should_use_cloud(self, value: str, *, account: Optional[str] = None) -> bool:
        """Whether a task of ``value`` (one of :data:`TASK_VALUES`) may go
        to the cloud now (on ``account``, when given)."""
        return bool(self.decide(value, account=account)["use_cloud"])

    def select_model(self, complexity: str, *, account: Optional[str] = None) -> Dict[str, Any]:
        """The model for a task of ``complexity`` (one of
        :data:`TASK_COMPLEXITIES`): ``model``, ``provider``
        (``anthropic``/``ollama``), ``tier``, ``reason``, ``stale`` and
        ``available`` (false when the local model cannot run now), and the
        account as :meth:`decide` says."""
        _check("task complexity", complexity, TASK_COMPLEXITIES)
        return self._request(_with_account({"type": "select_model", "task_complexity": complexity}, account))

    def route(self, value: str, complexity: str, *, account: Optional[str] = None) -> "Route":
        """Where a task of ``value`` and ``complexity`` goes now: one
        question (``route``) within ``route_timeout``, for ``account``
        alone when given (else the daemon picks one and names it). Never
        raises: any failure (no daemon, another user's, a timeout, an
        error or unreadable reply, an unknown value or account) answers
        local with :attr:`fallback_model`, and ``reason`` says why."""
        try:
            _check("task value", value, TASK_VALUES)
            _check("task complexity", complexity, TASK_COMPLEXITIES)
            request = _with_account({"type": "route", "task_value": value, "task_complexity": complexity}, account)
            reply = _answer(self._call(request, self.route_timeout))
        except ClaudeQuotaError as err:
            return Route.fallback(self.fallback_model, err)
        return Route(
            reply["provider"], reply["model"], reply["reason"], reply["tier"],
            reply.get("available", True), reply["use_cloud"], reply["stale"],
            reply.get("account"), reply.get("claude_config_dir"),
        )  # fmt: skip

    def refresh(self) -> Dict[str, Any]:
        """Asks the daemon to poll now (it polls at most once per 10 s) and
        returns the status after; it waits on the network, so it may take
        seconds."""
        return self._request({"type": "refresh"})

    def ingest(
        self,
        five_hour: Optional[Dict[str, Any]],
        seven_day: Optional[Dict[str, Any]] = None,
        as_of: Union[str, datetime, None] = None,
        *,
        account: Optional[str] = None,
    ) -> None:
        """Pushes a reading taken from Claude Code's status line: its
        5-hour window (``None`` when no session window is open, which the
        daemon reads as idle) and its 7-day window, each
        ``{"utilization": percent, "resets_at": RFC 3339 or None}``; at
        least one of them. ``as_of`` is when it was taken (an RFC 3339
        string or a datetime; the arrival when ``None``), ``account`` the
        account it belongs to. The daemon keeps it only if it is newer
        than the reading it holds."""
        message: Dict[str, Any] = {"type": "ingest", "source": "statusline", "five_hour": five_hour, "seven_day": seven_day}
        if as_of is not None:
            message["as_of"] = _rfc3339(as_of)
        self._request(_with_account(message, account))

    def ingest_headers(
        self,
        headers: Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]],
        *,
        account: Optional[str] = None,
    ) -> bool:
        """Hands the daemon the ``anthropic-ratelimit-unified-*`` headers
        of a Messages API response (any mapping or sequence of pairs; names
        in any case) as they are, which saves it a poll of the usage API;
        the daemon reads them (``account``: the account the response was
        for). Returns ``True`` when any were sent and ``False`` when the
        response had none; a value the daemon cannot read is its to drop,
        never an error."""
        sent = _unified_headers(headers)
        if not sent:
            return False
        self._request(_with_account({"type": "ingest", "source": "headers", "headers": sent}, account))
        return True

    def subscribe(self, timeout: Optional[float] = None) -> Iterator[Dict[str, Any]]:
        """Yields the status now, then again at every change of tier or
        reading, until the daemon closes (the iterator then ends). It uses a
        connection of its own, because a subscribed connection answers
        nothing else; ``timeout`` bounds the wait for each update (``None``:
        wait as long as the tier holds)."""
        deadline = _Deadline(self.timeout)
        sock = self._connect(deadline)
        try:
            _send(sock, _frame(_hello()) + _frame({"type": "subscribe"}), deadline)
            self._greeting(_receive(sock, deadline, allow_close=False))
        except (_socket.timeout, OSError, ClaudeQuotaError) as err:
            sock.close()
            if isinstance(err, ClaudeQuotaError):
                raise
            raise ProtocolError(f"cannot subscribe: {err}") from err
        return _updates(sock, timeout)

    def _request(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """One request within ``timeout``; an ``error`` reply raises its
        exception (and keeps the connection)."""
        return _answer(self._call(request, self.timeout))

    def _call(self, request: Dict[str, Any], timeout: Optional[float]) -> Dict[str, Any]:
        """Sends one request and returns its reply, connecting (and saying
        ``hello`` in the same write) when no connection is held. The
        connection is kept only with a reply that answers the request in
        hand: any other fault drops it, since a late reply would answer the
        wrong question."""
        frame = _frame(request)
        deadline = _Deadline(timeout)
        sock = None
        try:
            sock, greeting = self._send_request(frame, request, deadline)
            if greeting:
                self._greeting(_receive(sock, deadline, allow_close=False))
            reply = _fits(request, _receive(sock, deadline, allow_close=False))
            if request["type"] == "hello":
                self._greeting(reply)
        except _socket.timeout as err:
            self._drop(sock)
            raise DaemonUnreachable(f"claude-quotad at {self.socket_path} did not answer within {timeout}s") from err
        except OSError as err:
            self._drop(sock)
            raise ProtocolError(f"connection to claude-quotad broken: {err}") from err
        except ClaudeQuotaError:
            self._drop(sock)
            raise
        self._sock, self._greeted = sock, True
        return reply

    def _send_request(self, frame: bytes, request: Dict[str, Any], deadline: "_Deadline") -> Tuple[_socket.socket, bool]:
        """Sends ``frame`` on the held connection, or on a new one when none
        is held or the held one is dead (the daemon restarted since its
        last answer: the write fails, so the request reached nobody and may
        go again). Returns the socket it went out on and whether a
        ``hello`` went ahead of it."""
        held, self._sock = self._sock, None
        if held is not None:
            greeting = not self._greeted and request["type"] != "hello"
            try:
                _send(held, (_frame(_hello()) if greeting else b"") + frame, deadline)
                return held, greeting
            except OSError:
                held.close()
        sock = self._connect(deadline)
        self._greeted = False
        greeting = request["type"] != "hello"
        try:
            _send(sock, (_frame(_hello()) if greeting else b"") + frame, deadline)
        except BaseException:
            sock.close()
            raise
        return sock, greeting

    def _greeting(self, reply: Dict[str, Any]) -> None:
        """Takes the reply to ``hello``: a daemon of protocol 1, whose local
        model is remembered for the fallback. Anything else fails the call."""
        _answer(_fits({"type": "hello"}, reply))
        if reply["protocol"] != PROTOCOL_VERSION:
            raise ProtocolError(f"{reply['daemon']} speaks protocol {reply['protocol']}, this client {PROTOCOL_VERSION}")
        models = reply.get("models")
        if models is not None:
            _remember(self.socket_path, models["local_large"])

    def _drop(self, sock: Optional[_socket.socket]) -> None:
        if sock is not None:
            sock.close()
        self._sock = None

    def _connect(self, deadline: "_Deadline") -> _socket.socket:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            deadline.apply(sock)
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


class _Deadline:
    """The end of one call: every wait in it (connect, send, each read)
    gets what is left of the call's timeout."""

    def __init__(self, seconds: Optional[float]) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def apply(self, sock: _socket.socket) -> None:
        """Sets ``sock``'s timeout to what is left; ``socket.timeout`` when
        nothing is."""
        if self.at is None:
            sock.settimeout(None)
            return
        left = self.at - time.monotonic()
        if left <= 0:
            raise _socket.timeout("timed out")
        sock.settimeout(left)


# The local model each daemon named in its last hello, by socket, for the
# whole process: the module-level route() connects anew each call and
# must remember it too.
_named_models: Dict[str, str] = {}
_named_models_lock = threading.Lock()


def _remember(socket_path: str, local_large: str) -> None:
    with _named_models_lock:
        _named_models[socket_path] = local_large


def _fallback_model(socket_path: str, default: str) -> str:
    with _named_models_lock:
        return _named_models.get(socket_path, default)


def _hello() -> Dict[str, Any]:
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "client": _CLIENT_NAME}


_HEADER_PREFIX = "anthropic-ratelimit-unified-"
#: The most headers one push carries, and the longest name and value in
#: bytes: what the daemon takes (docs/protocol.md, "Client rules").
_MAX_HEADERS = 64
_MAX_HEADER_NAME = 128
_MAX_HEADER_VALUE = 256
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _unified_headers(headers: Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]]) -> Dict[str, str]:
    """The ``anthropic-ratelimit-unified-*`` headers of ``headers`` as the
    daemon takes them: names lowercased, each once with its first value
    within the bounds, at most 64 of them; the values as they are."""
    pairs = headers.items() if hasattr(headers, "items") else headers
    sent: Dict[str, str] = {}
    for name, value in pairs:
        name = _text(name).translate(_ASCII_LOWER)
        if not name.startswith(_HEADER_PREFIX) or name in sent:
            continue
        value = _text(value)
        fits = len(name.encode()) <= _MAX_HEADER_NAME and len(value.encode()) <= _MAX_HEADER_VALUE
        if fits and len(sent) < _MAX_HEADERS:
            sent[name] = value
    return sent


def _text(value: Any) -> str:
    """A header name or value as text (bytes as UTF-8, undecodable bytes
    replaced)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _with_account(message: Dict[str, Any], account: Optional[str]) -> Dict[str, Any]:
    """``message`` naming ``account`` when one is given."""
    if account is None:
        return message
    if not isinstance(account, str):
        raise BadRequest(f"account must be a name (a string), not {account!r}")
    return dict(message, account=account)


def _rfc3339(at: Union[str, datetime]) -> str:
    """A time as the wire writes it: a string as it is, a datetime in UTC
    (a naive one is read as local time)."""
    if isinstance(at, str):
        return at
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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
            reply = _receive(sock, _Deadline(timeout), allow_close=True)
            if reply is None:
                return
            yield _answer(_fits({"type": "subscribe"}, reply))
    except _socket.timeout as err:
        raise DaemonUnreachable(f"no update from claude-quotad within {timeout}s") from err
    except OSError as err:
        raise ProtocolError(f"subscription broken: {err}") from err
    finally:
        sock.close()


def _frame(message: Dict[str, Any]) -> bytes:
    """``message`` as a frame; one too large for a frame is a
    :class:`BadRequest` and sends nothing."""
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(payload) > MAX_FRAME_LEN:
        raise BadRequest(f"request of {len(payload)} bytes exceeds the {MAX_FRAME_LEN}-byte frame limit")
    return _PREFIX.pack(len(payload)) + payload


def _send(sock: _socket.socket, data: bytes, deadline: _Deadline) -> None:
    deadline.apply(sock)
    sock.sendall(data)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _receive(sock: _socket.socket, deadline: _Deadline, allow_close: bool) -> Optional[Dict[str, Any]]:
    """The next frame as a JSON object; ``None`` when the daemon closed
    cleanly between frames and ``allow_close`` says that is an ending."""
    prefix = _read_exactly(sock, _PREFIX.size, deadline, allow_close)
    if prefix is None:
        return None
    (length,) = _PREFIX.unpack(prefix)
    if length > MAX_FRAME_LEN:
        raise ProtocolError(f"the daemon announced a frame of {length} bytes (limit {MAX_FRAME_LEN})")
    body = _read_exactly(sock, length, deadline, allow_close=False)
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError(f"unreadable reply: {err}") from err
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"reply without a type: {message!r:.200}")
    return message


def _read_exactly(sock: _socket.socket, size: int, deadline: _Deadline, allow_close: bool) -> Optional[bytes]:
    chunks = bytearray()
    while len(chunks) < size:
        deadline.apply(sock)
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            if allow_close and not chunks:
                return None
            raise ProtocolError("the daemon closed the connection")
        chunks += chunk
    return bytes(chunks)


def _is(value: Any, kind: type) -> bool:
    """``isinstance`` that does not take a bool for a number."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _strings(value: Any, keys: Tuple[str, ...], allowed: Optional[Tuple[str, ...]] = None) -> bool:
    return isinstance(value, dict) and all(
        _is(value.get(key), str) and (allowed is None or value[key] in allowed) for key in keys
    )


def _fits(request: Dict[str, Any], reply: Dict[str, Any]) -> Dict[str, Any]:
    """``reply`` when it answers ``request``: the reply type the request
    asks for (or a well-formed ``error``), and for ``hello`` and ``route``
    the fields every client reads, of the right types (unknown fields are
    ignored). Anything else is a :class:`ProtocolError`, and the
    connection is dropped."""
    kind = reply["type"]
    if kind == "error":
        fits = _is(reply.get("code"), str) and _is(reply.get("message"), str)
        if fits and reply["code"] not in _ERROR_CODES:
            # A code from a newer daemon: read as ``internal``, and the
            # connection stays (the stream is in step).
            reply["code"] = "internal"
    elif kind != _ANSWERS[request["type"]]:
        fits = False
    elif kind == "hello":
        models, subagents = reply.get("models"), reply.get("claude_code")
        fits = (
            _is(reply.get("protocol"), int)
            and reply["protocol"] >= 0
            and _is(reply.get("daemon"), str)
            and (models is None or _strings(models, ("cloud", "local_large", "local_small")))
            and (subagents is None or _strings(subagents, ("burst", "active", "resting"), _SUBAGENT_MODELS))
        )
    elif kind == "route":
        fits = (
            reply.get("provider") in _PROVIDERS
            and _is(reply.get("model"), str)
            and reply["model"] != ""
            and _is(reply.get("use_cloud"), bool)
            and reply["use_cloud"] == (reply["provider"] == "anthropic")
            and reply.get("tier") in _TIERS
            and _is(reply.get("reason"), str)
            and _is(reply.get("stale"), bool)
            and _is(reply.get("available", True), bool)
        )
    else:
        fits = True
    if not fits:
        raise ProtocolError(f"a reply that does not answer the request: {reply!r:.300}")
    return reply


def _answer(reply: Dict[str, Any]) -> Dict[str, Any]:
    """Turns an ``error`` reply into its exception."""
    if reply["type"] == "error":
        if reply["code"] == "bad_request":
            raise BadRequest(reply["message"])
        raise DaemonError(reply["code"], reply["message"])
    return reply


@dataclass(frozen=True)
class Route:
    """Where one task should go: ``provider`` is ``"anthropic"`` or
    ``"ollama"``, ``model`` the model to call there, ``reason`` why (worth
    logging), ``tier`` the daemon's tier (``None`` when it could not be
    asked), ``available`` whether a local model can run now (false when the
    daemon could not be asked: no one has seen it), ``use_cloud``
    whether the task goes to the cloud and ``stale`` whether the reading
    behind the answer is stale (true when the daemon could not be asked).
    ``account`` is the account the answer is for when the daemon has
    accounts configured, ``claude_config_dir`` its ``CLAUDE_CONFIG_DIR``
    (``None`` for the default login)."""

    provider: str
    model: str
    reason: str
    tier: Optional[str] = None
    available: bool = True
    use_cloud: bool = False
    stale: bool = True
    account: Optional[str] = None
    claude_config_dir: Optional[str] = None

    @classmethod
    def fallback(cls, model: str, err: Exception) -> "Route":
        """Local, because the daemon could not be asked: never a guess at
        the cloud."""
        return cls("ollama", model, f"{_FALLBACK_REASON}: {err}", available=False)


def route(
    value: str,
    complexity: str,
    socket: Optional[str] = None,
    timeout: float = ROUTE_TIMEOUT,
    fallback_model: str = FALLBACK_LOCAL_MODEL,
    *,
    account: Optional[str] = None,
) -> Route:
    """Where a task of ``value`` and ``complexity`` should go now (on
    ``account`` alone, when given): connect, ask ``route`` once within
    ``timeout`` seconds, close. Never raises.

    When the daemon is unreachable, slow, foreign or failing (or the value
    or complexity is unknown), the answer is local: the model the daemon
    named in its last ``hello`` in this process, or ``fallback_model``
    before any contact.
    """
    with Client(socket, route_timeout=timeout) as client:
        client._before_contact = fallback_model
        return client.route(value, complexity, account=account)
